"""Users' own data: plain text, labeled CSV/TSV, and tab-separated message/reply pairs.

The ``*_splits`` functions return ``{"train", "validation", "test"}`` datasets
shaped like the tfds ones, so the same pipelines run on either. With only a train file, the
validation and test examples are carved from it; with an eval file, that file
is the test split and validation is carved from the train file.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import tensorflow as tf

HELD_OUT_FRACTION = 0.1


def check_pairing(train_file, eval_file) -> None:
    """An eval file only makes sense beside a train file."""
    if eval_file is not None and train_file is None:
        raise ValueError(
            "eval_file needs a train_file too; without train_file the tfds "
            "dataset's own splits are used"
        )


def text_splits(train_file, eval_file=None) -> dict:
    """Datasets of one text each; held-out parts are tenths cut from the end of the text."""
    text = read_text(train_file)
    parts = _split_text(text, 2 if eval_file is None else 1, train_file)
    if eval_file is not None:
        parts.append(read_text(eval_file))
    return {
        name: tf.data.Dataset.from_tensors(part)
        for name, part in zip(("train", "validation", "test"), parts)
    }


def labeled_splits(train_file, eval_file=None, *, labels=None, validation_fraction=0.1, seed=0):
    """``(text, label id)`` datasets from CSV/TSV files, and the class names in id order.

    The classes are ``labels`` when given, in that order; else exactly the labels
    found in the train file, sorted (as numbers when all are integers: ``1`` and
    ``3`` are two classes, ``"1"`` and ``"3"``). Every label of either file must be
    one of them, and the train file must hold at least two of them.
    """
    texts, raw_labels = read_labeled(train_file)
    names = check_labels(labels) if labels else class_names(raw_labels)
    found = sorted(set(raw_labels))
    if len(found) < 2:
        raise ValueError(
            f"{train_file} holds a single class, {found[0]!r}; a classifier needs "
            f"examples of at least two classes"
        )
    examples = list(zip(texts, label_ids(raw_labels, names, train_file)))
    fractions = [validation_fraction] + ([HELD_OUT_FRACTION] if eval_file is None else [])
    parts = _carve(examples, fractions, seed, train_file)
    if eval_file is not None:
        eval_texts, eval_labels = read_labeled(eval_file)
        parts.append(list(zip(eval_texts, label_ids(eval_labels, names, eval_file))))
    return {
        name: _dataset(part, (tf.string, tf.int64))
        for name, part in zip(("train", "validation", "test"), parts)
    }, names


def check_labels(labels) -> list[str]:
    """Declared class names (a list, or one comma-separated string), stripped.

    At least two, none empty, none twice.
    """
    names = [
        str(name).strip() for name in (labels.split(",") if isinstance(labels, str) else labels)
    ]
    if len(names) < 2 or not all(names) or len(set(names)) != len(names):
        raise ValueError(
            f"labels={labels!r} is not accepted; expected two or more distinct, "
            f"non-empty class names, comma-separated"
        )
    return names


def class_names(labels) -> list[str]:
    """The distinct labels, sorted as integers when all are integers, else as strings."""
    found = set(labels)
    if all(re.fullmatch(r"[+-]?\d+", label) for label in found):
        return sorted(found, key=lambda label: (int(label), label))
    return sorted(found)


def pair_splits(train_file, eval_file=None, *, seed=0) -> dict:
    """``(message, reply)`` datasets from files of ``message<TAB>reply`` lines."""
    fractions = [HELD_OUT_FRACTION] * (2 if eval_file is None else 1)
    parts = _carve(read_pairs(train_file), fractions, seed, train_file)
    if eval_file is not None:
        parts.append(read_pairs(eval_file))
    return {
        name: _dataset(part, (tf.string, tf.string))
        for name, part in zip(("train", "validation", "test"), parts)
    }


def read_text(path) -> str:
    """The whole file as text; ``ValueError`` when it is empty or not UTF-8."""
    text = _decode(path)
    if not text.strip():
        raise ValueError(f"{path} is empty; expected UTF-8 text")
    return text


def read_labeled(path) -> tuple[list[str], list[str]]:
    """Texts and labels, as written, from a CSV or TSV file with a header.

    The header names a ``text`` and a ``label`` column (other columns are ignored);
    the delimiter is a tab when the header line holds one, else a comma.
    """
    content = _decode(path)
    header_line = content.partition("\n")[0]
    rows = csv.reader(
        io.StringIO(content, newline=""), delimiter="\t" if "\t" in header_line else ","
    )
    header = next(rows, None)
    if not header or not content.strip():
        raise ValueError(f"{path} is empty; expected a header naming 'text' and 'label' columns")
    columns = [name.strip().lower() for name in header]
    for needed in ("text", "label"):
        if needed not in columns:
            raise ValueError(
                f"{path} has no {needed!r} column; its header names: {', '.join(map(repr, header))}"
            )
    text_at, label_at = columns.index("text"), columns.index("label")
    texts, labels = [], []
    for row in rows:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise ValueError(
                f"{path}, line {rows.line_num}: {len(row)} fields where the header "
                f"has {len(header)} (quote texts that hold the delimiter)"
            )
        if not row[label_at].strip():
            raise ValueError(f"{path}, line {rows.line_num}: the label is empty")
        texts.append(row[text_at])
        labels.append(row[label_at].strip())
    if not texts:
        raise ValueError(f"{path} has a header but no examples")
    return texts, labels


def read_pairs(path) -> list[tuple[str, str]]:
    """``(message, reply)`` pairs from ``message<TAB>reply`` lines; blank lines are skipped."""
    pairs = []
    for number, line in enumerate(_decode(path).splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 2 or not all(field.strip() for field in fields):
            raise ValueError(
                f"{path}, line {number}: expected 'message<TAB>reply', got {line[:80]!r}"
            )
        pairs.append((fields[0], fields[1]))
    if not pairs:
        raise ValueError(f"{path} is empty; expected lines of 'message<TAB>reply'")
    return pairs


def _decode(path) -> str:
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ValueError(
            f"{path}, line {line}: byte {data[error.start]:#04x} is not UTF-8; "
            f"save the file as UTF-8"
        ) from None


def label_ids(labels, names, path) -> list[int]:
    """Map each label, one of the class ``names``, to its id."""
    index = {name: i for i, name in enumerate(names)}
    unknown = sorted(set(labels) - set(index))
    if unknown:
        raise ValueError(
            f"{path}: label(s) {', '.join(map(repr, unknown[:5]))} are outside the "
            f"classes {', '.join(map(repr, names))}"
        )
    return [index[label] for label in labels]


def _carve(examples, fractions, seed, path) -> list[list]:
    """Shuffle ``examples`` with ``seed``: train first, then one held-out part per fraction."""
    sizes = [max(1, round(len(examples) * fraction)) for fraction in fractions]
    train_size = len(examples) - sum(sizes)
    if train_size < 1:
        raise ValueError(
            f"{path} has {len(examples)} examples, too few to hold out validation "
            f"and test examples; pass an eval file or add examples"
        )
    order = np.random.default_rng(seed).permutation(len(examples))
    chunks = np.split(order, np.cumsum([train_size] + sizes[:-1]))
    return [[examples[i] for i in chunk] for chunk in chunks]


def _split_text(text: str, held_out_parts: int, path) -> list[str]:
    """Train text, then ``held_out_parts`` tenths of the text from its end, in order."""
    cuts = [round(len(text) * (1 - HELD_OUT_FRACTION * k)) for k in range(held_out_parts, 0, -1)]
    bounds = [0, *cuts, len(text)]
    parts = [text[start:end] for start, end in zip(bounds, bounds[1:])]
    if not all(part.strip() for part in parts):
        raise ValueError(
            f"{path} is too short to hold out validation and test text; "
            f"pass an eval file or more text"
        )
    return parts


def _dataset(examples, dtypes):
    columns = list(zip(*examples))
    return tf.data.Dataset.from_tensor_slices(
        tuple(tf.constant(list(column), dtype) for column, dtype in zip(columns, dtypes))
    )
