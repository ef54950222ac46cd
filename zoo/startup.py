"""TensorFlow's import without its start-up lines, for the ``zoo`` command and the recipes.

TensorFlow's C++ side writes lines such as ``I0000 ... oneDNN custom operations are on``
and ``E0000 ... failed call to cuInit`` straight to the process's stderr while it loads
and first looks for devices, before ``TF_CPP_MIN_LOG_LEVEL`` applies to them. People read
an ``E`` line as an error, so they are held back: stderr (file descriptor 2) points at a
temporary file for the import and the device query, and is restored after. If the import
fails, what was held back is written out with the error. ``ZOO_TF_LOGS=1`` shows them.
"""

from __future__ import annotations

import os
import sys
import tempfile


def import_tensorflow():
    """Import TensorFlow (once), its start-up lines held back unless ``ZOO_TF_LOGS=1``."""
    if "tensorflow" in sys.modules or os.environ.get("ZOO_TF_LOGS") == "1":
        import tensorflow as tf

        return tf
    # Afterwards too: its C++ "E" lines (oneDNN falling back to Eigen, say) are not errors of
    # the run; failures still raise Python exceptions.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()  # the device probe logs too (cuInit)
        except BaseException:
            os.dup2(saved, 2)
            held.seek(0)
            sys.stderr.write(held.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    return tf
