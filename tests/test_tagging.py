"""The sequence tagger end to end: CoNLL-U and token/tag files and a tfds source in, a
trained model, an export that tags raw and tokenized sentences with and without the zoo,
served over REST and gRPC, and scored by ``zoo evaluate``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo import training
from zoo.data.conll import read_tagged
from zoo.recipes.bilstm_tagger import BiLSTMTaggerRecipe
from zoo.tasks.sequence_tagging.signatures import tokenize

from helpers import REPO
from mock_datasets import mock_tfds

SAMPLE = REPO / "tests" / "data" / "en_ewt_sample"
SMALL = dict(
    units=32,
    embedding_dim=32,
    char_dim=16,
    char_filters=16,
    num_layers=1,
    ema_momentum=0.9,  # the default 0.999 averages over more steps than these runs take
    batch_size=16,
    verbose=0,
    precision="float32",
)


def run(tmp_path, **settings):
    config = BiLSTMTaggerRecipe(
        run_dir=str(tmp_path / "run"), export_dir=str(tmp_path / "exports"), **{**SMALL, **settings}
    )
    return training.run(config)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tagger trained for a few epochs on 250 real EWT sentences; its metrics."""
    tmp_path = tmp_path_factory.mktemp("tagger")
    return run(
        tmp_path,
        train_file=str(SAMPLE / "train.conllu"),
        eval_file=str(SAMPLE / "test.conllu"),
        epochs=12,
        learning_rate=5e-3,
    )


@pytest.fixture(scope="module")
def crf_export(tmp_path_factory):
    """A CRF tagger's export, barely trained: the CRF's decoding and marginals in a graph."""
    tmp_path = tmp_path_factory.mktemp("crf")
    return run(
        tmp_path,
        train_file=str(SAMPLE / "train.conllu"),
        eval_file=str(SAMPLE / "test.conllu"),
        epochs=1,
        max_steps=3,
        crf=True,
    )["export"]


def most_frequent_tag_accuracy(train, test) -> float:
    import collections

    counts = collections.defaultdict(collections.Counter)
    for tokens, tags in train:
        for token, tag in zip(tokens, tags):
            counts[token][tag] += 1
    overall = collections.Counter(t for _, tags in train for t in tags).most_common(1)[0][0]
    right = total = 0
    for tokens, tags in test:
        for token, tag in zip(tokens, tags):
            guess = counts[token].most_common(1)[0][0] if token in counts else overall
            right, total = right + (guess == tag), total + 1
    return right / total


def test_the_tokenizer_splits_clitics_and_punctuation_as_ud_english_does():
    tokens, lengths = tokenize(tf.constant(["I don't like it, Mr. Smith's 3.5 cats!", ""]))
    words = [t.decode() for t in tokens.numpy()[0][: lengths[0]]]
    assert words == ["I", "do", "n't", "like", "it", ",", "Mr.", "Smith", "'s", "3.5", "cats", "!"]
    assert lengths.numpy().tolist() == [12, 0]


@pytest.mark.slow
def test_a_tagger_learns_real_sentences_beyond_the_most_frequent_tag(trained):
    train, test = read_tagged(SAMPLE / "train.conllu"), read_tagged(SAMPLE / "test.conllu")
    baseline = most_frequent_tag_accuracy(train, test)
    assert trained["test"]["accuracy"] > baseline + 0.02, (trained["test"], baseline)
    assert trained["dataset"] == "files" and trained["config"]["tag_column"] == "upos"
    assert "span_f1" not in trained["test"]  # parts of speech are no spans


@pytest.mark.slow
def test_the_export_tags_raw_and_tokenized_sentences_alike(trained):
    predictor = zoo.load(trained["export"])
    labels = predictor.metadata["labels"]
    out = predictor.predict(["The cat sat on the mat.", "", "Hi"])
    assert out["tokens"].shape == out["tags"].shape == out["probabilities"].shape[:2]
    assert out["lengths"].tolist() == [7, 0, 1]
    assert [str(t) for t in out["tokens"][0]] == ["The", "cat", "sat", "on", "the", "mat", "."]
    assert all(str(t) in labels for t in out["tags"][0])
    assert str(out["tags"][0][6]) == "PUNCT" and str(out["tags"][1][0]) == ""
    np.testing.assert_allclose(out["probabilities"][0].sum(axis=-1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(out["probabilities"][1], 0.0)
    chosen = np.array(labels)[out["probabilities"][0].argmax(axis=-1)]
    np.testing.assert_array_equal(chosen, [str(t) for t in out["tags"][0]])

    tokens = np.array(
        [["The", "cat", "sat", "on", "the", "mat", "."], ["Hi"] + [""] * 6], dtype=object
    )
    given = predictor.run("tag_tokens", {"tokens": tokens, "lengths": np.array([7, 1])})
    np.testing.assert_array_equal(given["tags"][0], out["tags"][0])
    np.testing.assert_allclose(given["probabilities"][0], out["probabilities"][0], atol=1e-6)
    assert str(given["tags"][1][0]) == str(out["tags"][2][0])


@pytest.mark.slow
def test_zoo_evaluate_and_predict_report_tags(trained, capsys):
    from zoo.cli import main

    scored = zoo.evaluate(trained["export"], SAMPLE / "test.conllu")
    assert scored["sentences"] == 80 and scored["tokens"] == 1690
    # The export scores the file's own tokens as the run scored its test split.
    assert scored["accuracy"] == pytest.approx(trained["test"]["accuracy"], abs=1e-9)
    assert set(scored["per_tag"]) >= {"NOUN", "VERB", "PUNCT"}
    assert 0 <= scored["per_tag"]["NOUN"]["f1"] <= 1
    assert main(["predict", trained["export"], "Dogs bark."]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("Dogs/") and " bark/" in line and line.endswith(" ./PUNCT"), line


@pytest.mark.slow
def test_the_export_answers_without_the_zoo_and_over_rest_and_grpc(trained, tmp_path):
    import shutil

    grpc = pytest.importorskip("grpc")
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    from zoo import serving
    from zoo.serving.grpc_api import start_grpc_server
    from zoo.serving.service import Service

    import helpers as fx

    script = textwrap.dedent(f"""
        import sys, json
        sys.modules["zoo"] = None  # any `import zoo` now fails
        import tensorflow as tf
        sig = tf.saved_model.load({trained["export"]!r}).signatures["serving_default"]
        out = sig(text=tf.constant(["Dogs bark."]))
        print(json.dumps([t.decode() for t in out["tags"].numpy()[0]]))
    """)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": ""}
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    plain = json.loads(result.stdout.strip().splitlines()[-1])
    assert plain == [str(t) for t in zoo.load(trained["export"]).predict(["Dogs bark."])["tags"][0]]

    root = tmp_path / "served"
    shutil.copytree(trained["export"], root / "bilstm_tagger" / "1")
    service = Service(serving.ModelStore(root))
    server = start_grpc_server(service, port=0)
    try:
        with fx.live_client(serving.make_app(service=service, poll_seconds=0.2)) as client:
            rest = client.post(
                "/v1/models/bilstm_tagger:predict", json={"instances": ["Dogs bark."]}
            ).json()
            assert rest["predictions"][0]["tags"][:3] == plain
            bad = client.post("/v1/models/bilstm_tagger:predict", json={"instances": [3]})
            assert bad.status_code == 400 and "error" in bad.json()
        channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
        request = predict_pb2.PredictRequest()
        request.model_spec.name = "bilstm_tagger"
        request.model_spec.signature_name = "tag_tokens"
        request.inputs["tokens"].CopyFrom(tf.make_tensor_proto([["Dogs", "bark", "."]]))
        request.inputs["lengths"].CopyFrom(tf.make_tensor_proto(np.array([3], np.int64)))
        reply = prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(
            request, timeout=60
        )
        assert [t.decode() for t in tf.make_ndarray(reply.outputs["tags"])[0]] == plain
        channel.close()
    finally:
        server.stop(grace=None)


@pytest.mark.slow
def test_a_crf_export_decodes_by_viterbi_and_gives_marginals(crf_export):
    predictor = zoo.load(crf_export)
    out = predictor.predict(["The cat sat on the mat.", "Hi"])
    assert out["lengths"].tolist() == [7, 1]
    probabilities = out["probabilities"]
    np.testing.assert_allclose(probabilities[0].sum(axis=-1), 1.0, rtol=1e-4)
    np.testing.assert_allclose(probabilities[1][0].sum(), 1.0, rtol=1e-4)
    np.testing.assert_array_equal(probabilities[1][1:], 0.0)
    assert all(str(t) in predictor.metadata["labels"] for t in out["tags"][0])


@pytest.mark.slow
def test_a_token_tag_ner_file_reports_span_figures(tmp_path):
    lines = []
    for i in range(60):
        lines += [
            f"{'Alice' if i % 2 else 'Bob'} B-PER",
            "visited O",
            f"{'Paris' if i % 3 else 'New'} B-LOC",
        ]
        lines += ["York I-LOC"] if i % 3 == 0 else []
        lines += [". O", ""]
    (tmp_path / "train.txt").write_text("-DOCSTART- -X- O\n\n" + "\n".join(lines))
    (tmp_path / "test.txt").write_text("\n".join(lines[:40]))
    metrics = run(
        tmp_path,
        train_file=str(tmp_path / "train.txt"),
        eval_file=str(tmp_path / "test.txt"),
        epochs=3,
        export=False,
    )
    assert {"span_precision", "span_recall", "span_f1"} <= set(metrics["test"])
    assert 0 <= metrics["test"]["span_f1"] <= 1


@pytest.mark.slow
def test_the_recipe_reads_universal_dependencies_from_tfds(tmp_path):
    sentences = read_tagged(SAMPLE / "train.conllu")
    import tensorflow_datasets as tfds

    builder = tfds.builder("universal_dependencies/en_ewt", data_dir=tmp_path / "tfds")
    names = builder.info.features["upos"].feature.names

    def example(split, index, size):
        tokens, tags = sentences[
            (index * 7 + {"train": 0, "dev": 1, "test": 2}[split]) % len(sentences)
        ]
        blank = [""] * len(tokens)
        return {
            "idx": f"{split}-{index}",
            "text": " ".join(tokens),
            "tokens": tokens,
            "lemmas": blank,
            "upos": [names.index(t) for t in tags],
            "xpos": blank,
            "feats": blank,
            "head": blank,
            "deprel": blank,
            "deps": blank,
            "misc": blank,
        }

    sizes = {"train": 40, "dev": 8, "test": 8}
    with mock_tfds(tmp_path / "tfds", "universal_dependencies/en_ewt", sizes, example):
        metrics = run(tmp_path, epochs=1, data_dir=str(tmp_path / "tfds"), export=False)
    assert 0 <= metrics["test"]["accuracy"] <= 1
    assert metrics["dataset"] == "universal_dependencies/en_ewt"


def test_the_tag_column_must_name_something(tmp_path):
    with pytest.raises(ValueError, match="tag_column"):
        BiLSTMTaggerRecipe(tag_column=" ", run_dir=str(tmp_path)).validate()
    (tmp_path / "x.conllu").write_text("1\tHi\thi\tINTJ\tUH\t_\t0\troot\t_\t_\n")
    with pytest.raises(ValueError, match="tag_column"):
        read_tagged(tmp_path / "x.conllu", tag_column="nope")


def test_a_validation_file_chooses_the_epoch_and_the_train_file_stays_whole():
    from zoo.tasks.sequence_tagging.data import file_sentences, tagging_data

    train, test = str(SAMPLE / "train.conllu"), str(SAMPLE / "test.conllu")
    splits = file_sentences(train, test, "upos", 0.1, 0, validation_file=test)
    assert splits["train"] == read_tagged(train)  # nothing carved out of it
    assert splits["validation"] == splits["test"] == read_tagged(test)
    carved = file_sentences(train, test, "upos", 0.1, 0)
    assert len(carved["train"]) + len(carved["validation"]) == len(read_tagged(train))
    with pytest.raises(ValueError, match="validation_file needs an eval_file"):
        file_sentences(train, None, "upos", 0.1, 0, validation_file=test)
    with pytest.raises(ValueError, match="validation_file needs a train_file"):
        tagging_data(vocab_size=10, sequence_length=8, batch_size=2, validation_file=test)
