"""Training: a recipe's config and flags (``config``), where it computes (``runtime``, and
``multiworker`` across machines), its callbacks (``callbacks``), its reports (``reports``)
and the run itself (``run``).

Importing this package does not import TensorFlow; a run does.
"""

from zoo.training.config import RecipeConfig, parse_config
from zoo.training.run import main, run

__all__ = ["RecipeConfig", "main", "parse_config", "run"]
