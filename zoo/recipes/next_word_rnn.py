"""Train the SimpleRNN next-word predictor on tiny_shakespeare (word level)."""

import dataclasses
import sys

from zoo.training import RecipeConfig
from zoo.training import main as train_main


@dataclasses.dataclass
class NextWordRNNRecipe(RecipeConfig):
    """SimpleRNN next-word predictor on tiny_shakespeare words."""

    model: str = "next_word_rnn"
    dataset: str = "tiny_shakespeare"
    level: str = "word"
    sequence_length: int = 32
    batch_size: int = 64
    epochs: int = 15
    max_minutes: float = 27.0  # training budget: with data, test and export, 30 minutes on 2 cores


def main(argv=None) -> int:
    return train_main(NextWordRNNRecipe, argv)


if __name__ == "__main__":
    sys.exit(main())
