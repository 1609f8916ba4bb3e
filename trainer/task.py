"""Entry point of a trial: ``python -m trainer.task [flags]`` from the repository root.

This is the module the Vertex AI image runs (``Dockerfile``) and the local backend spawns
with ``.venv/bin/python -m trainer.task``. Exit status: 0 on success, 1 when the trial
cannot run (e.g. its dataset cannot be loaded) or has no result (its loss diverged), 2 for bad
flags; in both failure cases stderr carries one line that says what went wrong and what to do.
"""

import os
import sys

# Must precede the first TensorFlow import, which reads it: hides TensorFlow's C++ info and
# warning chatter (CPU feature notes, oneDNN notices). setdefault lets a user turn it back on.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from trainer.flags import parse_args  # noqa: E402  (after the environment is set)

PROG = "trainer.task"


def main(argv=None):
    """Parse flags, run the trial, and return the process exit status."""
    args = parse_args(argv)
    # Imported only now, so that a bad flag fails before the seconds TensorFlow takes to load.
    from trainer.errors import TrialError
    from trainer.training import run

    try:
        run(args)
    except TrialError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
