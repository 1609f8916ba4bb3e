"""The trial's checkpoint folder, ``$AIP_CHECKPOINT_DIR``: a backup of every epoch to resume from.

Vertex AI restarts a trial's worker after a VM's maintenance, a Spot VM taken back or a
non-permanent error, with the same ``AIP_CHECKPOINT_DIR``; the trial then resumes after its last
finished epoch instead of training again from the first (its later epochs shuffle differently
from an uninterrupted run's: the seed starts over with the process). The folder also holds the best epoch's
weights (:class:`trainer.best_weights.BestEpochWeights`), so the model saved at the end is still
the best epoch's after a restart.

The same folder is met again by other trials: a study's trials write under one output folder
per spec (``<base>/<trial id>/checkpoints/``), trial ids start at 1 in every job, and a stopped or
cancelled trial leaves its backup behind. So the folder records whose it is (the job, the trial
and its settings), and a trial that finds another's checkpoint deletes it rather than
continue someone else's training.
"""

import inspect
import json

import tensorflow as tf

from trainer.saving import join_path, write_json

_OWNER = "owner.json"
_BACKUP = "backup"
_BEST = "best"
# The file in which Keras' BackupAndRestore records the epoch its backup is of, and its weights.
_BACKUP_RECORD = "training_metadata.json"
_BACKUP_WEIGHTS = "latest.weights.h5"


class CheckpointFolder:
    """One trial's checkpoint folder (local path or ``gs://``)."""

    def __init__(self, root, owner):
        self.root = root
        self._owner = owner

    @classmethod
    def from_environment(cls, environ, settings):
        """The folder of ``$AIP_CHECKPOINT_DIR``, owned by this job, trial and ``settings`` (the
        parsed flags); None if unset."""
        root = environ.get("AIP_CHECKPOINT_DIR", "").strip()
        if not root:
            return None
        owner = {"job": environ.get("CLOUD_ML_JOB_ID"), "trial": environ.get("CLOUD_ML_TRIAL_ID"), "settings": dict(settings)}
        return cls(root, owner)

    def claim(self):
        """Make the folder this trial's: another owner's checkpoint is deleted, never resumed."""
        if self._owner["job"] is None and self._owner["trial"] is not None:
            print("CLOUD_ML_JOB_ID is not set: an earlier job's trial of this id and these flags "
                  "would look like this trial, and its checkpoint would be resumed", flush=True)
        path = join_path(self.root, _OWNER)
        if tf.io.gfile.exists(path):
            found = _read_owner(path)
            if found == self._owner:
                return
            whose = f"job {found.get('job')}, trial {found.get('trial')}" if found else "its owner record unreadable"
            print(f"deleting another trial's checkpoint in {self.root} ({whose})", flush=True)
        self._clear()
        tf.io.gfile.makedirs(self.root)
        write_json(path, self._owner)

    @property
    def best_store(self):
        """Where :class:`BestEpochWeights` keeps the best epoch."""
        return join_path(self.root, _BEST)

    def backup_callback(self):
        """Keras' backup of every epoch, kept until :meth:`discard` (after the model is saved)."""
        # delete_checkpoint=False: Keras would delete it when training ends, before the model is
        # saved, and a restart during the save would then train again from the first epoch.
        options = {"delete_checkpoint": False}
        # A kill while the backup is written leaves a file that cannot be read: with the previous
        # backup kept beside it (Keras 3.5 and later), Keras falls back to that one.
        if "double_checkpoint" in inspect.signature(tf.keras.callbacks.BackupAndRestore).parameters:
            options["double_checkpoint"] = True
        return _ReadableBackup(backup_dir=join_path(self.root, _BACKUP), **options)

    def discard(self):
        """Delete the checkpoint once the model is saved: a finished trial resumes nothing."""
        self._clear()

    def _clear(self):
        for name in (_BACKUP, _BEST):
            if tf.io.gfile.exists(join_path(self.root, name)):
                tf.io.gfile.rmtree(join_path(self.root, name))
        if tf.io.gfile.exists(join_path(self.root, _OWNER)):
            tf.io.gfile.remove(join_path(self.root, _OWNER))


def _read_owner(path):
    """The owner record at ``path``, or None when it cannot be read as one (treated as another's)."""
    try:
        with tf.io.gfile.GFile(path) as f:
            found = json.load(f)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


class _ReadableBackup(tf.keras.callbacks.BackupAndRestore):
    """Keras' backup, but one that cannot be read (and has no previous copy) is dropped, not fatal.

    Otherwise a worker killed while writing it would fail on every restart after.
    """

    def on_train_begin(self, logs=None):
        # Keras writes its record of the epoch in place, after the weights, and falls back to the
        # previous copy only for weights it cannot read: a record cut short by a kill (an empty
        # file on a local disk) raised a JSON error from fit() on every restart. It is checked
        # before Keras loads anything, so that training really starts over from the first epoch.
        record = join_path(self.backup_dir, _BACKUP_RECORD)
        try:
            _check_json(record)
            # A record without its weights (a kill while the folder was deleted, which goes in name
            # order on gs://: the weights first) made Keras resume after the recorded epoch from the
            # model's initial weights: --save-epoch=last saved an untrained model over the trained
            # one, and the best epoch's optimizer state could not be restored into an unbuilt one.
            if tf.io.gfile.exists(record) and not tf.io.gfile.exists(join_path(self.backup_dir, _BACKUP_WEIGHTS)):
                raise ValueError(f"{record} has no {_BACKUP_WEIGHTS} beside it")
        except ValueError as error:
            self._drop(error)
        try:
            super().on_train_begin(logs)
        except OSError as error:
            self._drop(error)

    def _drop(self, error):
        print(f"the checkpoint in {self.backup_dir} cannot be read ({error}); training from the first epoch", flush=True)
        tf.io.gfile.rmtree(self.backup_dir)


def _check_json(path):
    """Raise ValueError, naming ``path``, when the file there exists but is not JSON."""
    if not tf.io.gfile.exists(path):
        return
    with tf.io.gfile.GFile(path) as f:
        text = f.read()
    try:
        json.loads(text)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
