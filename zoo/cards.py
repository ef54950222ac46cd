"""Model cards: what each model is for and how well it does, as checked data."""

from __future__ import annotations

import dataclasses

from zoo import results

ARCHITECTURES = ("many-to-one", "many-to-many", "encoder-decoder")


@dataclasses.dataclass(frozen=True)
class ModelCard:
    """Facts about a registered model, in the spirit of torchvision's weights metadata.

    ``num_params`` is the parameter count of the model built with default settings.
    What the model measured comes from its results file (``zoo.results``), never typed
    here: ``measured`` sums up its ``headline`` metrics, ``figures`` gives them all.
    """

    name: str
    task: str
    architecture: str
    dataset: str
    metric: str
    recipe: str
    num_params: int
    anchor: str
    headline: tuple[str, ...] = ()

    def __post_init__(self):
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"architecture={self.architecture!r}; expected one of {ARCHITECTURES}")

    @property
    def measured(self) -> str:
        return results.summary(self.name, self.headline)

    @property
    def figures(self) -> list[results.Figure]:
        return results.figures(self.name)

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "measured": self.measured}
