"""``python -m recipes.<model>`` from a clone of the repository; the recipes themselves are
``zoo.recipes.<model>``, part of the installed package."""
