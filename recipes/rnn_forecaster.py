"""``python -m recipes.rnn_forecaster``: the recipe ``zoo.recipes.rnn_forecaster``, as ``zoo train rnn_forecaster`` runs it."""

import sys

from zoo.recipes.rnn_forecaster import main

if __name__ == "__main__":
    sys.exit(main())
