"""A linear-chain conditional random field over per-token tag scores (Lample et al. 2016).

A tag path's score is the sum of its tokens' tag scores (the emissions, a tagger's logits),
of ``transitions[i, j]`` for each tag ``i`` followed by a tag ``j``, and of the ``start``
and ``end`` scores of its first and last tags. Training maximises the gold path's
log-likelihood: its score minus the log of the sum of the exponentiated scores of all
paths (the forward algorithm); decoding picks the best path (Viterbi). Both run in the
graph, in loops over time that work inside ``tf.function``, XLA and a SavedModel with
unknown batch and time.

Training in a Keras model: the ``CRF`` layer sits on the logits and passes them on, so
the model's output stays the tag scores [B, T, num_tags], and the layer's weights are
the model's; ``CRFLoss`` scores the output against the gold tag ids with those weights::

    logits = keras.layers.Dense(num_tags)(features)
    logits = CRF(num_tags, name="crf")(logits)
    model = keras.Model(inputs, logits)
    model.compile(optimizer, loss=CRFLoss(model.get_layer("crf"), padding=-1))
    model.fit(batches)  # (inputs, tags [B, T]) with -1 after each sentence's end
    tags, _ = model.get_layer("crf").decode(model(inputs), mask)

``CRF(num_tags, output_mode="tags")`` instead returns the Viterbi tags from ``call``; it has no
loss of its own, so it is the layer of a model that only decodes (an export, or a second
model over the trained layers).

Masks mark the real tokens. They may have padding anywhere, on the right as batches of
sentences do or elsewhere: masked steps are left out and the real ones keep their order.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from zoo.checks import check_choice, check_int

OUTPUT_MODES = ("logits", "tags")
AVERAGES = ("tokens", "sentences")


@keras.saving.register_keras_serializable(package="zoo")
class CRF(keras.layers.Layer):
    """Transition scores over ``num_tags`` tags, and the CRF's algorithms over them.

    ``call(logits, mask=None)``: ``output_mode="logits"`` passes the logits [B, T, num_tags] on
    (the model is trained through ``CRFLoss``); ``output_mode="tags"`` returns the Viterbi path,
    int32 [B, T], 0 at masked steps. The weights start at zero: the untrained CRF decodes
    each token's best tag, as a softmax tagger does.

    ``log_partition``, ``sequence_score``, ``log_likelihood`` and ``decode`` take logits
    [B, T, num_tags] (any float type; they compute in float32) and a mask [B, T] (bool or
    0/1; ``None``: every step is real). A row with no real step scores 0 everywhere.
    """

    def __init__(self, num_tags: int, output_mode: str = "logits", **kwargs):
        super().__init__(**kwargs)
        self.num_tags = check_int("num_tags", num_tags, 1)
        self.output_mode = check_choice("output_mode", output_mode, OUTPUT_MODES)
        self.supports_masking = True

    def build(self, input_shape):
        if input_shape[-1] is not None and input_shape[-1] != self.num_tags:
            raise ValueError(
                f"the CRF over {self.num_tags} tags got scores of {input_shape[-1]} tags per token"
            )
        self.transitions = self.add_weight(
            name="transitions", shape=(self.num_tags, self.num_tags), initializer="zeros"
        )
        self.start = self.add_weight(name="start", shape=(self.num_tags,), initializer="zeros")
        self.end = self.add_weight(name="end", shape=(self.num_tags,), initializer="zeros")

    def call(self, logits, mask=None):
        if self.output_mode == "logits":
            return tf.identity(logits)
        return self.decode(logits, mask)[0]

    def compute_mask(self, inputs, mask=None):
        # Logits go to CRFLoss, which finds the padding in the gold tags; a mask left on
        # them would be applied by Keras to the per-sentence losses, of another shape.
        return mask if self.output_mode == "tags" else None

    def get_config(self):
        return {**super().get_config(), "num_tags": self.num_tags, "output_mode": self.output_mode}

    def log_partition(self, logits, mask=None):
        """The log of the sum of exponentiated scores of all tag paths, [B] (forward
        algorithm). Its gradient by the logits is each token's tag marginals."""
        logits, mask, _ = self._compact(logits, mask)
        transitions, start, end = self._weights()

        def step(alpha, inputs):
            emissions, real, first = inputs
            moved = tf.reduce_logsumexp(alpha[:, :, None] + transitions[None], axis=1)
            new = tf.where(first, start[None], moved) + emissions
            return tf.where(real[:, None], new, alpha)

        alpha = tf.foldl(step, _time_major(logits, mask), initializer=tf.zeros_like(logits[:, 0]))
        return tf.where(
            tf.reduce_any(mask, axis=1), tf.reduce_logsumexp(alpha + end[None], axis=1), 0.0
        )

    def sequence_score(self, logits, tags, mask=None):
        """The score of the tag path ``tags`` (ids [B, T]; any value at masked steps), [B]."""
        logits, mask, order = self._compact(logits, mask)
        transitions, start, end = self._weights()
        tags = tf.cast(tags, tf.int32)
        tags = tf.clip_by_value(tags, 0, self.num_tags - 1)
        tags = tf.gather(
            tf.pad(tags, [[0, 0], [0, tf.shape(order)[1] - tf.shape(tags)[1]]]), order, batch_dims=1
        )
        real = tf.cast(mask, tf.float32)
        emitted = tf.reduce_sum(tf.gather(logits, tags, batch_dims=2) * real, axis=1)
        pairs = tf.stack([tags[:, :-1], tags[:, 1:]], axis=-1)
        moved = tf.reduce_sum(tf.gather_nd(transitions, pairs) * real[:, 1:], axis=1)
        lengths = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
        last = tf.gather(tags, tf.maximum(lengths - 1, 0), batch_dims=1)
        ends = tf.gather(start, tags[:, 0]) + tf.gather(end, last)
        return tf.where(lengths > 0, emitted + moved + ends, 0.0)

    def log_likelihood(self, logits, tags, mask=None):
        """log p(tags | logits), [B]: the path's score minus the log partition function."""
        return self.sequence_score(logits, tags, mask) - self.log_partition(logits, mask)

    def decode(self, logits, mask=None):
        """The best tag path (Viterbi), int32 [B, T] with 0 at masked steps, and its score
        [B] (float32)."""
        time = tf.shape(logits)[1]
        logits, mask, order = self._compact(logits, mask)
        transitions, start, end = self._weights()
        stay = tf.broadcast_to(tf.range(self.num_tags), tf.shape(logits[:, 0]))

        def step(carry, inputs):
            best, _ = carry
            emissions, real, first = inputs
            moved = best[:, :, None] + transitions[None]  # [B, from, to]
            new = tf.where(first, start[None], tf.reduce_max(moved, axis=1)) + emissions
            came_from = tf.argmax(moved, axis=1, output_type=tf.int32)
            moves = tf.logical_and(real, tf.logical_not(first))[:, None]
            return tf.where(real[:, None], new, best), tf.where(moves, came_from, stay)

        best, came_from = tf.scan(
            step, _time_major(logits, mask), initializer=(tf.zeros_like(logits[:, 0]), stay)
        )
        final = best[-1] + end[None]
        # came_from[t][b, j]: the best tag at t - 1 before tag j at t; past the end, j itself.
        following = tf.concat([came_from[1:], stay[None]], axis=0)
        path = tf.scan(
            lambda tag, pointers: tf.gather(pointers, tag, batch_dims=1),
            following,
            initializer=tf.argmax(final, axis=1, output_type=tf.int32),
            reverse=True,
        )
        restore = tf.argsort(order, axis=1, stable=True)
        tags = tf.gather(tf.transpose(path), restore, batch_dims=1)[:, :time]
        real = tf.gather(mask, restore, batch_dims=1)[:, :time]
        score = tf.where(tf.reduce_any(mask, axis=1), tf.reduce_max(final, axis=1), 0.0)
        return tf.where(real, tags, 0), score

    def _weights(self):
        return (
            tf.cast(self.transitions, tf.float32),
            tf.cast(self.start, tf.float32),
            tf.cast(self.end, tf.float32),
        )

    def _compact(self, logits, mask):
        """Logits float32 [B, T', num_tags] and mask [B, T'] with each row's real steps
        first, in order, and the order that did it [B, T'] (T' = max(T, 1))."""
        if not self.built:
            self.build(tuple(logits.shape))
        logits = tf.cast(logits, tf.float32)
        shape = tf.shape(logits)
        mask = (
            tf.ones(shape[:2], tf.bool)
            if mask is None
            else tf.cast(tf.convert_to_tensor(mask), tf.bool)
        )
        short = tf.maximum(0, 1 - shape[1])  # a loop over time needs a step
        logits = tf.pad(logits, [[0, 0], [0, short], [0, 0]])
        mask = tf.pad(mask, [[0, 0], [0, short]])
        order = tf.argsort(tf.cast(tf.logical_not(mask), tf.int32), axis=1, stable=True)
        logits = tf.gather(logits, order, batch_dims=1)
        mask = tf.gather(mask, order, batch_dims=1)
        return tf.where(mask[..., None], logits, 0.0), mask, order


def _time_major(logits, mask):
    """The loops' inputs: each step's emissions [B, num_tags], realness [B] and firstness."""
    steps = tf.shape(logits)[1]
    return (tf.transpose(logits, [1, 0, 2]), tf.transpose(mask), tf.equal(tf.range(steps), 0))


@keras.saving.register_keras_serializable(package="zoo")
class CRFLoss(keras.losses.Loss):
    """The negative log-likelihood of the gold tags under ``crf``, for ``model.compile``.

    ``y_true``: tag ids [B, T], ``padding`` where a sentence is padded; ``y_pred``: the
    logits [B, T, num_tags] the CRF layer passed on. ``average_over="tokens"`` (the
    default) divides the batch's summed negative log-likelihood by its number of real
    tokens, which puts it on the scale of a per-token cross-entropy (an untrained tagger
    scores about log(num_tags)); ``"sentences"`` divides by the batch size, the mean over
    sentences. ``sample_weight``, if given, weighs each sentence [B].

    A model loaded from a ``.keras`` file has lost the link to its layer: compile it again
    with ``CRFLoss(model.get_layer("crf"))`` to train or evaluate it.
    """

    def __init__(
        self,
        crf: CRF | None = None,
        padding: int = -1,
        average_over: str = "tokens",
        name: str = "crf_loss",
        **kwargs,
    ):
        super().__init__(name=name, **kwargs)
        self.crf, self.padding = crf, int(padding)
        self.average_over = check_choice("average_over", average_over, AVERAGES)

    def call(self, y_true, y_pred):
        """Each sentence's negative log-likelihood, [B]."""
        if self.crf is None:
            raise ValueError(
                "this CRFLoss has no CRF layer (a loaded model's loss loses it); "
                "compile the model with CRFLoss(model.get_layer('crf'))"
            )
        tags = tf.cast(y_true, tf.int32)
        if tags.shape.rank == 3:
            tags = tf.squeeze(tags, axis=-1)
        return -self.crf.log_likelihood(y_pred, tags, tf.not_equal(tags, self.padding))

    def __call__(self, y_true, y_pred, sample_weight=None):
        with tf.name_scope(self.name):
            losses = self.call(y_true, y_pred)
            weights = (
                tf.ones_like(losses)
                if sample_weight is None
                else tf.reshape(tf.cast(sample_weight, tf.float32), [-1])
            )
            if self.average_over == "sentences":
                count = tf.cast(tf.size(losses), tf.float32)
            else:
                tags = tf.reshape(tf.cast(y_true, tf.int32), [tf.shape(losses)[0], -1])
                count = tf.reduce_sum(tf.cast(tf.not_equal(tags, self.padding), tf.float32))
            return tf.reduce_sum(losses * weights) / tf.maximum(count, 1.0)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding, "average_over": self.average_over}
