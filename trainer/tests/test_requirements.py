"""The Vertex AI image's pins against the local environment's, which the tests run on."""

import re
from pathlib import Path

TRAINER = Path(__file__).resolve().parents[1]


def _pins(name):
    """{package: version} of the requirement lines of ``trainer/<name>`` (None where unpinned)."""
    pins = {}
    for line in (TRAINER / name).read_text().splitlines():
        match = re.match(r"\s*([A-Za-z0-9_.-]+)(?:==(\S+))?", line.split("#")[0])
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


def test_the_image_runs_the_keras_and_libraries_the_tests_run():
    local, vertex = _pins("requirements.txt"), _pins("requirements-vertex.txt")
    # Keras is not part of the TensorFlow wheel: unpinned, the image ran whatever its base had.
    assert vertex.get("keras") == local["keras"]
    assert {name: local.get(name) for name in vertex} == vertex


def test_the_image_keeps_the_base_images_tensorflow_and_numpy():
    # Reinstalling either would replace the base image's GPU build (or the numpy it was built for).
    assert not {"tensorflow", "tensorflow-cpu", "numpy", "ml-dtypes"} & set(_pins("requirements-vertex.txt"))
