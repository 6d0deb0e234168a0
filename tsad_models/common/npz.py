"""Reading ``.npz`` files (processed entities, score files) with one clear error.

``numpy.load`` reports a truncated or foreign file as ``BadZipFile``, ``EOFError`` or a
reshape ``ValueError``, without the file's name; ``load_npz`` reads the arrays it is asked
for in full (so a damaged member fails here, not later) and names the file and the fix.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np

from .errors import DataError

# the fix for a damaged or incomplete score file (results/scores/...)
RERUN_FIT_SCORE = "delete it and rerun the workflow (the fit_score rule writes it again)"

DAMAGED = (ValueError, EOFError, OSError, zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error)


def load_npz(path: str | Path, keys: tuple[str, ...], *, fix: str, optional: tuple[str, ...] = ()) -> dict:
    """The arrays ``keys`` (all required) and those of ``optional`` that the file holds."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file is missing; {fix}")
    try:
        with np.load(path, allow_pickle=False) as data:
            absent = [k for k in keys if k not in data.files]
            if absent:
                raise DataError(f"{path}: holds no {', '.join(absent)} (it has {', '.join(data.files)}); {fix}")
            return {k: data[k] for k in (*keys, *optional) if k in data.files}
    except DAMAGED as exc:
        raise DataError(
            f"{path}: not a readable .npz file ({type(exc).__name__}: {exc}); truncated or not NumPy's format: {fix}"
        ) from None
