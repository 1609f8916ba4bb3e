"""Which epoch's weights a trial saves: the best one by default, as the study measures it.

The component's studies select each trial's final measurement as its best epoch
(``measurementSelectionType: BEST_MEASUREMENT``, the default), so the model in the trial's
model directory must be that epoch's, or the best trial's model would not score what the
study reported for it. A study that selects the last measurement passes ``--save-epoch=last``.
"""

import tensorflow as tf

from trainer.reporting import METRIC_TAG

class BestEpochWeights(tf.keras.callbacks.Callback):
    """Keeps a copy of the weights of the epoch with the highest validation accuracy.

    :meth:`restore` puts them back after training. Ties keep the earliest epoch: it is the
    first to reach the value, and the one a study's BEST selection reads as its own.
    """

    def __init__(self):
        super().__init__()
        self.best_epoch = None
        self.best_accuracy = None
        self._weights = None

    def on_epoch_end(self, epoch, logs=None):
        accuracy = float(logs["val_accuracy"])
        if self.best_accuracy is None or accuracy > self.best_accuracy:
            self.best_epoch, self.best_accuracy = epoch + 1, accuracy
            self._weights = [w.copy() for w in self.model.get_weights()]

    def restore(self):
        """Set the model's weights to the best epoch's; returns (epoch, accuracy), 1-based."""
        if self._weights is not None:
            self.model.set_weights(self._weights)
        return self.best_epoch, self.best_accuracy


def describe(save_epoch, best, last_epoch):
    """The progress line that says which epoch's weights were saved."""
    epoch, accuracy = best
    if save_epoch == "last":
        return f"saving the last epoch's weights (epoch {last_epoch})"
    return f"saving epoch {epoch}'s weights ({METRIC_TAG}={accuracy:.4f}, the best of {last_epoch})"
