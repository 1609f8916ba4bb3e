"""Per-epoch reporting: the metric for Vertex AI's tuning service and a progress line."""

import math
import os

import hypertune
import tensorflow as tf

# The metric id of the study (studySpec.metrics[].metricId) must equal this tag.
METRIC_TAG = "accuracy"


def diverged(logs):
    """Whether an epoch's training or validation loss (in its Keras ``logs``) is not finite.

    Its model's outputs are then NaN, and its accuracy (the argmax of NaNs: the first class's
    share) measures nothing: reported, a tuning service would take it as the trial's real value.
    """
    return not all(math.isfinite(float(logs[key])) for key in ("loss", "val_loss") if key in logs)


def _hypertune():
    """cloudml-hypertune's reporter, also for a bare or empty ``$CLOUD_ML_HP_METRIC_FILE``.

    The library creates the file's folder with ``os.makedirs(os.path.dirname(path))``, which
    raises for a bare name (its folder is ""): such a name gets the current directory's ``./``
    first, which names the same file. An empty value (a variable set to nothing, as a launcher
    or an ``env`` entry may leave it) would reach ``os.makedirs("")`` too; it means no file was
    chosen, so it is dropped and the library writes to its default path, as when it is unset.
    """
    path = os.environ.get("CLOUD_ML_HP_METRIC_FILE")
    if path == "":
        del os.environ["CLOUD_ML_HP_METRIC_FILE"]
    elif path and not os.path.dirname(path):
        os.environ["CLOUD_ML_HP_METRIC_FILE"] = os.path.join(os.curdir, path)
    return hypertune.HyperTune()


class HypertuneReporter(tf.keras.callbacks.Callback):
    """After each epoch, report validation accuracy with ``global_step`` = epoch (1-based).

    Reporting every epoch, not only the last, gives early stopping a learning curve to
    judge; an epoch that :func:`diverged` is not reported. ``cloudml-hypertune`` rewrites
    ``$CLOUD_ML_HP_METRIC_FILE`` on every report and stamps each line with ``$CLOUD_ML_TRIAL_ID``.
    """

    def __init__(self, epochs):
        super().__init__()
        self._epochs = epochs
        self._hypertune = _hypertune()

    def on_epoch_end(self, epoch, logs=None):
        step = epoch + 1
        if diverged(logs):
            print(f"epoch {step}/{self._epochs} not reported: its loss is not finite", flush=True)
            return
        accuracy = float(logs["val_accuracy"])
        self._hypertune.report_hyperparameter_tuning_metric(
            hyperparameter_metric_tag=METRIC_TAG,
            metric_value=accuracy,
            global_step=step,
        )
        # flush: a trial's stdout is a pipe; without it the lines arrive only at exit.
        print(f"epoch {step}/{self._epochs} {METRIC_TAG}={accuracy:.4f}", flush=True)
