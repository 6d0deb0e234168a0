"""Sliding windows and the one rule that maps window scores back to timestamps.

Window starts: ``0, step, 2*step, ...`` and, when the last regular window does not
reach the end of the series, one extra window that ends exactly at the last point.
So every timestamp is covered by at least one window and no point is padded.

A model declares what its scores describe (its ``granularity``); one rule per kind
maps them to one score per timestamp ``t``:

- ``window``: one score per window (N,).  Score of ``t`` = the **mean of the scores of
  all windows that contain t**.  With step 1 and window W an interior point averages W
  windows; the first and last points average fewer (at least one).
- ``position``: one score per position of each window (N, W).  Score of ``t`` = the
  **mean, over the windows that contain t, of the score each gives to t's position**.
- ``last``: one score per window, describing its last point (N,) (forecasting and
  "last point" models).  Only with step 1: score of ``t`` = the **score of the window
  ending at t**; the first W - 1 points, which end no window, take the score of the
  first window (the earliest that saw them).  With a larger step, a point between two
  window ends would take the score of a later point's reconstruction: refused (and a
  model of this granularity refuses such a config before it is fitted).

Nothing is zero-filled and no window is shifted, so scores and labels stay aligned
whatever the step (the LATAD public code cuts labels as ``labels[:T]``, which misaligns
them when step > 1: we do not).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from ..common.errors import DataError

Granularity = Literal["window", "position", "last"]
GRANULARITIES = ("window", "position", "last")


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


def scores_to_timestamps(
    scores: np.ndarray, n_timestamps: int, window: int, step: int, granularity: Granularity = "window"
) -> np.ndarray:
    """One score per timestamp from window scores, by the rule of ``granularity`` (module doc)."""
    scores = np.asarray(scores, dtype=np.float64)
    starts = window_starts(n_timestamps, window, step)
    expected = (len(starts), window) if granularity == "position" else (len(starts),)
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {GRANULARITIES}, got {granularity!r}")
    if scores.shape != expected:
        raise ValueError(
            f"{granularity} scores of shape {scores.shape} for {len(starts)} windows of {window}: expected {expected}"
        )
    if granularity == "last":
        if step != 1:
            raise ValueError(
                f"'last' scores describe each window's last point and need step 1, got step {step}: "
                "the points between two window ends would take a later point's score"
            )
        ends = starts + window - 1  # increasing; the last one is n_timestamps - 1
        return scores[np.searchsorted(ends, np.arange(n_timestamps), side="left")]
    if granularity == "position":
        index = (starts[:, None] + np.arange(window)).ravel()
        total = np.bincount(index, weights=scores.ravel(), minlength=n_timestamps)
        return total / np.bincount(index, minlength=n_timestamps)
    # window: the covering windows of t are a run of window numbers [first, last); their scores
    # are summed directly (reduceat over each run), never as a difference of running sums, in
    # which one huge score would cancel the scores of every later timestamp
    t = np.arange(n_timestamps)
    first = np.searchsorted(starts, t - window + 1, side="left")
    last = np.searchsorted(starts, t, side="right")
    bounds = np.empty(2 * n_timestamps, dtype=np.intp)
    bounds[0::2], bounds[1::2] = first, last
    padded = np.append(scores, 0.0)  # so that last == N is a valid bound
    return np.add.reduceat(padded, bounds)[0::2] / (last - first)
