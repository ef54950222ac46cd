"""The classifiers' own layers; importing this module registers them with Keras.

``keras.saving.load_model`` of a ``.keras`` classifier needs ``import
zoo.tasks.text_classification.layers`` first (the builders import it); exported SavedModels need
nothing from zoo.
"""

from __future__ import annotations

import keras
import tensorflow as tf

ops = keras.ops

# Hash range of each kind of linear feature (words and pairs; character n-grams) made by
# ``data.linear_features``; ``BagOfNgrams`` folds it into its own number of buckets.
FEATURE_SPACE = 2**30


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
    """A linear model in-graph, two heads over a text's hashed features (``linear_features``):
    class scores of a logistic regression and log-probabilities of naive Bayes.

    Features, folded into ``buckets`` for words and word pairs and ``buckets`` more for
    character n-grams, are binary. Logistic regression: a feature's score for a class is
    ``ratio * weight``; ``weight`` trains from zero under an L2 penalty ``l2``;
    ``ratio`` is fixed, 1 until ``start_from_naive_bayes`` sets it to the feature's
    naive-Bayes log-count ratio, which makes this head NBSVM (Wang & Manning 2012).
    Naive Bayes: multinomial over words and word pairs, counted by
    ``start_from_naive_bayes`` and not trained; until then it has no opinion.
    ``fit_logistic_regression`` trains the weights alone and then freezes the layer.
    """

    def __init__(self, buckets, num_classes, l2=0.0, **kwargs):
        super().__init__(**kwargs)
        self.buckets, self.num_classes, self.l2 = int(buckets), int(num_classes), float(l2)

    def build(self, input_shape):
        shape = (2 * self.buckets + 1, self.num_classes)
        self.table = self.add_weight(name="table", shape=shape, initializer="zeros")
        self.ratio = self.add_weight(name="ratio", shape=shape, initializer="ones", trainable=False)
        self.log_likelihood = self.add_weight(
            name="log_likelihood",
            shape=(self.buckets + 1, self.num_classes),
            initializer="zeros",
            trainable=False,
        )
        self.log_prior = self.add_weight(
            name="log_prior", shape=(self.num_classes,), initializer="zeros", trainable=False
        )
        self.temperature = self.add_weight(
            name="temperature", shape=(), initializer="ones", trainable=False
        )

    def fold(self, features):
        """``linear_features`` ids -> ``[1, buckets]`` (words, pairs), ``(buckets, 2 * buckets]``
        (character n-grams); 0 stays 0."""
        features = tf.cast(features, tf.int64)
        bucket = (features - 1) % FEATURE_SPACE % self.buckets + 1
        bucket += tf.where(features > FEATURE_SPACE, tf.constant(self.buckets, tf.int64), 0)
        return tf.where(features > 0, bucket, tf.zeros_like(bucket))

    def start_from_naive_bayes(
        self, batches, validation=None, alpha: float = 1.0, nb_alpha: float = 0.5
    ):
        """Count features per class in ``batches`` of ``({"ngrams": features}, labels)``: set
        each feature's log-count ratio (``alpha``-smoothed) and naive Bayes' tables
        (``nb_alpha``-smoothed, as scikit-learn's ``MultinomialNB(alpha=0.5)``).
        With ``validation`` batches, naive Bayes' scores are divided by the temperature
        that best fits them (its independent features make it overconfident: tens of
        nats between classes on a paragraph), so its vote and the validation loss that
        picks the best epoch stay sane.

        Ratio for class ``c``: ``log((p / |p|_1) / (q / |q|_1))`` with ``p`` and ``q`` the
        counts of texts holding the feature in class ``c`` and in the others, each plus
        ``alpha``: one class against the rest. Naive Bayes leaves out features no training
        text holds, as a vocabulary would.
        """
        import numpy as np

        size = 2 * self.buckets + 1
        counts, texts = np.zeros((self.num_classes, size)), np.zeros(self.num_classes)
        for inputs, labels in batches:
            ids, labels = self.fold(inputs["ngrams"]).numpy(), np.asarray(labels)
            for c in range(self.num_classes):
                counts[c] += np.bincount(ids[labels == c].ravel(), minlength=size)
                texts[c] += np.sum(labels == c)
        counts[:, 0] = 0  # padding
        inside = counts + alpha
        outside = counts.sum(axis=0, keepdims=True) - counts + alpha
        ratio = np.log(inside / inside.sum(axis=1, keepdims=True)) - np.log(
            outside / outside.sum(axis=1, keepdims=True)
        )
        words = counts[:, : self.buckets + 1]
        seen = words.sum(axis=0) > 0
        likelihood = np.log(
            (words + nb_alpha) / (words.sum(axis=1, keepdims=True) + nb_alpha * seen.sum())
        )
        if not self.built:
            self.build((None, None))
        self.ratio.assign(ratio.T.astype(self.ratio.dtype))
        self.log_likelihood.assign(np.where(seen[:, None], likelihood.T, 0.0))
        self.log_prior.assign(np.log(np.maximum(texts, 1) / max(texts.sum(), 1)))
        self.temperature.assign(1.0)
        if validation is not None:
            self.temperature.assign(self._best_temperature(validation))

    def fit_logistic_regression(
        self,
        batches,
        validation,
        learning_rate: float = 1e-3,
        patience: int = 2,
        max_epochs: int = 30,
    ):
        """Train the logistic regression alone on ``batches`` of ``({"ngrams": features},
        labels)`` until its ``validation`` loss stops falling (by 1e-3 for ``patience``
        epochs), keep its best epoch, then freeze the layer.

        Alone, it converges as a linear model should; trained beside an RNN and stopped
        with it, it stops after a few epochs, short of the linear baseline it must beat.
        """
        import keras

        features = keras.Input(shape=(None,), dtype="int64")
        alone = keras.Model(features, self(features)[0])
        alone.compile(
            keras.optimizers.Adam(learning_rate),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        pick = lambda inputs, labels: (inputs["ngrams"], labels)  # noqa: E731
        alone.fit(
            batches.map(pick),
            validation_data=validation.map(pick),
            epochs=max_epochs,
            shuffle=False,  # tf.data shuffles
            verbose=0,
            callbacks=[
                keras.callbacks.EarlyStopping(
                    min_delta=1e-3, patience=patience, restore_best_weights=True
                )
            ],
        )
        self.trainable = False

    def _naive_bayes_scores(self, ids):
        """Class log-prior plus the log-likelihoods of the words and pairs among ``ids``."""
        words = (ids > 0) & (ids <= self.buckets)
        likelihood = tf.gather(
            ops.cast(self.log_likelihood, "float32"), tf.where(words, ids, tf.zeros_like(ids))
        )
        return ops.cast(self.log_prior, "float32") + tf.reduce_sum(
            likelihood * tf.cast(words, tf.float32)[..., None], axis=1
        )

    def _best_temperature(self, batches) -> float:
        import numpy as np

        scores, labels = zip(
            *(
                (self._naive_bayes_scores(self.fold(x["ngrams"])).numpy(), np.asarray(y))
                for x, y in batches
            )
        )
        scores, labels = np.concatenate(scores), np.concatenate(labels)

        def loss(temperature):
            logits = scores / temperature
            logits -= logits.max(axis=1, keepdims=True)
            log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
            return -log_probs[np.arange(len(labels)), labels].mean()

        return float(min(2.0 ** np.arange(0, 7, 0.25), key=loss))

    def call(self, features, training=False):
        ids = self.fold(features)
        present = tf.cast(ids > 0, self.compute_dtype)[..., None]
        weights = ops.cast(self.table, self.compute_dtype)
        if training and self.trainable and self.l2:
            self.add_loss(self.l2 * ops.sum(ops.square(ops.cast(self.table, "float32"))))
        scores = tf.gather(weights * ops.cast(self.ratio, self.compute_dtype), ids) * present
        naive_bayes = self._naive_bayes_scores(ids) / ops.cast(self.temperature, "float32")
        return tf.reduce_sum(scores, axis=1), ops.log_softmax(naive_bayes, axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_classes), (input_shape[0], self.num_classes)

    def get_config(self):
        return {
            **super().get_config(),
            "buckets": self.buckets,
            "num_classes": self.num_classes,
            "l2": self.l2,
        }


@keras.saving.register_keras_serializable(package="zoo")
class PartsVote(keras.layers.Layer):
    """Parts' class scores -> one answer: the first part (the RNN) trains, the rest vote.

    At inference, a weighted mean of all parts' log-probabilities (a geometric-mean
    ensemble), equal weights until ``fit_weights`` fits them on validation texts. While
    training, the answer is the first part's alone, so its loss is its own: the linear
    parts are trained and counted before it (``BagOfNgrams``), and with summed scores
    their confidence on training texts they have memorised would leave it no gradient.
    """

    def build(self, input_shape):
        parts = len(input_shape)
        self.part_weights = self.add_weight(
            name="part_weights",
            shape=(parts,),
            initializer=keras.initializers.Constant(1.0 / parts),
            trainable=False,
        )

    def call(self, inputs, training=False):
        parts = [ops.log_softmax(ops.cast(x, "float32"), axis=-1) for x in inputs]
        if training:
            return parts[0]
        weights = ops.cast(self.part_weights, "float32")
        return sum(weights[i] * part for i, part in enumerate(parts))

    def fit_weights(self, model, batches, step: float = 0.1):
        """Set the parts' weights, summing to 1 on a grid of ``step``, to those that give
        ``model`` (of which this layer is the vote) its least loss on ``batches``."""
        import itertools

        import keras
        import numpy as np

        parts = keras.Model(model.input, self.input)
        log_probs, labels = [], []
        for inputs, y in batches:
            log_probs.append(
                np.stack(
                    [
                        ops.log_softmax(ops.cast(p, "float32"), axis=-1)
                        for p in parts(inputs, training=False)
                    ]
                )
            )
            labels.append(np.asarray(y))
        log_probs, labels = np.concatenate(log_probs, axis=1), np.concatenate(labels)
        steps = round(1 / step)
        grid = [
            np.array(w) / steps
            for w in itertools.product(range(steps + 1), repeat=len(log_probs))
            if sum(w) == steps
        ]

        def loss(weights):
            scores = np.tensordot(weights, log_probs, axes=1)
            scores -= scores.max(axis=1, keepdims=True)
            chosen = scores[np.arange(len(labels)), labels]
            return np.mean(np.log(np.exp(scores).sum(axis=1)) - chosen)

        self.part_weights.assign(min(grid, key=loss).astype("float32"))

    def compute_output_shape(self, input_shape):
        return input_shape[0]
