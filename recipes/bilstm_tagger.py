"""``python -m recipes.bilstm_tagger``: the recipe ``zoo.recipes.bilstm_tagger``, as ``zoo train bilstm_tagger`` runs it."""

import sys

from zoo.recipes.bilstm_tagger import main

if __name__ == "__main__":
    sys.exit(main())
