"""LiteRT and ONNX files and streaming: every catalog model converts to both formats and
answers in its own runtime as its SavedModel does; the plain-Python tokenizer makes the
exports' ids from the tasks' test files; a Stream carries a language model's state."""

from __future__ import annotations

import json
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from benchmarks.edge import perplexity
from zoo.cli import main as zoo_main
from zoo.data.conll import read_tagged
from zoo.edge import FORMATS, Replier, Stream, Tokenizer, convert
from zoo.edge import load as load_edge
from zoo.edge.tokenizer import lower_utf8, split_whitespace
from zoo.export import export_model
from zoo.tasks.sequence_tagging.signatures import tokenize
from zoo.tasks.text_classification.data import linear_features

import helpers as fx

TAGGED = fx.REPO / "tests" / "data" / "en_ewt_sample" / "test.conllu"
PAIRS = fx.REPO / "tests" / "data" / "sgd_pairs" / "test.tsv"
SHAKESPEARE = fx.REPO / "data" / "tiny_shakespeare" / "input.txt"
TRICKY = [
    "",
    "  Tabs\tand\nnewlines\n",
    "İstanbul ÀÉÎ ǅ straße Ⱟ",
    "“Curly” ‘quotes’ don't o'er 'tis rock 'n' roll'",
    "11:30 am, 408-247-8880... U.S.A! [start] [end] (brackets) {braces}",
    "emoji 🙂 and 中文 text; ﬁ ligature\u00a0nbsp",
]


def task_test_lines(limit: int = 120) -> list[str]:
    """Real text of every task's test files: dialogue messages and replies, treebank
    sentences, Shakespeare's lines, and strings that test the edges of the rules."""
    pairs = [part for line in PAIRS.read_text().splitlines()[:limit] for part in line.split("\t")]
    sentences = [" ".join(tokens) for tokens, _ in read_tagged(TAGGED)[:limit]]
    verse = SHAKESPEARE.read_text().splitlines()[:limit]
    return pairs + sentences + verse + TRICKY


def tiny_exports(base) -> dict:
    """An untrained tiny export of every catalog model (version directories by name)."""
    from zoo.tasks.sequence_tagging.data import vectorizers as tagger_vectorizers

    made = {kind: fx.make(kind) for kind in ("classifier", "word_lm", "char_lm", "chatbot")}
    out = {m.name: fx.export(m, base) for m in made.values()}
    text = made["classifier"].vectorizers["text"]
    keras.utils.set_random_seed(0)
    topic = zoo.build("topic_gru", units=8, embedding_dim=8, vocab_size=text.vocabulary_size())
    out["topic_gru"] = export_model(
        topic,
        name="topic_gru",
        settings=dict(units=8, embedding_dim=8, vocab_size=text.vocabulary_size()),
        vectorizers={"text": text},
        labels=["a", "b", "c", "d"],
        base_dir=base,
        max_length=16,
    )
    sentences = read_tagged(TAGGED)
    words, chars = tagger_vectorizers(sentences, 500)
    tags = sorted({t for _, ts in sentences for t in ts})
    settings = dict(
        vocab_size=words.vocabulary_size(),
        char_vocab_size=chars.vocabulary_size(),
        num_tags=len(tags),
        units=8,
        embedding_dim=8,
        char_dim=8,
        char_filters=8,
        num_layers=1,
    )
    for key, extra in (("bilstm_tagger", {}), ("bilstm_tagger_forward", {"bidirectional": False})):
        out[key] = export_model(
            zoo.build("bilstm_tagger", **settings, **extra),
            name="bilstm_tagger",
            settings={**settings, **extra},
            vectorizers={"words": words, "chars": chars},
            labels=tags,
            base_dir=base,
            max_length=64,
        )
    settings = dict(lookback=24, horizon=12, num_series=2, segment_length=12, units=8)
    scaler = keras.layers.Normalization(mean=[10.0, 20.0], variance=[4.0, 1.0], name="scaler")
    scaler.build((None, 2))
    out["rnn_forecaster"] = export_model(
        zoo.build("rnn_forecaster", **settings),
        name="rnn_forecaster",
        settings=settings,
        vectorizers={"scaler": scaler},
        labels=["load", "temp"],
        base_dir=base,
    )
    return out


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    return tiny_exports(tmp_path_factory.mktemp("edge-exports"))


def id_inputs(predictor, signature: str, rng) -> list[dict]:
    """Inputs of an id signature: the tokenizer's on real text, else numbers."""
    tokenizer = Tokenizer.from_folder(predictor.path)
    state_size = predictor.config.get("state_size", 0)
    if signature == "forecast_window":
        return [{"history": rng.normal(15, 3, [1, 24, 2]).astype(np.float32)} for _ in range(3)]
    if signature == "step" and predictor.task == "sequence-tagging":
        sentences = [tokens for tokens, _ in read_tagged(TAGGED)[:4]]
        return [
            {
                "words": inputs["words"],
                "chars": inputs["chars"],
                "state": rng.normal(size=[1, state_size]),
            }
            for inputs in map(tokenizer.tagger_inputs, ([s] for s in sentences))
        ]
    if signature == "step":
        return [
            {"ids": tokenizer.inputs(text)["ids"], "state": rng.normal(size=[1, state_size])}
            for text in task_test_lines(4)[:6]
        ]
    if signature == "decode_step":
        source = tokenizer.inputs("hi there")["source"]
        encoded = predictor.run_arrays("encode", {"source": source})
        return [
            {
                "token": np.array([t], np.int64),
                "state": encoded["state"],
                "keys": encoded["keys"],
                "source": source,
            }
            for t in (2, 5, 7)
        ]
    texts = task_test_lines(3)[:8]
    if signature == "encode":
        return [tokenizer.inputs(t) for t in texts if t.strip()]
    return [tokenizer.inputs(t) for t in texts]


MODELS = [
    "sentiment_lstm",
    "topic_gru",
    "next_word_rnn",
    "stacked_lstm",
    "chatbot",
    "bilstm_tagger",
    "bilstm_tagger_forward",
    "rnn_forecaster",
]


@pytest.mark.slow
@pytest.mark.parametrize("format", ["litert", "onnx"])
@pytest.mark.parametrize("model", MODELS)
def test_every_model_converts_and_answers_as_its_saved_model(exported, model, format, tmp_path):
    predictor = zoo.load(exported[model])
    folder = convert(exported[model], format, output=tmp_path / format)
    edge = load_edge(folder)
    assert sorted(edge.signatures) == sorted(predictor.config["edge"]["signatures"])
    rng = np.random.default_rng(0)
    for signature in edge.signatures:
        for inputs in id_inputs(predictor, signature, rng):
            inputs = {
                k: np.asarray(v, dtype=predictor.input_specs(signature)[k].dtype.as_numpy_dtype)
                for k, v in inputs.items()
            }
            want = predictor.run_arrays(signature, inputs)
            got = edge.run(signature, inputs)
            assert set(got) == set(want)
            for name in want:
                np.testing.assert_allclose(got[name], want[name], atol=1e-4, rtol=0, err_msg=name)


def test_the_tokenizer_makes_the_vectorizers_ids_on_every_tasks_test_files():
    lines = task_test_lines()
    standardizations = {
        "lower_and_strip_punctuation": "lower_and_strip_punctuation",
        "lower_and_split_punctuation": zoo.data.text.lower_and_split_punctuation,
        "split_edge_punctuation": zoo.data.text.split_edge_punctuation,
    }
    for name, standardize in standardizations.items():
        for split in ("whitespace", "character"):
            layer = keras.layers.TextVectorization(standardize=standardize, split=split)
            layer.adapt(tf.constant(lines[::2]))  # unseen words too, from the other half
            tokenizer = Tokenizer(
                {
                    "edge": {
                        "text": "language_model",
                        "vectorizers": {"text": {"standardize": name, "split": split}},
                    }
                },
                {"text": layer.get_vocabulary()},
            )
            want = layer(tf.constant(lines)).numpy()
            for i, line in enumerate(lines):
                ids = tokenizer.encode(line)
                assert ids == want[i][: len(ids)].tolist() and not want[i][len(ids) :].any(), (
                    name,
                    split,
                    line,
                )


def test_the_tokenizer_makes_the_linear_features_and_tagger_tokens_alike():
    lines = task_test_lines()
    tokenizer = Tokenizer(
        {
            "max_length": 40,
            "edge": {
                "text": "classifier",
                "feature_space": 2**30,
                "piece_chars": 20,
                "vectorizers": {},
            },
        },
        {},
    )
    np.testing.assert_array_equal(
        tokenizer.linear_features(lines), linear_features(tf.constant(lines), 40).numpy()
    )
    tokens, lengths = tokenize(tf.constant(lines))
    for i, line in enumerate(lines):
        from zoo import textrules
        from zoo.edge.tokenizer import apply_rules

        words = split_whitespace(apply_rules(line, textrules.TAGGER_SPLITS))
        assert words == [t.decode() for t in tokens[i, : lengths[i]].numpy()], line
    assert lower_utf8("ÀÉÎ İ Ⱟ") == tf.strings.lower("ÀÉÎ İ Ⱟ", encoding="utf-8").numpy().decode()


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["saved_model", "litert"])
def test_a_stream_carries_the_state_and_answers_as_the_whole_prefix(exported, backend, tmp_path):
    predictor = zoo.load(exported["next_word_rnn"])
    model = (
        predictor
        if backend == "saved_model"
        else load_edge(convert(predictor.path, "litert", output=tmp_path / "litert"))
    )
    stream = (predictor.stream() if backend == "saved_model" else Stream(model)).feed("the cat sat")
    stream.feed(" on the")
    want = predictor.next_words("the cat sat on the", k=3)
    got = stream.next_words(3)
    assert [t for t, _ in got] == [t for t, _ in want]
    np.testing.assert_allclose([p for _, p in got], [p for _, p in want], atol=1e-5)
    assert stream.tokens_read == 5
    greedy = Stream(model).feed("a dog").generate(6, temperature=0)
    assert predictor.generate("a dog", max_length=6, temperature=0) == f"a dog {greedy}"
    sampled = [Stream(model).feed("a dog").generate(6, temperature=1.0, seed=s) for s in (1, 1, 2)]
    assert sampled[0] == sampled[1]


@pytest.mark.slow
def test_a_forward_tagger_tags_a_stream_as_the_whole_sentence(exported):
    predictor = zoo.load(exported["bilstm_tagger_forward"])
    assert "step" in predictor.signatures
    assert "step" not in zoo.load(exported["bilstm_tagger"]).signatures  # it reads both ways
    tokens = read_tagged(TAGGED)[0][0]
    tokenizer = Tokenizer.from_folder(predictor.path)
    whole = predictor.run_arrays("tag_ids", tokenizer.tagger_inputs([tokens]))
    state = np.zeros([1, predictor.config["state_size"]], np.float32)
    pieces = []
    for part in (tokens[:3], tokens[3:]):
        inputs = tokenizer.tagger_inputs([part])
        out = predictor.run_arrays(
            "step", {"words": inputs["words"], "chars": inputs["chars"], "state": state}
        )
        state = out["next_state"]
        pieces.append(out["probabilities"][0])
    np.testing.assert_allclose(np.concatenate(pieces), whole["probabilities"][0], atol=1e-5)


@pytest.mark.slow
def test_a_replier_answers_as_the_exports_greedy_search(exported, tmp_path):
    predictor = zoo.load(exported["chatbot"])
    files = [load_edge(convert(predictor.path, f, output=tmp_path / f)) for f in FORMATS]
    messages = [line.split("\t")[0] for line in PAIRS.read_text().splitlines()[:12]]
    messages += fx.SENTENCES + ["", "hello there , cat !"]
    want = [predictor.reply(m, beam_width=1) for m in messages]
    assert [Replier(predictor).reply(m) for m in messages] == want
    for edge in files:
        assert [Replier(edge).reply(m) for m in messages] == want, edge.format
    assert any(want)


@pytest.mark.slow
def test_zoo_export_writes_a_quantised_folder_once(exported, capsys):
    version = exported["stacked_lstm"]
    assert zoo_main(["export", str(version), "--format", "litert", "--quantize", "dynamic"]) == 0
    folder = version / "litert-dynamic"
    assert (folder / "model.tflite").is_file() and "written" in capsys.readouterr().out
    edge = json.loads((folder / "edge.json").read_text())
    assert edge["quantize"] == "dynamic" and edge["format"] == "litert"
    assert zoo_main(["export", str(version), "--format", "litert", "--quantize", "dynamic"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert zoo_main(["export", str(version), "--format", "onnx", "--quantize", "float16"]) == 2
    assert "quantize" in capsys.readouterr().err
    assert not [p for p in version.iterdir() if p.name.startswith(".")]  # no half-written folder
    assert zoo_main(["export", str(version.parent), "--format", "onnx"]) == 0  # highest version
    assert (version / "onnx" / "step.onnx").is_file()
    assert zoo_main(["export", str(version / "assets"), "--format", "onnx"]) == 2
    assert "is not a zoo export" in capsys.readouterr().err
    assert (
        zoo_main(["generate", str(version), "the ", "--max-length", "5", "--temperature", "0"]) == 0
    )
    assert capsys.readouterr().out.strip() == zoo.load(version).generate(
        "the ", max_length=5, temperature=0
    )


@pytest.mark.slow
def test_converted_files_run_in_their_runtimes_without_tensorflow_or_the_zoo(exported, tmp_path):
    version = exported["next_word_rnn"]
    litert = convert(version, "litert", output=tmp_path / "litert")
    onnx = convert(version, "onnx", output=tmp_path / "onnx")
    ids = Tokenizer.from_folder(version).inputs("the cat sat")["ids"].tolist()
    state = [[0.0] * zoo.load(version).config["state_size"]]
    want = zoo.load(version).run_arrays(
        "step", {"ids": np.array(ids), "state": np.array(state, np.float32)}
    )["probabilities"]
    script = f"""
import sys
sys.modules["tensorflow"] = sys.modules["zoo"] = None  # importing either would fail
import numpy as np
import onnxruntime
from ai_edge_litert.interpreter import Interpreter

ids, state = np.array({ids}, np.int64), np.array({state}, np.float32)
step = Interpreter(model_path={str(litert / "model.tflite")!r}).get_signature_runner("step")
session = onnxruntime.InferenceSession({str(onnx / "step.onnx")!r})
onnx_probs = session.run(["probabilities"], {{"ids": ids, "state": state}})[0]
np.save(sys.argv[1], np.stack([step(ids=ids, state=state)["probabilities"], onnx_probs]))
"""
    out = tmp_path / "probabilities.npy"
    result = subprocess.run(
        [sys.executable, "-c", script, str(out)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    for probabilities in np.load(out):
        np.testing.assert_allclose(probabilities, want, atol=1e-4, rtol=0)


@pytest.mark.slow
@pytest.mark.parametrize(
    "format,quantize", [("litert", "dynamic"), ("litert", "float16"), ("onnx", "dynamic")]
)
def test_quantised_files_are_smaller_and_keep_the_perplexity(format, quantize, tmp_path):
    # Wide enough that its weights are quantised (LiteRT keeps tensors under 1,024 values).
    text = fx.vectorizer(fx.SENTENCES, split="character", standardize=None)
    settings = dict(units=64, embedding_dim=32, vocab_size=text.vocabulary_size())
    keras.utils.set_random_seed(0)
    version = export_model(
        zoo.build("stacked_lstm", **settings),
        name="stacked_lstm",
        settings=settings,
        vectorizers={"text": text},
        base_dir=tmp_path,
    )
    float_folder = convert(version, format, output=tmp_path / "float")
    small_folder = convert(version, format, quantize, output=tmp_path / quantize)
    sizes = [
        sum(p.stat().st_size for p in f.glob("*.tflite"))
        + sum(p.stat().st_size for p in f.glob("*.onnx"))
        for f in (float_folder, small_folder)
    ]
    assert sizes[1] < sizes[0]
    ids = Tokenizer.from_folder(version).encode(SHAKESPEARE.read_text()[:400])

    float_ppl = perplexity(load_edge(float_folder), ids)
    small_ppl = perplexity(load_edge(small_folder), ids)
    assert abs(small_ppl / float_ppl - 1) < 0.01, (float_ppl, small_ppl)
