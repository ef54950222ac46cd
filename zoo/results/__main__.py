"""``python -m zoo.results``: rewrite the documentation's tables and charts from the results."""

import sys

from zoo.results.render import main

sys.exit(main())
