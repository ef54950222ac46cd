"""Train the GRU topic classifier on ag_news_subset (title + description)."""

import dataclasses
import sys

from zoo.training import RecipeConfig
from zoo.training import main as train_main


@dataclasses.dataclass
class TopicGRURecipe(RecipeConfig):
    """GRU four-topic classifier on AG News, regularised as the sentiment_lstm recipe is."""

    model: str = "topic_gru"
    dataset: str = "ag_news_subset"
    vocab_size: int = 20000
    sequence_length: int = 100
    batch_size: int = 64
    epochs: int = 5
    early_stopping_patience: int = 2


def main(argv=None) -> int:
    return train_main(TopicGRURecipe, argv)


if __name__ == "__main__":
    sys.exit(main())
