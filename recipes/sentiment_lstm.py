"""Train the Bidirectional-LSTM sentiment classifier on imdb_reviews."""

import dataclasses
import sys

from zoo.train import RecipeConfig, main as train_main


@dataclasses.dataclass
class SentimentLSTMRecipe(RecipeConfig):
    """Bidirectional LSTM sentiment classifier on IMDB reviews.

    Regularised for datasets from a few thousand sentences to 100,000 reviews with no
    flag chosen per set: word dropout on the embeddings, dropout, a vocabulary cut by
    frequency, the best epoch by validation loss, learning-rate decay on plateau; beside
    the LSTM, a linear bag of words and word pairs weighted as NBSVM's (--ngram-buckets).
    """

    model: str = "sentiment_lstm"
    dataset: str = "imdb_reviews"
    vocab_size: int = 10000
    sequence_length: int = 400
    batch_size: int = 64
    epochs: int = 10
    early_stopping_patience: int = 2
    embedding_dim: int = 128
    units: int = 64
    num_layers: int = 1
    dropout: float = 0.5
    embedding_dropout: float = 0.4
    ngram_buckets: int = 2 ** 17
    ngram_scale: float = 10.0
    ngram_l2: float = 1e-4
    cell: str = "lstm"
    bidirectional: bool = True
    learning_rate: float = 1e-3
    clipnorm: float = 1.0


def main(argv=None) -> int:
    return train_main(SentimentLSTMRecipe, argv)


if __name__ == "__main__":
    sys.exit(main())
