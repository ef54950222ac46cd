"""Dialogue data: (message, reply) pairs for teacher-forced encoder-decoder training."""

from __future__ import annotations

import tensorflow as tf

from zoo.checks import check_int
from zoo.data import files
from zoo.data.sources import find_builder, prepare, require_features, standard_splits
from zoo.data.task import TaskData
from zoo.data.text import (
    END,
    SHUFFLE_BUFFER,
    START,
    bucket_by_length,
    fill_caches,
    nonempty,
    split_edge_punctuation,
    word_vectorizer,
)
from zoo.textrules import UNKNOWN_ID

DATASETS = ("schema_guided_dialogue", "chatterbot")


def dialogue_data(
    *,
    dataset: str = "schema_guided_dialogue",
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
    """Pairs as ``((source [B, S], target_in [B, T]), target_out [B, T])``, int64, right-padded.

    Text is read as written: words keep their case and punctuation marks at word edges
    are tokens of their own (``split_edge_punctuation``). Source and target share one
    vocabulary (at most ``vocab_size``, from the train split only) in which ``[start]``
    is id 2 and ``[end]`` id 3. ``target_in`` is ``[start] reply`` and ``target_out``
    is ``reply [end]``; in ``target_out`` a word outside the vocabulary that the
    message holds is ``vocab_size + i``, a copy of message word ``i`` (the model's
    copy ids). The reply keeps at most ``sequence_length - 1`` words, the message at
    most ``sequence_length``. Reads dialogues of turns (``utterances``, e.g.
    schema_guided_dialogue: each user turn with the system turn after it),
    ``context``/``response`` pairs (e.g. chatterbot), or ``message<TAB>reply`` files.
    ``test_pairs`` keeps the raw test pairs, for scoring replies against them.
    Batches group pairs of similar length.
    """
    check_int("vocab_size", vocab_size, 5)
    check_int("sequence_length", sequence_length, 2)
    check_int("batch_size", batch_size, 1)
    files.check_pairing(train_file, eval_file)
    if train_file is not None:
        pairs = files.pair_splits(train_file, eval_file, seed=seed)
    else:
        pairs = _tfds_pairs(dataset, data_dir, manual_dir)

    vectorizer = word_vectorizer(
        vocab_size,
        pairs["train"].flat_map(lambda s, r: _both(s, r)),
        standardize=split_edge_punctuation,
        reserved=(START, END),
    )
    size = vectorizer.vocabulary_size()
    start, end = (
        tf.constant([vectorizer.get_vocabulary().index(token)], tf.int64) for token in (START, END)
    )

    def encode(message, reply):
        source = vectorizer(message)[:sequence_length]
        reply_ids = vectorizer(reply)[: sequence_length - 1]
        source_words = words(message)[:sequence_length]
        reply_words = words(reply)[: sequence_length - 1]
        # An unknown reply word found in the message becomes a copy of its first occurrence.
        found = tf.equal(reply_words[:, None], source_words[None, :])
        # (a column of False keeps argmax defined for an empty message)
        copy = size + tf.argmax(tf.pad(tf.cast(found, tf.int64), [[0, 0], [0, 1]]), axis=1)
        copyable = (reply_ids == UNKNOWN_ID) & tf.reduce_any(found, axis=1)
        return source, reply_ids, tf.where(copyable, copy, reply_ids)

    def teacher_forcing(source, reply_ids, reply_out):
        return (source, tf.concat([start, reply_ids], 0)), tf.concat([reply_out, end], 0)

    ids = {
        name: split.map(encode, num_parallel_calls=tf.data.AUTOTUNE)
        .filter(lambda source, reply, _: nonempty(source, reply))
        .map(teacher_forcing, num_parallel_calls=tf.data.AUTOTUNE)
        .cache()
        for name, split in pairs.items()
    }
    sizes = fill_caches(ids)

    def batches(split, shuffle_buffer=None):
        return bucket_by_length(
            split,
            length=lambda inputs, target: tf.maximum(tf.shape(inputs[0])[0], tf.shape(target)[0]),
            batch_size=batch_size,
            max_length=sequence_length,
            shuffle_buffer=shuffle_buffer,
            seed=seed,
        ).prefetch(tf.data.AUTOTUNE)

    return TaskData(
        train=batches(ids["train"], shuffle_buffer),
        validation=batches(ids["validation"]),
        test=batches(ids["test"]),
        vectorizers={"text": vectorizer},
        train_examples=sizes["train"],
        test_pairs=pairs["test"],
    )


def words(text):
    """The words of one text as the vectorizer sees them (strings, before the lookup)."""
    return tf.strings.split(split_edge_punctuation(text))


def _both(message, reply):
    return tf.data.Dataset.from_tensor_slices(tf.stack([message, reply]))


def _tfds_pairs(dataset, data_dir, manual_dir):
    builder = find_builder(dataset, data_dir=data_dir, suggestions=DATASETS)
    turns = "utterances" in builder.info.features
    if not turns:
        require_features(builder, "context", "response", task="a dialogue model")
    splits = standard_splits(prepare(builder, manual_dir=manual_dir))
    if turns:
        return {name: split.flat_map(_turn_pairs) for name, split in splits.items()}
    return {
        name: split.map(lambda example: (example["context"], example["response"]))
        for name, split in splits.items()
    }


def _turn_pairs(dialogue):
    """Each user turn with the turn after it; turns alternate from ``first_speaker`` (0: user)."""
    turns = dialogue["utterances"]
    first_user_turn = tf.cast(dialogue.get("first_speaker", 0), tf.int32)
    messages, replies = turns[first_user_turn::2], turns[first_user_turn + 1 :: 2]
    n = tf.minimum(tf.size(messages), tf.size(replies))
    return tf.data.Dataset.from_tensor_slices((messages[:n], replies[:n]))
