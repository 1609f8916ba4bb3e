"""One trial: configure TensorFlow, load the data, train, report every epoch, save."""

import os

import numpy as np
import tensorflow as tf

from trainer import datasets
from trainer.best_weights import BestEpochWeights, describe
from trainer.checkpoints import CheckpointFolder
from trainer.errors import TrialError
from trainer.model import build_model
from trainer.reporting import HypertuneReporter
from trainer.saving import save_model
from trainer.threads import apply_thread_settings


def run(args):
    """Run the trial described by parsed flags ``args``.

    Raises :class:`trainer.errors.TrialError` when the data cannot be loaded, a thread-count
    variable is malformed, or the loss diverged leaving no finite weights to save.
    """
    # Before anything else touches TensorFlow: its thread pools are fixed by the first op.
    apply_thread_settings()
    # Keras' progress messages (e.g. model.export's listing) go to absl logging, which stays
    # silent at its default level; the trial prints its own one line per epoch.
    tf.keras.utils.disable_interactive_logging()
    # Seeds Python, NumPy and TensorFlow: weights, dropout masks and shuffling repeat. On the CPU
    # a trial then repeats exactly; on a GPU some kernels are not deterministic, and making them
    # so (op determinism) slows every trial, so same-parameter GPU trials may differ slightly.
    tf.keras.utils.set_random_seed(args.seed)

    data = datasets.load(args.dataset)
    # One line that shows, in a Vertex AI job's log, whether the accelerator was found.
    gpus = len(tf.config.list_physical_devices("GPU"))
    print(
        f"dataset {data.name}: {len(data.x_train)} training, {len(data.x_val)} validation "
        f"examples; {gpus} GPU(s)",
        flush=True,
    )
    model = build_model(
        input_shape=data.input_shape,
        num_classes=data.num_classes,
        num_units=args.num_units,
        dropout_rate=args.dropout_rate,
        learning_rate=args.learning_rate,
    )
    reporter = HypertuneReporter(epochs=args.epochs)
    # A loss that is NaN (a learning rate far too high) stays NaN: stop at once rather than
    # spend the remaining epochs. That epoch is not reported (trainer.reporting.diverged).
    callbacks = [tf.keras.callbacks.TerminateOnNaN(), reporter]
    checkpoints = CheckpointFolder.from_environment(os.environ, vars(args))
    if checkpoints:
        checkpoints.claim()
    best = BestEpochWeights(store=checkpoints.best_store if checkpoints else None)
    callbacks.append(best)
    # The backup comes last, after the epoch is reported, so a restart repeats an epoch's report
    # rather than skip one.
    if checkpoints:
        callbacks.append(checkpoints.backup_callback())
    history = model.fit(
        data.x_train,
        data.y_train,
        batch_size=args.batch_size,
        epochs=args.epochs,
        validation_data=(data.x_val, data.y_val),
        callbacks=callbacks,
        verbose=0,
    )
    # history.epoch lists the epochs this run trained, numbered from where it resumed.
    epochs_run = history.epoch[-1] + 1 if history.epoch else args.epochs
    if history.epoch and not np.isfinite(history.history["loss"][-1]):
        print(f"the loss became NaN in epoch {epochs_run}: training stopped", flush=True)
    if args.save_epoch == "best":
        best.restore()
    if not all(np.isfinite(w).all() for w in model.get_weights()):
        # Every epoch diverged (or the last did, with --save-epoch=last): a model of NaNs is of no
        # use to anyone, and neither is a checkpoint of one. The trial fails, so that a study
        # counts it infeasible rather than take an accuracy it reported (if any) as a model's.
        if checkpoints:
            checkpoints.discard()
        which = ", whose weights --save-epoch=last saves" if args.save_epoch == "last" else " and no epoch ended with finite weights"
        raise TrialError(
            f"the loss diverged in epoch {epochs_run}{which}: there is no model to save, nor an accuracy "
            f"to report for one (--learning-rate={args.learning_rate:g} too high?)"
        )
    print(describe(args.save_epoch, (best.best_epoch, best.best_accuracy), epochs_run), flush=True)
    keras_path = save_model(model, args.model_dir)
    if checkpoints:
        checkpoints.discard()
    print(f"saved model: SavedModel in {args.model_dir}, Keras file {keras_path}", flush=True)
