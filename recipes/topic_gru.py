"""Train the GRU topic classifier on ag_news_subset (title + description)."""

import dataclasses
import sys

from zoo.train import RecipeConfig, main as train_main


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
    embedding_dim: int = 128
    units: int = 128
    num_layers: int = 1
    dropout: float = 0.5
    embedding_dropout: float = 0.4
    ngram_buckets: int = 2 ** 17
    ngram_scale: float = 10.0
    ngram_l2: float = 1e-4
    cell: str = "gru"
    bidirectional: bool = False
    learning_rate: float = 1e-3
    clipnorm: float = 1.0


def main(argv=None) -> int:
    return train_main(TopicGRURecipe, argv)


if __name__ == "__main__":
    sys.exit(main())
