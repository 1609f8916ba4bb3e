"""Copying the staged model with tf.io.gfile, as for a gs:// AIP_MODEL_DIR.

TensorFlow's in-memory ``ram://`` filesystem stands in for Cloud Storage: it goes through
the same tf.io.gfile calls and needs no credentials.
"""

import tensorflow as tf

from trainer.saving import _copy_tree


def test_copy_tree_reaches_a_non_local_filesystem_with_a_trailing_slash(tmp_path):
    (tmp_path / "variables").mkdir()
    (tmp_path / "saved_model.pb").write_bytes(b"graph")
    (tmp_path / "variables" / "variables.index").write_bytes(b"index")

    _copy_tree(str(tmp_path), "ram://bucket/job/7/model/")

    with tf.io.gfile.GFile("ram://bucket/job/7/model/variables/variables.index", "rb") as f:
        assert f.read() == b"index"
    # Joined with single slashes: object stores keep "model//x" as a different name.
    listing = sorted(tf.io.gfile.listdir("ram://bucket/job/7/model"))
    assert listing == ["saved_model.pb", "variables"]
    assert tf.io.gfile.glob("ram://bucket/job/7/model//*") == []
