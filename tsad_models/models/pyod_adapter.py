"""``pyod:<Detector>``: any PyOD detector on flattened windows, by config alone.

    models:
      pyod:ECOD:   {variants: {default: {}}}
      pyod:LOF:    {params: {detector_params: {n_neighbors: 20}}, variants: {default: {}}}

The name after ``pyod:`` is a class of ``pyod.models`` (ECOD, COPOD, LOF, OCSVM, HBOS,
IForest, ...); the registry creates the model the first time the name is asked for
(``register``, through ``tsad_models.models.FAMILIES``).  Its keyword arguments go in ``detector_params``.

Only the raw scores reach a number: ``decision_function`` (higher = more anomalous in
PyOD's convention).  PyOD's ``contamination`` sets ``threshold_`` and ``labels_`` on
fit, a threshold taken from the training scores; this adapter never reads them and never
calls ``predict``: thresholds belong to the evaluation protocols (tests check that the
scores do not change with ``contamination``).

Windows: a detector sees each window of ``window`` points as one row of ``window * C``
features.  Training windows are taken every ``train_stride`` points and, beyond
``max_train_windows``, every k-th of them (evenly, no randomness), because several
detectors (LOF, OCSVM, kNN) grow quadratically with the training set.  The detector's
``random_state`` (where it has one and ``detector_params`` does not set it) is the job's
seed.
"""

from __future__ import annotations

import importlib
import inspect
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..common.errors import ConfigError
from .base import FitModeConfig, WindowDetector
from .windows import sliding_windows

PREFIX = "pyod:"


@dataclass
class PyODConfig(FitModeConfig):
    window: int = 16
    # stride of the training windows; 1 keeps them all
    train_stride: int = 1
    # at most this many training windows (evenly thinned): LOF, OCSVM and kNN are quadratic in it
    max_train_windows: int = 10_000
    # keyword arguments of the PyOD class, e.g. {n_neighbors: 20} for LOF
    detector_params: dict = field(default_factory=dict)

    def __post_init__(self):
        super().__post_init__()
        if self.train_stride < 1 or self.max_train_windows < 2:
            raise ValueError("train_stride must be >= 1 and max_train_windows >= 2")


def _module_names(class_name: str) -> list[str]:
    """``DeepSVDD`` -> ``deep_svdd``, ``AutoEncoder`` -> ``auto_encoder``, ``OCSVM`` -> ``ocsvm``."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", class_name).lower()
    return list(dict.fromkeys([snake, class_name.lower()]))


def pyod_class(class_name: str) -> type:
    """The PyOD detector class ``class_name``, or a ConfigError that says how to name one."""
    try:
        from pyod.models.base import BaseDetector
    except ImportError:
        raise ConfigError(
            f"model {PREFIX}{class_name}: PyOD is not installed; run `pip install pyod` (tools/setup_env.sh does)"
        ) from None
    for module_name in _module_names(class_name):
        try:
            module = importlib.import_module(f"pyod.models.{module_name}")
        except ImportError:
            continue
        cls = getattr(module, class_name, None)
        if inspect.isclass(cls) and issubclass(cls, BaseDetector):
            return cls
    raise ConfigError(
        f"model {PREFIX}{class_name}: no detector class {class_name!r} in pyod.models "
        f"(looked in pyod.models.{' and pyod.models.'.join(_module_names(class_name))}); "
        "use the class name as PyOD spells it, e.g. pyod:ECOD, pyod:COPOD, pyod:LOF, pyod:OCSVM"
    )


class PyODDetector(WindowDetector):
    """A PyOD detector on windows; ``detector_class`` is set per registered name."""

    detector_class: type = None

    def _training_rows(self, train: np.ndarray) -> np.ndarray:
        c = self.config
        windows = sliding_windows(train, c.window, c.train_stride)
        if len(windows) > c.max_train_windows:
            windows = windows[np.linspace(0, len(windows) - 1, c.max_train_windows).round().astype(int)]
        return windows.reshape(len(windows), -1)

    def fit(self, train, val=None):
        import pyod

        params: dict[str, Any] = dict(self.config.detector_params)
        accepted = inspect.signature(self.detector_class.__init__).parameters
        unknown = sorted(set(params) - set(accepted))
        if unknown:
            raise ConfigError(
                f"{self.name}: detector_params key {unknown[0]!r} is not an argument of "
                f"{self.detector_class.__name__}; its arguments: {', '.join(p for p in accepted if p != 'self')}"
            )
        if "random_state" in accepted:
            params.setdefault("random_state", self.seed)
        self.detector_ = self.detector_class(**params)
        rows = self._training_rows(train)
        self.detector_.fit(rows)
        self.fit_info["pyod"] = {"version": pyod.__version__, "class": self.detector_class.__name__, "params": params}
        self.fit_info["training_windows"] = len(rows)
        return self

    def window_scores(self, series):
        windows = self.windows(series)
        return np.asarray(self.detector_.decision_function(windows.reshape(len(windows), -1)), dtype=np.float64)


def register(name: str) -> None:
    """Register ``pyod:<Class>`` as a model (called by the registry on first use of the name)."""
    from .registry import register_model

    class_name = name[len(PREFIX) :]
    cls = pyod_class(class_name)
    detector = type(f"PyOD{class_name}Detector", (PyODDetector,), {"detector_class": cls, "__module__": __name__})
    register_model(name, config=PyODConfig)(detector)
