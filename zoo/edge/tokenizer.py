"""The exports' text preprocessing in plain Python, for the LiteRT and ONNX files.

Those files take ids (they have no string ops); ``Tokenizer`` turns text into the ids the
SavedModel's own vectorizers make, exactly: the same standardization rules
(``zoo.textrules``, run with the ``regex`` package in RE2's sense: ``\\s`` is ASCII
whitespace, ``$`` the end of the text), TensorFlow's splitting on ASCII whitespace and its
UTF-8 lowercasing (Unicode 13's mappings), the vocabularies of ``vocabulary.json``, and
for the classifiers' linear part the same FarmHash fingerprints. Needs neither TensorFlow
nor the rest of the zoo: ``regex``, ``pyfarmhash`` and numpy.

    >>> tokenizer = Tokenizer.from_folder("saved_models/sentiment_lstm/1/litert")
    >>> tokenizer.inputs(["a fine film"])   # {"tokens": [[...]], "ngrams": [[...]]}
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np

from zoo import textrules

UNKNOWN = textrules.UNKNOWN_ID  # of a token no vocabulary holds (0 pads)
_ASCII_SPACE = "\t\n\v\f\r "
# Capitals that Python's Unicode (14) lowercases and TensorFlow's ICU (Unicode 13) keeps.
_KEPT_CAPITALS = frozenset(
    [0x2C2F, 0xA7C0, 0xA7D0, 0xA7D6, 0xA7D8]
    + [c for c in range(0x10570, 0x10596) if c not in (0x1057B, 0x1058B, 0x10593)]
)


_WORD = "0-9A-Za-z_"
# RE2's ASCII-only classes, written out for the Unicode-aware ``regex`` package.
_ASCII_CLASSES = {
    "\\s": ("\\t\\n\\f\\r ", "[\\t\\n\\f\\r ]"),
    "\\w": (_WORD, f"[{_WORD}]"),
    "\\b": (None, f"(?:(?<=[{_WORD}])(?![{_WORD}])|(?<![{_WORD}])(?=[{_WORD}]))"),
}


@functools.cache
def plain_pattern(re2: str) -> str:
    """An RE2 pattern as the ``regex`` package reads it with the same meaning: ``\\s``,
    ``\\w`` and ``\\b`` ASCII-only, ``$`` the end of the text; ``\\pL`` and the rest as written."""
    out, in_class, i = [], False, 0
    while i < len(re2):
        c = re2[i]
        if c == "\\" and i + 1 < len(re2):
            pair = re2[i : i + 2]
            inside, outside = _ASCII_CLASSES.get(pair, (pair, pair))
            out.append(inside if in_class else outside)
            i += 2
            continue
        if c == "[" and not in_class:
            in_class = True
        elif c == "]" and in_class and out[-1] != "[":
            in_class = False
        out.append("\\Z" if c == "$" and not in_class else c)
        i += 1
    return "".join(out)


def apply_rules(text: str, rules) -> str:
    """``zoo.textrules`` rules applied to one string, as ``tf.strings.regex_replace`` does."""
    import regex

    for pattern, replacement in rules:
        text = regex.sub(plain_pattern(pattern), replacement, text)
    return text


def lower_utf8(text: str) -> str:
    """``tf.strings.lower(text, encoding="utf-8")``: each code point's lowercase."""
    return "".join(c if ord(c) in _KEPT_CAPITALS else c.lower() for c in text)


def lower_ascii(text: str) -> str:
    """``tf.strings.lower(text)``: A-Z only."""
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)


def split_whitespace(text: str) -> list[str]:
    """``tf.strings.split(text)``: on runs of ASCII whitespace."""
    import regex

    return [t for t in regex.split(f"[{_ASCII_SPACE}]+", text) if t]


STANDARDIZATIONS = {
    None: lambda text: text,
    "lower": lower_ascii,
    "lower_and_strip_punctuation": lambda t: apply_rules(
        lower_ascii(t), textrules.KERAS_STRIP_PUNCTUATION
    ),
    "lower_and_split_punctuation": lambda t: apply_rules(
        lower_utf8(t), textrules.LOWER_AND_SPLIT_PUNCTUATION
    ),
    "split_edge_punctuation": lambda t: apply_rules(t, textrules.SPLIT_EDGE_PUNCTUATION),
}


def fingerprint_bucket(strings, buckets: int) -> list[int]:
    """``tf.strings.to_hash_bucket_fast``: FarmHash's Fingerprint64 modulo ``buckets``."""
    from zoo.edge.convert import need

    farmhash = need("farmhash")
    return [farmhash.fingerprint64(s) % buckets for s in strings]


def ngrams(items, widths, separator: str) -> list[str]:
    """``tf.strings.ngrams``: every width in turn, no padding."""
    return [separator.join(items[i : i + n]) for n in widths for i in range(len(items) - n + 1)]


def padded(rows, min_width: int = 1) -> np.ndarray:
    """Rows of ids as an int64 matrix, 0-padded to the longest (``min_width`` at least)."""
    width = max([min_width, *map(len, rows)])
    out = np.zeros([len(rows), width], np.int64)
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return out


class Tokenizer:
    """Text -> the inputs of an export's id signatures (``edge`` in its ``config.json``)."""

    def __init__(self, config: dict, vocabularies: dict):
        self.config = config
        self.edge = config["edge"]
        self.kind = self.edge["text"]
        self.max_length = config.get("max_length")
        self.vocabularies = vocabularies
        self._ids = {key: {t: i for i, t in enumerate(v)} for key, v in vocabularies.items()}

    @classmethod
    def from_folder(cls, path) -> Tokenizer:
        """From a converted folder (``config.json``, ``vocabulary.json``) or an export's
        version directory (the same under ``assets/``)."""
        path = Path(path)
        if (path / "assets" / "config.json").exists():
            path = path / "assets"
        vocabulary = path / "vocabulary.json"
        return cls(
            json.loads((path / "config.json").read_text()),
            json.loads(vocabulary.read_text()) if vocabulary.exists() else {},
        )

    # ------------------------------------------------------------ words and their ids

    def words(self, text: str, key: str = "text") -> list[str]:
        """A text's tokens as the export's vectorizer ``key`` splits them."""
        settings = self.edge["vectorizers"][key]
        text = STANDARDIZATIONS[settings["standardize"]](text)
        return list(text) if settings["split"] == "character" else split_whitespace(text)

    def ids(self, tokens, key: str = "text") -> list[int]:
        lookup = self._ids[key]
        return [lookup.get(t, UNKNOWN) for t in tokens]

    def encode(self, text: str, key: str = "text") -> list[int]:
        """A text's ids, all of them (``inputs`` keeps what a signature reads)."""
        return self.ids(self.words(text, key), key)

    # ------------------------------------------------------------ each kind's inputs

    def inputs(self, texts) -> dict:
        """The id inputs of the export's signature for a batch of texts: a classifier's
        ``tokens`` and ``ngrams``, a language model's ``ids`` (for ``step``, with a state),
        a chatbot's ``source`` (for ``encode``), a tagger's ``words``, ``chars`` and
        ``lengths`` of raw sentences split as its ``serving_default`` splits them."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        if self.kind == "classifier":
            return {
                "tokens": padded([self.encode(t)[: self.max_length] for t in texts]),
                "ngrams": self.linear_features(texts),
            }
        if self.kind == "tagger":
            return self.tagger_inputs(
                [split_whitespace(apply_rules(t, textrules.TAGGER_SPLITS)) for t in texts]
            )
        if self.kind == "language_model":  # every token: a stream reads them all
            return {"ids": padded([self.encode(t) for t in texts])}
        if self.kind == "chatbot":
            return {"source": padded([self.encode(t)[: self.max_length] for t in texts])}
        raise ValueError(f"a {self.config.get('task')} export takes no text")

    def linear_features(self, texts) -> np.ndarray:
        """``zoo.tasks.text_classification.data.linear_features``, row for row."""
        space, heads = self.edge["feature_space"], self.edge["piece_chars"]
        rows = []
        for text in texts:
            words = split_whitespace(apply_rules(lower_utf8(text), textrules.LINEAR_FEATURE_WORDS))
            words = words[: self.max_length]
            ids = [i + 1 for i in fingerprint_bucket(ngrams(words, (1, 2), " "), space)]
            for word in words:
                pieces = ngrams(list(f" {word[:heads]} "), (2, 3, 4, 5), "")
                ids += [i + space + 1 for i in fingerprint_bucket(pieces, space)]
            rows.append(ids)
        width = max([1, *map(len, rows)])
        out = np.zeros([len(rows), width], np.int64)
        for i, ids in enumerate(rows):  # padding first (sorted), then each id once
            row = sorted(ids + [0] * (width - len(ids)))
            out[i] = [v if j == 0 or v != row[j - 1] else 0 for j, v in enumerate(row)]
        return out

    def tagger_inputs(self, sentences) -> dict:
        """Tokenized sentences -> ``words``, ``chars`` and ``lengths`` of ``tag_ids``."""
        sentences = [list(s)[: self.max_length] for s in sentences]
        chars = self.edge["max_word_chars"]
        spelled = [[self.ids(list(t[:chars]), "chars") for t in s] for s in sentences]
        width = max([1, *(len(w) for s in spelled for w in s)])
        steps = max([1, *map(len, sentences)])
        char_ids = np.zeros([len(sentences), steps, width], np.int64)
        for i, words in enumerate(spelled):
            for j, w in enumerate(words):
                char_ids[i, j, : len(w)] = w
        return {
            "words": padded([self.ids([lower_utf8(t) for t in s], "words") for s in sentences]),
            "chars": char_ids,
            "lengths": np.array([len(s) for s in sentences], np.int64),
        }
