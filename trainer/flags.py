"""Command-line flags of a trial.

Vertex AI appends each hyperparameter as ``--<parameterId>=<value>``, and sends DISCRETE
values in float form (``256.0``; whether INTEGER values may arrive so is not documented, and the
local backend sends them as ``256``). argparse accepts both ``--name=value`` and
``--name value``; the integer flags here accept both forms. This module imports
neither TensorFlow nor the datasets, so a bad flag fails in well under a second.
"""

import argparse
import math
import os
import sys

from trainer.datasets import DATASET_NAMES

DEFAULT_DATASET = "fashion_mnist"
DEFAULT_SEED = 42
# NumPy's seeds are unsigned 32-bit integers.
MAX_SEED = 2**32 - 1
# The seed tutorial's fallback when AIP_MODEL_DIR is not set (Vertex AI always sets it).
DEFAULT_MODEL_DIR = "/tmp/model"
# Whose weights a trial saves (trainer.best_weights).
SAVE_EPOCHS = ("best", "last")


def integral(text):
    """Parse an integer flag value, accepting the integral float form Vertex AI sends.

    ``"256"`` and ``"256.0"`` give 256; ``"256.5"`` is rejected rather than silently
    truncated, because a truncated value would not be the trial the optimizer asked for.
    """
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    # inf (also what "1e400" parses to) and nan are not integers of any declaration: the hint
    # below would send the user to fix a parameter spec that is not at fault.
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}")
    if not value.is_integer():
        raise argparse.ArgumentTypeError(
            f"expected an integer, got {text!r} (a non-integral float; "
            "declare the parameter as INTEGER or DISCRETE with integral values)"
        )
    return int(value)


def positive_integral(text):
    """An :func:`integral` value that must be at least 1."""
    value = integral(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def positive_float(text):
    """A finite float flag value that must be greater than 0 (e.g. a learning rate)."""
    value = _float(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


def seed_value(text):
    """An :func:`integral` seed within NumPy's range, 0 to 2**32 - 1."""
    value = integral(text)
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"expected an integer from 0 to {MAX_SEED}, got {text!r}")
    return value


def dropout_fraction(text):
    """A dropout rate: a float in [0, 1)."""
    value = _float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}")
    return value


def dataset_name(text):
    """A dataset name known to :mod:`trainer.datasets`."""
    if text not in DATASET_NAMES:
        raise argparse.ArgumentTypeError(
            f"unknown dataset {text!r}; use one of: {', '.join(DATASET_NAMES)}"
        )
    return text


def _float(text):
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


class _OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are a single line on stderr and exit status 2.

    A trial's log is read in a job console; one line that names the flag and the problem
    reads better there than argparse's usage block.
    """

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser():
    """The parser of ``python -m trainer.task``."""
    parser = _OneLineParser(
        prog="trainer.task",
        description="Train one hyperparameter-tuning trial and report its validation accuracy.",
        # Vertex AI passes full flag names; a prefix match could bind a misspelt parameter
        # id to the wrong flag.
        allow_abbrev=False,
    )
    parser.add_argument("--learning-rate", type=positive_float, default=0.001)
    parser.add_argument("--num-units", type=positive_integral, default=128)
    parser.add_argument("--dropout-rate", type=dropout_fraction, default=0.2)
    parser.add_argument("--batch-size", type=positive_integral, default=64)
    parser.add_argument("--epochs", type=positive_integral, default=20)
    parser.add_argument(
        "--model-dir",
        default=None,
        help="where the model is saved (local path or gs://); default $AIP_MODEL_DIR, "
        f"else {DEFAULT_MODEL_DIR}",
    )
    parser.add_argument(
        "--save-epoch",
        choices=SAVE_EPOCHS,
        default="best",
        help="whose weights are saved: the epoch with the best validation accuracy (default; "
        "a study's BEST_MEASUREMENT selection) or the last epoch (LAST_MEASUREMENT)",
    )
    parser.add_argument(
        "--dataset",
        type=dataset_name,
        default=DEFAULT_DATASET,
        help=f"one of: {', '.join(DATASET_NAMES)} (default {DEFAULT_DATASET})",
    )
    parser.add_argument(
        "--seed",
        type=seed_value,
        default=DEFAULT_SEED,
        help="seed of weight initialization, dropout and shuffling",
    )
    return parser


def parse_args(argv=None, environ=None):
    """Parse ``argv`` (default ``sys.argv[1:]``) into the trial's settings.

    ``environ`` (default ``os.environ``) supplies ``AIP_MODEL_DIR`` when ``--model-dir``
    is not given; it is read at parse time, not import time, so tests can vary it.
    """
    environ = os.environ if environ is None else environ
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    if args.model_dir is None:
        args.model_dir = environ.get("AIP_MODEL_DIR") or DEFAULT_MODEL_DIR
    elif not args.model_dir.strip():
        # An args template whose variable expanded to nothing: saving to "" would write to "/".
        build_parser().error("argument --model-dir: empty (leave it out to use $AIP_MODEL_DIR)")
    return args
