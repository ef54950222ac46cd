"""Loading exports, the zoo commands, and the TF Serving REST server on loopback."""

import io
import json
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import helpers as fx

tf = pytest.importorskip("tensorflow")
httpx = pytest.importorskip("httpx")
uvicorn = pytest.importorskip("uvicorn")

import zoo  # noqa: E402
from zoo import serving  # noqa: E402
from zoo.cli import main  # noqa: E402

MAX_BODY = 2**20


@pytest.fixture(scope="session")
def predictors(exported):
    return {kind: serving.load(path) for kind, (_, path) in exported.items()}


# ---------------------------------------------------------------- load and Predictor


def test_load_picks_the_highest_version_and_ignores_partial_ones(exported, tmp_path):
    path = exported["classifier"][1]
    for version in ("1", "3"):
        shutil.copytree(path, tmp_path / "m" / version)
    (tmp_path / "m" / ".4.partial-x").mkdir()
    predictor = zoo.load(tmp_path / "m")
    assert predictor.version == 3 and predictor.task == "text-classification"
    assert zoo.load(tmp_path / "m" / "1").version == 1
    assert predictor.card["name"] == "sentiment_lstm"
    assert predictor.metadata["labels"] == fx.LABELS
    assert predictor.metadata["config"]["max_length"] == fx.MAX_LENGTH["classifier"]


def test_load_says_what_is_wrong(exported, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        serving.load(tmp_path / "nothing")
    (tmp_path / "empty" / ".1.partial").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="no version"):
        serving.load(tmp_path / "empty")
    fx.broken_copy(exported["classifier"][1], tmp_path / "broken" / "1")
    with pytest.raises(FileNotFoundError, match="variables"):
        serving.load(tmp_path / "broken")
    foreign = fx.foreign_saved_model(tmp_path / "foreign" / "1")
    with pytest.raises(ValueError, match="not a zoo export"):
        serving.load(foreign)


def test_predictor_conveniences(predictors):
    out = predictors["classifier"].predict(["a great story", ""])
    assert set(out) == {"label", "class_id", "probabilities"}
    assert out["label"].tolist()[0] in fx.LABELS and out["probabilities"].shape == (2, 2)

    lm = predictors["word_lm"]
    words = lm.next_words("the cat", k=3)
    assert len(words) == 3 and all(isinstance(w, str) and 0 < p < 1 for w, p in words)
    text = lm.generate("the cat", max_length=4, temperature=0.8, seed=5)
    assert text.startswith("the cat ") and len(text.split()) == 6
    assert lm.generate(["the cat"], max_length=4, temperature=0.8, seed=5) == [text]
    assert len(lm.generate("the", seed=1).split()) == 1 + 100  # the export's defaults

    bot = predictors["chatbot"]
    assert bot.reply("the cat") == bot.reply("the cat", beam_width=4)  # the export's default
    assert isinstance(bot.reply("the cat", beam_width=1), str)
    assert bot.reply("hi", temperature=1.0, seed=2) == bot.reply("hi", temperature=1.0, seed=2)


def test_predictor_rejects_bad_calls(predictors):
    with pytest.raises(ValueError, match="'generate' signature; .* is a text-classification"):
        predictors["classifier"].generate("hi")
    with pytest.raises(ValueError, match="'reply' signature; .* is a language-modeling"):
        predictors["word_lm"].reply("hi")
    with pytest.raises(ValueError, match="not both"):
        predictors["chatbot"].reply("hi", temperature=1.0, beam_width=2)
    with pytest.raises(ValueError, match=r"beam_width must be an integer in \[1, 16\]"):
        predictors["chatbot"].reply("hi", beam_width=0)
    with pytest.raises(ValueError, match="must be a string"):
        predictors["classifier"].predict([1, 2])
    with pytest.raises(ValueError, match="unknown signature"):
        predictors["classifier"].run("generate", {"prompt": ["x"]})


# ---------------------------------------------------------------- the zoo commands


@pytest.mark.slow
def test_cli_predict_generate_chat(exported, monkeypatch, capsys):
    assert main(["predict", str(exported["classifier"][1]), "a great story", ""]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["text"] for r in rows] == ["a great story", ""]
    assert all(r["label"] in fx.LABELS and len(r["probabilities"]) == 2 for r in rows)

    assert (
        main(
            [
                "generate",
                str(exported["char_lm"][1]),
                "the c",
                "--max-length",
                "7",
                "--temperature",
                "0",
            ]
        )
        == 0
    )
    line = capsys.readouterr().out.rstrip("\n")
    assert line.startswith("the c") and len(line) == len("the c") + 7

    monkeypatch.setattr("sys.stdin", io.StringIO("the cat sat\n\n  \nwhat a great day\n"))
    assert main(["chat", str(exported["chatbot"][1])]) == 0
    replies = capsys.readouterr().out.splitlines()
    bot = serving.load(exported["chatbot"][1])
    assert replies == [bot.reply("the cat sat"), bot.reply("what a great day")]  # no blanks


def test_zoo_evaluate_scores_each_kind_of_export_through_its_signatures(
    predictors, exported, tmp_path, capsys
):
    import math

    import numpy as np
    import sacrebleu

    texts = ["a great story", "terrible film", "what a great day", "bad acting"]
    labels = ["positive", "negative", "positive", "negative"]
    (tmp_path / "test.csv").write_text(
        "text,label\n" + "".join(f"{t},{label}\n" for t, label in zip(texts, labels))
    )
    assert (
        main(
            [
                "evaluate",
                str(exported["classifier"][1]),
                str(tmp_path / "test.csv"),
                "--output",
                str(tmp_path / "scores.json"),
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.startswith("examples=4, accuracy=")
    scores = json.loads((tmp_path / "scores.json").read_text())
    probs = predictors["classifier"].predict(texts)["probabilities"]
    ids = np.array([fx.LABELS.index(label) for label in labels])
    assert scores["accuracy"] == pytest.approx((probs.argmax(1) == ids).mean())
    assert scores["loss"] == pytest.approx(-np.log(probs[np.arange(4), ids]).mean(), rel=1e-5)

    (tmp_path / "text.txt").write_text("the cat sat on the mat\nthe dog ran\n")
    assert (
        main(
            [
                "evaluate",
                str(exported["char_lm"][1]),
                str(tmp_path / "text.txt"),
                "--output",
                str(tmp_path / "lm.json"),
            ]
        )
        == 0
    )
    lm = json.loads((tmp_path / "lm.json").read_text())
    whole = predictors["char_lm"].run(
        "log_likelihood", {"text": [(tmp_path / "text.txt").read_text()]}
    )
    assert lm["tokens"] == int(whole["tokens"][0]) > 20
    assert lm["loss"] == pytest.approx(float(whole["nats"][0]) / lm["tokens"])
    assert lm["perplexity"] == pytest.approx(math.exp(lm["loss"]))

    pairs = [("hello there", "hi"), ("how are you", "i am well")]
    (tmp_path / "pairs.tsv").write_text("".join(f"{m}\t{r}\n" for m, r in pairs))
    assert (
        main(
            [
                "evaluate",
                str(exported["chatbot"][1]),
                str(tmp_path / "pairs.tsv"),
                "--output",
                str(tmp_path / "chat.json"),
            ]
        )
        == 0
    )
    chat = json.loads((tmp_path / "chat.json").read_text())
    replies = predictors["chatbot"].reply([m for m, _ in pairs])
    assert chat["pairs"] == 2 and chat["bleu"] == pytest.approx(
        sacrebleu.corpus_bleu(replies, [[r for _, r in pairs]]).score
    )
    capsys.readouterr()

    (tmp_path / "odd.csv").write_text("text,label\nfine,neutral\n")
    assert main(["evaluate", str(exported["classifier"][1]), str(tmp_path / "odd.csv")]) == 2
    assert "label(s) 'neutral' are outside the classes" in capsys.readouterr().err


@pytest.mark.slow
def test_zoo_chat_in_a_pipe_prints_replies_and_no_tensorflow_log_lines(exported):
    import re
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "zoo.cli", "chat", str(exported["chatbot"][1])],
        input="the cat sat\n\nwhat a great day\n",
        capture_output=True,
        text=True,
        env={
            k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "ZOO_TF_LOGS")
        },
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(result.stdout.splitlines()) == 2
    assert not re.search(r"^[EWIF]\d{4} ", result.stderr, re.MULTILINE), result.stderr[-2000:]


def test_cli_reports_errors(exported, tmp_path, capsys):
    assert main(["predict", str(tmp_path / "missing"), "hi"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["generate", str(exported["classifier"][1]), "hi"]) == 2
    assert "'generate' signature" in capsys.readouterr().err


def test_cli_serve_passes_its_settings(monkeypatch, tmp_path):
    seen = {}
    monkeypatch.setattr(serving, "serve", lambda root, **kw: seen.update(root=root, **kw))
    assert (
        main(
            [
                "serve",
                str(tmp_path),
                "--port",
                "9000",
                "--poll-seconds",
                "0.5",
                "--max-body-bytes",
                "100",
            ]
        )
        == 0
    )
    assert seen == {
        "root": str(tmp_path),
        "host": "127.0.0.1",
        "port": 9000,
        "grpc_port": 8500,
        "poll_seconds": 0.5,
        "max_body_bytes": 100,
        "version_policy": "latest",
        "model_config_file": None,
        "batching": None,
    }
    assert (
        main(
            [
                "serve",
                str(tmp_path),
                "--model-version-policy",
                "all",
                "--grpc-port",
                "0",
                "--model-config-file",
                "models.config",
                "--enable-batching",
                "--max-batch-size",
                "8",
                "--batch-timeout-micros",
                "500",
            ]
        )
        == 0
    )
    assert seen["version_policy"] == "all" and seen["grpc_port"] is None
    assert seen["model_config_file"] == "models.config"
    assert seen["batching"] == {
        "max_batch_size": 8,
        "timeout_seconds": 0.0005,
        "max_enqueued_batches": 64,
    }


def test_version_policy_serves_the_latest_version_that_loads_or_all(exported, tmp_path):
    made, good = exported["classifier"]
    for version in (1, 2):
        shutil.copytree(good, tmp_path / made.name / str(version))
    fx.broken_copy(good, tmp_path / made.name / "3")
    latest = serving.ModelStore(tmp_path)
    latest.refresh()
    assert latest.get(made.name).version == 2  # 3 does not load: the next one down serves
    with pytest.raises(
        LookupError, match="no servable version 1.*served: 2; version policy latest"
    ):
        latest.get(made.name, "1")
    states = {s["version"]: s["state"] for s in latest.status(made.name)["model_version_status"]}
    assert states == {"3": "END", "2": "AVAILABLE"}
    every = serving.ModelStore(tmp_path, version_policy="all")
    every.refresh()
    assert [every.get(made.name, v).version for v in ("1", "2")] == [1, 2]
    with pytest.raises(ValueError, match="version_policy='newest'; expected one of latest, all"):
        serving.ModelStore(tmp_path, version_policy="newest")


# ---------------------------------------------------------------- the REST server


@pytest.fixture(scope="module")
def served(exported, tmp_path_factory):
    """A live server on 127.0.0.1 over copies of three exports, every version served;
    yields (client, root)."""
    root = tmp_path_factory.mktemp("served")
    for kind in ("classifier", "word_lm", "chatbot"):
        made, path = exported[kind]
        shutil.copytree(path, root / made.name / "1")
    app = serving.make_app(root, poll_seconds=0.2, max_body_bytes=MAX_BODY, version_policy="all")
    with fx.live_client(app) as client:
        yield client, root


def predict(client, model, payload, version=None):
    path = f"/v1/models/{model}" + (f"/versions/{version}" if version else "") + ":predict"
    body = payload if isinstance(payload, bytes) else json.dumps(payload)
    return client.post(path, content=body, headers={"Content-Type": "application/json"})


def test_predict_with_instances_and_inputs(served):
    client, _ = served
    rows = predict(client, "sentiment_lstm", {"instances": ["a great story", "bad acting"]})
    assert rows.status_code == 200, rows.text
    predictions = rows.json()["predictions"]
    assert len(predictions) == 2 and predictions[0]["label"] in fx.LABELS
    assert set(predictions[0]) == {"label", "class_id", "probabilities"}
    columns = predict(
        client, "sentiment_lstm", {"inputs": {"text": ["a great story", "bad acting"]}}, version=1
    )
    assert columns.status_code == 200
    assert columns.json()["outputs"]["probabilities"] == [p["probabilities"] for p in predictions]
    objects = predict(client, "sentiment_lstm", {"instances": [{"text": "a great story"}]})
    assert objects.json()["predictions"][0] == predictions[0]

    reply = predict(client, "chatbot", {"instances": ["the cat sat"]})
    assert reply.status_code == 200 and isinstance(reply.json()["predictions"][0], str)
    beam = predict(
        client,
        "chatbot",
        {"signature_name": "reply_beam", "inputs": {"text": ["the cat sat"], "beam_width": 4}},
    )
    assert beam.json() == {"outputs": reply.json()["predictions"]}


def test_b64_inputs_bytes_outputs_and_float32_numbers_as_tf_serving_writes_them(served):
    import base64

    import numpy as np

    client, _ = served
    text = "a great story"
    encoded = {"b64": base64.b64encode(text.encode()).decode()}
    plain = predict(client, "sentiment_lstm", {"instances": [text]}).json()
    assert predict(client, "sentiment_lstm", {"instances": [encoded]}).json() == plain
    assert predict(client, "sentiment_lstm", {"instances": [{"text": encoded}]}).json() == plain
    columns = predict(client, "sentiment_lstm", {"inputs": {"text": [encoded]}}).json()
    assert columns["outputs"]["label"] == [plain["predictions"][0]["label"]]
    for bad, message in [
        ({"b64": "not base64!"}, "not valid base64"),
        ({"b64": 5}, '"b64"'),
        ({"b64": "YQ==", "x": 1}, '"b64"'),
    ]:
        answer = predict(client, "sentiment_lstm", {"inputs": {"text": [bad]}})
        assert answer.status_code == 400 and message in answer.json()["error"], answer.text
    # float32 values printed as float32, the shortest decimal that reads back the same.
    for p in plain["predictions"][0]["probabilities"]:
        assert repr(p) == str(np.float32(p))
    from zoo.serving.rest import format_response

    out = format_response(
        {
            "audio_bytes": np.array([b"\x00\xff", b"ok"], dtype=object),
            "score": np.array([0.9, 0.1], np.float32),
        },
        rows=True,
    )
    assert out == {
        "predictions": [
            {"audio_bytes": {"b64": "AP8="}, "score": 0.9},
            {"audio_bytes": {"b64": "b2s="}, "score": 0.1},
        ]
    }
    # Names come sorted whatever order the signature gives them in.
    shuffled = format_response(
        {"score": np.array([0.5], np.float32), "label": np.array([b"a"], dtype=object)}, rows=True
    )
    assert list(shuffled["predictions"][0]) == ["label", "score"]


def test_scalar_inputs_are_given_in_columns_as_tf_serving_needs(served):
    client, _ = served
    body = {
        "signature_name": "generate",
        "inputs": {"prompt": ["the cat"], "max_length": 3, "temperature": 0.5, "seed": 4},
    }
    first = predict(client, "next_word_rnn", body)
    assert first.status_code == 200, first.text
    assert first.json() == predict(client, "next_word_rnn", body).json()
    assert len(first.json()["outputs"]["continuation"][0].split()) == 3
    # TF Serving needs every input (these exports' signatures have no defaults) ...
    missing = predict(
        client, "next_word_rnn", {"signature_name": "next_words", "inputs": {"text": ["the cat"]}}
    )
    assert missing.status_code == 400
    assert missing.json()["error"] == (
        "input size does not match signature: 1!=2 len({text}) != len({k,text}). "
        "Sent extra: {}. Missing but required: {k}."
    )
    # ... and batches every input of the row format, so scalars go in columns.
    rows = predict(
        client,
        "next_word_rnn",
        {
            "signature_name": "generate",
            "instances": [{"prompt": "the cat", "max_length": 3, "temperature": 0.5, "seed": 4}],
        },
    )
    assert rows.status_code == 400 and "columnar format" in rows.json()["error"]
    # The Python predictor still fills scalars left out from the export's defaults.
    assert [
        len(t) for t in serving.load(served[1] / "next_word_rnn").next_words(["the cat", "a dog"])
    ] == [5, 5]


def test_status_and_metadata(served):
    client, _ = served
    status = client.get("/v1/models/chatbot")
    assert status.status_code == 200
    assert status.json() == {
        "model_version_status": [
            {
                "version": "1",
                "state": "AVAILABLE",
                "status": {"error_code": "OK", "error_message": ""},
            }
        ]
    }
    assert client.get("/v1/models/chatbot/versions/1").json() == status.json()
    meta = client.get("/v1/models/next_word_rnn/metadata").json()
    assert meta["model_spec"] == {"name": "next_word_rnn", "signature_name": "", "version": "1"}
    defs = meta["metadata"]["signature_def"]["signature_def"]
    assert set(defs) == {
        "serving_default",
        "next_words",
        "generate",
        "log_likelihood",
        "step",
        "__saved_model_init_op",
    }
    # The streaming signature over REST: the state goes out in the response and back in.
    size = int(defs["step"]["inputs"]["state"]["tensor_shape"]["dim"][1]["size"])
    state = [[0.0] * size]
    for ids in ([[2, 3]], [[4]]):
        answer = client.post(
            "/v1/models/next_word_rnn:predict",
            json={"signature_name": "step", "inputs": {"ids": ids, "state": state}},
        )
        assert answer.status_code == 200, answer.text
        state = answer.json()["outputs"]["next_state"]
    assert len(state[0]) == size and any(state[0])
    assert defs["generate"]["inputs"]["prompt"]["dtype"] == "DT_STRING"
    assert defs["generate"]["method_name"] == "tensorflow/serving/predict"
    # As TF Serving prints it: fields at their defaults too, and the init op's entry.
    prompt = defs["generate"]["inputs"]["prompt"]["tensor_shape"]
    assert prompt["unknown_rank"] is False and prompt["dim"] == [{"size": "-1", "name": ""}]
    assert client.get("/v1/models/chatbot/versions/1/metadata").status_code == 200


def test_bad_requests_get_4xx_and_the_server_keeps_serving(served):
    client, _ = served
    cases = [
        (b'{"instances": ["unterminated', 400, "not valid JSON"),
        ({"instance": ["x"]}, 400, "unknown field"),
        ({"instances": ["x"], "inputs": ["x"]}, 400, "exactly one"),
        (["x"], 400, "JSON object"),
        ({"instances": [1, 2]}, 400, "must be a string"),
        ({"instances": [None]}, 400, "must be a string"),
        ({"instances": []}, 400, "non-empty"),
        ({"instances": "x"}, 400, "non-empty list"),
        ({"inputs": {"txt": ["x"]}}, 400, "Sent extra: {txt}. Missing but required: {text}"),
        ({"instances": [{"text": "x", "k": 1}]}, 400, "takes ['text']"),
        ({"instances": ["\ud800"]}, 400, "Unicode"),
        (b'{"instances": ["caf\xe9"]}', 400, "UTF-8"),
        ({"signature_name": "nope", "instances": ["x"]}, 400, "unknown signature"),
        ({"signature_name": 3, "instances": ["x"]}, 400, "unknown signature"),
        (b'{"instances": ["' + b"x" * MAX_BODY + b'"]}', 413, "exceeds"),
    ]
    for payload, status, message in cases:
        response = predict(client, "sentiment_lstm", payload)
        assert response.status_code == status, (str(payload)[:200], response.text)
        assert message in response.json()["error"], response.json()

    chunked = client.post(
        "/v1/models/sentiment_lstm:predict",  # no Content-Length
        content=iter([b'{"instances": ["'] + [b"x" * 65536] * 20 + [b'"]}']),
    )
    assert chunked.status_code == 413 and "exceeds" in chunked.json()["error"]

    generate = {"signature_name": "generate", "inputs": {"prompt": ["a"], "temperature": -1}}
    response = predict(client, "next_word_rnn", generate)
    assert response.status_code == 400 and "temperature" in response.json()["error"]
    response = predict(
        client,
        "chatbot",
        {"signature_name": "reply_beam", "inputs": {"text": ["a"], "beam_width": 99}},
    )
    assert response.status_code == 400 and "beam_width" in response.json()["error"]

    assert predict(client, "nope", {"instances": ["x"]}).status_code == 404
    assert predict(client, "chatbot", {"instances": ["x"]}, version=9).status_code == 404
    assert client.get("/v1/models/nope").status_code == 404
    assert "error" in client.get("/v1/models/nope/metadata").json()
    for method, path in [
        ("GET", "/v1/models/chatbot:predict"),
        ("GET", "/v1/models"),
        ("GET", "/v1/models/chatbot/versions/x"),
        ("POST", "/v1/models/chatbot:explain"),
    ]:
        answer = client.request(method, path)
        assert answer.status_code == 400, (path, answer.text)
        assert answer.json() == {"error": f"Malformed request: {method} {path}"}
    assert client.get("/v2/anything").json() == {"error": "Not Found"}

    answered = predict(
        client, "sentiment_lstm", {"instances": ["", "x" * 100_000, "great " * 20_000]}
    )
    assert answered.status_code == 200 and len(answered.json()["predictions"]) == 3
    assert predict(client, "chatbot", {"instances": [""]}).status_code == 200
    assert client.get("/v1/models/sentiment_lstm").status_code == 200


def test_concurrent_requests(served):
    client, _ = served
    with ThreadPoolExecutor(8) as pool:
        responses = list(
            pool.map(
                lambda i: predict(
                    client,
                    "chatbot" if i % 2 else "sentiment_lstm",
                    {"instances": [f"request {i}"]},
                ),
                range(16),
            )
        )
    assert [r.status_code for r in responses] == [200] * 16


@pytest.mark.slow
def test_new_versions_are_served_and_broken_ones_skipped(served, exported, caplog):
    client, root = served
    made, path = exported["chatbot"]
    broken = root / made.name / "5"
    shutil.copytree(path, broken)
    (broken / "saved_model.pb").write_bytes(b"not a protocol buffer")
    # Version 2: the classifier with other weights, exported into the served directory.
    import dataclasses

    import keras
    import numpy as np

    made_v1 = exported["classifier"][0]
    retrained = keras.models.clone_model(made_v1.model)
    rng = np.random.default_rng(7)
    retrained.set_weights(
        [w + rng.normal(0, 0.5, w.shape).astype(w.dtype) for w in made_v1.model.get_weights()]
    )
    new = fx.export(dataclasses.replace(made_v1, model=retrained), root)
    assert new.name == "2"
    texts = ["a great story", "terrible film", "what a great day"]

    def versions(name):
        return {
            s["version"]: s["state"]
            for s in client.get(f"/v1/models/{name}").json()["model_version_status"]
        }

    deadline = time.monotonic() + 60
    while versions("sentiment_lstm") != {"1": "AVAILABLE", "2": "AVAILABLE"} or "5" not in versions(
        "chatbot"
    ):
        assert time.monotonic() < deadline, (versions("sentiment_lstm"), versions("chatbot"))
        time.sleep(0.1)
    assert versions("chatbot") == {"1": "AVAILABLE", "5": "END"}
    assert any(f"skipping {broken}" in r.getMessage() for r in caplog.records)
    failed = client.get("/v1/models/chatbot/versions/5").json()["model_version_status"][0]
    assert failed["status"]["error_code"] == "UNKNOWN" and failed["status"]["error_message"]
    answers = {
        v: np.array(
            [
                p["probabilities"]
                for p in predict(client, "sentiment_lstm", {"instances": texts}, version=v).json()[
                    "predictions"
                ]
            ]
        )
        for v in (1, 2)
    }
    assert np.abs(answers[1] - answers[2]).max() > 1e-3  # version 2 answers with its weights
    expected = serving.load(new).predict(texts)["probabilities"]
    np.testing.assert_allclose(answers[2], expected, rtol=1e-5, atol=1e-6)
    latest = predict(client, "sentiment_lstm", {"instances": texts}).json()["predictions"]
    np.testing.assert_allclose([p["probabilities"] for p in latest], answers[2], rtol=1e-6)
    assert predict(client, "chatbot", {"instances": ["x"]}).status_code == 200  # version 1
    assert predict(client, "chatbot", {"instances": ["x"]}, version=5).status_code == 404
    meta = client.get("/v1/models/sentiment_lstm/metadata").json()
    assert meta["model_spec"]["version"] == "2"

    shutil.copyfile(path / "saved_model.pb", broken / "saved_model.pb")  # repaired in place
    while versions("chatbot") != {"1": "AVAILABLE", "5": "AVAILABLE"}:
        assert time.monotonic() < deadline + 60, versions("chatbot")
        time.sleep(0.1)
    assert predict(client, "chatbot", {"instances": ["x"]}, version=5).status_code == 200

    shutil.rmtree(new)  # a removed version stops being served; the latest is 1 again
    while versions("sentiment_lstm") != {"1": "AVAILABLE"}:
        assert time.monotonic() < deadline + 120, versions("sentiment_lstm")
        time.sleep(0.1)
    assert predict(client, "sentiment_lstm", {"instances": texts}, version=2).status_code == 404
    back = predict(client, "sentiment_lstm", {"instances": texts}).json()["predictions"]
    np.testing.assert_allclose([p["probabilities"] for p in back], answers[1], rtol=1e-6)
