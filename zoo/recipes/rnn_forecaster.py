"""Train the recurrent forecaster on a CSV series (ETTh1's protocol by default)."""

import dataclasses
import sys

from zoo.training import RecipeConfig
from zoo.training import main as train_main


@dataclasses.dataclass
class RNNForecasterRecipe(RecipeConfig):
    """Segment GRU forecaster: the next --horizon steps of every column (or --target) of a
    CSV series from the --lookback steps before, split by time (12, 4 and 4 months)."""

    model: str = "rnn_forecaster"
    target: str = ""  # every numeric column
    covariates: str = ""
    split: str = "12,4,4"
    batch_size: int = 64
    epochs: int = 30
    early_stopping_patience: int = 5
    max_minutes: float | None = 14.0  # data, training, test and export in 15 minutes


def main(argv=None) -> int:
    return train_main(RNNForecasterRecipe, argv)


if __name__ == "__main__":
    sys.exit(main())
