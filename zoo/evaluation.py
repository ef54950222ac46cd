"""An export scored on a user's file, as its recipe scores the test split: ``zoo evaluate``.

The export's task says how (``Task.evaluate_file``): text classifiers read a CSV/TSV of
``text`` and ``label`` columns (accuracy, loss); language models a plain-text file, read
whole with state carried (loss in nats per token, perplexity); chatbots
``message<TAB>reply`` lines (corpus BLEU of the export's default reply). Everything goes
through the export's own signatures, so the figures are what a server of it gives.
"""

from __future__ import annotations

from pathlib import Path

BATCH = 256


def evaluate(export, file, batch_size: int = BATCH) -> dict:
    """The task's metrics for ``export`` (model or version directory) on ``file``."""
    from zoo.serving import load
    from zoo.tasks import get_task

    if not Path(file).is_file():
        raise ValueError(f"{file} is not a file; expected the data to score")
    predictor = load(export)
    scores = get_task(predictor.task).evaluate_file(predictor, file, batch_size)
    return {
        "model": predictor.card["name"],
        "export": str(predictor.path),
        "file": str(file),
        **scores,
    }
