"""The classifiers' own layers; importing this module registers them with Keras.

``keras.saving.load_model`` of a ``.keras`` classifier needs ``import
zoo.tasks.text_classification.layers`` first (the builders import it); exported SavedModels need
nothing from zoo.
"""

from __future__ import annotations

import keras
import tensorflow as tf

ops = keras.ops


@keras.saving.register_keras_serializable(package="zoo")
class MaskedMaxMeanPooling(keras.layers.Layer):
    """``[max, mean]`` over the unmasked steps of (batch, steps, features)."""

    def call(self, inputs, mask=None):
        if mask is None:
            return ops.concatenate([ops.max(inputs, axis=1), ops.mean(inputs, axis=1)], -1)
        present = ops.expand_dims(ops.cast(mask, "bool"), -1)
        lowest = ops.cast(-3e4, inputs.dtype)  # within float16 and bfloat16 range
        largest = ops.max(ops.where(present, inputs, lowest), axis=1)
        count = ops.maximum(ops.sum(ops.cast(present, inputs.dtype), axis=1), 1)
        mean = ops.sum(ops.where(present, inputs, 0), axis=1) / count
        return ops.concatenate([largest, mean], axis=-1)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 2 * input_shape[-1])


@keras.saving.register_keras_serializable(package="zoo")
class BagOfNgrams(keras.layers.Layer):
    """Class scores summed over a text's words and word pairs: a linear model in-graph.

    Word ids index their own weights; each pair of adjacent words is hashed into
    ``buckets`` more. A feature's score for a class is ``scale * ratio * weight``:
    ``weight`` is trained from zero under an L2 penalty ``l2`` on ``scale * weight``
    (logistic regression's); ``ratio`` is fixed, 1 until ``start_from_naive_bayes``
    sets it to the feature's naive-Bayes log-count ratio, which makes this part NBSVM
    (Wang & Manning 2012). ``scale`` makes it learn ``scale`` times as fast under Adam
    as the dense part beside it.
    """

    def __init__(self, vocab_size, buckets, num_classes, scale=1.0, l2=0.0, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.buckets = int(vocab_size), int(buckets)
        self.num_classes, self.scale, self.l2 = int(num_classes), float(scale), float(l2)

    def build(self, input_shape):
        shape = (self.vocab_size + self.buckets, self.num_classes)
        self.table = self.add_weight(name="table", shape=shape, initializer="zeros")
        self.ratio = self.add_weight(name="ratio", shape=shape, initializer="ones",
                                     trainable=False)

    def features(self, tokens):
        """Feature ids (batch, 2 * steps - 1), words then word pairs, and which are present."""
        tokens = tf.cast(tokens, tf.int64)
        previous, current = tokens[:, :-1], tokens[:, 1:]
        pairs = tf.strings.to_hash_bucket_fast(
            tf.strings.as_string(previous * self.vocab_size + current), self.buckets)
        ids = tf.concat([tokens, self.vocab_size + pairs], axis=1)
        present = tf.concat([tokens > 0, (previous > 0) & (current > 0)], axis=1)
        return ids, present

    def start_from_naive_bayes(self, batches, alpha: float = 1.0):
        """Scale each feature by its naive-Bayes log-count ratio in ``batches`` of ``(tokens, labels)``.

        For class ``c``, ``log((p / |p|_1) / (q / |q|_1))`` with ``p`` and ``q`` the counts
        of texts holding the feature in class ``c`` and in the others (binarized, as in
        Wang & Manning 2012), each plus ``alpha``: one class against the rest.
        """
        import numpy as np

        counts = np.zeros((self.num_classes, self.vocab_size + self.buckets))
        for tokens, labels in batches:
            ids, present = (t.numpy() for t in self.features(tokens))
            for row, label in enumerate(np.asarray(labels)):
                counts[int(label), np.unique(ids[row][present[row]])] += 1
        inside = counts + alpha
        outside = counts.sum(axis=0, keepdims=True) - counts + alpha
        ratio = (np.log(inside / inside.sum(axis=1, keepdims=True))
                 - np.log(outside / outside.sum(axis=1, keepdims=True)))
        if not self.built:
            self.build((None, None))
        self.ratio.assign(ratio.T.astype(self.ratio.dtype))

    def call(self, tokens, training=False):
        ids, present = self.features(tokens)
        weights = ops.cast(self.table, self.compute_dtype)
        if training and self.l2:
            self.add_loss(self.l2 * ops.sum(ops.square(self.scale * ops.cast(self.table,
                                                                              "float32"))))
        scores = tf.gather(weights * ops.cast(self.ratio, self.compute_dtype), ids)
        scores *= tf.cast(present, self.compute_dtype)[..., None]
        return self.scale * tf.reduce_sum(scores, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_classes)

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size,
                "buckets": self.buckets, "num_classes": self.num_classes,
                "scale": self.scale, "l2": self.l2}


@keras.saving.register_keras_serializable(package="zoo")
class PartsVote(keras.layers.Layer):
    """Two parts' class scores -> one answer; each part trains as a classifier of its own.

    At inference, the mean of both parts' log-probabilities (a geometric-mean
    ensemble). While training, each text's answer comes from one part, chosen at random,
    so each part's loss is its own: with summed scores, the linear part, which memorises
    a small training set within an epoch, leaves the recurrent part next to no gradient.
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        first, second = (ops.log_softmax(ops.cast(x, "float32"), axis=-1) for x in inputs)
        if not training:
            return (first + second) / 2
        pick_first = keras.random.uniform(ops.shape(first)[:1], seed=self.seed_generator) < 0.5
        return ops.where(pick_first[:, None], first, second)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}
