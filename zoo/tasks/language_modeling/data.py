"""Language-model data: windows of ids, each paired with the same window shifted by one."""

from __future__ import annotations

import tensorflow as tf

from zoo.checks import check_choice, check_int
from zoo.data import files
from zoo.data.sources import find_builder, prepare, require_features, standard_splits
from zoo.data.task import TaskData
from zoo.data.text import SHUFFLE_BUFFER, char_vectorizer, fill_caches, word_vectorizer
from zoo.tasks.language_modeling.signatures import LEVELS

DATASETS = ("tiny_shakespeare",)


def language_model_data(
    *,
    dataset: str = "tiny_shakespeare",
    level: str = "char",
    vocab_size: int,
    sequence_length: int,
    batch_size: int,
    data_dir=None,
    manual_dir=None,
    train_file=None,
    eval_file=None,
    seed: int = 0,
    shuffle_buffer: int = SHUFFLE_BUFFER,
) -> TaskData:
    """Next-token windows: inputs ``ids[i:i+L]``, targets ``ids[i+1:i+L+1]``, for i = o, o+L...

    ``o`` is 0 for validation and test, and drawn afresh each epoch in ``[0, L)`` for
    training, so the model learns from every cut of the text rather than the same one.

    Reads the ``text`` feature of a tfds ``dataset`` (one long text per split for
    tiny_shakespeare) or a UTF-8 ``train_file`` (and ``eval_file``). ``level="char"``
    keeps every character as written; ``"word"`` lowercases and sets punctuation
    apart. The vocabulary (at most ``vocab_size``, padding and out-of-vocabulary
    included) comes from the train split only. Elements: ``(int64 [B, L], int64
    [B, L])``; training batches are shuffled and all full.
    """
    check_choice("level", level, LEVELS)
    check_int("vocab_size", vocab_size, 3)
    check_int("sequence_length", sequence_length, 1)
    check_int("batch_size", batch_size, 1)
    files.check_pairing(train_file, eval_file)
    if train_file is not None:
        texts = files.text_splits(train_file, eval_file)
    else:
        builder = find_builder(dataset, data_dir=data_dir, suggestions=DATASETS)
        require_features(builder, "text", task="a language model")
        prepare(builder, manual_dir=manual_dir)
        texts = {
            name: split.map(lambda example: example["text"])
            for name, split in standard_splits(builder).items()
        }

    make_vectorizer = char_vectorizer if level == "char" else word_vectorizer
    vectorize = make_vectorizer(vocab_size, texts["train"])

    def windows(ids, offset=0):
        ids = ids[offset:]
        n = tf.maximum(tf.size(ids) - 1, 0) // sequence_length
        inputs = tf.reshape(ids[: n * sequence_length], [n, sequence_length])
        targets = tf.reshape(ids[1 : n * sequence_length + 1], [n, sequence_length])
        return tf.data.Dataset.from_tensor_slices((inputs, targets))

    ids = {
        name: split.map(vectorize, num_parallel_calls=tf.data.AUTOTUNE).cache()
        for name, split in texts.items()
    }
    pairs = {name: ids[name].flat_map(windows) for name in ("validation", "test")}
    # Each epoch cuts the training text at a fresh random offset, so that the windows'
    # boundaries (where the model starts from a zero state) move from epoch to epoch.
    offsets = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).map(
        lambda r: tf.math.floormod(r, sequence_length)
    )
    pairs["train"] = tf.data.Dataset.zip(ids["train"], offsets).flat_map(windows)
    sizes = fill_caches(pairs)
    # An offset can cost a text its last window; every epoch reads as many windows as
    # the largest offset leaves, so its number of batches is known (Keras then knows
    # where an epoch ends instead of running out of data to find it).
    steady = int(
        ids["train"].reduce(
            tf.constant(0, tf.int64),
            lambda n, text: (
                n + tf.maximum(tf.size(text, tf.int64) - sequence_length, 0) // sequence_length
            ),
        )
    )
    train = (
        pairs["train"]
        .take(steady)
        .shuffle(shuffle_buffer, seed=seed)
        .batch(batch_size, drop_remainder=True)
        .apply(tf.data.experimental.assert_cardinality(steady // batch_size))
        .prefetch(tf.data.AUTOTUNE)
    )
    validation, test = (
        pairs[name]
        .batch(batch_size)
        .apply(tf.data.experimental.assert_cardinality(-(-sizes[name] // batch_size)))
        .prefetch(tf.data.AUTOTUNE)
        for name in ("validation", "test")
    )
    return TaskData(
        train=train,
        validation=validation,
        test=test,
        vectorizers={"text": vectorize},
        level=level,
        train_examples=steady,
    )
