"""Train the stacked-LSTM character language model on tiny_shakespeare."""

import dataclasses
import sys

from zoo.training import RecipeConfig
from zoo.training import main as train_main


@dataclasses.dataclass
class StackedLSTMRecipe(RecipeConfig):
    """Stacked LSTM character language model on tiny_shakespeare."""

    model: str = "stacked_lstm"
    dataset: str = "tiny_shakespeare"
    level: str = "char"
    sequence_length: int = 200  # longer windows: less of each starts from a zero state
    batch_size: int = 32
    epochs: int = 30
    max_minutes: float = 27.0  # training budget: with data, test and export, 30 minutes on 2 cores
    lr_decay_per_epoch: float = 0.93  # gentle: the weight average does the rest of the annealing
    precision: str = "auto"  # bfloat16 math where the CPU has it: ~1.5x the tokens/s


def main(argv=None) -> int:
    return train_main(StackedLSTMRecipe, argv)


if __name__ == "__main__":
    sys.exit(main())
