"""`zoo serve` against TensorFlow Serving's API documents, section by section.

REST (tensorflow_serving/g3doc/api_rest.md): the error format, the model status and
metadata APIs, the classify and regress API, the predict API's row and columnar formats,
float precision and binary values, with versions and version labels in every path. gRPC
(prediction_service.proto, model_service.proto): the package's stock stubs. Then a
model config file as TF Serving reads it, server-side batching and the Prometheus
metrics. Each answer is parsed back into TF Serving's own response protos.
"""

import base64
import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import helpers as fx

tf = pytest.importorskip("tensorflow")
httpx = pytest.importorskip("httpx")
uvicorn = pytest.importorskip("uvicorn")
grpc = pytest.importorskip("grpc")
apis = pytest.importorskip("tensorflow_serving.apis")

from google.protobuf import json_format  # noqa: E402
from tensorflow_serving.apis import (  # noqa: E402
    classification_pb2,
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_management_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
    regression_pb2,
)

from zoo import serving  # noqa: E402
from zoo.serving.batching import Batcher, Overloaded  # noqa: E402
from zoo.serving.config import read_model_config  # noqa: E402
from zoo.serving.grpc_api import start_grpc_server  # noqa: E402
from zoo.serving.metrics import Metrics  # noqa: E402
from zoo.serving.service import Service  # noqa: E402

CONFIG = """
model_config_list {
  config {
    name: "sentiment_lstm"
    base_path: "%(root)s/sentiment_lstm"
    model_platform: "tensorflow"
    model_version_policy { specific { versions: 1 versions: 2 } }
    version_labels { key: "stable" value: 1 }
    version_labels { key: "canary" value: 2 }
  }
  config {
    name: "chatbot"
    base_path: "%(root)s/chatbot"
  }
}
"""
TEXTS = ["a great story", "bad acting", "the cat sat on the mat"]


@pytest.fixture(scope="module")
def server(exported, tmp_path_factory):
    """REST and gRPC on loopback over a model config file: the classifier at versions 1
    and 2 (labels stable and canary; version 3 is left out by the policy) and the chatbot.
    Yields (REST client, gRPC channel, service, config file)."""
    import shutil

    root = tmp_path_factory.mktemp("tfs")
    for version in (1, 2, 3):
        shutil.copytree(exported["classifier"][1], root / "sentiment_lstm" / str(version))
    shutil.copytree(exported["chatbot"][1], root / "chatbot" / "1")
    config = root / "models.config"
    config.write_text(CONFIG % {"root": root})
    service = Service(serving.ModelStore(config_file=config))
    grpc_server = start_grpc_server(service, port=0)
    channel = grpc.insecure_channel(f"127.0.0.1:{grpc_server.port}")
    with fx.live_client(serving.make_app(service=service, poll_seconds=0.2)) as client:
        yield client, channel, service, config
    channel.close()
    grpc_server.stop(grace=None)


def post(client, path, body):
    return client.post(path, content=body if isinstance(body, bytes) else json.dumps(body))


def probabilities(client, texts, where=""):
    answer = post(client, f"/v1/models/sentiment_lstm{where}:predict", {"instances": texts})
    assert answer.status_code == 200, answer.text
    return [p["probabilities"] for p in answer.json()["predictions"]]


# ---------------------------------------------------------------- REST: errors


def test_rest_errors_are_json_objects_with_an_error_key(server):
    client, *_ = server
    for method, path, status in [
        ("GET", "/v1/models/nope", 404),
        ("GET", "/v1/models", 400),
        ("POST", "/v1/models/sentiment_lstm:predict", 400),
        ("GET", "/v1/models/sentiment_lstm/labels/nope", 404),
        ("GET", "/v1/models/sentiment_lstm/versions/3", 404),
    ]:
        answer = client.request(method, path)
        assert answer.status_code == status, (path, answer.text)
        body = answer.json()
        assert list(body) == ["error"] and isinstance(body["error"], str) and body["error"]


# ---------------------------------------------------------------- REST: model status API


def test_rest_model_status_by_name_version_and_label(server):
    client, *_ = server
    every = client.get("/v1/models/sentiment_lstm").json()
    parsed = json_format.ParseDict(every, get_model_status_pb2.GetModelStatusResponse())
    assert [(s.version, s.state) for s in parsed.model_version_status] == [
        (2, get_model_status_pb2.ModelVersionStatus.AVAILABLE),
        (1, get_model_status_pb2.ModelVersionStatus.AVAILABLE),
    ]  # 3: not in the policy
    one = client.get("/v1/models/sentiment_lstm/versions/1").json()
    assert [s["version"] for s in one["model_version_status"]] == ["1"]
    assert client.get("/v1/models/sentiment_lstm/labels/stable").json() == one
    canary = client.get("/v1/models/sentiment_lstm/labels/canary").json()
    assert [s["version"] for s in canary["model_version_status"]] == ["2"]


# ---------------------------------------------------------------- REST: model metadata API


def test_rest_model_metadata_by_name_version_and_label(server):
    client, *_ = server
    latest = client.get("/v1/models/sentiment_lstm/metadata").json()
    parsed = json_format.ParseDict(latest, get_model_metadata_pb2.GetModelMetadataResponse())
    assert parsed.model_spec.name == "sentiment_lstm" and parsed.model_spec.version.value == 2
    definitions = get_model_metadata_pb2.SignatureDefMap()
    parsed.metadata["signature_def"].Unpack(definitions)
    classify = definitions.signature_def["classify"]
    assert classify.method_name == "tensorflow/serving/classify"
    assert set(classify.inputs) == {"inputs"} and set(classify.outputs) == {"classes", "scores"}
    assert classify.inputs["inputs"].dtype == tf.string.as_datatype_enum
    assert definitions.signature_def["serving_default"].method_name == (
        "tensorflow/serving/predict"
    )
    stable = client.get("/v1/models/sentiment_lstm/labels/stable/metadata").json()
    assert stable["model_spec"]["version"] == "1"
    assert client.get("/v1/models/sentiment_lstm/versions/1/metadata").json() == stable


# ---------------------------------------------------------------- REST: classify and regress


def test_rest_classify_answers_label_score_pairs_per_example(server):
    client, *_ = server
    body = {"signature_name": "classify", "examples": [{"text": t} for t in TEXTS]}
    answer = post(client, "/v1/models/sentiment_lstm:classify", body)
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]  # TF Serving's server writes "results"
    assert [[label for label, _ in row] for row in results] == [fx.LABELS] * len(TEXTS)
    np.testing.assert_allclose(
        [[score for _, score in row] for row in results], probabilities(client, TEXTS), rtol=1e-6
    )
    # A context's features join every example; b64 strings and labels work here too.
    with_context = post(
        client,
        "/v1/models/sentiment_lstm/labels/canary:classify",
        {
            "signature_name": "classify",
            "context": {"text": TEXTS[0]},
            "examples": [{}, {"text": {"b64": base64.b64encode(TEXTS[1].encode()).decode()}}],
        },
    )
    assert with_context.json()["results"] == results[:2]


def test_rest_classify_and_regress_refuse_what_tf_serving_refuses(server):
    client, *_ = server
    examples = {"examples": [{"text": "x"}]}
    cases = [
        (
            "sentiment_lstm:classify",
            examples,
            "Expected classification signature method_name "
            "to be tensorflow/serving/classify. Was: tensorflow/serving/predict",
        ),
        (
            "sentiment_lstm:regress",
            {"signature_name": "classify", **examples},
            "Expected regression signature method_name to be tensorflow/serving/regress. Was: "
            "tensorflow/serving/classify",
        ),
        (
            "sentiment_lstm:classify",
            {"signature_name": "nope", **examples},
            "No signature was found with the name: nope",
        ),
        (
            "sentiment_lstm:classify",
            {"signature_name": "classify"},
            "When method is classify, key 'examples' is expected and was not found",
        ),
        (
            "sentiment_lstm:classify",
            {"signature_name": "classify", "examples": []},
            "'examples' value is an empty array",
        ),
        (
            "sentiment_lstm:classify",
            {"signature_name": "classify", "examples": {"text": "x"}},
            "Expecting 'examples' value to be an list/array",
        ),
        (
            "sentiment_lstm:classify",
            {"signature_name": "classify", "examples": [{"text": None}]},
            "Feature: text has element with unexpected JSON type: Null",
        ),
        (
            "sentiment_lstm:classify",
            {"signature_name": "classify", "examples": [{"text": ["x", 1]}]},
            "Unexpected element type in feature: text expecting type: bytes",
        ),
        (
            "sentiment_lstm:classify",
            {"signature_name": "classify", "examples": ["x"]},
            "Example must be JSON object but got JSON String",
        ),
        ("chatbot:classify", examples, "Expected classification signature method_name"),
    ]
    for path, body, message in cases:
        answer = post(client, f"/v1/models/{path}", body)
        assert answer.status_code == 400, (path, body, answer.text)
        assert message in answer.json()["error"], answer.json()


# ---------------------------------------------------------------- REST: predict API


def test_rest_predict_rows_and_columns_in_the_documented_shapes(server):
    client, *_ = server
    rows = post(
        client,
        "/v1/models/sentiment_lstm/versions/2:predict",
        {"signature_name": "serving_default", "instances": [{"text": t} for t in TEXTS]},
    )
    predictions = rows.json()["predictions"]
    assert [set(p) for p in predictions] == [{"label", "class_id", "probabilities"}] * 3
    columns = post(
        client, "/v1/models/sentiment_lstm/labels/canary:predict", {"inputs": {"text": TEXTS}}
    ).json()["outputs"]
    assert columns["probabilities"] == [p["probabilities"] for p in predictions]
    assert columns["label"] == [p["label"] for p in predictions]
    # One named input: rows and columns may give its values bare; one output comes back bare.
    assert (
        post(client, "/v1/models/sentiment_lstm:predict", {"inputs": TEXTS}).json()["outputs"]
        == columns
    )
    assert (
        post(client, "/v1/models/chatbot:predict", {"instances": ["hello"]}).json()["predictions"]
        == post(client, "/v1/models/chatbot:predict", {"inputs": ["hello"]}).json()["outputs"]
    )
    # Scalars go in columns with every input named.
    beam = post(
        client,
        "/v1/models/chatbot:predict",
        {"signature_name": "reply_beam", "inputs": {"text": ["hello"], "beam_width": 2}},
    )
    assert beam.status_code == 200 and isinstance(beam.json()["outputs"][0], str)


def test_rest_predict_precision_and_binary_values(server):
    client, *_ = server
    text = TEXTS[0]
    b64 = {"b64": base64.b64encode(text.encode()).decode()}
    plain = post(client, "/v1/models/sentiment_lstm:predict", {"instances": [text]}).json()
    assert (
        post(client, "/v1/models/sentiment_lstm:predict", {"instances": [{"text": b64}]}).json()
        == plain
    )
    for p in plain["predictions"][0]["probabilities"]:
        assert repr(p) == str(np.float32(p))  # float32 printed as float32


# ---------------------------------------------------------------- gRPC


def test_grpc_predict_classify_metadata_and_status_with_the_stock_stubs(server):
    client, channel, *_ = server
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "sentiment_lstm"
    request.model_spec.version_label = "stable"
    request.inputs["text"].CopyFrom(tf.make_tensor_proto(TEXTS))
    response = stub.Predict(request, timeout=60)
    assert response.model_spec.version.value == 1
    assert response.model_spec.signature_name == "serving_default"
    np.testing.assert_allclose(
        tf.make_ndarray(response.outputs["probabilities"]),
        probabilities(client, TEXTS, "/versions/1"),
        rtol=1e-6,
    )
    assert [b.decode() for b in tf.make_ndarray(response.outputs["label"])] == post(
        client, "/v1/models/sentiment_lstm:predict", {"inputs": TEXTS}
    ).json()["outputs"]["label"]
    request.output_filter.append("class_id")
    assert set(stub.Predict(request, timeout=60).outputs) == {"class_id"}

    classify = classification_pb2.ClassificationRequest()
    classify.model_spec.name = "sentiment_lstm"
    classify.model_spec.signature_name = "classify"
    for text in TEXTS:
        example = classify.input.example_list.examples.add()
        example.features.feature["text"].bytes_list.value.append(text.encode())
    result = stub.Classify(classify, timeout=60).result
    np.testing.assert_allclose(
        [[c.score for c in row.classes] for row in result.classifications],
        probabilities(client, TEXTS),
        rtol=1e-6,
    )
    assert [c.label for c in result.classifications[0].classes] == fx.LABELS

    metadata = get_model_metadata_pb2.GetModelMetadataRequest()
    metadata.model_spec.name = "chatbot"
    metadata.metadata_field.append("signature_def")
    answer = stub.GetModelMetadata(metadata, timeout=60)
    definitions = get_model_metadata_pb2.SignatureDefMap()
    answer.metadata["signature_def"].Unpack(definitions)
    assert {"serving_default", "reply_beam"} <= set(definitions.signature_def)

    status = get_model_status_pb2.GetModelStatusRequest()
    status.model_spec.name = "sentiment_lstm"
    versions = model_service_pb2_grpc.ModelServiceStub(channel).GetModelStatus(status, timeout=60)
    assert [(v.version, v.state) for v in versions.model_version_status] == [
        (2, get_model_status_pb2.ModelVersionStatus.AVAILABLE),
        (1, get_model_status_pb2.ModelVersionStatus.AVAILABLE),
    ]


def test_answers_name_the_version_that_ran_when_a_newer_one_lands_meanwhile(server, monkeypatch):
    """The first lookup finds version 1; every later one finds version 2 (just landed)."""
    _, channel, service, _ = server
    found = service.store.get
    lookups = []

    def newer_after_the_first(name, version=None, label=None):
        lookups.append(name)
        return found(name, version=1 if len(lookups) == 1 else 2)

    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    predict = predict_pb2.PredictRequest()
    predict.model_spec.name = "sentiment_lstm"
    predict.inputs["text"].CopyFrom(tf.make_tensor_proto(TEXTS))
    classify = classification_pb2.ClassificationRequest()
    classify.model_spec.name = "sentiment_lstm"
    classify.model_spec.signature_name = "classify"
    classify.input.example_list.examples.add().features.feature["text"].bytes_list.value.append(
        b"a great story"
    )
    for call, request in ((stub.Predict, predict), (stub.Classify, classify)):
        lookups.clear()
        monkeypatch.setattr(service.store, "get", newer_after_the_first)
        assert call(request, timeout=60).model_spec.version.value == 1
        monkeypatch.undo()


def test_grpc_errors_carry_tf_serving_status_codes(server):
    _, channel, *_ = server
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)

    def predict(name="sentiment_lstm", signature="", **inputs):
        request = predict_pb2.PredictRequest()
        request.model_spec.name = name
        request.model_spec.signature_name = signature
        for key, value in inputs.items():
            request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
        with pytest.raises(grpc.RpcError) as caught:
            stub.Predict(request, timeout=60)
        return caught.value.code(), caught.value.details()

    assert predict("nope", text=["x"])[0] == grpc.StatusCode.NOT_FOUND
    code, details = predict("chatbot", "reply_beam", text=["x"])
    assert (
        code == grpc.StatusCode.INVALID_ARGUMENT and "Missing but required: {beam_width}" in details
    )
    code, details = predict(text=[1, 2])
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "must be a string" in details
    regress = regression_pb2.RegressionRequest()
    regress.model_spec.name = "sentiment_lstm"
    regress.input.example_list.examples.add()
    with pytest.raises(grpc.RpcError) as caught:
        stub.Regress(regress, timeout=60)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "Expected regression signature method_name" in caught.value.details()


# ---------------------------------------------------------------- model config file


def test_model_config_file_errors_name_the_file_and_the_problem(tmp_path):
    bad = tmp_path / "bad.config"
    for text, message in [
        ("model_config_list { config { name: 'a' }", "not a ModelServerConfig"),
        ("model_config_list { config { name: 'a' } }", "needs both a name and a base_path"),
        (
            "model_config_list { config { name: 'a' base_path: '/x' model_platform: 'pytorch' }}",
            "only 'tensorflow'",
        ),
        (
            "model_config_list { config { name: 'a' base_path: '/x' "
            "model_version_policy { specific { versions: 1 } } "
            "version_labels { key: 'b' value: 2 } } }",
            "version(s) [2]",
        ),
        (
            "model_config_list { config { name: 'a' base_path: '/x' } "
            "config { name: 'a' base_path: '/y' } }",
            "more than once",
        ),
    ]:
        bad.write_text(text)
        with pytest.raises(ValueError, match=re.escape(message)) as caught:
            read_model_config(bad)
        assert str(bad) in str(caught.value)
    good = tmp_path / "good.config"
    good.write_text(
        "model_config_list { config { name: 'a' base_path: '/x' "
        "model_version_policy { latest { num_versions: 2 } } } "
        "config { name: 'b' base_path: '/y' model_version_policy { all {} } } }"
    )
    a, b = read_model_config(good)
    assert (a.policy, a.num_versions, b.policy) == ("latest", 2, "all")


# ---------------------------------------------------------------- batching


@pytest.mark.slow
def test_batching_merges_concurrent_requests_and_answers_each_its_own_rows(exported):
    predictor = serving.load(exported["classifier"][1])
    sizes = []
    batcher = Batcher(max_batch_size=8, timeout_seconds=0.2, on_batch=sizes.append)
    texts = [f"text number {i} a great story" if i % 2 else f"bad {i}" for i in range(16)]
    alone = [predictor.run("serving_default", {"text": [t]})["probabilities"][0] for t in texts]

    def one(text):
        tensors = predictor.tensors("serving_default", {"text": [text]})
        return batcher.call(predictor, "serving_default", tensors)["probabilities"][0]

    with ThreadPoolExecutor(16) as pool:
        batched = list(pool.map(one, texts))
    np.testing.assert_allclose(batched, alone, rtol=1e-5, atol=1e-6)
    assert sum(sizes) == 16 and max(sizes) > 1 and max(sizes) <= 8

    # Requests that differ in a scalar never share a run; a full queue refuses.
    chat = serving.load(exported["chatbot"][1])
    full = Batcher(max_batch_size=4, timeout_seconds=0.5, max_enqueued_batches=1)
    widths = [1, 2]
    with ThreadPoolExecutor(2) as pool:
        replies = list(
            pool.map(
                lambda w: full.call(
                    chat,
                    "reply_beam",
                    chat.tensors("reply_beam", {"text": ["hello there"], "beam_width": w}),
                )["reply"][0],
                widths,
            )
        )
    assert replies == [chat.reply("hello there", beam_width=w) for w in widths]
    started = threading.Event()

    def slow_leader():
        started.set()
        return full.call(chat, "reply", chat.tensors("reply", {"text": ["a"]}))

    with ThreadPoolExecutor(1) as pool:
        leader = pool.submit(slow_leader)
        started.wait()
        time.sleep(0.05)
        with pytest.raises(Overloaded, match="full"):
            full.call(chat, "reply", chat.tensors("reply", {"text": ["b", "c", "d", "e"]}))
        leader.result()


# ---------------------------------------------------------------- metrics


def test_prometheus_metrics_count_requests_errors_and_latency(server):
    client, channel, *_ = server
    probabilities(client, TEXTS)
    post(client, "/v1/models/sentiment_lstm:predict", {"inputs": {"txt": ["x"]}})
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "chatbot"
    request.inputs["text"].CopyFrom(tf.make_tensor_proto(["hi"]))
    stub.Predict(request, timeout=60)
    answer = client.get("/monitoring/prometheus/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    text = answer.text
    for line in [
        ':tensorflow:serving:request_count_total{model_name="sentiment_lstm",'
        'signature="serving_default",status="OK"}',
        ':tensorflow:serving:request_count_total{model_name="sentiment_lstm",'
        'signature="serving_default",status="INVALID_ARGUMENT"}',
        ':tensorflow:serving:request_latency_count{API="predict",entrypoint="GRPC",'
        'model_name="chatbot",signature="serving_default"}',
        ':tensorflow:serving:request_latency_bucket{API="predict",entrypoint="REST",le="+Inf",'
        'model_name="sentiment_lstm",signature="serving_default"}',
    ]:
        assert line in text, line
    assert Metrics().exposition()[1].startswith("text/plain")


# ---------------------------------------------------------------- reloading the config (last)


def test_the_model_config_reloads_over_grpc_and_when_its_file_changes(server):
    client, channel, _, config = server

    def versions(name):
        answer = client.get(f"/v1/models/{name}")
        return (
            answer.status_code,
            [s["version"] for s in answer.json().get("model_version_status", [])],
        )

    reload = model_management_pb2.ReloadConfigRequest()
    entry = reload.config.model_config_list.config.add()
    entry.name, entry.base_path = "chatbot", str(config.parent / "chatbot")
    stub = model_service_pb2_grpc.ModelServiceStub(channel)
    assert stub.HandleReloadConfigRequest(reload, timeout=60).status.error_code == 0
    assert versions("sentiment_lstm")[0] == 404 and versions("chatbot") == (200, ["1"])
    bad = model_management_pb2.ReloadConfigRequest()
    bad.config.model_config_list.config.add().name = "x"
    with pytest.raises(grpc.RpcError) as caught:
        stub.HandleReloadConfigRequest(bad, timeout=60)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "needs both a name and a base_path" in caught.value.details()

    # The file changed: its models are served (latest policy: version 3 alone) ...
    config.write_text(
        f'model_config_list {{ config {{ name: "sentiment_lstm" '
        f'base_path: "{config.parent / "sentiment_lstm"}" }} }}'
    )
    deadline = time.monotonic() + 60
    while versions("sentiment_lstm") != (200, ["3"]):
        assert time.monotonic() < deadline, versions("sentiment_lstm")
        time.sleep(0.1)
    assert versions("chatbot")[0] == 404
    # ... and a broken edit keeps them.
    config.write_text("model_config_list { config {")
    time.sleep(1)
    assert versions("sentiment_lstm") == (200, ["3"])
