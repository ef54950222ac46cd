"""The data layer: tfds loading offline, windows, buckets, pairs, users' files.

tiny_shakespeare goes through the real tfds builder (from the project's copy of its source),
chatterbot through the project's own builder; imdb_reviews, ag_news_subset and
schema_guided_dialogue, which cannot be downloaded here, through
``tfds.testing.mock_data`` with realistic text.
"""

from __future__ import annotations

import socket
import time

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
import yaml

import zoo.data
from zoo.data import DatasetUnavailableError, files, lower_and_split_punctuation, sources
from zoo.data.chatterbot import split_of
from zoo.data.text import join_words, split_edge_punctuation
from zoo.tasks.dialogue.data import dialogue_data
from zoo.tasks.language_modeling.data import language_model_data
from zoo.tasks.text_classification.data import (
    FEATURE_SPACE,
    PIECE_CHARS,
    classification_data,
    linear_features,
)

from mock_datasets import (
    CRITICISM,
    EXCHANGES,
    NEUTRAL,
    PRAISE,
    TOPICS,
    ag_news_example,
    dialogue_example,
    imdb_example,
    mock_tfds,
)

SHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
SHAKESPEARE_TRAIN_CHARS = 1003854  # the first 90% of input.txt, as the tfds builder cuts it


def rows(batch):
    return [[int(t) for t in row if t] for row in np.asarray(batch)]


def words(vectorizer, ids):
    vocabulary = vectorizer.get_vocabulary()
    return " ".join(vocabulary[i] for i in ids)


def assert_right_padded(batch):
    """Padding (0) only after the last token of each row, and some row fills the batch."""
    mask = np.asarray(batch) != 0
    assert (mask[:, 1:] <= mask[:, :-1]).all(), "a token follows padding"
    assert mask[:, -1].any(), "the batch is longer than its longest row"


# --- tiny_shakespeare, through the real builder ----------------------------------------------


def test_char_windows_are_next_character_targets(shakespeare_dirs):
    data_dir, manual_dir = shakespeare_dirs
    data = language_model_data(
        level="char",
        vocab_size=100,
        sequence_length=64,
        batch_size=32,
        data_dir=data_dir,
        manual_dir=manual_dir,
    )
    vocabulary = data.vectorizers["text"].get_vocabulary()
    assert vocabulary[:2] == ["", "[UNK]"] and len(vocabulary) == 67  # 65 characters
    assert data.level == "char"
    whole = (SHAKESPEARE_TRAIN_CHARS - 1) // 64  # one window fewer past some offsets
    assert data.train_examples in (whole - 1, whole)

    inputs, targets = next(iter(data.train))
    assert inputs.shape == targets.shape == (32, 64) and inputs.dtype == tf.int64
    assert data.train.element_spec[0].shape == (32, 64)  # full batches only

    inputs, targets = (np.asarray(t) for t in next(iter(data.validation)))
    np.testing.assert_array_equal(inputs[:, 1:], targets[:, :-1])
    np.testing.assert_array_equal(inputs[1:, 0], targets[:-1, -1])  # windows tile the text
    validation_text = (shakespeare_dirs[1] / "input.txt").read_text()[SHAKESPEARE_TRAIN_CHARS:]
    assert "".join(vocabulary[i] for i in inputs[0]) == validation_text[:64]


def test_training_windows_start_at_a_fresh_offset_each_epoch(tmp_path):
    period = "abcdefghijklmnopqrstuvwxyz"
    text_file = write(tmp_path / "train.txt", period * 40)
    data = language_model_data(
        train_file=str(text_file),
        level="char",
        vocab_size=40,
        sequence_length=len(period),
        batch_size=2,
    )
    vocabulary = data.vectorizers["text"].get_vocabulary()

    def first_letters(dataset):
        return {vocabulary[i] for inputs, _ in dataset for i in np.asarray(inputs)[:, 0]}

    starts = [first_letters(data.train) for _ in range(6)]
    assert all(len(s) == 1 for s in starts)  # one cut per epoch: windows tile the text
    assert len(set.union(*starts)) > 1  # ... at offsets that move between epochs
    assert first_letters(data.validation) == first_letters(data.test) == {"a"}  # fixed


def test_word_level_lowercases_and_caps_the_vocabulary(shakespeare_dirs):
    data_dir, manual_dir = shakespeare_dirs
    data = language_model_data(
        level="word",
        vocab_size=500,
        sequence_length=20,
        batch_size=16,
        data_dir=data_dir,
        manual_dir=manual_dir,
    )
    vocabulary = data.vectorizers["text"].get_vocabulary()
    assert len(vocabulary) == 500
    assert {"the", "king", ",", ".", "?"} <= set(vocabulary)
    assert all(token == token.lower() for token in vocabulary[2:])
    inputs, targets = next(iter(data.test))
    np.testing.assert_array_equal(inputs[:, 1:], targets[:, :-1])


def test_prepared_data_loads_without_any_source_check(shakespeare_dirs, monkeypatch):
    def no_check(*args, **kwargs):
        raise AssertionError("prepared data must load without checking sources")

    monkeypatch.setattr(sources, "check_sources", no_check)
    data = language_model_data(
        vocab_size=100, sequence_length=32, batch_size=8, data_dir=shakespeare_dirs[0]
    )
    assert next(iter(data.test))[0].shape[1] == 32


def test_unknown_split_names_the_available_ones(shakespeare_dirs):
    builder = zoo.data.find_builder("tiny_shakespeare", data_dir=shakespeare_dirs[0])
    with pytest.raises(ValueError, match=r"split='dev'.*train, validation, test"):
        zoo.data.read_split(builder, "dev[:10%]")


# --- without a network -----------------------------------------------------------------------


# conftest.py's ``no_network`` refuses every connection beyond this machine.


def test_missing_source_fails_fast_naming_file_directory_and_checksum(tmp_path, no_network):
    data_dir = tmp_path / "tfds"
    started = time.monotonic()
    with pytest.raises(DatasetUnavailableError) as raised:
        language_model_data(vocab_size=100, sequence_length=32, batch_size=8, data_dir=data_dir)
    assert time.monotonic() - started < 10
    message = str(raised.value)
    assert isinstance(raised.value, FileNotFoundError)
    assert "input.txt" in message and SHAKESPEARE_SHA256 in message
    assert f"{data_dir / 'downloads' / 'manual'}/" in message


def test_missing_source_names_the_given_manual_dir(tmp_path, no_network):
    manual_dir = tmp_path / "manual"
    manual_dir.mkdir()
    with pytest.raises(DatasetUnavailableError, match="aclImdb_v1.tar.gz") as raised:
        classification_data(
            vocab_size=100,
            sequence_length=32,
            batch_size=8,
            data_dir=tmp_path / "tfds",
            manual_dir=manual_dir,
        )
    assert f"{manual_dir}/" in str(raised.value)


def test_a_corrupt_manual_file_is_rejected_by_its_checksum(tmp_path, no_network):
    manual_dir = tmp_path / "manual"
    manual_dir.mkdir()
    (manual_dir / "input.txt").write_text("To be, or not to be.\n")
    builder = zoo.data.find_builder("tiny_shakespeare", data_dir=tmp_path / "tfds")
    with pytest.raises(Exception, match="wrong checksum"):
        zoo.data.prepare(builder, manual_dir=manual_dir)


def test_reachability_check_gives_up_within_its_timeout():
    """A real listener that never answers: its accept queue is full, so the kernel drops
    further connection attempts, as a firewall that drops packets does."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        filling = []
        try:
            while True:  # queue connections nobody accepts until one is left hanging
                filling.append(socket.create_connection(("127.0.0.1", port), timeout=0.5))
                assert len(filling) < 64, "the listener kept accepting"
        except TimeoutError:
            pass
        try:
            started = time.monotonic()
            assert not sources.is_reachable(f"http://127.0.0.1:{port}/file.txt", timeout=1)
            assert time.monotonic() - started < 2
        finally:
            for connection in filling:
                connection.close()


def test_unknown_dataset_names_the_setting_and_choices():
    with pytest.raises(ValueError, match=r"dataset='imdb_review'.*imdb_reviews, ag_news_subset"):
        classification_data(dataset="imdb_review", vocab_size=100, sequence_length=8, batch_size=4)


def test_dataset_of_the_wrong_kind_is_refused_before_any_download(tmp_path, no_network):
    with pytest.raises(ValueError, match="language model needs text"):
        language_model_data(
            dataset="mnist", vocab_size=100, sequence_length=8, batch_size=4, data_dir=tmp_path
        )


# --- mocked tfds datasets with realistic text (tests/mock_datasets.py) -----------------------


def test_imdb_batches_are_bucketed_right_padded_with_train_only_vocabulary(tmp_path):
    with mock_tfds(
        tmp_path, "imdb_reviews", {"train": 400, "test": 100, "unsupervised": 10}, imdb_example
    ):
        data = classification_data(
            vocab_size=2000, sequence_length=48, batch_size=16, data_dir=tmp_path
        )
    assert data.labels == ["neg", "pos"]
    assert data.train_examples == 360  # validation_fraction=0.1 carved off train
    vocabulary = set(data.vectorizers["text"].get_vocabulary())
    assert {"wonderful", "bored"} <= vocabulary and "zyzzyva" not in vocabulary
    assert "quokka" not in vocabulary

    lengths, seen = set(), 0
    for inputs, labels in data.train:
        ids, ngrams = inputs["tokens"], inputs["ngrams"]
        assert ids.dtype == ngrams.dtype == labels.dtype == tf.int64
        assert labels.shape == (ids.shape[0],) == (ngrams.shape[0],)
        assert_right_padded(ids)
        lengths.add(ids.shape[1])
        seen += ids.shape[0]
    assert seen == 360
    assert max(lengths) == 48 and len(lengths) >= 4  # short texts are not padded to 48

    test_ids = np.concatenate([np.asarray(x["tokens"]).ravel() for x, _ in data.test])
    assert (test_ids == 1).any()  # words outside the train vocabulary read as [UNK]
    validation = sum(int(x["tokens"].shape[0]) for x, _ in data.validation)
    assert validation == 40


def test_ag_news_joins_title_and_description(tmp_path):
    with mock_tfds(tmp_path, "ag_news_subset", {"train": 120, "test": 40}, ag_news_example):
        data = classification_data(
            dataset="ag_news_subset",
            vocab_size=500,
            sequence_length=64,
            batch_size=8,
            data_dir=tmp_path,
            max_train_examples=80,
        )
    assert data.labels == ["World", "Sports", "Business", "Sci/Tech"]
    assert data.train_examples == 80
    example = ag_news_example("test", 0, 40)
    text = example["title"] + " " + example["description"]
    test_rows = [row for x, _ in data.test for row in rows(x["tokens"])]
    assert len(test_rows) == 40
    assert data.vectorizers["text"](text).numpy().tolist() in test_rows


def test_schema_guided_dialogue_pairs_each_user_turn_with_the_reply(tmp_path):
    with mock_tfds(
        tmp_path, "schema_guided_dialogue", {"train": 120, "dev": 30, "test": 30}, dialogue_example
    ):
        data = dialogue_data(vocab_size=1000, sequence_length=24, batch_size=16, data_dir=tmp_path)
    vectorizer = data.vectorizers["text"]  # one vocabulary for messages and replies
    assert vectorizer.get_vocabulary()[2:4] == ["[start]", "[end]"]
    exchanges = {(as_written(user), as_written(system)) for user, system in EXCHANGES}

    lengths = set()
    for (source, target_in), target_out in data.validation:
        assert source.dtype == target_in.dtype == target_out.dtype == tf.int64
        assert target_in.shape == target_out.shape
        for batch in (source, target_in, target_out):
            assert_right_padded(batch)
        lengths.add(max(source.shape[1], target_in.shape[1]))
        for src, t_in, t_out in zip(rows(source), rows(target_in), rows(target_out)):
            assert t_in[0] == 2 and t_out[-1] == 3 and t_in[1:] == t_out[:-1]
            pair = (words(vectorizer, src), words(vectorizer, t_out[:-1]))
            assert pair in exchanges, pair
    assert len(lengths) > 1


def as_written(text):
    return " ".join(split_edge_punctuation(tf.constant(text)).numpy().decode().split())


def test_dialogue_words_keep_case_and_inner_marks_and_join_back_as_written():
    text = "Confirming: a table at Sino (San Jose) at 11:30 am, call 408-247-8880. Isn't it $50?"
    assert as_written(text) == (
        "Confirming : a table at Sino ( San Jose ) at 11:30 am , call "
        "408-247-8880 . Isn't it $ 50 ?"
    )
    tokens = tf.ragged.constant(
        [as_written(text).split(), as_written("Yes, please.").split()]
    ).to_tensor("")
    assert [t.decode() for t in join_words(tokens).numpy()] == [text, "Yes, please."]
    assert as_written("It’s fine") == "It's fine"


def test_dialogue_targets_copy_unknown_message_words(tmp_path):
    """A reply word outside the vocabulary that the message holds becomes a copy id."""
    lines = [
        f"Book a table at {name}.\tI booked a table at {name}."
        for name in ("Zanzibar", "Sino", "Alamo", "Delfina", "Nopa", "Tacolicious")
    ]
    pairs = write(
        tmp_path / "pairs.tsv",
        "\n".join(lines[1:] + ["Book a table there.\tI booked a table."] * 6),
    )
    data = dialogue_data(
        train_file=pairs,
        eval_file=write(tmp_path / "eval.tsv", lines[0]),
        vocab_size=12,
        sequence_length=20,
        batch_size=4,
    )
    vocabulary = data.vectorizers["text"].get_vocabulary()
    assert "Zanzibar" not in vocabulary and len(vocabulary) == 12
    (source, target_in), target_out = next(iter(data.test))
    source, target_in, target_out = (rows(x)[0] for x in (source, target_in, target_out))
    position = as_written(lines[0].split("\t")[0]).split().index("Zanzibar")
    at = as_written(lines[0].split("\t")[1]).split().index("Zanzibar")
    assert source[position] == 1 and target_in[at + 1] == 1  # read as out-of-vocabulary
    assert target_out[at] == 12 + position  # written as a copy of the message's word
    assert [t for i, t in enumerate(target_out) if i != at] == [
        t for i, t in enumerate(target_in[1:] + [3]) if i != at
    ]


def test_standardization_serializes_by_registered_name():
    layer = keras.layers.TextVectorization(standardize=lower_and_split_punctuation)
    config = keras.saving.serialize_keras_object(layer)
    assert config["config"]["standardize"]["config"] == "zoo>lower_and_split_punctuation"
    restored = keras.saving.deserialize_keras_object(config)
    assert restored._standardize is lower_and_split_punctuation


# --- chatterbot, the project's own tfds dataset ----------------------------------------------


def chatterbot_conversations():
    from importlib.resources import files

    english = files("chatterbot_corpus") / "data" / "english"
    for path in english.iterdir():
        if path.name.endswith(".yml"):
            for turns in yaml.safe_load(path.read_text(encoding="utf-8"))["conversations"]:
                yield [str(turn).strip() for turn in turns]


def test_chatterbot_loads_offline_with_fixed_splits(chatterbot_dir):
    splits = tfds.load("chatterbot", data_dir=chatterbot_dir)
    sizes = {name: int(split.cardinality()) for name, split in splits.items()}
    assert set(sizes) == {"train", "validation", "test"} and min(sizes.values()) > 50
    expected = {"train": 0, "validation": 0, "test": 0}
    for turns in chatterbot_conversations():
        expected[split_of(turns)] += len(turns) - 1
    assert sizes == expected
    example = next(iter(splits["train"]))
    assert set(example) == {"context", "response"}


def test_chatterbot_dialogue_data(chatterbot_dir):
    data = dialogue_data(
        dataset="chatterbot",
        vocab_size=3000,
        sequence_length=16,
        batch_size=32,
        data_dir=chatterbot_dir,
    )
    assert 1500 < data.train_examples < 2393
    (source, target_in), target_out = next(iter(data.train))
    assert source.shape[0] == target_in.shape[0] == 32
    assert target_in.shape[1] <= 16 and source.shape[1] <= 16
    assert (np.asarray(target_in)[:, 0] == 2).all()


# --- users' own files ------------------------------------------------------------------------


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def reviews_csv(count=40):
    lines = ["text,label"]
    for i in range(count):
        sentence = PRAISE[i % 10] if i % 2 else CRITICISM[i % 10]
        lines.append(f'"{sentence}",{"pos" if i % 2 else "neg"}')
    return "\n".join(lines) + "\n"


def test_classification_from_a_csv_carves_validation_and_test(tmp_path):
    data = classification_data(
        train_file=write(tmp_path / "reviews.csv", reviews_csv()),
        vocab_size=300,
        sequence_length=16,
        batch_size=4,
    )
    assert data.labels == ["neg", "pos"]
    assert data.train_examples == 32
    assert sum(int(x["tokens"].shape[0]) for x, _ in data.test) == 4
    assert sum(int(x["tokens"].shape[0]) for x, _ in data.validation) == 4


def test_linear_features_hash_words_pairs_and_pieces_once_each():
    features = linear_features(
        tf.constant(["Not bad, not bad.", "", "disappointed", "disappointing", "Café"]),
        max_words=400,
    ).numpy()
    kept = [set(row[row > 0].tolist()) for row in features]
    words = [{f for f in row if f <= FEATURE_SPACE} for row in kept]
    pieces = [row - w for row, w in zip(kept, words)]
    # not, bad, ",", "." and the pairs "not bad", "bad ,", ", not", "bad ." (repeats once)
    assert len(words[0]) == 8 and (features[0] > 0).sum() == len(kept[0])
    assert not kept[1]  # an empty text has no feature
    assert all(0 < f <= 2 * FEATURE_SPACE for row in pieces for f in row)
    # A word no vocabulary holds shares most pieces of a word it does.
    assert not words[2] & words[3] and len(pieces[2] & pieces[3]) >= 20
    assert linear_features(tf.constant(["café"]), 400).numpy().tolist() == [sorted(kept[4])]
    blob = linear_features(tf.constant(["x" * 100_000]), 400).numpy()[0]
    assert 0 < (blob > 0).sum() <= 1 + 4 * (PIECE_CHARS + 2)  # pieces of its head only
    first_two, whole = (
        linear_features(tf.constant([text]), max_words=n).numpy()[0]
        for text, n in (("not bad at all", 2), ("not bad", 400))
    )
    assert set(first_two[first_two > 0]) == set(whole[whole > 0])


def test_classification_from_tsv_with_integer_labels_and_eval_file(tmp_path):
    names = list(TOPICS)  # labelled 1 to 4, as AG News's own files are
    lines = ["label\ttext"] + [f"{i % 4 + 1}\t{TOPICS[names[i % 4]][1][i % 4]}" for i in range(24)]
    train = write(tmp_path / "train.tsv", "\n".join(lines))
    evaluation = write(
        tmp_path / "eval.tsv", "label\ttext\n2\tThe coach resigned.\n4\tA new phone was released.\n"
    )
    data = classification_data(
        train_file=train, eval_file=evaluation, vocab_size=300, sequence_length=16, batch_size=4
    )
    assert data.labels == ["1", "2", "3", "4"]
    test = [(ids, labels) for ids, labels in data.test]
    assert sorted(np.concatenate([np.asarray(labels) for _, labels in test]).tolist()) == [1, 3]


def labeled(tmp_path, labels, name="train.csv"):
    """A CSV with one short text per label, in order."""
    return write(
        tmp_path / name,
        "text,label\n" + "".join(f"text number {i},{label}\n" for i, label in enumerate(labels)),
    )


def label_ids(split):
    return [int(label) for _, label in split]


@pytest.mark.parametrize(
    "found, classes",
    [
        (["1", "3"] * 10, ["1", "3"]),  # two classes, not four
        (["10", "9", "2"] * 10, ["2", "9", "10"]),  # numbers sort as numbers
        (["pos", "neg", "1"] * 10, ["1", "neg", "pos"]),  # else as strings
    ],
)
def test_classes_are_exactly_the_labels_found(tmp_path, found, classes):
    splits, names = files.labeled_splits(labeled(tmp_path, found))
    assert names == classes
    ids = sum((label_ids(split) for split in splits.values()), [])
    assert sorted(set(ids)) == list(range(len(classes))) and len(ids) == len(found)


def test_declared_labels_keep_their_order(tmp_path):
    splits, names = files.labeled_splits(
        labeled(tmp_path, ["neg", "pos"] * 10), labels=["pos", "neg"], validation_fraction=0.5
    )
    assert names == ["pos", "neg"]
    texts = {
        text.numpy().decode(): int(label) for split in splits.values() for text, label in split
    }
    assert texts["text number 0"] == 1 and texts["text number 1"] == 0  # neg, then pos
    with pytest.raises(
        ValueError,
        match=r"train.csv: label\(s\) 'pos' are outside the classes "
        r"'neg', 'maybe'",
    ):
        files.labeled_splits(labeled(tmp_path, ["neg", "pos"] * 10), labels=["neg", "maybe"])
    with pytest.raises(ValueError, match="labels=.* expected two or more distinct"):
        files.labeled_splits(labeled(tmp_path, ["neg", "pos"] * 10), labels=["pos", "pos"])


def test_a_train_file_of_one_class_fails_naming_file_and_class(tmp_path):
    with pytest.raises(
        ValueError,
        match=r"train.csv holds a single class, '1'; a classifier "
        r"needs examples of at least two classes",
    ):
        files.labeled_splits(labeled(tmp_path, ["1"] * 20))
    with pytest.raises(ValueError, match=r"train.csv holds a single class, 'pos'"):
        files.labeled_splits(labeled(tmp_path, ["pos"] * 20), labels=["neg", "pos"])


def test_an_eval_label_outside_the_classes_fails_naming_the_file(tmp_path):
    with pytest.raises(
        ValueError,
        match=r"eval.csv: label\(s\) '2' are outside the classes "
        r"'1', '3'",
    ):
        files.labeled_splits(
            labeled(tmp_path, ["1", "3"] * 10), labeled(tmp_path, ["1", "2"], name="eval.csv")
        )


def test_batches_know_their_number_so_an_epoch_ends_where_it_should(tmp_path):
    """Every pipeline's splits have a known cardinality, equal to the batches they give."""
    reviews = write(tmp_path / "reviews.csv", reviews_csv(60))
    pairs = write(tmp_path / "pairs.tsv", "\n".join(f"{u}\t{s}" for u, s in EXCHANGES * 5))
    text = write(tmp_path / "train.txt", " ".join(PRAISE + CRITICISM + NEUTRAL) * 3)
    for data in (
        classification_data(train_file=reviews, vocab_size=300, sequence_length=16, batch_size=4),
        dialogue_data(train_file=pairs, vocab_size=200, sequence_length=20, batch_size=4),
        language_model_data(
            level="word", train_file=text, vocab_size=300, sequence_length=8, batch_size=4
        ),
    ):
        for split in (data.train, data.validation, data.test):
            assert 0 < int(split.cardinality()) == sum(1 for _ in split)
        assert int(data.train.cardinality()) == sum(1 for _ in data.train)  # every epoch


@pytest.mark.parametrize(
    "content, message",
    [
        ("review,label\nGreat film,pos\n", "no 'text' column"),
        ("text,sentiment\nGreat film,pos\n", "no 'label' column"),
        ("", "is empty"),
        ("text,label\n", "no examples"),
        (b"text,label\nGreat film,pos\nCaf\xe9 scene,neg\n", r"line 3: byte 0xe9 is not UTF-8"),
        ("text,label\nGreat film,pos\nMeh,neutral\n", r"'neutral' are outside the classes"),
        ("text,label\nGreat film,pos\nBad film\n", "line 3: 1 fields"),
    ],
)
def test_labeled_file_errors(tmp_path, content, message):
    with pytest.raises(ValueError, match=message):
        classification_data(
            train_file=write(tmp_path / "train.csv", content),
            labels=["neg", "pos"],
            vocab_size=100,
            sequence_length=8,
            batch_size=2,
        )


def test_eval_labels_outside_the_train_classes(tmp_path):
    evaluation = write(tmp_path / "eval.csv", "text,label\nSo-so,neutral\n")
    with pytest.raises(ValueError, match="eval.csv: label.*'neutral'"):
        classification_data(
            train_file=write(tmp_path / "train.csv", reviews_csv()),
            eval_file=evaluation,
            vocab_size=100,
            sequence_length=8,
            batch_size=2,
        )


def test_declared_labels_need_a_train_file():
    with pytest.raises(ValueError, match="labels= declares the classes of a train_file"):
        classification_data(labels=["neg", "pos"], vocab_size=100, sequence_length=8, batch_size=2)


def test_eval_file_needs_a_train_file(tmp_path):
    with pytest.raises(ValueError, match="eval_file needs a train_file"):
        language_model_data(
            eval_file=write(tmp_path / "eval.txt", "words"),
            vocab_size=100,
            sequence_length=8,
            batch_size=2,
        )


def test_language_model_from_text_files_takes_vocabulary_from_train(tmp_path):
    train = write(tmp_path / "train.txt", " ".join(PRAISE + CRITICISM + NEUTRAL) * 3)
    evaluation = write(tmp_path / "eval.txt", "The xylophone solo is wonderful. " * 10)
    data = language_model_data(
        level="word",
        train_file=train,
        eval_file=evaluation,
        vocab_size=1000,
        sequence_length=8,
        batch_size=4,
    )
    vocabulary = data.vectorizers["text"].get_vocabulary()
    assert "wonderful" in vocabulary and "xylophone" not in vocabulary
    inputs, targets = next(iter(data.test))
    assert 1 in np.asarray(inputs)
    np.testing.assert_array_equal(np.asarray(inputs)[:, 1:], np.asarray(targets)[:, :-1])


def test_dialogue_from_a_tsv_of_pairs(tmp_path):
    pairs = write(tmp_path / "pairs.tsv", "\n".join(f"{u}\t{s}" for u, s in EXCHANGES * 3))
    data = dialogue_data(train_file=pairs, vocab_size=200, sequence_length=20, batch_size=4)
    assert data.train_examples == 36 - 4 - 4
    (source, target_in), target_out = next(iter(data.test))
    assert target_in.shape == target_out.shape

    bad = write(tmp_path / "bad.tsv", "Hello\tHi there\nno tab on this line\n")
    with pytest.raises(ValueError, match=r"bad.tsv, line 2: expected 'message<TAB>reply'"):
        dialogue_data(train_file=bad, vocab_size=200, sequence_length=20, batch_size=4)


def test_the_suite_reaches_no_host_but_this_one():
    """conftest.py's guard: a test that would download fails at once, network or not."""
    with pytest.raises(ConnectionRefusedError, match="does not use the network"):
        socket.create_connection(("192.0.2.1", 443), timeout=5)  # TEST-NET-1, never routed
