"""The metrics engine.  Start at ``panel.evaluate``; every convention is in ``docs/metrics.md``."""

from .panel import evaluate, evaluate_entities  # noqa: F401
