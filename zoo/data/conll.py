"""Tagged sentences from CoNLL-U files and CoNLL-style token/tag files.

Each reader returns ``[(tokens, tags), ...]``, one pair of equally long lists per sentence.
``read_tagged`` tells the two formats apart by the file's first line of data; ``tag_scheme``
says whether tags mark spans (BIO, BIOES) or stand alone (parts of speech).
"""

from __future__ import annotations

import re
from pathlib import Path

CONLLU_COLUMNS = ("id", "form", "lemma", "upos", "xpos", "feats", "head", "deprel", "deps", "misc")
DOCUMENT_START = "-DOCSTART-"

_WORD_ID = re.compile(r"[1-9]\d*")
_MULTIWORD_ID = re.compile(r"[1-9]\d*-[1-9]\d*")
_EMPTY_NODE_ID = re.compile(r"\d+\.[1-9]\d*")


def read_tagged(path, tag_column: str = "upos") -> list[tuple[list[str], list[str]]]:
    """Sentences of a CoNLL-U file (tags from ``tag_column``) or of a token/tag file.

    The file is CoNLL-U when its first line that is neither blank nor a ``#`` comment has
    10 tab-separated fields, the first a word ID (``1``), a range (``1-2``) or an empty
    node's ID (``1.1``); otherwise it is read as tokens and tags (``read_two_column``).
    """
    lines = _lines(path)
    first = next((line for line in lines if line.strip() and not line.startswith("#")), "")
    fields = first.split("\t")
    if len(fields) == len(CONLLU_COLUMNS) and _is_conllu_id(fields[0]):
        return _parse_conllu(lines, path, tag_column)
    return _parse_two_column(lines, path)


def read_conllu(path, tag_column: str = "upos") -> list[tuple[list[str], list[str]]]:
    """Sentences of a CoNLL-U file (https://universaldependencies.org/format.html).

    Tokens are the FORM of each syntactic word; tags are its ``tag_column`` (any column
    name, case-insensitive: ``upos``, ``xpos``, ``deprel``, ``feats``, ``lemma``...), kept
    as written, ``_`` included. Multiword-token lines (``3-4 don't``) are skipped, since
    the words that follow them (``3 do``, ``4 n't``) carry the tags, and so are empty nodes
    (``5.1``), which are not words of the sentence.
    """
    return _parse_conllu(_lines(path), path, tag_column)


def read_two_column(path) -> list[tuple[list[str], list[str]]]:
    """Sentences of a CoNLL-style file: a token per line, its first field the token and
    its last the tag (whitespace-separated; CoNLL-2003's ``token POS chunk NER`` lines give
    the NER tag); blank lines end sentences; ``-DOCSTART-`` lines are skipped."""
    return _parse_two_column(_lines(path), path)


def tag_scheme(tags) -> str:
    """``"bio"`` when every tag is ``O``, ``B-x`` or ``I-x``; ``"bioes"`` when the tags also
    use ``E-x`` or ``S-x`` (IOBES); else ``"plain"`` (tags that mark no spans, such as parts
    of speech). Tags without any ``B-``/``I-``/``E-``/``S-`` one (all ``O``) are plain."""
    prefixes = set()
    for tag in set(tags):
        if tag == "O":
            continue
        prefix, dash, kind = tag.partition("-")
        if not dash or not kind or prefix not in ("B", "I", "E", "S"):
            return "plain"
        prefixes.add(prefix)
    if not prefixes:
        return "plain"
    return "bioes" if prefixes & {"E", "S"} else "bio"


def _parse_conllu(lines, path, tag_column) -> list[tuple[list[str], list[str]]]:
    column = _column_index(tag_column)
    sentences, tokens, tags = [], [], []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            if tokens:
                sentences.append((tokens, tags))
                tokens, tags = [], []
            continue
        if line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != len(CONLLU_COLUMNS):
            raise ValueError(
                f"{path}, line {number}: {len(fields)} tab-separated fields where "
                f"CoNLL-U has {len(CONLLU_COLUMNS)}: {line[:80]!r}"
            )
        word_id = fields[0]
        if _MULTIWORD_ID.fullmatch(word_id) or _EMPTY_NODE_ID.fullmatch(word_id):
            continue
        if not _WORD_ID.fullmatch(word_id):
            raise ValueError(
                f"{path}, line {number}: the ID {word_id!r} is not a word number "
                f"(1, 2, ...), a range (1-2) or an empty node (1.1)"
            )
        tokens.append(fields[1])
        tags.append(fields[column])
    if tokens:
        sentences.append((tokens, tags))
    if not sentences:
        raise ValueError(
            f"{path} holds no sentence; expected CoNLL-U lines of "
            f"{len(CONLLU_COLUMNS)} tab-separated fields"
        )
    return sentences


def _parse_two_column(lines, path) -> list[tuple[list[str], list[str]]]:
    sentences, tokens, tags = [], [], []
    for number, line in enumerate(lines, 1):
        fields = line.split()
        if not fields or fields[0] == DOCUMENT_START:
            if tokens:
                sentences.append((tokens, tags))
                tokens, tags = [], []
            continue
        if len(fields) < 2:
            raise ValueError(
                f"{path}, line {number}: one field where a token and its tag "
                f"are expected: {line[:80]!r}"
            )
        tokens.append(fields[0])
        tags.append(fields[-1])
    if tokens:
        sentences.append((tokens, tags))
    if not sentences:
        raise ValueError(
            f"{path} holds no sentence; expected lines of a token and its tag, "
            f"a blank line after each sentence"
        )
    return sentences


def _column_index(tag_column) -> int:
    name = str(tag_column).strip().lower()
    if name not in CONLLU_COLUMNS or name == "id":
        raise ValueError(
            f"tag_column={tag_column!r} is not a CoNLL-U column; expected one of "
            f"{', '.join(CONLLU_COLUMNS[1:])}"
        )
    return CONLLU_COLUMNS.index(name)


def _is_conllu_id(field: str) -> bool:
    return any(pattern.fullmatch(field) for pattern in (_WORD_ID, _MULTIWORD_ID, _EMPTY_NODE_ID))


def _lines(path) -> list[str]:
    data = Path(path).read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ValueError(
            f"{path}, line {line}: byte {data[error.start]:#04x} is not UTF-8; "
            f"save the file as UTF-8"
        ) from None
    return [line.removesuffix("\r") for line in text.split("\n")]
