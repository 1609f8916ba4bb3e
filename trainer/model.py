"""The seed tutorial's classifier, adapted to any dataset's input shape and class count."""

import tensorflow as tf


def build_model(input_shape, num_classes, num_units, dropout_rate, learning_rate):
    """A compiled two-hidden-layer perceptron.

    Flatten, Dense(num_units, relu), Dropout, Dense(num_units // 2, relu), Dropout,
    Dense(num_classes, softmax); Adam at ``learning_rate``; sparse categorical
    cross-entropy, with accuracy as the metric that the tuning study maximizes.
    """
    model = tf.keras.Sequential(
        [
            tf.keras.Input(shape=input_shape),
            tf.keras.layers.Flatten(),
            tf.keras.layers.Dense(num_units, activation="relu"),
            tf.keras.layers.Dropout(dropout_rate),
            # max(1, ...): --num-units 1 would otherwise build a layer with no units.
            tf.keras.layers.Dense(max(1, num_units // 2), activation="relu"),
            tf.keras.layers.Dropout(dropout_rate),
            tf.keras.layers.Dense(num_classes, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=tf.keras.optimizers.Adam(learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model
