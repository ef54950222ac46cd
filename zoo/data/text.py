"""Text to ids: the standardization exports reproduce, vectorizers, and length buckets."""

from __future__ import annotations

import keras
import tensorflow as tf

from zoo.textrules import (
    CLOSING,
    LOWER_AND_SPLIT_PUNCTUATION,
    OPENING,
    SPLIT_EDGE_PUNCTUATION,
    apply_in_graph,
)

# Marks of the chatbot's target sequences; the standardization keeps them whole.
START, END = "[start]", "[end]"
# Training examples shuffled at a time: every pipeline's default.
SHUFFLE_BUFFER = 10_000


@keras.saving.register_keras_serializable(package="zoo")
def lower_and_split_punctuation(text):
    """Lowercase and set punctuation apart, so each mark is a token of its own.

    Apostrophes inside words (``don't``, ``o'er``; curly ones made straight) and
    square-bracketed marks (``[start]``, ``[end]``) stay whole. Pure TensorFlow,
    so it runs inside the ``TextVectorization`` layer of an export as in training.
    """
    return apply_in_graph(tf.strings.lower(text, encoding="utf-8"), LOWER_AND_SPLIT_PUNCTUATION)


@keras.saving.register_keras_serializable(package="zoo")
def split_edge_punctuation(text):
    """Set apart the punctuation at the edges of words, keeping case and everything else.

    ``"Sure, at 11:30 am?"`` becomes ``"Sure , at 11:30 am ?"``: marks inside a word
    (``11:30``, ``408-247-8880``, ``don't``, ``U.S.A``) stay in it, so names, times and
    numbers are single tokens and ``join_words`` puts the text back as written.
    Curly apostrophes are made straight. Pure TensorFlow, for exports as for training.
    """
    return apply_in_graph(text, SPLIT_EDGE_PUNCTUATION)


def join_words(tokens):
    """Words (string tensor ``[batch, steps]``, ``""`` as padding) back into text as written.

    The inverse of ``split_edge_punctuation`` followed by a split on spaces: closing
    marks attach to the word before them, opening ones to the word after them.
    """
    present = tokens != ""
    closing = tf.strings.regex_full_match(tokens, CLOSING)
    opening = tf.strings.regex_full_match(tokens, OPENING)
    after_opening = tf.pad(opening, [[0, 0], [1, 0]])[:, :-1]
    first = tf.equal(tf.cumsum(tf.cast(present, tf.int32), axis=1), 1)
    spaced = present & ~first & ~closing & ~after_opening
    pieces = tf.where(spaced, tf.strings.join([" ", tokens]), tokens)
    return tf.strings.reduce_join(pieces, axis=1)


def word_vectorizer(
    vocab_size: int, texts, *, standardize=lower_and_split_punctuation, reserved=()
):
    """A ``TextVectorization`` over words, its vocabulary (at most ``vocab_size``) from ``texts``.

    ``reserved`` tokens take the ids right after padding (0) and out-of-vocabulary
    (1), in order, whether or not they occur in ``texts``.
    """
    layer = keras.layers.TextVectorization(max_tokens=vocab_size, standardize=standardize)
    layer.adapt(texts.batch(1024))
    if reserved:
        found = [t for t in layer.get_vocabulary(include_special_tokens=False) if t not in reserved]
        layer.set_vocabulary(list(reserved) + found[: max(vocab_size - 2 - len(reserved), 0)])
    return layer


def char_vectorizer(vocab_size: int, texts):
    """A ``TextVectorization`` over characters, as written (no standardization)."""
    layer = keras.layers.TextVectorization(
        max_tokens=vocab_size, standardize=None, split="character"
    )
    layer.adapt(texts.batch(1024))
    return layer


def nonempty(*sequences):
    """A predicate for ``Dataset.filter``: true when every id sequence has a token.

    A zero-length sequence gives a fully masked row, which cuDNN kernels reject.
    """
    return tf.reduce_all([tf.size(s) > 0 for s in sequences])


def fill_caches(splits: dict) -> dict:
    """Read each cached split once and return its number of elements.

    Once a cache is complete, every later read, whole or partial (``take``),
    reuses the ids instead of vectorizing again.
    """
    return {
        name: int(split.reduce(tf.constant(0, tf.int64), lambda n, _: n + 1))
        for name, split in splits.items()
    }


def bucket_by_length(
    dataset,
    *,
    length,
    batch_size: int,
    max_length: int,
    shuffle_buffer: int | None = None,
    seed: int = 0,
    padding_values=None,
):
    """Batch elements of similar ``length(element)`` together, right-padded with 0 (or
    ``padding_values``, a structure like an element's).

    Bucket bounds are the powers of two below ``max_length``, and ``max_length``
    itself (so truncated texts share batches). Each batch is as long as its longest
    element: short texts are not padded to the longest one overall. With
    ``shuffle_buffer``, elements are shuffled (``seed``) before they are bucketed.

    The number of batches is counted once (a pass over the lengths) and asserted, so
    Keras knows where an epoch ends instead of running out of data to find it.
    """
    boundaries = [2**k for k in range(2, max_length.bit_length()) if 2**k < max_length]
    boundaries.append(max_length)
    count = bucketed_batches(dataset.map(length), boundaries, batch_size)
    if shuffle_buffer:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed)
    batched = dataset.bucket_by_sequence_length(
        element_length_func=length,
        bucket_boundaries=boundaries,
        bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
        padding_values=padding_values,
    )
    return batched.apply(tf.data.experimental.assert_cardinality(count))


def bucketed_batches(lengths, boundaries, batch_size: int) -> int:
    """How many batches ``bucket_by_sequence_length`` makes of elements of these ``lengths``.

    An element of length n goes to bucket ``i``, the number of ``boundaries`` <= n;
    each bucket gives ``ceil(count / batch_size)`` batches, whatever the order.
    """
    bounds = tf.constant(boundaries, tf.int64)

    def add(counts, n):
        bucket = tf.reduce_sum(tf.cast(bounds <= tf.cast(n, tf.int64), tf.int32))
        return counts + tf.one_hot(bucket, len(boundaries) + 1, dtype=tf.int64)

    counts = lengths.reduce(tf.zeros(len(boundaries) + 1, tf.int64), add).numpy()
    return int(sum(-(-int(count) // batch_size) for count in counts))
