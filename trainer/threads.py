"""CPU thread counts from the environment the trial runner sets.

The local backend runs several trials side by side and gives each ``cores / parallel
trials`` threads through ``OMP_NUM_THREADS``, ``TF_NUM_INTRAOP_THREADS`` and
``TF_NUM_INTEROP_THREADS``. TensorFlow fixes its thread pools when the first op runs, so
:func:`apply_thread_settings` must be called before any model or tensor is created. On
Vertex AI none of these is set and TensorFlow's defaults (all cores) apply.
"""

import os

from trainer.errors import TrialError


def thread_counts(environ):
    """(intra-op, inter-op) thread counts from ``environ``; 0 means TensorFlow's default.

    ``OMP_NUM_THREADS`` stands in for the intra-op count when ``TF_NUM_INTRAOP_THREADS`` is
    not set, since it is the one variable every runner sets.
    """
    intra = _count(environ, "TF_NUM_INTRAOP_THREADS") or _count(environ, "OMP_NUM_THREADS", nested=True)
    inter = _count(environ, "TF_NUM_INTEROP_THREADS")
    return intra, inter


def apply_thread_settings(environ=None):
    """Configure TensorFlow's thread pools from ``environ`` (default ``os.environ``)."""
    import tensorflow as tf

    intra, inter = thread_counts(os.environ if environ is None else environ)
    if intra:
        tf.config.threading.set_intra_op_parallelism_threads(intra)
    if inter:
        tf.config.threading.set_inter_op_parallelism_threads(inter)
    return intra, inter


def _count(environ, name, nested=False):
    """A positive integer from ``environ[name]``, or 0 if unset; bad values are TrialErrors.

    ``nested``: the value may be OpenMP's list of counts per nesting level (``4,2``), whose
    first entry is the outermost level's, the one that applies here.
    """
    text = environ.get(name, "").strip()
    if nested:
        text = text.split(",")[0].strip()
    if not text:
        return 0
    try:
        value = int(text)
    except ValueError:
        raise TrialError(
            f"{name}={text!r} is not an integer; set it to a thread count >= 1"
        ) from None
    if value < 1:
        raise TrialError(f"{name}={text!r} must be a thread count >= 1")
    return value
