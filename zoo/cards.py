"""Model cards: what each model is for and how well it does, as checked data."""

from __future__ import annotations

import dataclasses

ARCHITECTURES = ("many-to-one", "many-to-many", "encoder-decoder")


@dataclasses.dataclass(frozen=True)
class ModelCard:
    """Facts about a registered model, in the spirit of torchvision's weights metadata.

    ``num_params`` is the parameter count of the model built with default settings;
    ``measured`` stays empty until a recipe run on real data produced it, and then
    names the figure, the command (``recipe``) and the hardware it ran on.
    """

    name: str
    task: str
    architecture: str
    dataset: str
    metric: str
    recipe: str
    num_params: int
    anchor: str
    measured: str = ""
    hardware: str = ""

    def __post_init__(self):
        from zoo.tasks import task_names

        if self.task not in task_names():
            raise ValueError(f"task={self.task!r}; expected one of {task_names()}")
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"architecture={self.architecture!r}; expected one of {ARCHITECTURES}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
