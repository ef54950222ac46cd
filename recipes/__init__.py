"""One thin recipe per model: a dataclass of defaults; the logic lives in ``zoo.train``."""

from __future__ import annotations

import importlib

from zoo.registry import list_models


def run_recipe(name: str, argv: list[str] | None = None) -> int:
    """Run ``recipes.<name>`` with command-line flags, as ``zoo train <name>`` does."""
    if name not in list_models():
        from zoo.registry import model_card

        model_card(name)  # raises KeyError with close matches
    return importlib.import_module(f"recipes.{name}").main(argv)
