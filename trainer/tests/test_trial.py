"""A real trial in a subprocess: metric lines, saved model, reproducibility, failures."""

import fcntl
import gzip
import json
import time

import numpy as np
import pytest

from trainer.tests.conftest import TRIAL_ID, Trial

# Small and short, so the whole suite stays well under a minute on two cores; the flags mix
# the forms Vertex AI and people use.
TRIAL_FLAGS = (
    "--dataset=digits",
    "--epochs=2",
    "--num-units=32.0",
    "--batch-size",
    "64",
    "--learning-rate=0.01",
)


def _finish(trial):
    """Wait for ``trial``, check it succeeded, and parse its metrics file into ``records``."""
    trial.wait()
    assert trial.returncode == 0, trial.stderr
    trial.records = [json.loads(line) for line in trial.metrics_file.read_text().splitlines()]
    return trial


@pytest.fixture(scope="module")
def trials(tmp_path_factory):
    """Two identical short digits trials, run side by side to save wall time.

    The first takes its model directory from AIP_MODEL_DIR (with the trailing slash Vertex AI
    gives it), the second from --model-dir; both use the default seed.
    """
    first_dir, second_dir = tmp_path_factory.mktemp("first"), tmp_path_factory.mktemp("second")
    first = Trial(first_dir, *TRIAL_FLAGS, env={"AIP_MODEL_DIR": f"{first_dir / 'model'}/"})
    second = Trial(second_dir, *TRIAL_FLAGS, f"--model-dir={second_dir / 'model'}")
    first.model_dir = first_dir / "model"
    return _finish(first), _finish(second)


@pytest.fixture(scope="module")
def trial(trials):
    """The first of :func:`trials`."""
    return trials[0]


def test_one_progress_line_per_epoch(trial):
    progress = [line for line in trial.stdout.splitlines() if line.startswith("epoch ")]
    expected = [
        f"epoch {step}/2 accuracy={float(record['accuracy']):.4f}"
        for step, record in enumerate(trial.records, start=1)
    ]
    assert progress == expected


def test_metrics_file_has_one_line_per_epoch_in_the_library_format(trial):
    assert [record["global_step"] for record in trial.records] == ["1", "2"]
    for record in trial.records:
        # cloudml-hypertune 0.1.0.dev6 also writes "checkpoint_path": "" on every line.
        assert {"accuracy", "global_step", "timestamp", "trial"} <= set(record)
        assert record["trial"] == TRIAL_ID
        assert isinstance(record["timestamp"], float)
        assert isinstance(record["accuracy"], str) and 0 < float(record["accuracy"]) <= 1
    assert trial.records[0]["timestamp"] < trial.records[1]["timestamp"]
    # Ten balanced classes: two epochs must beat chance (0.1) clearly, or training is broken.
    assert float(trial.records[-1]["accuracy"]) > 0.3


def test_saved_model_and_keras_file_load_and_agree(trial):
    import tensorflow as tf

    assert (trial.model_dir / "saved_model.pb").is_file()
    model = tf.keras.models.load_model(trial.model_dir / "model.keras")
    images = np.random.default_rng(0).random((5, 8, 8), dtype=np.float32)
    keras_probabilities = model.predict(images, verbose=0)
    # Keep the loaded object referenced: its functions use variables it owns.
    served = tf.saved_model.load(str(trial.model_dir))
    served_probabilities = served.serve(images).numpy()
    assert keras_probabilities.shape == (5, 10)
    np.testing.assert_allclose(served_probabilities, keras_probabilities, rtol=1e-5)


@pytest.fixture(scope="module")
def saved_epochs(tmp_path_factory):
    """Two trials whose accuracy peaks before their last epoch, saving the best and the last.

    A learning rate this high on digits makes the validation accuracy go up and down (measured:
    the best of the 8 epochs is the 4th), so the two choices save different weights.
    """
    flags = ("--dataset=digits", "--epochs=8", "--learning-rate=0.03", "--batch-size=32")
    runs = {}
    for choice in ("best", "last"):
        work = tmp_path_factory.mktemp(choice)
        runs[choice] = Trial(work, *flags, f"--save-epoch={choice}", f"--model-dir={work / 'model'}")
        runs[choice].model_dir = work / "model"
    return {choice: _finish(run) for choice, run in runs.items()}


def _saved_model_accuracy(model_dir):
    """The validation accuracy of the saved ``model.keras``, evaluated as training did."""
    import tensorflow as tf

    from trainer import datasets

    data = datasets.load("digits")
    model = tf.keras.models.load_model(model_dir / "model.keras")
    return model.evaluate(data.x_val, data.y_val, verbose=0)[1]


def test_saved_weights_are_the_best_epochs_by_default(saved_epochs):
    trial = saved_epochs["best"]
    accuracies = [float(r["accuracy"]) for r in trial.records]
    best = max(accuracies)
    assert accuracies[-1] < best, "the fixture's trial must peak before its last epoch"
    assert _saved_model_accuracy(trial.model_dir) == pytest.approx(best, abs=1e-6)
    epoch = accuracies.index(best) + 1
    assert f"saving epoch {epoch}'s weights (accuracy={best:.4f}, the best of 8)" in trial.stdout


def test_the_best_epochs_model_keeps_that_epochs_optimizer_state(saved_epochs):
    """model.keras is for further training: its Adam state (step count, moments) must be the saved
    epoch's, not the last epoch's paired with earlier weights."""
    import tensorflow as tf

    trial = saved_epochs["best"]
    accuracies = [float(r["accuracy"]) for r in trial.records]
    epoch = accuracies.index(max(accuracies)) + 1
    model = tf.keras.models.load_model(trial.model_dir / "model.keras")
    # 1347 training examples in batches of 32: 43 steps an epoch.
    assert int(model.optimizer.iterations) == 43 * epoch
    last = tf.keras.models.load_model(saved_epochs["last"].model_dir / "model.keras")
    assert int(last.optimizer.iterations) == 43 * 8


def test_save_epoch_last_saves_the_last_epochs_weights(saved_epochs):
    trial = saved_epochs["last"]
    accuracies = [float(r["accuracy"]) for r in trial.records]
    assert accuracies == [float(r["accuracy"]) for r in saved_epochs["best"].records]
    assert _saved_model_accuracy(trial.model_dir) == pytest.approx(accuracies[-1], abs=1e-6)
    assert "saving the last epoch's weights (epoch 8)" in trial.stdout


def test_a_diverged_trial_fails_reporting_no_accuracy_and_saving_no_model(trainer, tmp_path):
    """A NaN model's accuracy (argmax of NaNs: the first class's share, 0.1 here) measures nothing:
    reported, it would be taken as the trial's real result, of a model that was never saved."""
    checkpoints = tmp_path / "checkpoints"
    result = trainer("--dataset=digits", "--epochs=5", "--learning-rate=1e9", f"--model-dir={tmp_path / 'model'}", env={"AIP_CHECKPOINT_DIR": f"{checkpoints}/"})
    assert result.returncode == 1, result.stderr
    assert not result.metrics_file.exists()
    assert result.stderr.splitlines() == [
        "trainer.task: error: the loss diverged in epoch 1 and no epoch ended with finite weights: "
        "there is no model to save, nor an accuracy to report for one (--learning-rate=1e+09 too high?)"
    ]
    assert "epoch 1/5 not reported: its loss is not finite" in result.stdout
    assert not (tmp_path / "model").exists()
    # Nor is a checkpoint of NaN weights kept for a restart to resume.
    assert not [path for path in checkpoints.rglob("*") if path.is_file()]


def test_an_epoch_whose_loss_is_not_finite_is_not_reported(tmp_path, monkeypatch):
    """Nor is it the best epoch; a later finite epoch is both."""
    import tensorflow as tf

    from trainer.best_weights import BestEpochWeights
    from trainer.reporting import HypertuneReporter

    metrics = tmp_path / "output.metrics"
    monkeypatch.setenv("CLOUD_ML_HP_METRIC_FILE", str(metrics))
    reporter, best = HypertuneReporter(epochs=3), BestEpochWeights()
    model = tf.keras.Sequential([tf.keras.Input((2,)), tf.keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    for callback in (reporter, best):
        callback.set_model(model)
        callback.on_epoch_end(0, {"loss": float("nan"), "val_loss": float("nan"), "val_accuracy": 0.1})
        callback.on_epoch_end(1, {"loss": 0.5, "val_loss": float("inf"), "val_accuracy": 0.2})
    assert not metrics.exists()
    assert best.best_epoch is None
    for callback in (reporter, best):
        callback.on_epoch_end(2, {"loss": 0.4, "val_loss": 0.6, "val_accuracy": 0.05})
    assert [json.loads(line)["global_step"] for line in metrics.read_text().splitlines()] == ["3"]
    assert best.best_epoch == 3


def test_a_best_epoch_kept_by_the_previous_trainer_still_restores(tmp_path):
    """A checkpoint's best epoch written before the optimizer's state was kept (``np.savez`` of the
    weights alone: arr_0, arr_1, ...), met by a trial resumed after an upgrade: its weights are
    restored, the optimizer left as training made it, rather than the trial failing at its end."""
    import io

    import tensorflow as tf

    from trainer.best_weights import BestEpochWeights

    model = tf.keras.Sequential([tf.keras.Input((2,)), tf.keras.layers.Dense(1)])
    model.compile("adam", "mse")
    model.fit(np.zeros((4, 2)), np.zeros((4, 1)), verbose=0)
    saved = [w + 1 for w in model.get_weights()]
    buffer = io.BytesIO()
    np.savez(buffer, *saved)
    (tmp_path / "epoch-1.npz").write_bytes(buffer.getvalue())
    (tmp_path / "best.json").write_text(json.dumps({"epoch": 1, "accuracy": 0.5, "file": "epoch-1.npz"}))
    best = BestEpochWeights(str(tmp_path))
    best.set_model(model)
    best.on_train_begin()
    assert best.restore() == (1, 0.5)
    assert all((a == b).all() for a, b in zip(model.get_weights(), saved))


def test_same_seed_repeats_the_trial(trials):
    first, second = trials
    assert [r["accuracy"] for r in second.records] == [r["accuracy"] for r in first.records]


def test_unknown_dataset_fails_fast_with_one_line(trainer):
    result = trainer("--dataset=cifar")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "trainer.task: error: argument --dataset: unknown dataset 'cifar'; "
        "use one of: fashion_mnist, digits (see --help)"
    ]
    assert not result.metrics_file.exists()


def test_non_integral_hyperparameter_fails_the_trial(trainer):
    result = trainer("--dataset=digits", "--batch-size=32.5")
    assert result.returncode == 2
    assert "--batch-size" in result.stderr and "'32.5'" in result.stderr


def test_unreachable_download_fails_saying_what_to_do(trainer, tmp_path):
    """fashion_mnist without network, simulated by an empty Keras cache and a dead proxy."""
    dead_proxy = "http://127.0.0.1:9"
    result = trainer(
        "--dataset=fashion_mnist",
        env={
            "KERAS_HOME": str(tmp_path / "keras"),
            "HTTPS_PROXY": dead_proxy,
            "https_proxy": dead_proxy,
        },
    )
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("trainer.task: error: dataset 'fashion_mnist' could not be loaded")
    assert "--dataset digits" in lines[0]
    assert not result.metrics_file.exists()


def test_truncated_cached_download_is_fetched_again(trainer, tmp_path):
    """A download cut short is deleted and fetched again, not used: here the fetch meets a dead proxy."""
    cache = tmp_path / "keras" / "datasets" / "fashion-mnist"
    cache.mkdir(parents=True)
    for name in ("train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz"):
        (cache / name).write_bytes(gzip.compress(b"\0" * 4096)[:40])
    dead_proxy = "http://127.0.0.1:9"
    result = trainer(
        "--dataset=fashion_mnist",
        env={"KERAS_HOME": str(tmp_path / "keras"), "HTTPS_PROXY": dead_proxy, "https_proxy": dead_proxy},
    )
    assert result.returncode == 1
    # The truncated files are gone, and the message is the download's: the network is what to fix.
    assert not list(cache.glob("*.gz"))
    assert result.stderr.startswith("trainer.task: error: dataset 'fashion_mnist' could not be loaded"), result.stderr


def test_a_trial_waits_for_another_trials_download(tmp_path):
    """While another process holds the cache's lock (downloading), a trial leaves the files alone."""
    keras_home = tmp_path / "keras"
    cache = keras_home / "datasets" / "fashion-mnist"
    cache.mkdir(parents=True)
    for name in ("train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz"):
        (cache / name).write_bytes(gzip.compress(b"\0" * 4096)[:40])
    partial = cache / "train-labels-idx1-ubyte.gz"
    dead_proxy = "http://127.0.0.1:9"
    env = {"KERAS_HOME": str(keras_home), "HTTPS_PROXY": dead_proxy, "https_proxy": dead_proxy}
    with open(f"{cache}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        trial = Trial(tmp_path, "--dataset=fashion_mnist", env=env)
        # Its first line, once it has met the lock (at the process's end instead if it never does).
        first_line = trial._process.stdout.readline()
        assert first_line == f"waiting for another trial's download into {cache}\n"
        time.sleep(1)
        assert trial._process.poll() is None, "the trial must wait for the lock"
        assert partial.exists(), "the other process's partial download must be left alone"
    trial.wait()
    # Once the lock is free the trial finds the file truncated, deletes it and meets the dead proxy.
    assert trial.returncode == 1
    assert not partial.exists()


def _epoch_lines(stdout):
    return [line for line in stdout.splitlines() if line.startswith("epoch ")]


def _backup_epoch(record):
    """The epoch count Keras' backup record holds, or None while it is missing or half written."""
    try:
        return json.loads(record.read_text()).get("epoch")
    except (OSError, ValueError):
        return None


def test_a_restarted_trial_resumes_from_its_checkpoint_and_keeps_its_best_epoch(tmp_path):
    """Killed after its 6th epoch and started again with the same AIP_CHECKPOINT_DIR, as Vertex AI
    restarts a worker: it trains only the remaining epochs and still saves the best epoch (the 4th,
    from before the kill), then removes its checkpoints."""
    import tensorflow as tf

    checkpoints = tmp_path / "checkpoints"
    flags = ("--dataset=digits", "--epochs=8", "--learning-rate=0.03", "--batch-size=32", f"--model-dir={tmp_path / 'model'}")
    env = {"AIP_CHECKPOINT_DIR": f"{checkpoints}/"}
    first = Trial(tmp_path / "first", *flags, env=env)
    before = []
    for line in first._process.stdout:
        if line.startswith("epoch "):
            before.append(line.strip())
        if line.startswith("epoch 6/8"):
            break
    # The 6th epoch's line comes before its backup: killed in between, the trial would run the 6th
    # again with a fresh shuffle, which may match or beat the best. Kill once the backup records it.
    record = checkpoints / "backup" / "training_metadata.json"
    deadline = time.monotonic() + 120
    while _backup_epoch(record) != 6:
        assert time.monotonic() < deadline, "the 6th epoch's backup never appeared"
        time.sleep(0.01)
    first._process.kill()
    first.wait()
    assert checkpoints.is_dir()

    second = Trial(tmp_path / "second", *flags, env=env).wait()
    assert second.returncode == 0, second.stderr
    after = _epoch_lines(second.stdout)
    # It resumes after the last epoch its backup recorded, never from the first.
    assert after[0].startswith("epoch 7/8") and after[-1].startswith("epoch 8/8")
    accuracies = {int(line.split()[1].split("/")[0]): float(line.split("=")[1]) for line in before + after}
    best = max(accuracies.values())
    assert max(float(line.split("=")[1]) for line in after) < best, "the best epoch must be one before the kill"
    # The progress lines carry 4 decimals; one validation example is worth 1/450 here.
    assert _saved_model_accuracy(tmp_path / "model") == pytest.approx(best, abs=5e-5)
    # With that epoch's optimizer state, kept across the restart too (43 steps an epoch).
    best_epoch = max(accuracies, key=accuracies.get)
    assert int(tf.keras.models.load_model(tmp_path / "model" / "model.keras").optimizer.iterations) == 43 * best_epoch
    assert not [path for path in checkpoints.rglob("*") if path.is_file()]


def test_a_checkpoint_of_another_job_or_trial_is_deleted_not_resumed(tmp_path):
    """Trial folders are met again by later jobs (one output folder per spec, trial ids from 1)."""
    from trainer.checkpoints import CheckpointFolder

    root = tmp_path / "checkpoints"
    settings = {"learning_rate": 0.01, "num_units": 64}
    mine = CheckpointFolder.from_environment({"AIP_CHECKPOINT_DIR": f"{root}/", "CLOUD_ML_JOB_ID": "1", "CLOUD_ML_TRIAL_ID": "3"}, settings)
    mine.claim()
    (root / "backup").mkdir()
    (root / "backup" / "latest.weights.h5").write_bytes(b"weights")
    # The same job, trial and settings (a restarted worker): the backup stays.
    CheckpointFolder.from_environment({"AIP_CHECKPOINT_DIR": f"{root}/", "CLOUD_ML_JOB_ID": "1", "CLOUD_ML_TRIAL_ID": "3"}, dict(settings)).claim()
    assert (root / "backup" / "latest.weights.h5").exists()
    for environ, other_settings in (
        ({"CLOUD_ML_JOB_ID": "2", "CLOUD_ML_TRIAL_ID": "3"}, settings),  # a later job's trial 3
        ({"CLOUD_ML_JOB_ID": "1", "CLOUD_ML_TRIAL_ID": "3"}, {**settings, "num_units": 32}),
    ):
        mine.claim()
        (root / "backup").mkdir(exist_ok=True)
        (root / "backup" / "latest.weights.h5").write_bytes(b"weights")
        CheckpointFolder.from_environment({"AIP_CHECKPOINT_DIR": f"{root}/", **environ}, other_settings).claim()
        assert not (root / "backup").exists()
        assert json.loads((root / "owner.json").read_text())["job"] == environ["CLOUD_ML_JOB_ID"]


@pytest.mark.parametrize("content", ["", '{"job": "1", "tri', "null"])
def test_an_unreadable_owner_record_is_another_trials_checkpoint(tmp_path, content, capsys):
    """A kill while a record was written (on a local path) must not fail every later trial."""
    from trainer.checkpoints import CheckpointFolder

    root = tmp_path / "checkpoints"
    (root / "backup").mkdir(parents=True)
    (root / "owner.json").write_text(content)
    CheckpointFolder.from_environment({"AIP_CHECKPOINT_DIR": str(root), "CLOUD_ML_JOB_ID": "1", "CLOUD_ML_TRIAL_ID": "3"}, {"x": 1}).claim()
    assert not (root / "backup").exists()
    assert json.loads((root / "owner.json").read_text())["trial"] == "3"
    assert "its owner record unreadable" in capsys.readouterr().out


def test_an_unreadable_backup_is_dropped_and_training_starts_over(tmp_path, capsys):
    """A worker killed while Keras wrote its backup must not fail on every restart after."""
    import tensorflow as tf

    from trainer.checkpoints import CheckpointFolder

    backup = tmp_path / "backup"
    backup.mkdir()
    (backup / "latest.weights.h5").write_bytes(b"\0" * 10)
    (backup / "training_metadata.json").write_text('{"epoch": 3, "batch": 0}')
    model = tf.keras.Sequential([tf.keras.Input((2,)), tf.keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    callback = CheckpointFolder(str(tmp_path), {}).backup_callback()
    history = model.fit(np.zeros((4, 2)), np.zeros(4), epochs=2, verbose=0, callbacks=[callback])
    assert history.epoch == [0, 1]
    assert "cannot be read" in capsys.readouterr().out


def test_a_backup_whose_epoch_record_was_cut_short_is_dropped_before_its_weights_load(tmp_path, capsys):
    """A kill while Keras rewrote training_metadata.json (after the weights) leaves it empty: the
    restart must start over from the first epoch and from its own initial weights."""
    import tensorflow as tf

    from trainer.checkpoints import CheckpointFolder

    def model():
        # Learning rate 0: fit() leaves the weights as they are, so the test sees which ones it had.
        built = tf.keras.Sequential([tf.keras.Input((2,)), tf.keras.layers.Dense(1, kernel_initializer="zeros")])
        built.compile(tf.keras.optimizers.SGD(learning_rate=0.0), "mse")
        return built

    x, y = np.zeros((4, 2)), np.zeros(4)
    killed = model()
    killed.set_weights([np.full((2, 1), 0.5), np.full(1, 0.5)])
    killed.fit(x, y, epochs=1, verbose=0, callbacks=[CheckpointFolder(str(tmp_path), {}).backup_callback()])
    (tmp_path / "backup" / "training_metadata.json").write_text("")

    restarted = model()
    callback = CheckpointFolder(str(tmp_path), {}).backup_callback()
    history = restarted.fit(x, y, epochs=2, verbose=0, callbacks=[callback])
    assert history.epoch == [0, 1]
    assert not restarted.get_weights()[0].any(), "the backup's weights must not be loaded"
    assert "training_metadata.json" in capsys.readouterr().out


def test_a_backup_whose_weights_are_gone_is_dropped_rather_than_resumed_from_initial_weights(tmp_path, capsys):
    """A kill while the backup was deleted (after the model's save; on gs:// the weights go first, in
    name order) leaves the epoch record alone: Keras then resumed after that epoch from the model's
    initial weights, and --save-epoch=last saved that untrained model over the trained one."""
    import tensorflow as tf

    from trainer.checkpoints import CheckpointFolder

    x, y = np.zeros((4, 2)), np.zeros(4)
    killed = tf.keras.Sequential([tf.keras.Input((2,)), tf.keras.layers.Dense(1)])
    killed.compile("sgd", "mse")
    killed.fit(x, y, epochs=2, verbose=0, callbacks=[CheckpointFolder(str(tmp_path), {}).backup_callback()])
    for weights in (tmp_path / "backup").glob("latest.weights.h5*"):
        weights.unlink()

    restarted = tf.keras.Sequential([tf.keras.Input((2,)), tf.keras.layers.Dense(1)])
    restarted.compile("sgd", "mse")
    history = restarted.fit(x, y, epochs=2, verbose=0, callbacks=[CheckpointFolder(str(tmp_path), {}).backup_callback()])
    assert history.epoch == [0, 1], "trained from the first epoch, not resumed after the recorded one"
    assert "has no latest.weights.h5 beside it" in capsys.readouterr().out
