"""Shared helpers: run the trainer as the backends do, a real `python -m trainer.task`."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TRIAL_ID = "7"


class Trial:
    """A ``python -m trainer.task`` subprocess started from the repository root.

    The environment is the test's own minus anything a developer's shell could leak into a
    trial, plus trial id 7, one thread, and a metrics file in ``work_dir``; ``env`` entries
    override or add variables. Starting several before waiting lets them run side by side.
    """

    def __init__(self, work_dir, *args, env=None):
        environ = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("CLOUD_ML_", "AIP_", "TF_NUM_", "OMP_"))
        }
        self.metrics_file = Path(work_dir) / "hypertune" / "output.metrics"
        environ.update(
            CLOUD_ML_HP_METRIC_FILE=str(self.metrics_file),
            CLOUD_ML_TRIAL_ID=TRIAL_ID,
            OMP_NUM_THREADS="1",
            **(env or {}),
        )
        self._process = subprocess.Popen(
            [sys.executable, "-m", "trainer.task", *args],
            cwd=REPO_ROOT,
            env=environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def wait(self, timeout=120):
        """Wait for the exit; set and return ``self`` with returncode, stdout and stderr."""
        self.stdout, self.stderr = self._process.communicate(timeout=timeout)
        self.returncode = self._process.returncode
        return self


def run_trainer(work_dir, *args, env=None):
    """Run one trial to its end; see :class:`Trial`."""
    return Trial(work_dir, *args, env=env).wait()


@pytest.fixture
def trainer(tmp_path):
    """``run_trainer`` bound to this test's temporary directory."""
    return lambda *args, **kwargs: run_trainer(tmp_path, *args, **kwargs)
