"""Tagging figures over sentences of tag names: token accuracy, per-tag token scores and the
span (chunk) precision, recall and F1 of CoNLL's ``conlleval`` script.

``gold`` and ``predicted`` are lists of tag sequences, one per sentence, each predicted
sentence as long as its gold one. Fractions are in [0, 1], not percent.
"""

from __future__ import annotations

import collections

from zoo.checks import check_choice

SCHEMES = ("bio", "bioes")


def token_accuracy(gold, predicted) -> float:
    """The share of tokens whose predicted tag is the gold one."""
    _check_aligned(gold, predicted)
    total = sum(len(tags) for tags in gold)
    if not total:
        raise ValueError("no tokens to score; gold holds only empty sentences")
    right = sum(g == p for tags, guesses in zip(gold, predicted) for g, p in zip(tags, guesses))
    return right / total


def per_tag_scores(gold, predicted) -> dict[str, dict]:
    """Token-level ``precision``, ``recall``, ``f1`` and ``support`` (gold tokens) of each tag
    found in either ``gold`` or ``predicted``, sorted by tag."""
    _check_aligned(gold, predicted)
    right, gold_count, predicted_count = (collections.Counter() for _ in range(3))
    for tags, guesses in zip(gold, predicted):
        gold_count.update(tags)
        predicted_count.update(guesses)
        right.update(g for g, p in zip(tags, guesses) if g == p)
    return {
        tag: {
            **_fractions(right[tag], predicted_count[tag], gold_count[tag]),
            "support": gold_count[tag],
        }
        for tag in sorted(gold_count.keys() | predicted_count.keys())
    }


def spans(tags, scheme: str = "bio") -> set[tuple[str, int, int]]:
    """The chunks of one sentence's tags as ``(type, start, end)``, ``end`` exclusive, found by
    ``conlleval``'s rules (``span_f1``): a chunk runs from a token where one starts to the
    first later token where it ends, or to the sentence's end."""
    _check_scheme(tags, scheme)
    found, opened = set(), None
    previous = ("O", "")
    for position, tag in enumerate([*tags, "O"]):
        current = _split(tag)
        if opened is not None and (
            _chunk_ends(previous, current) or _chunk_starts(previous, current)
        ):
            found.add((opened[0], opened[1], position))
            opened = None
        if position < len(tags) and _chunk_starts(previous, current):
            opened = (current[1], position)
        previous = current
    return found


def span_f1(gold, predicted, scheme: str = "bio") -> dict:
    """Chunk ``precision``, ``recall`` and ``f1`` with the counts they come from
    (``gold_spans``, ``predicted_spans``, ``correct_spans``), counted as ``conlleval`` counts
    them (its 2004 version, with the IOBES rules of its common extension).

    A tag ``B-PER`` is a prefix (``B``) and a type (``PER``), split at the first hyphen; a
    tag without a hyphen (``O``) is a prefix with the type ``""``. Each sentence starts after
    an ``O`` and ends before one. Between a previous tag and the current one:

    * a chunk ENDS when the previous prefix is ``B`` or ``I`` and the current is ``B``,
      ``S`` or ``O``; when the previous is ``E`` or ``S`` and the current is any of
      ``B I E S O``; or when the previous is neither ``O`` nor ``.`` and the types differ;
    * a chunk STARTS when the current prefix is ``B`` or ``S`` (after anything); when the
      current is ``I`` or ``E`` and the previous is ``O``, ``E`` or ``S`` (so an ``I-x``
      after ``O`` starts a chunk); or when the current is neither ``O`` nor ``.`` and the
      types differ (so ``I-LOC`` right after ``I-PER`` starts a new chunk).

    A chunk is found in gold or predicted where one starts; it is correct where gold and
    predicted start one of the same type at the same token and both end it at the same token.
    """
    _check_aligned(gold, predicted)
    for tags in (*gold, *predicted):
        _check_scheme(tags, scheme)
    found_gold = found_predicted = correct = 0
    in_correct = False
    last_gold = last_guess = ("O", "")
    stream = [
        pair for tags, guesses in zip(gold, predicted) for pair in [*zip(tags, guesses), ("O", "O")]
    ]
    for gold_tag, guess_tag in stream:
        gold_now, guess_now = _split(gold_tag), _split(guess_tag)
        gold_ends, guess_ends = _chunk_ends(last_gold, gold_now), _chunk_ends(last_guess, guess_now)
        if in_correct:
            if gold_ends and guess_ends and last_gold[1] == last_guess[1]:
                in_correct = False
                correct += 1
            elif gold_ends != guess_ends or gold_now[1] != guess_now[1]:
                in_correct = False
        gold_starts = _chunk_starts(last_gold, gold_now)
        guess_starts = _chunk_starts(last_guess, guess_now)
        if gold_starts and guess_starts and gold_now[1] == guess_now[1]:
            in_correct = True
        found_gold += gold_starts
        found_predicted += guess_starts
        last_gold, last_guess = gold_now, guess_now
    correct += in_correct
    return {
        **_fractions(correct, found_predicted, found_gold),
        "gold_spans": found_gold,
        "predicted_spans": found_predicted,
        "correct_spans": correct,
    }


def _split(tag: str) -> tuple[str, str]:
    prefix, dash, kind = tag.partition("-")
    return (prefix, kind) if dash else (tag, "")


def _chunk_ends(previous: tuple[str, str], current: tuple[str, str]) -> bool:
    (before, before_type), (now, now_type) = previous, current
    if before in ("B", "I") and now in ("B", "S", "O"):
        return True
    if before in ("E", "S") and now in ("B", "I", "E", "S", "O"):
        return True
    if before not in ("O", ".") and before_type != now_type:
        return True
    return before in ("[", "]")


def _chunk_starts(previous: tuple[str, str], current: tuple[str, str]) -> bool:
    (before, before_type), (now, now_type) = previous, current
    if now in ("B", "S") and before in ("B", "I", "E", "S", "O"):
        return True
    if now in ("I", "E") and before in ("O", "E", "S"):
        return True
    if now not in ("O", ".") and before_type != now_type:
        return True
    return now in ("[", "]")


def _fractions(correct: int, predicted: int, gold: int) -> dict[str, float]:
    precision = correct / predicted if predicted else 0.0
    recall = correct / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def _check_scheme(tags, scheme: str) -> None:
    check_choice("scheme", scheme, SCHEMES)
    if scheme == "bio":
        extra = sorted({tag for tag in tags if tag[:2] in ("E-", "S-")})
        if extra:
            raise ValueError(f"tags {', '.join(extra[:5])} are IOBES, not BIO; pass scheme='bioes'")


def _check_aligned(gold, predicted) -> None:
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold sentences but {len(predicted)} predicted ones")
    for i, (tags, guesses) in enumerate(zip(gold, predicted)):
        if len(tags) != len(guesses):
            raise ValueError(
                f"sentence {i}: {len(tags)} gold tags but {len(guesses)} predicted ones"
            )
