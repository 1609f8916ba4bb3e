"""Thread counts come from the variables the local runner sets."""

import subprocess
import sys

import pytest

from trainer.errors import TrialError
from trainer.threads import thread_counts
from trainer.tests.conftest import REPO_ROOT


def test_tf_variables_win_over_omp():
    environ = {"OMP_NUM_THREADS": "4", "TF_NUM_INTRAOP_THREADS": "2", "TF_NUM_INTEROP_THREADS": "1"}
    assert thread_counts(environ) == (2, 1)


def test_omp_alone_sets_intra_op_threads():
    assert thread_counts({"OMP_NUM_THREADS": "3"}) == (3, 0)


def test_omp_takes_the_outermost_count_of_a_nested_list():
    # OpenMP's syntax for nested parallelism: the first count is the outermost level's.
    assert thread_counts({"OMP_NUM_THREADS": "4,2"}) == (4, 0)
    with pytest.raises(TrialError, match="OMP_NUM_THREADS"):
        thread_counts({"OMP_NUM_THREADS": "x,2"})


def test_nothing_set_keeps_tensorflow_defaults():
    assert thread_counts({}) == (0, 0)


@pytest.mark.parametrize("value", ["two", "0", "-1"])
def test_bad_values_name_the_variable(value):
    with pytest.raises(TrialError, match="TF_NUM_INTEROP_THREADS"):
        thread_counts({"TF_NUM_INTEROP_THREADS": value})


def test_tensorflow_uses_the_counts():
    """In a fresh interpreter, as in a trial: TensorFlow's pools take the configured sizes."""
    script = (
        "import tensorflow as tf;"
        "from trainer.threads import apply_thread_settings;"
        "apply_thread_settings({'OMP_NUM_THREADS': '3', 'TF_NUM_INTEROP_THREADS': '2'});"
        "tf.constant(1.0) + 1.0;"  # the first op fixes the pools
        "print(tf.config.threading.get_intra_op_parallelism_threads(),"
        " tf.config.threading.get_inter_op_parallelism_threads())"
    )
    process = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert process.returncode == 0, process.stderr
    assert process.stdout.split() == ["3", "2"]
