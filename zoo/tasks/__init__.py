"""The kinds of model, one folder each: what is specific to a task lives in its folder.

``get_task(name)`` gives the ``Task`` (``zoo.tasks.base``) of a model card's task name:
``text-classification`` is the folder ``text_classification``, and so on; ``task_of(model)``
gives a registered model's. Importing a task's folder registers its builders.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from pathlib import Path


def task_names() -> tuple[str, ...]:
    """Every task's name, one per folder under ``zoo/tasks/``."""
    return tuple(
        sorted(
            info.name.replace("_", "-")
            for info in pkgutil.iter_modules([str(Path(__file__).parent)])
            if info.ispkg
        )
    )


@functools.cache
def get_task(name: str):
    """The ``Task`` named by a model card (``ValueError`` for a name without a folder)."""
    if name not in task_names():
        raise ValueError(f"task={name!r}; expected one of {task_names()}")
    return importlib.import_module(f"zoo.tasks.{name.replace('-', '_')}").TASK


def task_of(model: str):
    """The ``Task`` of a registered model, from its card's task name."""
    from zoo.registry import model_card

    return get_task(model_card(model).task)
