"""SavedModel exports: signatures and outputs per kind, portability, atomicity, versions."""

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import helpers as fx
from helpers import REPO

tf = pytest.importorskip("tensorflow")

BIN = Path(sys.executable).parent

EXPECTED = {
    "classifier": {
        "serving_default": ({"text"}, {"label", "class_id", "probabilities"}),
        "classify": ({"inputs"}, {"classes", "scores"}),
    },  # serialized tf.Examples
    "word_lm": {
        "serving_default": ({"text"}, {"tokens", "probabilities"}),
        "next_words": ({"text", "k"}, {"tokens", "probabilities"}),
        "generate": ({"prompt", "max_length", "temperature", "seed"}, {"text", "continuation"}),
        "log_likelihood": ({"text"}, {"nats", "tokens"}),
    },
    "chatbot": {
        "serving_default": ({"text"}, {"reply"}),
        "reply": ({"text"}, {"reply"}),
        "reply_sampled": ({"text", "temperature", "seed"}, {"reply"}),
        "reply_beam": ({"text", "beam_width"}, {"reply"}),
    },
}
EXPECTED["char_lm"] = EXPECTED["word_lm"]
# The signatures over ids and numbers that LiteRT and ONNX files hold (tests/test_edge.py).
ID_SIGNATURES = {
    "classifier": {"classify_ids": ({"tokens", "ngrams"}, {"probabilities"})},
    "word_lm": {"step": ({"ids", "state"}, {"probabilities", "next_state"})},
    "chatbot": {
        "encode": ({"source"}, {"keys", "state"}),
        "decode_step": ({"token", "state", "keys", "source"}, {"probabilities", "next_state"}),
    },
}
ID_SIGNATURES["char_lm"] = ID_SIGNATURES["word_lm"]


@pytest.fixture(scope="session")
def loaded(exported):
    return {kind: tf.saved_model.load(str(path)) for kind, (_, path) in exported.items()}


def call(loaded, signature, **inputs):
    """Run a signature with plain values; strings come back as str."""
    out = loaded.signatures[signature](**{k: tf.constant(v) for k, v in inputs.items()})
    return {
        k: (
            np.vectorize(bytes.decode, otypes=[object])(v.numpy())
            if v.dtype == tf.string
            else v.numpy()
        )
        for k, v in out.items()
    }


def allowed(vocab, size, banned=("", "[UNK]")):
    return np.array([i < len(vocab) and vocab[i] not in banned for i in range(size)])


def reference_generate(made, prompt, steps):
    """Greedy continuation by rerunning the in-memory model on the whole sequence each step."""
    vectorizer = made.vectorizers["text"]
    vocab = vectorizer.get_vocabulary()
    ids = [int(i) for i in vectorizer([prompt]).numpy()[0]]
    ok = allowed(vocab, made.model.output_shape[-1])
    out = []
    for _ in range(steps):
        probs = np.asarray(made.model(np.array([ids]), training=False))[0, -1]
        ids.append(int(np.argmax(np.where(ok, probs, -1.0))))
        out.append(vocab[ids[-1]])
    return out


def reference_reply(made, text, max_length=fx.MAX_LENGTH["chatbot"]):
    """Greedy reply by rerunning the in-memory encoder-decoder on the whole target each step.

    As the export decodes: ids past the vocabulary copy a message word (fed back as its
    out-of-vocabulary id), and no word trigram repeats.
    """
    vectorizer = made.vectorizers["text"]
    vocab = vectorizer.get_vocabulary()
    start, end = vocab.index("[start]"), vocab.index("[end]")
    source = vectorizer([text]).numpy()[:, :max_length]
    source_words = text.split()[:max_length]  # the fixture's texts have no punctuation
    ok = np.concatenate(
        [
            allowed(vocab, len(vocab), banned=("", "[UNK]", "[start]")),
            np.ones(source.shape[1], bool),
        ]
    )
    target, reply = [start], []
    for _ in range(max_length):
        probs = np.asarray(made.model([source, np.array([target])], training=False))[0, -1]
        probs = np.where(ok, probs, -1.0)
        for i in range(len(reply) - 2):  # a trigram may not repeat
            if reply[i : i + 2] == reply[-2:]:
                probs[reply[i + 2]] = -1.0
        token = int(np.argmax(probs))
        if token == end:
            break
        reply.append(token)
        target.append(token if token < len(vocab) else int(source[0, token - len(vocab)]))
    return " ".join(vocab[t] if t < len(vocab) else source_words[t - len(vocab)] for t in reply)


@pytest.mark.parametrize("kind", list(fx.NAMES))
def test_signatures_take_strings_and_name_their_outputs(loaded, kind):
    signatures = loaded[kind].signatures
    assert set(signatures) == set(EXPECTED[kind]) | set(ID_SIGNATURES[kind])
    for name, (inputs, outputs) in ID_SIGNATURES[kind].items():
        specs = signatures[name].structured_input_signature[1]
        assert set(specs) == inputs and all(spec.dtype != tf.string for spec in specs.values())
        assert set(signatures[name].structured_outputs) == outputs, name
    for name, (inputs, outputs) in EXPECTED[kind].items():
        specs = signatures[name].structured_input_signature[1]
        assert set(specs) == inputs, name
        text = specs.get("text", specs.get("prompt", specs.get("inputs")))
        assert text.dtype == tf.string and text.shape.as_list() == [None]
        scalars = [spec for key, spec in specs.items() if key not in ("text", "prompt", "inputs")]
        assert all(spec.shape.rank == 0 for spec in scalars)
        assert set(signatures[name].structured_outputs) == outputs, name


def test_classifier_matches_the_in_memory_model(exported, loaded):
    made, _ = exported["classifier"]
    texts = ["the cat sat on the mat", "a great story", "unknownword movie"]
    out = call(loaded["classifier"], "serving_default", text=texts)
    expected = np.asarray(made.model(fx.classifier_inputs(made, texts)))
    np.testing.assert_allclose(out["probabilities"], expected, rtol=1e-5, atol=1e-6)
    assert out["probabilities"].dtype == np.float32 and out["class_id"].dtype == np.int64
    np.testing.assert_array_equal(out["class_id"], expected.argmax(-1))
    assert list(out["label"]) == [fx.LABELS[i] for i in expected.argmax(-1)]


def test_classifier_handles_empty_and_huge_texts(exported, loaded):
    made, _ = exported["classifier"]
    long = "the cat sat on the mat " * 20000  # ~120k characters, truncated to max_length tokens
    out = call(loaded["classifier"], "serving_default", text=["", long, "   "])
    assert out["probabilities"].shape == (3, 2)
    assert np.allclose(out["probabilities"].sum(-1), 1.0)
    head = " ".join(long.split()[: fx.MAX_LENGTH["classifier"]])
    np.testing.assert_allclose(
        out["probabilities"][1],
        call(loaded["classifier"], "serving_default", text=[head])["probabilities"][0],
        rtol=1e-5,
    )
    only_empty = call(loaded["classifier"], "serving_default", text=[""])
    np.testing.assert_allclose(only_empty["probabilities"], out["probabilities"][:1], rtol=1e-5)


@pytest.mark.parametrize("kind", ["word_lm", "char_lm"])
def test_next_words_are_the_models_top_k(exported, loaded, kind):
    made, _ = exported[kind]
    vectorizer = made.vectorizers["text"]
    out = call(loaded[kind], "next_words", text=["the cat sat", ""], k=np.int32(3))
    assert out["tokens"].shape == (2, 3) and out["probabilities"].shape == (2, 3)
    probs = np.asarray(made.model(vectorizer(tf.constant(["the cat sat"]))))[0, -1]
    probs = np.where(allowed(vectorizer.get_vocabulary(), probs.shape[0]), probs, -1.0)
    top = np.argsort(-probs)[:3]
    assert list(out["tokens"][0]) == [vectorizer.get_vocabulary()[i] for i in top]
    np.testing.assert_allclose(out["probabilities"][0], probs[top], rtol=1e-5)
    default = call(loaded[kind], "serving_default", text=["the cat sat"])
    assert default["tokens"].shape == (1, 5)
    assert list(default["tokens"][0][:3]) == list(out["tokens"][0])


@pytest.mark.parametrize("kind", ["word_lm", "char_lm"])
def test_log_likelihood_is_the_models_own(exported, loaded, kind):
    made, _ = exported[kind]
    texts = ["the cat sat on the mat", "a dog", ""]
    out = call(loaded[kind], "log_likelihood", text=texts)
    for row, text in enumerate(texts):
        ids = np.asarray(made.vectorizers["text"](tf.constant([text])))[0]
        ids = ids[ids > 0]
        if len(ids) < 2:
            assert out["tokens"][row] == 0 and out["nats"][row] == 0
            continue
        probs = np.asarray(made.model(ids[None, :-1]))[0]
        expected = -np.log(probs[np.arange(len(ids) - 1), ids[1:]]).sum()
        assert out["tokens"][row] == len(ids) - 1
        np.testing.assert_allclose(out["nats"][row], expected, rtol=1e-4)


def test_greedy_generation_in_graph_matches_a_python_loop(exported, loaded):
    made, _ = exported["word_lm"]
    out = call(
        loaded["word_lm"],
        "generate",
        prompt=["the cat", "a dog ran"],
        max_length=np.int32(6),
        temperature=np.float32(0),
        seed=np.int64(0),
    )
    for row, prompt in enumerate(["the cat", "a dog ran"]):
        words = reference_generate(made, prompt, 6)
        assert out["continuation"][row] == " ".join(words)
        assert out["text"][row] == prompt + " " + " ".join(words)


@pytest.mark.parametrize("kind", ["word_lm", "char_lm"])
def test_sampled_generation_is_deterministic_per_seed(loaded, kind):
    def generate(seed, length=12):
        return call(
            loaded[kind],
            "generate",
            prompt=["the cat", ""],
            max_length=np.int32(length),
            temperature=np.float32(1.0),
            seed=np.int64(seed),
        )["continuation"]

    first = generate(7)
    assert list(first) == list(generate(7))
    assert list(first) != list(generate(8))
    if kind == "char_lm":  # characters join without spaces
        assert all(len(text) == 12 for text in first)
    else:
        assert all(len(text.split()) == 12 for text in first)
    empty = call(
        loaded[kind],
        "generate",
        prompt=["the cat"],
        max_length=np.int32(0),
        temperature=np.float32(1.0),
        seed=np.int64(0),
    )
    assert list(empty["text"]) == ["the cat"] and list(empty["continuation"]) == [""]


def test_generation_rejects_bad_settings_in_graph(loaded):
    generate = loaded["word_lm"].signatures["generate"]
    with pytest.raises(tf.errors.InvalidArgumentError, match="temperature"):
        generate(
            prompt=tf.constant(["a"]),
            max_length=tf.constant(3),
            temperature=tf.constant(-1.0),
            seed=tf.constant(0, tf.int64),
        )
    with pytest.raises(tf.errors.InvalidArgumentError, match="max_length"):
        generate(
            prompt=tf.constant(["a"]),
            max_length=tf.constant(10**6),
            temperature=tf.constant(1.0),
            seed=tf.constant(0, tf.int64),
        )


@pytest.mark.slow
def test_chatbot_replies_match_a_python_decoder(exported, loaded):
    made, _ = exported["chatbot"]
    texts = ["the cat sat on the mat", "what a great day"]
    greedy = call(loaded["chatbot"], "reply_beam", text=texts, beam_width=np.int32(1))["reply"]
    assert list(greedy) == [reference_reply(made, t) for t in texts]
    default = call(loaded["chatbot"], "reply", text=texts)["reply"]
    assert list(call(loaded["chatbot"], "serving_default", text=texts)["reply"]) == list(default)
    beam4 = call(loaded["chatbot"], "reply_beam", text=texts, beam_width=np.int32(4))["reply"]
    assert list(beam4) == list(default)
    cold = call(
        loaded["chatbot"], "reply_sampled", text=texts, temperature=np.float32(0), seed=np.int64(3)
    )["reply"]
    assert list(cold) == list(greedy)


def test_chatbot_beam_and_sampling(loaded):
    texts = ["the cat sat on the mat", "", "x " * 1000]
    for width in (2, 4, 16):
        replies = call(loaded["chatbot"], "reply_beam", text=texts, beam_width=np.int32(width))
        assert replies["reply"].shape == (3,)

    def sample(seed):
        return list(
            call(
                loaded["chatbot"],
                "reply_sampled",
                text=texts,
                temperature=np.float32(1.5),
                seed=np.int64(seed),
            )["reply"]
        )

    assert sample(1) == sample(1)
    for reply in sample(1) + sample(2):
        assert "[start]" not in reply and "[end]" not in reply
        assert len(reply.split()) <= fx.MAX_LENGTH["chatbot"]
    with pytest.raises(tf.errors.InvalidArgumentError, match="beam_width"):
        call(loaded["chatbot"], "reply_beam", text=["hi"], beam_width=np.int32(17))


def test_assets_travel_with_the_savedmodel(exported):
    for kind, (made, path) in exported.items():
        assets = path / "assets"
        card = json.loads((assets / "model_card.json").read_text())
        config = json.loads((assets / "config.json").read_text())
        vocabulary = json.loads((assets / "vocabulary.json").read_text())
        assert card["name"] == made.name
        assert config["settings"] == made.settings and config["recipe_config"]["note"]
        assert config["max_length"] == fx.MAX_LENGTH[kind]
        assert set(vocabulary) == set(made.vectorizers)
        assert json.loads((assets / "metrics.json").read_text()) == {"test": {"loss": 1.0}}
        assert (assets / "labels.json").exists() == (kind == "classifier")
    char_config = json.loads((exported["char_lm"][1] / "assets" / "config.json").read_text())
    assert char_config["level"] == "char"
    labels = exported["classifier"][1] / "assets" / "labels.json"
    assert json.loads(labels.read_text()) == fx.LABELS


@pytest.mark.slow
def test_loads_where_zoo_cannot_be_imported(exported, tmp_path):
    """The exports need TensorFlow only: run them in a process that cannot import zoo."""
    paths = {kind: str(path) for kind, (_, path) in exported.items()}
    script = textwrap.dedent(f"""
        import sys
        sys.modules["zoo"] = None  # any `import zoo` now fails
        try:
            import zoo
        except ImportError:
            pass
        else:
            raise SystemExit("zoo is importable")
        import json
        import tensorflow as tf
        out = {{}}
        for kind, path in {paths!r}.items():
            sigs = tf.saved_model.load(path).signatures
            if kind == "classifier":
                r = sigs["serving_default"](text=tf.constant(["the cat sat on the mat", ""]))
                out[kind] = r["probabilities"].numpy().tolist()
            elif kind == "chatbot":
                r = sigs["reply_beam"](text=tf.constant(["the cat sat on the mat"]),
                                       beam_width=tf.constant(1))
                out[kind] = [s.decode() for s in r["reply"].numpy()]
            else:
                r = sigs["next_words"](text=tf.constant(["the cat sat"]), k=tf.constant(3))
                out[kind] = r["probabilities"].numpy().tolist()
        print(json.dumps(out))
    """)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": ""}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])

    made = exported["classifier"][0]
    expected = made.model(fx.classifier_inputs(made, ["the cat sat on the mat", ""]))
    np.testing.assert_allclose(out["classifier"], np.asarray(expected), rtol=1e-5, atol=1e-6)
    assert out["chatbot"] == [reference_reply(exported["chatbot"][0], "the cat sat on the mat")]
    for kind in ("word_lm", "char_lm"):
        made = exported[kind][0]
        vectorizer = made.vectorizers["text"]
        probs = np.asarray(made.model(vectorizer(tf.constant(["the cat sat"]))))[0, -1]
        probs = np.where(allowed(vectorizer.get_vocabulary(), probs.shape[0]), probs, -1)
        np.testing.assert_allclose(out[kind][0], np.sort(probs)[::-1][:3], rtol=1e-5)


def saved_model_cli(*args):
    result = subprocess.run(
        [str(BIN / "saved_model_cli"), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.mark.slow
def test_saved_model_cli_shows_and_runs_the_signatures(exported, loaded):
    shown = saved_model_cli("show", "--dir", exported["chatbot"][1], "--all")
    for signature in EXPECTED["chatbot"]:
        assert f"signature_def['{signature}']" in shown
    assert "inputs['text'] tensor_info:\n        dtype: DT_STRING\n        shape: (-1)" in shown
    assert "inputs['beam_width'] tensor_info:\n        dtype: DT_INT32\n        shape: ()" in shown
    ran = saved_model_cli(
        "run",
        "--dir",
        exported["word_lm"][1],
        "--tag_set",
        "serve",
        "--signature_def",
        "generate",
        "--input_exprs",
        'prompt=["the cat"];max_length=4;temperature=0.0;seed=1',
    )
    expected = call(
        loaded["word_lm"],
        "generate",
        prompt=["the cat"],
        max_length=np.int32(4),
        temperature=np.float32(0),
        seed=np.int64(1),
    )["text"][0]
    assert f"[b'{expected}']" in ran


@pytest.mark.slow
def test_both_cudnn_settings_export_the_same_portable_graph(exported, tmp_path):
    made_auto, path_auto = exported["classifier"]
    made = fx.make("classifier", use_cudnn=False)
    made.model.set_weights(made_auto.model.get_weights())
    made.vectorizers = made_auto.vectorizers
    path = fx.export(made, tmp_path)
    texts = ["the cat sat on the mat", "what a great day", ""]
    outputs = [
        call(tf.saved_model.load(str(p)), "serving_default", text=texts)["probabilities"]
        for p in (path_auto, path)
    ]
    np.testing.assert_array_equal(outputs[0], outputs[1])
    for _, export_path in [*exported.values(), (None, path)]:
        assert b"Cudnn" not in (export_path / "saved_model.pb").read_bytes()


@pytest.mark.gpu
@pytest.mark.skipif(
    not tf.config.list_physical_devices("GPU"),
    reason="needs a GPU: without one no cuDNN kernel is ever chosen",
)
def test_a_model_trained_on_the_cudnn_kernel_exports_for_cpu_only_servers(tmp_path):
    """On a GPU the LSTM trains through CudnnRNN; its export must hold no such op and give,
    in a process that sees no GPU, the answers the trained model gives."""
    made = fx.make("classifier", use_cudnn=True)
    ids = made.vectorizers["text"](tf.constant(fx.SENTENCES))
    history = made.model.fit(ids, np.arange(len(fx.SENTENCES)) % 2, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    path = fx.export(made, tmp_path)
    assert b"Cudnn" not in (path / "saved_model.pb").read_bytes()
    script = textwrap.dedent(f"""
        import json, tensorflow as tf
        assert not tf.config.list_physical_devices("GPU")
        sig = tf.saved_model.load({str(path)!r}).signatures["serving_default"]
        print(json.dumps(sig(text=tf.constant({fx.SENTENCES!r}))["probabilities"].numpy().tolist()))
    """)
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    on_cpu = json.loads(result.stdout.strip().splitlines()[-1])
    np.testing.assert_allclose(on_cpu, np.asarray(made.model(ids)), rtol=1e-4, atol=1e-5)


def test_mixed_precision_models_export_a_float32_graph(exported, tmp_path):
    import keras

    made_f32, _ = exported["classifier"]
    keras.config.set_dtype_policy("mixed_float16")
    try:
        made = fx.make("classifier")
    finally:
        keras.config.set_dtype_policy("float32")
    made.model.set_weights(made_f32.model.get_weights())
    made.vectorizers = made_f32.vectorizers
    path = fx.export(made, tmp_path)
    texts = ["the cat sat on the mat", "bad acting"]
    out = call(tf.saved_model.load(str(path)), "serving_default", text=texts)["probabilities"]
    expected = made_f32.model(fx.classifier_inputs(made_f32, texts))
    np.testing.assert_allclose(out, np.asarray(expected), rtol=1e-5)
    assert b"DT_HALF" not in (path / "saved_model.pb").read_bytes()


@pytest.mark.slow
def test_versions_count_up_and_never_overwrite(exported, tmp_path):
    from zoo.layout import versions

    made, _ = exported["classifier"]
    (tmp_path / made.name / ".7.partial-leftover").mkdir(parents=True)
    assert fx.export(made, tmp_path).name == "1"
    assert fx.export(made, tmp_path, version=5).name == "5"
    assert fx.export(made, tmp_path).name == "6"
    assert versions(tmp_path / made.name) == [1, 5, 6]
    assert (tmp_path / made.name / "1").stat().st_mode & 0o777 == 0o755  # readable by servers
    with pytest.raises(ValueError, match="already exists"):
        fx.export(made, tmp_path, version=5)


def test_export_rejects_what_it_cannot_serve(exported, tmp_path):
    from zoo.export import export_model

    made, _ = exported["classifier"]
    with pytest.raises(ValueError, match="'text'"):
        export_model(
            made.model,
            name=made.name,
            settings=made.settings,
            vectorizers={"source": made.vectorizers["text"]},
            base_dir=tmp_path,
        )
    with pytest.raises(ValueError, match="labels"):
        export_model(
            made.model,
            name=made.name,
            settings=made.settings,
            vectorizers=made.vectorizers,
            labels=["a", "b", "c"],
            base_dir=tmp_path,
        )
    with pytest.raises(ValueError, match="do not rebuild"):
        export_model(
            made.model,
            name=made.name,
            settings={**made.settings, "units": 4},
            vectorizers=made.vectorizers,
            base_dir=tmp_path,
        )
    chat, _ = exported["chatbot"]
    with pytest.raises(ValueError, match=r"\[start\]"):
        export_model(
            chat.model,
            name=chat.name,
            settings=chat.settings,
            base_dir=tmp_path,
            vectorizers={"text": fx.vectorizer(fx.SENTENCES)},
        )
    assert not (tmp_path / made.name).exists() or not any((tmp_path / made.name).iterdir())


@pytest.mark.slow
def test_a_killed_export_leaves_no_partial_version(exported, tmp_path):
    """SIGKILL mid-export: the previous version still loads and no new version appears."""
    from zoo.layout import versions
    from zoo.serving import load

    made, path = exported["classifier"]
    model_dir = tmp_path / made.name
    shutil.copytree(path, model_dir / "1")
    script = textwrap.dedent(f"""
        import os, sys, time
        rename = os.rename
        def slow_rename(*args):  # holds the export between writing and renaming
            time.sleep(600)
            rename(*args)
        os.rename = slow_rename
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        import helpers as fx
        fx.export(fx.make("classifier"), {str(tmp_path)!r})
    """)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while not [p for p in model_dir.iterdir() if p.name.startswith(".")]:
            assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
            assert time.monotonic() < deadline, "the export never started writing"
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert versions(model_dir) == [1]
    assert load(model_dir).version == 1
