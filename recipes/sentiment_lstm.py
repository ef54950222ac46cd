"""``python -m recipes.sentiment_lstm``: the recipe ``zoo.recipes.sentiment_lstm``, as ``zoo train sentiment_lstm`` runs it."""

import sys

from zoo.recipes.sentiment_lstm import main

if __name__ == "__main__":
    sys.exit(main())
