"""``python -m recipes.chatbot``: the recipe ``zoo.recipes.chatbot``, as ``zoo train chatbot`` runs it."""

import sys

from zoo.recipes.chatbot import main

if __name__ == "__main__":
    sys.exit(main())
