"""An export scored on a user's file, as its recipe scores the test split: ``zoo evaluate``.

Text classifiers read a CSV/TSV of ``text`` and ``label`` columns (accuracy, loss);
language models a plain-text file, read whole with state carried (loss in nats per
token, perplexity); chatbots ``message<TAB>reply`` lines (corpus BLEU of the export's
default reply, sacreBLEU's defaults). Everything goes through the export's own
signatures, so the figures are what a server of that export gives.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

BATCH = 256


def evaluate(export, file, batch_size: int = BATCH) -> dict:
    """The task's metrics for ``export`` (model or version directory) on ``file``."""
    from zoo.serve import load

    if not Path(file).is_file():
        raise ValueError(f"{file} is not a file; expected the data to score")
    predictor = load(export)
    scores = {"text-classification": _classification, "language-modeling": _language_model,
              "dialogue": _dialogue}[predictor.task](predictor, file, batch_size)
    return {"model": predictor.card["name"], "export": str(predictor.path), "file": str(file),
            **scores}


def _classification(predictor, file, batch_size):
    from zoo.data.files import read_labeled

    texts, labels = read_labeled(file)
    names = [str(name) for name in predictor.metadata["labels"]]
    unknown = sorted(set(labels) - set(names))
    if unknown:
        raise ValueError(f"{file}: label(s) {', '.join(map(repr, unknown[:5]))} are not among "
                         f"the export's classes {names}")
    ids = np.array([names.index(label) for label in labels])
    probs = np.concatenate([predictor.predict(texts[i:i + batch_size])["probabilities"]
                            for i in range(0, len(texts), batch_size)])
    chosen = probs[np.arange(len(ids)), ids]
    return {"examples": len(ids), "accuracy": float((probs.argmax(axis=1) == ids).mean()),
            "loss": float(-np.log(np.maximum(chosen, 1e-30)).mean())}


def _language_model(predictor, file, batch_size):
    from zoo.data.files import read_text

    if "log_likelihood" not in predictor.signatures:
        raise ValueError(f"{predictor.path} has no log_likelihood signature; export it again "
                         f"with this version of zoo")
    out = predictor.run("log_likelihood", {"text": [read_text(file)]})
    tokens = int(out["tokens"][0])
    if not tokens:
        raise ValueError(f"{file} holds fewer than two tokens; nothing to predict")
    loss = float(out["nats"][0]) / tokens
    return {"tokens": tokens, "loss": loss, "perplexity": math.exp(loss)}


def _dialogue(predictor, file, batch_size):
    import sacrebleu

    from zoo.data.files import read_pairs

    pairs = read_pairs(file)
    messages = [message for message, _ in pairs]
    replies = [reply for i in range(0, len(messages), batch_size)
               for reply in predictor.reply(messages[i:i + batch_size])]
    bleu = sacrebleu.corpus_bleu(replies, [[reply for _, reply in pairs]])
    return {"pairs": len(pairs), "bleu": float(bleu.score)}
