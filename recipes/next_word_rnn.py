"""``python -m recipes.next_word_rnn``: the recipe ``zoo.recipes.next_word_rnn``, as ``zoo train next_word_rnn`` runs it."""

import sys

from zoo.recipes.next_word_rnn import main

if __name__ == "__main__":
    sys.exit(main())
