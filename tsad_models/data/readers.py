"""Reading raw files: each failure is one ``DataError`` that names the file and the fix.

pandas and NumPy report a bad file with their own exception and no file name
(``EmptyDataError``, ``UnicodeDecodeError``, ``BadZipFile``, a reshape ``ValueError``...).
Every source reads its raw files through these functions, which turn those into
``<file>: <what is wrong>; <fix>``.  The fix is the caller's: for a downloaded file
``refetch_fix`` (delete it and the dataset's ``verified.json``, rerun), for your own
file the config key to correct.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..common.errors import DataError
from ..common.npz import DAMAGED

VERIFIED = "verified.json"  # in resources/raw/<dataset>/: what the download rule fetched and checked


def refetch_fix(raw_dir: str | Path, dataset: str) -> str:
    """The fix for a downloaded file that cannot be read."""
    verified = Path(raw_dir) / dataset / VERIFIED
    return (
        f"delete it and {verified}, then rerun: the download rule fetches it again (a file without a "
        "sha256 pin on its card was trusted on first use, so a bad copy stays until you delete it; "
        "if the fresh copy fails the same way, the source or mirror copy is damaged)"
    )


def _missing(path: Path, fix: str) -> DataError:
    return DataError(f"{path}: file is missing; {fix}")


def read_csv(path: str | Path, *, fix: str, **kwargs) -> pd.DataFrame:
    """``pandas.read_csv`` (UTF-8) with the errors above named."""
    path = Path(path)
    if not path.is_file():
        raise _missing(path, fix)
    try:
        return pd.read_csv(path, **kwargs)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty (no header, no rows); {fix}") from None
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path}: not UTF-8 text (byte {exc.object[exc.start : exc.start + 1]!r} at offset {exc.start}); "
            f"save it as UTF-8 (e.g. `iconv -f latin1 -t utf-8`), or {fix}"
        ) from None
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        raise DataError(f"{path}: cannot be read as CSV ({type(exc).__name__}: {exc}); {fix}") from None


def read_text_matrix(path: str | Path, *, fix: str, delimiter: str = ",", dtype=np.float32) -> np.ndarray:
    """A headerless numeric text table (``numpy.loadtxt``; its message names the row)."""
    path = Path(path)
    if not path.is_file():
        raise _missing(path, fix)
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty; {fix}")
    try:
        return np.loadtxt(path, delimiter=delimiter, dtype=dtype, ndmin=2)
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not text (undecodable byte at offset {exc.start}); {fix}") from None
    except ValueError as exc:
        raise DataError(
            f"{path}: cannot be read as {delimiter!r}-separated numbers ({exc}); the file is corrupt or "
            f"truncated: {fix}"
        ) from None


def load_npy(path: str | Path, *, fix: str) -> np.ndarray:
    """One array from a ``.npy`` file (no pickles)."""
    path = Path(path)
    if not path.is_file():
        raise _missing(path, fix)
    try:
        return np.load(path, allow_pickle=False)
    except DAMAGED as exc:
        raise DataError(
            f"{path}: not a readable .npy array ({type(exc).__name__}: {exc}); truncated or not NumPy's format: {fix}"
        ) from None
