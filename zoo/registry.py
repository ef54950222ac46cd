"""The model registry: ``@register_model``, ``list_models``, ``build``, ``model_card``.

A builder registers under its function name minus ``build_``; its model card
(``zoo.cards.ModelCard``) travels with it, and so does a check of its settings, which
runs before every build and on its own (``check_settings``) without building anything.
The card names the model's task; ``zoo.tasks.task_of`` gives that task's unit.
Registering keeps ``import zoo`` cheap: builders import Keras only when called.
"""

from __future__ import annotations

import difflib
import fnmatch
import functools
import inspect
from collections.abc import Callable

from zoo.cards import ModelCard

_BUILDERS: dict[str, Callable] = {}
_CARDS: dict[str, ModelCard] = {}
_CHECKS: dict[str, Callable[[dict], None]] = {}


def register_model(
    card: ModelCard, check: Callable[[dict], None] | None = None
) -> Callable[[Callable], Callable]:
    """Register ``build_<name>`` under ``<name>`` with its model card.

    ``check(settings)`` receives every setting (defaults and overrides) and raises
    ``ValueError`` naming a bad one; the registered builder runs it before building.
    """

    def decorator(fn: Callable) -> Callable:
        if not fn.__name__.startswith("build_"):
            raise ValueError(f"builder {fn.__name__!r} must be named build_<name>")
        name = fn.__name__[len("build_") :]
        if name in _BUILDERS:
            raise ValueError(f"model {name!r} is already registered")
        if card.name != name:
            raise ValueError(f"card name {card.name!r} does not match builder {name!r}")

        @functools.wraps(fn)
        def builder(**settings):
            check_settings(name, **settings)
            return fn(**settings)

        _BUILDERS[name], _CARDS[name], _CHECKS[name] = builder, card, check
        return builder

    return decorator


def _lookup(name: str, table: dict) -> object:
    if name not in table:
        close = difflib.get_close_matches(name, table, n=3, cutoff=0.4)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise KeyError(f"unknown model {name!r}{hint} Known: {', '.join(sorted(table))}")
    return table[name]


def list_models(pattern: str = "*") -> list[str]:
    """Registered model names matching a shell wildcard, sorted."""
    return sorted(n for n in _BUILDERS if fnmatch.fnmatchcase(n, pattern))


def catalog(pattern: str = "*") -> str:
    """The catalog as ``zoo list`` prints it: a row per model, its card's facts and headline
    figures (the first 4 of each metric; the cards and ``docs/results.md`` have them all)."""
    from zoo import results

    rows = [("name", "task", "architecture", "dataset", "params", "measured / anchor")]
    for name in list_models(pattern):
        card = model_card(name)
        rows.append(
            (
                name,
                card.task,
                card.architecture,
                card.dataset,
                f"{card.num_params:,}",
                results.summary(name, card.headline, limit=4) or f"anchor: {card.anchor}",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths)) + "  " + row[-1] for row in rows
    )


def get_builder(name: str) -> Callable:
    return _lookup(name, _BUILDERS)


def model_card(name: str) -> ModelCard:
    """The model card of a registered model."""
    return _lookup(name, _CARDS)


def builder_settings(name: str) -> dict[str, object]:
    """The keyword settings a builder accepts, with their defaults."""
    params = inspect.signature(get_builder(name)).parameters
    return {p.name: p.default for p in params.values() if p.kind is p.KEYWORD_ONLY}


def check_settings(name: str, **overrides) -> dict:
    """A registered model's settings with ``overrides``, checked without building; returns them."""
    settings = builder_settings(name)
    unknown = sorted(set(overrides) - set(settings))
    if unknown:
        raise ValueError(
            f"unknown setting(s) {', '.join(unknown)} for {name!r}; "
            f"accepted: {', '.join(sorted(settings))}"
        )
    settings.update(overrides)
    if _CHECKS[name] is not None:
        _CHECKS[name](settings)
    return settings


def build(name: str, **overrides):
    """Build a registered model, overriding any of its default settings."""
    return get_builder(name)(**overrides)
