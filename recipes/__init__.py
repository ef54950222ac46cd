"""One thin recipe per model: a dataclass naming what differs from its builder's defaults;
the run itself is ``zoo.training``'s."""

from __future__ import annotations


def run_recipe(name: str, argv: list[str] | None = None) -> int:
    """Run ``recipes.<name>`` with command-line flags, as ``zoo train <name>`` does."""
    from zoo.training import main, recipe_class

    return main(recipe_class(name), argv)
