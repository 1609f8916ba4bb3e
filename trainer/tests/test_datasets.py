"""Validation splits: held out of the training data, the same for every trial."""

import numpy as np

from trainer import datasets


def _fake_fashion_mnist(train_size, test_size):
    """Fashion-MNIST's shapes and classes, with every training image marked 1 and test image 2."""
    labels = np.arange(train_size) % 10
    train = (np.ones((train_size, 28, 28), dtype="uint8"), labels.astype("uint8"))
    test = (np.full((test_size, 28, 28), 2, dtype="uint8"), (np.arange(test_size) % 10).astype("uint8"))
    return lambda: (train, test)


def test_fashion_mnist_validates_on_held_out_training_images_not_the_test_split(monkeypatch, tmp_path):
    import tensorflow as tf

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(tf.keras.datasets.fashion_mnist, "load_data", _fake_fashion_mnist(60_000, 10_000))
    data = datasets.load("fashion_mnist")

    assert (len(data.x_train), len(data.x_val)) == (50_000, 10_000)
    # Every image, training or validation, comes from the training split (value 1/255 once scaled).
    assert np.all(data.x_val == np.float32(1 / 255)) and np.all(data.x_train == np.float32(1 / 255))
    assert np.bincount(data.y_val).tolist() == [1_000] * 10, "the split is stratified"
    assert data.input_shape == (28, 28)


def test_validation_split_is_the_same_on_every_load():
    first, second = datasets.load("digits"), datasets.load("digits")
    assert np.array_equal(first.x_val, second.x_val) and np.array_equal(first.y_val, second.y_val)
    assert (len(first.x_train), len(first.x_val), first.input_shape) == (1347, 450, (8, 8))


def test_the_fashion_mnist_cache_is_where_keras_puts_it_with_a_tilde_in_keras_home(monkeypatch, tmp_path):
    """Keras expands ``~`` in ``$KERAS_HOME``; the folder a truncated download is cleared from must be the same."""
    (tmp_path / "keras").mkdir()
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("KERAS_HOME", "~/keras")
    # From a folder with no "~" in it, which the unexpanded name would find.
    monkeypatch.chdir(tmp_path)
    assert datasets.fashion_mnist_cache() == str(tmp_path / "keras" / "datasets" / "fashion-mnist")
