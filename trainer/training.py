"""One trial: configure TensorFlow, load the data, train, report every epoch, save."""

import tensorflow as tf

from trainer import datasets
from trainer.best_weights import BestEpochWeights, describe
from trainer.model import build_model
from trainer.reporting import HypertuneReporter
from trainer.saving import save_model
from trainer.threads import apply_thread_settings


def run(args):
    """Run the trial described by parsed flags ``args``.

    Raises :class:`trainer.errors.TrialError` when the data cannot be loaded or a
    thread-count variable is malformed.
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
    best = BestEpochWeights()
    # A loss that is NaN (a learning rate far too high) stays NaN: stop at once rather than
    # spend the remaining epochs, still reporting the epoch so the study sees it as poor.
    diverged = tf.keras.callbacks.TerminateOnNaN()
    history = model.fit(
        data.x_train,
        data.y_train,
        batch_size=args.batch_size,
        epochs=args.epochs,
        validation_data=(data.x_val, data.y_val),
        callbacks=[diverged, reporter, best],
        verbose=0,
    )
    epochs_run = len(history.epoch)
    if epochs_run < args.epochs:
        print(f"the loss became NaN in epoch {epochs_run}: training stopped", flush=True)
    if args.save_epoch == "best":
        best.restore()
    print(describe(args.save_epoch, (best.best_epoch, best.best_accuracy), epochs_run), flush=True)
    keras_path = save_model(model, args.model_dir)
    print(f"saved model: SavedModel in {args.model_dir}, Keras file {keras_path}", flush=True)
