"""Saving the trained model to the trial's model directory, local or ``gs://``.

The directory receives an exported SavedModel (``saved_model.pb``, ``variables/``,
``assets/``: what Vertex AI's TensorFlow prediction containers serve) and, beside it,
``model.keras`` (what ``keras.models.load_model`` reads back for further training).
"""

import json
import os
import tempfile

import tensorflow as tf

KERAS_FILENAME = "model.keras"


def save_model(model, model_dir):
    """Write the SavedModel and ``model.keras`` into ``model_dir``; return the .keras path.

    Both are written to a local staging folder first and then copied with ``tf.io.gfile``,
    which speaks ``gs://`` as well as local paths: Keras writes ``.keras`` files only to
    local paths, and one code path for both keeps the Vertex AI case covered by the local
    tests.
    """
    with tempfile.TemporaryDirectory(prefix="trainer-model-") as staging:
        model.export(staging)
        model.save(os.path.join(staging, KERAS_FILENAME))
        _copy_tree(staging, model_dir)
    return join_path(model_dir, KERAS_FILENAME)


def _copy_tree(source, destination):
    """Copy the local folder ``source`` into ``destination`` (any tf.io.gfile path)."""
    for folder, _subfolders, files in os.walk(source):
        relative = os.path.relpath(folder, source)
        target = destination if relative == "." else join_path(destination, relative)
        tf.io.gfile.makedirs(target)
        for name in files:
            tf.io.gfile.copy(os.path.join(folder, name), join_path(target, name), overwrite=True)


def join_path(base, name):
    """Join paths with '/', which gs:// needs, tolerating a trailing slash on ``base``.

    Vertex AI's AIP_MODEL_DIR ends with '/'.
    """
    return base.rstrip("/") + "/" + name.replace(os.sep, "/")


def write_json(path, value):
    """Write ``value`` as JSON to ``path`` (local or ``gs://``), renamed into place.

    A process killed mid-write then leaves the previous file (or none), never a partial one
    that every later reader would fail on.
    """
    partial = f"{path}.partial"
    with tf.io.gfile.GFile(partial, "w") as f:
        json.dump(value, f)
    tf.io.gfile.rename(partial, path, overwrite=True)
