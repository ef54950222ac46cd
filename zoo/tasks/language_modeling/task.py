"""Language modelling as a task: windows of text, state-carried test figures, generation.

Export signatures: ``signatures.py``. Test figures: ``model.evaluate``'s over independent
windows, and the same read with the recurrent state carried from window to window
(``carried_*``), with perplexities.
"""

from __future__ import annotations

import math

from zoo.tasks.base import Task
from zoo.tasks.language_modeling.signatures import DEFAULT_TOP_K, LEVELS


class LanguageModeling(Task):
    name = "language-modeling"
    flag_help = {"level": "tokens are characters or words"}
    flag_choices = {"level": LEVELS}
    signature_defaults = {
        "next_words": {"k": DEFAULT_TOP_K},
        "generate": {"max_length": 100, "temperature": 1.0, "seed": 0},
    }

    def load_data(self, config):
        from zoo.tasks.language_modeling.data import language_model_data

        return language_model_data(
            level=config.level,
            vocab_size=config.vocab_size,
            sequence_length=config.sequence_length,
            **config.data_source_settings(),
        )

    def test_metrics(self, metrics, model, data, config, test) -> dict:
        from zoo.tasks.language_modeling.models import carried_state_metrics

        carried = carried_state_metrics(
            model, test, streams=config.batch_size, window=config.sequence_length
        )
        metrics = {**metrics, **{f"carried_{name}": value for name, value in carried.items()}}
        for prefix in ("", "carried_"):
            loss = metrics[f"{prefix}loss"]
            metrics[f"{prefix}perplexity"] = math.exp(loss) if loss < 709 else math.inf
        return metrics

    def endpoints(self, model, vectorizers, labels, max_length):
        from zoo.tasks.language_modeling.signatures import language_model_endpoints

        return language_model_endpoints(model, vectorizers, max_length)

    def evaluate_file(self, predictor, file, batch_size: int) -> dict:
        """Loss in nats per token and perplexity of a plain-text file read whole, state carried."""
        from zoo.data.files import read_text

        if "log_likelihood" not in predictor.signatures:
            raise ValueError(
                f"{predictor.path} has no log_likelihood signature; export it "
                f"again with this version of zoo"
            )
        out = predictor.run("log_likelihood", {"text": [read_text(file)]})
        tokens = int(out["tokens"][0])
        if not tokens:
            raise ValueError(f"{file} holds fewer than two tokens; nothing to predict")
        loss = float(out["nats"][0]) / tokens
        return {"tokens": tokens, "loss": loss, "perplexity": math.exp(loss)}


TASK = LanguageModeling()
