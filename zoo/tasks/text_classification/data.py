"""Text-classification data: each text's word ids and hashed linear features, batched by length,
and its label."""

from __future__ import annotations

import tensorflow as tf
import tensorflow_datasets as tfds

from zoo.checks import check_int
from zoo.data import files
from zoo.data.sources import find_builder, prepare, require_features, standard_splits
from zoo.data.task import TaskData
from zoo.data.text import SHUFFLE_BUFFER, bucket_by_length, fill_caches, nonempty, word_vectorizer
from zoo.tasks.text_classification.layers import FEATURE_SPACE
from zoo.textrules import LINEAR_FEATURE_WORDS, apply_in_graph

DATASETS = ("imdb_reviews", "ag_news_subset")
# Text features, joined with a space, in the order a reader meets them.
TEXT_FIELDS = (("text",), ("title", "description"))
# Pieces come from each word's first characters only: a 100,000-character "word" (a pasted
# blob) gives as many pieces as a long word, not 400,000.
PIECE_CHARS = 20


def linear_features(texts, max_words: int):
    """Hashed features of a batch of raw texts for the classifiers' linear part: int64
    (batch, features), each feature once a row, 0 where there is none.

    Words (lowercased; each punctuation mark a word of its own) and adjacent word
    pairs hash into ``[1, FEATURE_SPACE]``; character 2- to 5-grams of each word with a
    space at both ends (scikit-learn's ``char_wb``; the first ``PIECE_CHARS`` characters
    of a word) into the next ``FEATURE_SPACE`` ids.
    Pieces of words reach words no vocabulary holds (``disappointing`` shares most of
    its with ``disappointed``). The first ``max_words`` words of a text count.
    """
    lowered = tf.strings.lower(tf.convert_to_tensor(texts, tf.string), encoding="utf-8")
    words = tf.strings.split(apply_in_graph(lowered, LINEAR_FEATURE_WORDS))
    words = words[:, :max_words]
    grams = tf.strings.ngrams(words, ngram_width=(1, 2), separator=" ")
    word_ids = tf.strings.to_hash_bucket_fast(grams, FEATURE_SPACE) + 1
    heads = tf.strings.substr(words.flat_values, 0, PIECE_CHARS, unit="UTF8_CHAR")
    spelled = tf.strings.unicode_split(tf.strings.join([" ", heads, " "]), "UTF-8")
    pieces = tf.strings.ngrams(spelled, ngram_width=(2, 3, 4, 5), separator="")
    piece_ids = pieces.with_flat_values(
        tf.strings.to_hash_bucket_fast(pieces.flat_values, FEATURE_SPACE) + FEATURE_SPACE + 1
    )
    piece_ids = words.with_flat_values(piece_ids).merge_dims(1, 2)
    ids = tf.sort(tf.concat([word_ids, piece_ids], axis=1).to_tensor(), axis=1)
    repeated = ids[:, 1:] == ids[:, :-1]
    return tf.concat(
        [ids[:, :1], tf.where(repeated, tf.zeros_like(ids[:, 1:]), ids[:, 1:])], axis=1
    )


def classification_data(
    *,
    dataset: str = "imdb_reviews",
    vocab_size: int,
    sequence_length: int,
    batch_size: int,
    data_dir=None,
    manual_dir=None,
    train_file=None,
    eval_file=None,
    labels=None,
    validation_fraction: float = 0.1,
    seed: int = 0,
    max_train_examples: int | None = None,
    shuffle_buffer: int = SHUFFLE_BUFFER,
) -> TaskData:
    """Labeled texts as ``({"tokens": ids, "ngrams": features}, label)``: int64 word ids
    [B, T], T <= ``sequence_length``, the ``linear_features`` of the same words, and int64
    labels [B].

    Reads a tfds ``dataset`` with a ``label`` class feature and a ``text`` (or
    ``title`` + ``description``) feature, or CSV/TSV files with ``text`` and
    ``label`` columns: the classes are ``labels`` (names, in id order) when given,
    else the labels found in the train file (``files.labeled_splits``).
    Without a validation split, the last ``validation_fraction`` of train serves.
    Word ids: texts lowercased and stripped of punctuation; the vocabulary (at most
    ``vocab_size``) comes from the train split only. Batches group texts of similar
    length, right-padded with 0, so the model's mask skips the padding.
    """
    check_int("vocab_size", vocab_size, 3)
    check_int("sequence_length", sequence_length, 1)
    check_int("batch_size", batch_size, 1)
    if not 0 < validation_fraction < 1:
        raise ValueError(
            f"validation_fraction={validation_fraction!r} is out of range; "
            f"expected a number in (0, 1)"
        )
    files.check_pairing(train_file, eval_file)
    if train_file is not None:
        examples, names = files.labeled_splits(
            train_file, eval_file, labels=labels, validation_fraction=validation_fraction, seed=seed
        )
    elif labels is not None:
        raise ValueError(
            "labels= declares the classes of a train_file; a tfds dataset names its own classes"
        )
    else:
        examples, names = _tfds_examples(dataset, data_dir, manual_dir, validation_fraction)
    if max_train_examples is not None:
        examples["train"] = examples["train"].take(
            check_int("max_train_examples", max_train_examples, 1)
        )

    vectorize = word_vectorizer(
        vocab_size,
        examples["train"].map(lambda text, label: text),
        standardize="lower_and_strip_punctuation",
    )

    def encode(text, label):
        return {"tokens": vectorize(text)[:sequence_length], "text": text}, label

    def with_features(inputs, label):  # of whole batches, each epoch: caches stay small
        return {
            "tokens": inputs["tokens"],
            "ngrams": linear_features(inputs["text"], sequence_length),
        }, label

    ids = {
        name: split.map(encode, num_parallel_calls=tf.data.AUTOTUNE)
        .filter(lambda inputs, label: nonempty(inputs["tokens"]))
        .cache()
        for name, split in examples.items()
    }
    sizes = fill_caches(ids)

    def batches(split, shuffle_buffer=None):
        return (
            bucket_by_length(
                split,
                length=lambda inputs, label: tf.shape(inputs["tokens"])[0],
                batch_size=batch_size,
                max_length=sequence_length,
                shuffle_buffer=shuffle_buffer,
                seed=seed,
            )
            .map(with_features, num_parallel_calls=tf.data.AUTOTUNE)
            .prefetch(tf.data.AUTOTUNE)
        )

    return TaskData(
        train=batches(ids["train"], shuffle_buffer),
        validation=batches(ids["validation"]),
        test=batches(ids["test"]),
        vectorizers={"text": vectorize},
        labels=names,
        train_examples=sizes["train"],
    )


def _tfds_examples(dataset, data_dir, manual_dir, validation_fraction):
    builder = find_builder(dataset, data_dir=data_dir, suggestions=DATASETS)
    features = builder.info.features
    fields = next((f for f in TEXT_FIELDS if all(name in features for name in f)), TEXT_FIELDS[0])
    require_features(builder, *fields, "label", task="a text classifier")
    if not isinstance(features["label"], tfds.features.ClassLabel):
        raise ValueError(f"dataset {dataset!r}: a text classifier needs a class label 'label'")
    prepare(builder, manual_dir=manual_dir)

    def text_and_label(example):
        text = tf.strings.join([example[name] for name in fields], separator=" ")
        return text, tf.cast(example["label"], tf.int64)

    splits = standard_splits(builder, validation_fraction=validation_fraction)
    return (
        {
            name: split.map(text_and_label, num_parallel_calls=tf.data.AUTOTUNE)
            for name, split in splits.items()
        },
        list(features["label"].names),
    )
