"""``python -m recipes.topic_gru``: the recipe ``zoo.recipes.topic_gru``, as ``zoo train topic_gru`` runs it."""

import sys

from zoo.recipes.topic_gru import main

if __name__ == "__main__":
    sys.exit(main())
