"""Built-in models: one file each, imported here so that they register themselves.

This list is the table of contents.  To add a model to the package, add its file and
one line here; to add one without touching the package, use the workflow config key
``model_files`` (see README, "Adding a model").
"""

from . import random_scores  # noqa: F401  sanity row: seeded uniform noise
from . import pca            # noqa: F401  sanity row: PCA reconstruction error
from . import knn            # noqa: F401  sanity row: nearest-training-window distance
from . import iforest        # noqa: F401  sanity row: isolation forest on windows
from . import autoencoder    # noqa: F401  small deep model through the shared trainer
