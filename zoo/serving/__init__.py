"""Serving exports: a Python predictor (``predictor``), the model store that keeps a
directory's versions current (``store``) and TF Serving's REST API over it (``rest``).

Importing this package imports neither TensorFlow nor FastAPI.
"""

from zoo.serving.predictor import Predictor, load
from zoo.serving.rest import MAX_BODY_BYTES, format_response, make_app, parse_predict_request, serve
from zoo.serving.store import ModelStore

__all__ = [
    "MAX_BODY_BYTES",
    "ModelStore",
    "Predictor",
    "format_response",
    "load",
    "make_app",
    "parse_predict_request",
    "serve",
]
