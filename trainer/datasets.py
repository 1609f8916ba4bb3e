"""The datasets a trial can train on, each with its input shape and class count.

Loaders import TensorFlow and scikit-learn lazily, so that listing the names (for flag
parsing) stays cheap. A dataset that cannot be loaded raises :class:`DatasetError` with a
message that names the dataset, the cause and the remedy.
"""

import contextlib
import fcntl
import gzip
import os
import shutil
import socket
import tempfile
import zlib
from dataclasses import dataclass

import numpy as np

from trainer.errors import TrialError

# Validation splits are fixed, independent of --seed: every trial of a study must be judged on
# the same validation set, or the optimizer would compare noise.
VALIDATION_SPLIT_SEED = 0
DIGITS_VALIDATION_FRACTION = 0.25
# Fashion-MNIST's validation images come out of its 60,000 training images, as many as its
# official test split has. Tuning on the test split (as the seed tutorial does) would leave no
# unseen data to judge the chosen model on: a study that picks the best of many trials by their
# test accuracy overstates it.
FASHION_MNIST_VALIDATION_SIZE = 10_000
# urllib has no timeout by default: behind a firewall that drops packets the download would
# hang until the trial's own timeout instead of failing with a useful message.
DOWNLOAD_TIMEOUT_SECONDS = 60
# What reading a truncated download raises: gzip's errors, or numpy's ValueError when the data
# ends early. Keras saves straight to its cache file and keeps whatever is there, so a download
# cut short (a trial stopped mid-download) would fail every later trial on this machine.
TRUNCATED_FILE_ERRORS = (EOFError, gzip.BadGzipFile, zlib.error, ValueError)


class DatasetError(TrialError):
    """A dataset could not be loaded, or its name is unknown."""


@dataclass(frozen=True)
class Dataset:
    """Training and validation arrays (features scaled to [0, 1]) and their shape."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    input_shape: tuple
    num_classes: int


def fashion_mnist_cache():
    """Where Keras caches Fashion-MNIST, by Keras 3's own rule (its config and ``get_file``).

    ``$KERAS_HOME`` (a leading ``~`` expanded, as ``get_file`` expands it), else ``~/.keras``
    (``/tmp/.keras`` when the home folder is read-only); and ``/tmp/.keras`` whenever that folder
    is not writable. Then ``datasets/fashion-mnist``. Read literally, ``KERAS_HOME=~/k`` named a
    folder ``~`` that is not there, so a truncated download was looked for, and cleared, in
    ``/tmp/.keras`` while Keras kept failing on the one in ``$HOME/k``.
    """
    if "KERAS_HOME" in os.environ:
        home = os.path.expanduser(os.environ["KERAS_HOME"])
    else:
        base = os.path.expanduser("~")
        home = os.path.join(base if os.access(base, os.W_OK) else "/tmp", ".keras")
    if not os.access(home, os.W_OK):
        home = os.path.join("/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir(), ".keras")
    return os.path.join(home, "datasets", "fashion-mnist")


@contextlib.contextmanager
def cache_lock(cache):
    """Hold an exclusive lock on ``cache`` (a lock file beside it) for the ``with`` block.

    Keras downloads straight into its cache file, so two local trials loading the dataset for
    the first time would write the same files at once, and one's retry (which deletes the
    folder) would pull the files from under the other. Under the lock one trial downloads and
    the others then read complete files; reading takes well under a second.
    """
    os.makedirs(os.path.dirname(cache), exist_ok=True)
    with open(f"{cache}.lock", "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"waiting for another trial's download into {cache}", flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def load_fashion_mnist():
    """Fashion-MNIST (28x28 grey images, 10 classes), downloaded by Keras on first use.

    Keras caches the files (see :func:`fashion_mnist_cache`); a truncated cached file is
    deleted and downloaded again, once. The validation set is held out of the training split
    (:data:`FASHION_MNIST_VALIDATION_SIZE` images); the official test split is never used, so
    it stays unseen by every trial of a study and can judge the best trial's model afterwards.
    """
    import tensorflow as tf

    previous_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_SECONDS)
    cache = fashion_mnist_cache()
    try:
        with cache_lock(cache):
            try:
                (images, labels), _ = tf.keras.datasets.fashion_mnist.load_data()
            except TRUNCATED_FILE_ERRORS:
                shutil.rmtree(cache, ignore_errors=True)
                (images, labels), _ = tf.keras.datasets.fashion_mnist.load_data()
    except TRUNCATED_FILE_ERRORS as error:
        cause = " ".join(str(error).split())
        raise DatasetError(
            f"dataset 'fashion_mnist': the download in {cache} is truncated ({cause}) even "
            "after downloading it again; delete that folder and rerun, or run with "
            "--dataset digits, which needs no network"
        ) from error
    except Exception as error:  # Keras wraps network failures in a bare Exception.
        cause = " ".join(str(error).split())  # Keep the message on one line.
        raise DatasetError(
            f"dataset 'fashion_mnist' could not be loaded ({cause}); it is downloaded from "
            "storage.googleapis.com on first use: allow that host, or run with "
            "--dataset digits, which needs no network"
        ) from error
    finally:
        socket.setdefaulttimeout(previous_timeout)
    return _held_out(
        "fashion_mnist",
        (images / 255.0).astype("float32"),
        labels,
        validation=FASHION_MNIST_VALIDATION_SIZE,
        num_classes=10,
    )


def load_digits():
    """scikit-learn's handwritten digits (8x8 images, 16 grey levels, 10 classes), offline.

    The data ships inside the scikit-learn package, so it loads without network access.
    A quarter of it (:data:`DIGITS_VALIDATION_FRACTION`) is held out for validation.
    """
    from sklearn.datasets import load_digits as sklearn_load_digits

    digits = sklearn_load_digits()
    return _held_out(
        "digits",
        (digits.images / 16.0).astype("float32"),
        digits.target,
        validation=DIGITS_VALIDATION_FRACTION,
        num_classes=10,
    )


def _held_out(name, images, labels, validation, num_classes):
    """``images`` split into training and validation parts, as a :class:`Dataset`.

    ``validation`` is the validation part's size, as a count or a fraction. The split is
    stratified, so every class has the same share in both parts, and seeded by
    :data:`VALIDATION_SPLIT_SEED`, so it is the same for every trial.
    """
    from sklearn.model_selection import train_test_split

    x_train, x_val, y_train, y_val = train_test_split(
        images,
        labels,
        test_size=validation,
        stratify=labels,
        random_state=VALIDATION_SPLIT_SEED,
    )
    return Dataset(
        name=name,
        x_train=x_train,
        y_train=y_train,
        x_val=x_val,
        y_val=y_val,
        input_shape=images.shape[1:],
        num_classes=num_classes,
    )


LOADERS = {
    "fashion_mnist": load_fashion_mnist,
    "digits": load_digits,
}
DATASET_NAMES = tuple(LOADERS)


def load(name):
    """Load the dataset called ``name``; raise :class:`DatasetError` if that fails."""
    if name not in LOADERS:
        raise DatasetError(
            f"dataset {name!r} is unknown; use one of: {', '.join(DATASET_NAMES)}"
        )
    return LOADERS[name]()
