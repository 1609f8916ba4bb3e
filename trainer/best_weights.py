"""Which epoch's weights a trial saves: the best one by default, as the study measures it.

The component's studies select each trial's final measurement as its best epoch
(``measurementSelectionType: BEST_MEASUREMENT``, the default), so the model in the trial's
model directory must be that epoch's, or the best trial's model would not score what the
study reported for it. A study that selects the last measurement passes ``--save-epoch=last``.
"""

import io
import json

import numpy as np
import tensorflow as tf

from trainer.reporting import METRIC_TAG, diverged
from trainer.saving import join_path, write_json

_RECORD = "best.json"


class BestEpochWeights(tf.keras.callbacks.Callback):
    """Keeps a copy of the weights of the epoch with the highest validation accuracy.

    :meth:`restore` puts them back after training, with the optimizer's state (Adam's step count
    and moments) as it was after that epoch: ``model.keras`` saves both, for further training,
    which must go on from that epoch rather than apply a later epoch's moments to its weights.
    Ties keep the earliest epoch: it is the first to reach the value, and the one a study's BEST
    selection reads as its own.

    With a ``store`` folder (local or ``gs://``; see :mod:`trainer.checkpoints`) the best epoch
    is also written there, so a trial that Vertex AI restarts and that resumes from its
    checkpoint still saves the best epoch of its first run. The weights and optimizer state go to
    a file named by the epoch, then the record that names it, so a process killed between the two
    leaves the previous best intact.
    """

    def __init__(self, store=None):
        super().__init__()
        self.best_epoch = None
        self.best_accuracy = None
        self._weights = None
        self._optimizer = None
        self._store = store

    def on_train_begin(self, logs=None):
        record = self._read_record()
        if record is None:
            return
        # Kept aside: the model itself continues from the checkpoint's weights.
        with tf.io.gfile.GFile(join_path(self._store, record["file"]), "rb") as f:
            arrays = np.load(io.BytesIO(f.read()))
            if "weight_0" in arrays.files:
                self._weights, self._optimizer = _unpack(arrays, "weight"), _unpack(arrays, "optimizer")
            else:
                # Written by a trainer before the optimizer's state was kept (a trial resumed
                # across an upgrade): the weights alone, as np.savez names positional arrays.
                self._weights, self._optimizer = _unpack(arrays, "arr"), None
        self.best_epoch, self.best_accuracy = record["epoch"], record["accuracy"]

    def on_epoch_end(self, epoch, logs=None):
        # An epoch whose loss diverged has weights that are NaN: never the one to save.
        if diverged(logs):
            return
        accuracy = float(logs["val_accuracy"])
        if self.best_accuracy is None or accuracy > self.best_accuracy:
            self.best_epoch, self.best_accuracy = epoch + 1, accuracy
            self._weights = [w.copy() for w in self.model.get_weights()]
            self._optimizer = [v.numpy().copy() for v in self.model.optimizer.variables]
            self._write_record()

    def restore(self):
        """Set the model's weights and optimizer state to the best epoch's; returns (epoch,
        accuracy), 1-based."""
        if self._weights is not None:
            self.model.set_weights(self._weights)
            if self._optimizer is not None:
                self.model.optimizer.set_weights(self._optimizer)
        return self.best_epoch, self.best_accuracy

    def _read_record(self):
        path = join_path(self._store, _RECORD) if self._store else None
        if path is None or not tf.io.gfile.exists(path):
            return None
        with tf.io.gfile.GFile(path) as f:
            return json.load(f)

    def _write_record(self):
        if not self._store:
            return
        tf.io.gfile.makedirs(self._store)
        name = f"epoch-{self.best_epoch}.npz"
        buffer = io.BytesIO()  # np.savez seeks back, which a gs:// file being written cannot.
        np.savez(buffer, **_pack(self._weights, "weight"), **_pack(self._optimizer, "optimizer"))
        with tf.io.gfile.GFile(join_path(self._store, name), "wb") as f:
            f.write(buffer.getvalue())
        record = {"epoch": self.best_epoch, "accuracy": self.best_accuracy, "file": name}
        write_json(join_path(self._store, _RECORD), record)
        for old in tf.io.gfile.listdir(self._store):
            if old.endswith(".npz") and old != name:
                tf.io.gfile.remove(join_path(self._store, old))


def _pack(arrays, prefix):
    """``arrays`` as ``np.savez`` keywords ``<prefix>_0``, ``<prefix>_1``, ..."""
    return {f"{prefix}_{i}": array for i, array in enumerate(arrays)}


def _unpack(npz, prefix):
    """The list :func:`_pack` stored under ``prefix`` in the loaded ``npz``."""
    count = sum(1 for name in npz.files if name.startswith(f"{prefix}_"))
    return [npz[f"{prefix}_{i}"] for i in range(count)]


def describe(save_epoch, best, last_epoch):
    """The progress line that says which epoch's weights were saved."""
    epoch, accuracy = best
    if save_epoch == "last":
        return f"saving the last epoch's weights (epoch {last_epoch})"
    return f"saving epoch {epoch}'s weights ({METRIC_TAG}={accuracy:.4f}, the best of {last_epoch})"
