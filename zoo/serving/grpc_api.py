"""TF Serving's gRPC API over a model service: ``PredictionService`` (Predict, Classify,
Regress, GetModelMetadata) and ``ModelService`` (GetModelStatus, HandleReloadConfigRequest),
with the protos and stubs of the ``tensorflow-serving-api`` package, so its stock stubs
call ``zoo serve``.

    channel = grpc.insecure_channel("localhost:8500")
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)

Failures answer with TF Serving's status codes: INVALID_ARGUMENT for a bad request,
NOT_FOUND for a model, version or label not served, UNAVAILABLE when the batch queue
is full; MultiInference answers UNIMPLEMENTED.
"""

from __future__ import annotations

import concurrent.futures
import functools

import grpc
from google.protobuf import json_format
from tensorflow_serving.apis import (
    classification_pb2,
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_management_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
    regression_pb2,
)

from zoo.serving.config import models_of
from zoo.serving.metrics import EXPECTED_FAILURES, message, status_code
from zoo.serving.service import DEFAULT_SIGNATURE, Service, merged


def _answers(method):
    """Turn a failure into the gRPC status TF Serving answers with."""

    @functools.wraps(method)
    def wrapper(self, request, context):
        try:
            return method(self, request, context)
        except EXPECTED_FAILURES as err:
            context.abort(grpc.StatusCode[status_code(err)], message(err))

    return wrapper


def _spec(model_spec) -> dict:
    """A request's ``ModelSpec`` -> the store's ``name``, ``version``, ``label``."""
    if not model_spec.name:
        raise ValueError("Missing model name in request.")
    choice = model_spec.WhichOneof("version_choice")
    return {
        "name": model_spec.name,
        "version": model_spec.version.value if choice == "version" else None,
        "label": model_spec.version_label if choice == "version_label" else None,
    }


def _answer_spec(response_spec, name: str, predictor, signature: str = "") -> None:
    response_spec.name = name
    if predictor.version is not None:
        response_spec.version.value = predictor.version
    response_spec.signature_name = signature


def _examples(request_input) -> list[bytes]:
    """The serialized examples of a Classify or Regress request, merged with its context."""
    kind = request_input.WhichOneof("kind")
    if kind == "example_list":
        examples, context = request_input.example_list.examples, None
    elif kind == "example_list_with_context":
        examples = request_input.example_list_with_context.examples
        context = request_input.example_list_with_context.context
    else:
        raise ValueError("Input is empty")
    if not examples:
        raise ValueError("Input is empty")
    return [merged(e, context).SerializeToString() for e in examples]


class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, service: Service):
        self.service = service

    @_answers
    def Predict(self, request, context):
        import tensorflow as tf

        spec = _spec(request.model_spec)
        signature = request.model_spec.signature_name or DEFAULT_SIGNATURE
        inputs = {name: tf.make_ndarray(proto).tolist() for name, proto in request.inputs.items()}
        predictor, outputs = self.service.predict(spec, signature, inputs, "GRPC")
        wanted = set(request.output_filter)
        unknown = sorted(wanted - set(outputs))
        if unknown:
            raise ValueError(f"output tensor alias not found in signature: {unknown[0]}")
        response = predict_pb2.PredictResponse()
        _answer_spec(response.model_spec, spec["name"], predictor, signature)
        for name, value in outputs.items():
            if not wanted or name in wanted:
                response.outputs[name].CopyFrom(tf.make_tensor_proto(value))
        return response

    @_answers
    def Classify(self, request, context):
        response = classification_pb2.ClassificationResponse()
        for row in self._on_examples(request, response, self.service.classify):
            classes = response.result.classifications.add().classes
            for label, score in row:
                classes.add(label=label, score=score)
        return response

    @_answers
    def Regress(self, request, context):
        response = regression_pb2.RegressionResponse()
        for value in self._on_examples(request, response, self.service.regress):
            response.result.regressions.add(value=value)
        return response

    def _on_examples(self, request, response, method):
        """``method`` (the service's classify or regress) on the request's examples; fills
        the response's model spec."""
        spec = _spec(request.model_spec)
        signature = request.model_spec.signature_name or DEFAULT_SIGNATURE
        predictor, results = method(spec, signature, _examples(request.input), "GRPC")
        _answer_spec(response.model_spec, spec["name"], predictor, signature)
        return results

    @_answers
    def GetModelMetadata(self, request, context):
        spec = _spec(request.model_spec)
        fields = list(request.metadata_field)
        if fields != ["signature_def"]:
            raise ValueError(
                f"Metadata field signature_def is required; only it is served (asked for: {fields})"
            )
        predictor = self.service.store.get(**spec)
        response = get_model_metadata_pb2.GetModelMetadataResponse()
        _answer_spec(response.model_spec, spec["name"], predictor)
        definitions = get_model_metadata_pb2.SignatureDefMap()
        for name, definition in predictor.signature_def_protos.items():
            definitions.signature_def[name].CopyFrom(definition)
        response.metadata["signature_def"].Pack(definitions)
        return response

    def MultiInference(self, request, context):
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "MultiInference is not served")


class ModelService(model_service_pb2_grpc.ModelServiceServicer):
    def __init__(self, service: Service):
        self.service = service

    @_answers
    def GetModelStatus(self, request, context):
        status = self.service.store.status(**_spec(request.model_spec))
        return json_format.ParseDict(status, get_model_status_pb2.GetModelStatusResponse())

    @_answers
    def HandleReloadConfigRequest(self, request, context):
        """Serve the request's ``ModelServerConfig`` from now on, as TF Serving does."""
        self.service.store.configure(models_of(request.config, "the reloaded config"))
        response = model_management_pb2.ReloadConfigResponse()
        response.status.error_code = 0  # OK
        return response


def start_grpc_server(
    service: Service,
    host: str = "127.0.0.1",
    port: int = 8500,
    max_message_bytes: int = 10 * 2**20,
    workers: int = 16,
):
    """Start the gRPC API on ``host:port`` (0: any free port, then ``server.port``)."""
    options = [
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_send_message_length", max_message_bytes),
    ]
    server = grpc.server(
        concurrent.futures.ThreadPoolExecutor(max_workers=workers), options=options
    )
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
        PredictionService(service), server
    )
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(ModelService(service), server)
    server.port = server.add_insecure_port(f"{host}:{port}")
    if not server.port:
        raise OSError(f"cannot listen for gRPC on {host}:{port}")
    server.start()
    return server
