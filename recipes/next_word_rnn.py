"""Train the SimpleRNN next-word predictor on tiny_shakespeare (word level)."""

import dataclasses
import sys

from zoo.train import RecipeConfig, main as train_main


@dataclasses.dataclass
class NextWordRNNRecipe(RecipeConfig):
    """SimpleRNN next-word predictor on tiny_shakespeare words."""

    model: str = "next_word_rnn"
    dataset: str = "tiny_shakespeare"
    level: str = "word"
    vocab_size: int = 8000
    sequence_length: int = 32
    batch_size: int = 64
    epochs: int = 15
    max_minutes: float = 27.0  # training budget: with data, test and export, 30 minutes on 2 cores
    embedding_dim: int = 128
    units: int = 256
    num_layers: int = 1
    dropout: float = 0.3
    cell: str = "simple_rnn"
    learning_rate: float = 5e-3
    clipnorm: float = 1.0


def main(argv=None) -> int:
    return train_main(NextWordRNNRecipe, argv)


if __name__ == "__main__":
    sys.exit(main())
