"""Sliding windows and the one rule that maps window scores back to timestamps.

Window starts: ``0, step, 2*step, ...`` and, when the last regular window does not
reach the end of the series, one extra window that ends exactly at the last point.
So every timestamp is covered by at least one window and no point is padded.

Timestamp rule (used by every windowed model): the score of timestamp ``t`` is the
**mean of the scores of all windows that contain t**.  With step 1 and window W an
interior point averages W windows; the first and last points average fewer (at
least one).  Nothing is zero-filled and no window is shifted, so scores and labels
stay aligned whatever the step (the LATAD public code cuts labels as
``labels[:T]``, which misaligns them when step > 1: we do not).
"""

from __future__ import annotations

import numpy as np

from ..common.errors import DataError


def window_starts(n_timestamps: int, window: int, step: int) -> np.ndarray:
    if window < 1 or step < 1:
        raise ValueError(f"window ({window}) and step ({step}) must be >= 1")
    if step > window:
        raise ValueError(f"step ({step}) larger than window ({window}) would leave timestamps without a score")
    if n_timestamps < window:
        raise DataError(
            f"series of {n_timestamps} points is shorter than the window of {window}; "
            "use a smaller window for this dataset"
        )
    starts = np.arange(0, n_timestamps - window + 1, step)
    if starts[-1] + window < n_timestamps:
        starts = np.append(starts, n_timestamps - window)
    return starts


def sliding_windows(series: np.ndarray, window: int, step: int = 1) -> np.ndarray:
    """Windows of a (T, C) series as a (N, window, C) view (no copy where possible)."""
    series = np.asarray(series)
    starts = window_starts(len(series), window, step)
    view = np.lib.stride_tricks.sliding_window_view(series, window, axis=0)  # (T-w+1, C, w)
    return view[starts].transpose(0, 2, 1)


def window_scores_to_timestamps(
    window_scores: np.ndarray, n_timestamps: int, window: int, step: int
) -> np.ndarray:
    """Mean of the scores of the windows containing each timestamp (see module doc)."""
    window_scores = np.asarray(window_scores, dtype=np.float64)
    starts = window_starts(n_timestamps, window, step)
    if len(window_scores) != len(starts):
        raise ValueError(f"{len(window_scores)} window scores for {len(starts)} windows")
    total = np.zeros(n_timestamps + 1)
    count = np.zeros(n_timestamps + 1)
    np.add.at(total, starts, window_scores)
    np.add.at(total, starts + window, -window_scores)
    np.add.at(count, starts, 1.0)
    np.add.at(count, starts + window, -1.0)
    return np.cumsum(total)[:-1] / np.cumsum(count)[:-1]
