"""Dialogue data: (message, reply) pairs for teacher-forced encoder-decoder training."""

from __future__ import annotations

import tensorflow as tf

from zoo.data import files
from zoo.data.sources import find_builder, prepare, require_features, standard_splits
from zoo.data.task import TaskData
from zoo.data.text import END, START, bucket_by_length, fill_caches, nonempty, word_vectorizer
from zoo.models.common import check_int

DATASETS = ("schema_guided_dialogue", "chatterbot")


def dialogue_data(*, dataset: str = "schema_guided_dialogue", source_vocab_size: int,
                  target_vocab_size: int, sequence_length: int, batch_size: int,
                  data_dir=None, manual_dir=None, train_file=None, eval_file=None,
                  seed: int = 0, shuffle_buffer: int = 10000) -> TaskData:
    """Pairs as ``((source [B, S], target_in [B, T]), target_out [B, T])``, int64, right-padded.

    ``target_in`` is ``[start] reply`` and ``target_out`` is ``reply [end]``; the
    reply keeps at most ``sequence_length - 1`` words, the message at most
    ``sequence_length``. Reads dialogues of turns (``utterances``, e.g.
    schema_guided_dialogue: each user turn with the system turn after it),
    ``context``/``response`` pairs (e.g. chatterbot), or ``message<TAB>reply`` files.
    Both vocabularies come from the train split only; in the target one
    ``[start]`` is id 2 and ``[end]`` id 3. Batches group pairs of similar length.
    """
    check_int("source_vocab_size", source_vocab_size, 3)
    check_int("target_vocab_size", target_vocab_size, 5)
    check_int("sequence_length", sequence_length, 2)
    check_int("batch_size", batch_size, 1)
    files.check_pairing(train_file, eval_file)
    if train_file is not None:
        pairs = files.pair_splits(train_file, eval_file, seed=seed)
    else:
        pairs = _tfds_pairs(dataset, data_dir, manual_dir)

    source_vectorizer = word_vectorizer(source_vocab_size, pairs["train"].map(lambda s, r: s))
    target_vectorizer = word_vectorizer(target_vocab_size, pairs["train"].map(lambda s, r: r),
                                        reserved=(START, END))
    start, end = (tf.constant([target_vectorizer.get_vocabulary().index(token)], tf.int64)
                  for token in (START, END))

    def encode(source, reply):
        return (source_vectorizer(source)[:sequence_length],
                target_vectorizer(reply)[:sequence_length - 1])

    def teacher_forcing(source, reply):
        return (source, tf.concat([start, reply], 0)), tf.concat([reply, end], 0)

    ids = {name: split.map(encode, num_parallel_calls=tf.data.AUTOTUNE).filter(nonempty)
           .map(teacher_forcing, num_parallel_calls=tf.data.AUTOTUNE).cache()
           for name, split in pairs.items()}
    sizes = fill_caches(ids)

    def batches(split):
        return bucket_by_length(
            split, length=lambda inputs, target: tf.maximum(tf.shape(inputs[0])[0],
                                                            tf.shape(target)[0]),
            batch_size=batch_size, max_length=sequence_length).prefetch(tf.data.AUTOTUNE)

    return TaskData(train=batches(ids["train"].shuffle(shuffle_buffer, seed=seed)),
                    validation=batches(ids["validation"]), test=batches(ids["test"]),
                    vectorizers={"source": source_vectorizer, "target": target_vectorizer},
                    train_examples=sizes["train"])


def _tfds_pairs(dataset, data_dir, manual_dir):
    builder = find_builder(dataset, data_dir=data_dir, suggestions=DATASETS)
    turns = "utterances" in builder.info.features
    if not turns:
        require_features(builder, "context", "response", task="a dialogue model")
    splits = standard_splits(prepare(builder, manual_dir=manual_dir))
    if turns:
        return {name: split.flat_map(_turn_pairs) for name, split in splits.items()}
    return {name: split.map(lambda example: (example["context"], example["response"]))
            for name, split in splits.items()}


def _turn_pairs(dialogue):
    """Each user turn with the turn after it; turns alternate from ``first_speaker`` (0: user)."""
    turns = dialogue["utterances"]
    first_user_turn = tf.cast(dialogue.get("first_speaker", 0), tf.int32)
    messages, replies = turns[first_user_turn::2], turns[first_user_turn + 1::2]
    n = tf.minimum(tf.size(messages), tf.size(replies))
    return tf.data.Dataset.from_tensor_slices((messages[:n], replies[:n]))
