"""The tagger's own Keras pieces; importing this module registers them with Keras.

``CharCNN`` spells each word out: character embeddings, a convolution over each word's
characters and a max over them (Ma & Hovy 2016). ``TokenAccuracy`` counts the tokens
tagged right, padding left out.
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class CharCNN(keras.layers.Layer):
    """Character ids [B, T, C] (0 pads) -> one vector per word [B, T, filters].

    The max runs over a word's real characters only, and a padding word (no characters)
    gives zeros, so padding neither adds nor changes a feature. The output is masked where
    a word has no characters: ``Concatenate`` keeps a step where any input's mask does, so
    beside the word embeddings' mask this one must mark the padding too.
    """

    def __init__(self, char_vocab_size: int, char_dim: int, filters: int, width: int = 3, **kwargs):
        super().__init__(**kwargs)
        self.char_vocab_size, self.char_dim = char_vocab_size, char_dim
        self.filters, self.width = filters, width
        self.embedding = keras.layers.Embedding(char_vocab_size, char_dim, name="embedding")
        self.conv = keras.layers.Conv1D(
            filters, width, padding="same", activation="tanh", name="conv"
        )

    def build(self, input_shape):
        self.embedding.build((None, None))
        self.conv.build((None, None, self.char_dim))

    def call(self, chars):
        shape = ops.shape(chars)
        flat = ops.reshape(chars, (-1, shape[2]))  # one row per word
        features = self.conv(self.embedding(flat))
        real = ops.expand_dims(flat > 0, -1)
        lowest = ops.convert_to_tensor(-2.0, features.dtype)  # below tanh's range
        pooled = ops.max(ops.where(real, features, lowest), axis=1)
        pooled = ops.where(pooled > -2.0, pooled, ops.zeros_like(pooled))
        return ops.reshape(pooled, (shape[0], shape[1], self.filters))

    def compute_mask(self, chars, mask=None):
        return ops.any(chars > 0, axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:2], self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "char_vocab_size": self.char_vocab_size,
            "char_dim": self.char_dim,
            "filters": self.filters,
            "width": self.width,
        }


@keras.saving.register_keras_serializable(package="zoo")
class TokenAccuracy(keras.metrics.Mean):
    """The share of real tokens whose best-scoring tag is the gold one; gold ``padding``
    positions count for nothing."""

    def __init__(self, padding: int = -1, name: str = "accuracy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.padding = padding

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(y_true, "int64")
        real = ops.cast(ops.not_equal(y_true, self.padding), "float32")
        if sample_weight is not None:
            real = real * ops.cast(sample_weight, "float32")
        right = ops.cast(ops.equal(ops.argmax(y_pred, axis=-1), y_true), "float32")
        return super().update_state(right, sample_weight=real)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}


@keras.saving.register_keras_serializable(package="zoo")
class WordDropout(keras.layers.Layer):
    """While training, each real word id becomes the unknown word's (``unknown_id``) with
    probability ``rate``: the unknown word's embedding learns from every kind of word, and
    the tagger learns to read the spelling of words it has no embedding for."""

    def __init__(self, rate: float, unknown_id: int = 1, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.rate, self.unknown_id, self.seed = rate, unknown_id, seed
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, ids, training=False):
        if not training or not self.rate:
            return ids
        dropped = keras.random.uniform(ops.shape(ids), seed=self.generator) < self.rate
        return ops.where(dropped & (ids > 0), ops.cast(self.unknown_id, ids.dtype), ids)

    def get_config(self):
        return {
            **super().get_config(),
            "rate": self.rate,
            "unknown_id": self.unknown_id,
            "seed": self.seed,
        }
