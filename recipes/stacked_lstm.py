"""``python -m recipes.stacked_lstm``: the recipe ``zoo.recipes.stacked_lstm``, as ``zoo train stacked_lstm`` runs it."""

import sys

from zoo.recipes.stacked_lstm import main

if __name__ == "__main__":
    sys.exit(main())
