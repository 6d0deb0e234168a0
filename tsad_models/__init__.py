"""tsad-bench: models, data, metrics and leaderboard for time-series anomaly detection.

Importing this package is cheap (no torch): the heavy modules load on first use.
"""

__version__ = "0.1.0"
