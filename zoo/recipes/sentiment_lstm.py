"""Train the Bidirectional-LSTM sentiment classifier on imdb_reviews."""

import dataclasses
import sys

from zoo.training import RecipeConfig
from zoo.training import main as train_main


@dataclasses.dataclass
class SentimentLSTMRecipe(RecipeConfig):
    """Bidirectional LSTM sentiment classifier on IMDB reviews.

    Regularised for datasets from a few thousand sentences to 100,000 reviews with no
    flag chosen per set: word dropout on the embeddings, dropout, a vocabulary cut by
    frequency, the best epoch by validation loss, learning-rate decay on plateau; beside
    the LSTM, NBSVM and naive Bayes over words, word pairs and pieces of words
    (--ngram-buckets).
    """

    model: str = "sentiment_lstm"
    dataset: str = "imdb_reviews"
    sequence_length: int = 400
    batch_size: int = 64
    epochs: int = 10
    early_stopping_patience: int = 2


def main(argv=None) -> int:
    return train_main(SentimentLSTMRecipe, argv)


if __name__ == "__main__":
    sys.exit(main())
