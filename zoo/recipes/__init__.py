"""One recipe per model: a config dataclass naming what differs from its builder's defaults.

``zoo/recipes/<model>.py`` holds the recipe of the registered model ``<model>``; the run
itself is ``zoo.training``'s. ``train`` and ``run_recipe`` find a model's recipe by name,
for ``zoo.train`` and ``zoo train``.
"""

from __future__ import annotations

import importlib

from zoo.registry import model_card
from zoo.training import RecipeConfig, main, run


def recipe_class(model: str) -> type[RecipeConfig]:
    """The recipe (``zoo.recipes.<model>``) of a registered model: its config dataclass."""
    model_card(model)  # a KeyError naming close matches for an unknown model
    module = importlib.import_module(f"zoo.recipes.{model}")
    found = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, RecipeConfig)
        and value is not RecipeConfig
        and value.__module__ == module.__name__
    ]
    if len(found) != 1:
        raise ValueError(
            f"zoo.recipes.{model} must define one RecipeConfig subclass; found {len(found)}"
        )
    return found[0]


def train(model: str, **settings) -> dict:
    """Run ``model``'s recipe with ``settings`` overriding its defaults, as ``zoo train`` does.

        >>> metrics = zoo.train("sentiment_lstm", train_file="reviews.csv", epochs=3)
        >>> metrics["test"]["accuracy"], metrics["export"]

    Returns the metrics written to the run directory, with ``export`` (the export's
    path) unless ``export=False``.
    """
    cls = recipe_class(model)
    unknown = sorted(set(settings) - set(cls.__dataclass_fields__) - {"model"})
    if unknown:
        raise ValueError(
            f"unknown setting(s) {', '.join(unknown)} for the {model} recipe; "
            f"accepted: {', '.join(sorted(cls.__dataclass_fields__))}"
        )
    return run(cls(**settings))


def run_recipe(model: str, argv: list[str] | None = None) -> int:
    """Run ``model``'s recipe with command-line flags, as ``zoo train <model>`` does."""
    return main(recipe_class(model), argv)
