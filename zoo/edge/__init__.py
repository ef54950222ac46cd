"""Exports beyond SavedModel: LiteRT and ONNX files, their tokenizer, and streaming.

``convert(export_dir, "litert"|"onnx", quantize=None)`` writes the converted folder
(``zoo export`` on the command line); ``load(folder)`` runs it without TensorFlow;
``Tokenizer`` makes its ids from text; ``Stream`` keeps a language model's state between
calls and ``Replier`` answers with a chatbot, over a SavedModel (``zoo.load``) or a
converted file alike. The converters and
runtimes come with the ``edge`` extra (``pip install -e ".[edge]"``).
"""

from zoo.edge.convert import FORMATS, QUANTIZATIONS, convert, need
from zoo.edge.reply import Replier
from zoo.edge.runtime import EdgeModel, load
from zoo.edge.stream import Stream
from zoo.edge.tokenizer import Tokenizer

__all__ = [
    "FORMATS",
    "QUANTIZATIONS",
    "EdgeModel",
    "Replier",
    "Stream",
    "Tokenizer",
    "convert",
    "load",
    "need",
]
