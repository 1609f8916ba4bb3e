"""Per-epoch reporting: the metric for Vertex AI's tuning service and a progress line."""

import hypertune
import tensorflow as tf

# The metric id of the study (studySpec.metrics[].metricId) must equal this tag.
METRIC_TAG = "accuracy"


class HypertuneReporter(tf.keras.callbacks.Callback):
    """After each epoch, report validation accuracy with ``global_step`` = epoch (1-based).

    Reporting every epoch, not only the last, gives early stopping a learning curve to
    judge. ``cloudml-hypertune`` rewrites ``$CLOUD_ML_HP_METRIC_FILE`` on every report and
    stamps each line with ``$CLOUD_ML_TRIAL_ID``.
    """

    def __init__(self, epochs):
        super().__init__()
        self._epochs = epochs
        self._hypertune = hypertune.HyperTune()

    def on_epoch_end(self, epoch, logs=None):
        accuracy = float(logs["val_accuracy"])
        step = epoch + 1
        self._hypertune.report_hyperparameter_tuning_metric(
            hyperparameter_metric_tag=METRIC_TAG,
            metric_value=accuracy,
            global_step=step,
        )
        # flush: a trial's stdout is a pipe; without it the lines arrive only at exit.
        print(f"epoch {step}/{self._epochs} {METRIC_TAG}={accuracy:.4f}", flush=True)
