"""Sequence-tagging data: sentences of tokens, one tag each, as word ids, the character ids
of each word and tag ids, batched by length.

Sentences come from CoNLL-U or token/tag files (``zoo.data.conll``) or from a tfds dataset
with a ``tokens`` feature and a tag feature (``universal_dependencies/en_ewt``'s ``upos``,
``conll2003``'s ``ner``). The word and character vocabularies come from the training
sentences only; words are looked up lowercased, characters as written, so a word the
vocabulary lacks still shows its spelling to the model.
"""

from __future__ import annotations

import collections

import keras
import tensorflow as tf

from zoo.checks import check_int
from zoo.data import files
from zoo.data.conll import read_tagged
from zoo.data.sources import find_builder, prepare, require_features, standard_splits
from zoo.data.task import TaskData
from zoo.data.text import SHUFFLE_BUFFER, bucket_by_length, fill_caches

DATASETS = ("universal_dependencies/en_ewt", "conll2003")
MAX_WORD_CHARS = 20  # a word's first characters spell it; a pasted blob stays cheap
TAG_PADDING = -1  # the tag of a padding position: no loss, no accuracy
UNKNOWN = "[UNK]"


def tagging_data(
    *,
    dataset: str = DATASETS[0],
    tag_column: str = "upos",
    vocab_size: int,
    sequence_length: int,
    batch_size: int,
    data_dir=None,
    manual_dir=None,
    train_file=None,
    eval_file=None,
    validation_file=None,
    validation_fraction: float = 0.1,
    seed: int = 0,
    shuffle_buffer: int = SHUFFLE_BUFFER,
) -> TaskData:
    """Tagged sentences as ``({"words": ids [B, T], "chars": ids [B, T, C]}, tags [B, T])``.

    T <= ``sequence_length`` (longer sentences are cut), C <= ``MAX_WORD_CHARS``; padding is
    0 for words and characters and ``TAG_PADDING`` for tags. ``labels`` are the tags in id
    order: every tag of every split, sorted. ``validation_file`` (with ``train_file``) holds
    the sentences that choose the best epoch; without it, or a dataset's validation split,
    ``validation_fraction`` of the training sentences serve.
    """
    check_int("vocab_size", vocab_size, 3)
    check_int("sequence_length", sequence_length, 1)
    check_int("batch_size", batch_size, 1)
    files.check_pairing(train_file, eval_file)
    if validation_file is not None and train_file is None:
        raise ValueError("validation_file needs a train_file (and an eval_file) beside it")
    if train_file is not None:
        splits = file_sentences(
            train_file, eval_file, tag_column, validation_fraction, seed, validation_file
        )
    else:
        splits = tfds_sentences(dataset, tag_column, data_dir, manual_dir)
    # Every tag of every split: a tag too rare to reach the training part is still one the
    # test counts, and the model can score it (it learns little of it, rightly).
    labels = sorted({tag for sentences in splits.values() for _, tags in sentences for tag in tags})
    words, chars = vectorizers(splits["train"], vocab_size)
    tag_ids = {tag: i for i, tag in enumerate(labels)}

    def encode(tokens, tags):
        tokens = tokens[:sequence_length]
        return {
            "words": words(tf.strings.lower(tokens, encoding="utf-8")),
            "chars": spell(chars, tokens),
        }, tags[:sequence_length]

    ids = {
        name: _dataset(sentences, tag_ids).map(encode, num_parallel_calls=tf.data.AUTOTUNE).cache()
        for name, sentences in splits.items()
    }
    sizes = fill_caches(ids)

    def batches(split, shuffle=None):
        return bucket_by_length(
            split,
            length=lambda inputs, tags: tf.shape(tags)[0],
            batch_size=batch_size,
            max_length=sequence_length,
            shuffle_buffer=shuffle,
            seed=seed,
            padding_values=({"words": _int64(0), "chars": _int64(0)}, _int64(TAG_PADDING)),
        ).prefetch(tf.data.AUTOTUNE)

    return TaskData(
        train=batches(ids["train"], shuffle_buffer),
        validation=batches(ids["validation"]),
        test=batches(ids["test"]),
        vectorizers={"words": words, "chars": chars},
        labels=labels,
        train_examples=sizes["train"],
    )


def vectorizers(sentences, vocab_size: int):
    """Word (lowercased) and character lookups of the training sentences: id 0 pads, 1 is
    ``[UNK]``; words seen once are left out when more than ``vocab_size`` are seen twice
    or more, so the unknown word's embedding learns from rare words."""
    words = collections.Counter(t.lower() for tokens, _ in sentences for t in tokens)
    chars = collections.Counter(
        c for tokens, _ in sentences for t in tokens for c in t[:MAX_WORD_CHARS]
    )
    kept = [w for w, n in words.most_common(vocab_size - 2) if n > 1 or len(words) < vocab_size]
    return (
        keras.layers.StringLookup(vocabulary=kept, mask_token="", oov_token=UNKNOWN, name="words"),
        keras.layers.StringLookup(
            vocabulary=[c for c, _ in chars.most_common()],
            mask_token="",
            oov_token=UNKNOWN,
            name="chars",
        ),
    )


def spell(chars, tokens):
    """Character ids of each token, [T, C] (or [B, T, C] for a batch), 0-padded."""
    letters = tf.strings.unicode_split(
        tf.strings.substr(tokens, 0, MAX_WORD_CHARS, unit="UTF8_CHAR"), "UTF-8"
    )
    return chars(letters).to_tensor()


def file_sentences(
    train_file, eval_file, tag_column, validation_fraction, seed, validation_file=None
) -> dict:
    """Train, validation and test sentences of CoNLL-U or token/tag files; the held-out
    parts are carved from the train file (shuffled with ``seed``) where not given."""
    train = read_tagged(train_file, tag_column=tag_column)
    if validation_file is not None:
        if eval_file is None:
            raise ValueError("validation_file needs an eval_file (the test sentences) too")
        validation = read_tagged(validation_file, tag_column=tag_column)
        return {
            "train": train,
            "validation": validation,
            "test": read_tagged(eval_file, tag_column=tag_column),
        }
    if eval_file is None:
        train, validation, test = files._carve(train, [validation_fraction] * 2, seed, train_file)
    else:
        train, validation = files._carve(train, [validation_fraction], seed, train_file)
        test = read_tagged(eval_file, tag_column=tag_column)
    return {"train": train, "validation": validation, "test": test}


def tfds_sentences(dataset, tag_column, data_dir, manual_dir) -> dict:
    """The sentences of a tfds dataset's standard splits, with the ``tag_column`` feature."""
    builder = find_builder(dataset, data_dir=data_dir, suggestions=DATASETS)
    require_features(builder, "tokens", tag_column, task="a sequence tagger")
    prepare(builder, manual_dir=manual_dir)
    feature = builder.info.features[tag_column].feature
    names = getattr(feature, "names", None)  # a ClassLabel's; Text tags are strings

    def tag(value):
        return names[value] if names is not None else value.decode("utf-8")

    return {
        split: [
            ([t.decode("utf-8") for t in example["tokens"]], [tag(v) for v in example[tag_column]])
            for example in examples.as_numpy_iterator()
            if len(example["tokens"])
        ]
        for split, examples in standard_splits(builder).items()
    }


def _int64(value):
    return tf.constant(value, tf.int64)


def _dataset(sentences, tag_ids):
    tokens = tf.ragged.constant([tokens for tokens, _ in sentences], dtype=tf.string)
    tags = tf.ragged.constant([[tag_ids[t] for t in tags] for _, tags in sentences], dtype=tf.int64)
    return tf.data.Dataset.from_tensor_slices((tokens, tags))
