import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tsad_models.common.errors import DataError
from tsad_models.models.windows import sliding_windows, window_scores_to_timestamps, window_starts


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 80), window=st.integers(1, 20), step=st.integers(1, 12), data=st.data())
def test_timestamp_score_is_the_mean_of_covering_windows(n, window, step, data):
    if step > window:
        with pytest.raises(ValueError, match="without a score"):
            window_starts(n, window, step)
        return
    if n < window:
        with pytest.raises(DataError):
            window_starts(n, window, step)
        return
    starts = window_starts(n, window, step)
    assert starts[0] == 0 and starts[-1] + window == n          # first and last points covered
    assert np.all(np.diff(starts) > 0)
    scores = np.array(data.draw(st.lists(st.floats(-1e3, 1e3), min_size=len(starts), max_size=len(starts))))
    mapped = window_scores_to_timestamps(scores, n, window, step)
    for t in range(n):
        covering = [s for s, start in zip(scores, starts) if start <= t < start + window]
        assert covering, f"timestamp {t} not covered"
        assert mapped[t] == pytest.approx(np.mean(covering), rel=1e-9, abs=1e-9)


def test_sliding_windows_shape_and_content():
    series = np.arange(20, dtype=float).reshape(10, 2)
    windows = sliding_windows(series, 4, 3)                # starts 0, 3, 6 (the last ends at 10)
    assert windows.shape == (3, 4, 2)
    np.testing.assert_array_equal(windows[1], series[3:7])
    np.testing.assert_array_equal(windows[-1], series[6:10])
    tail = sliding_windows(series[:9], 4, 3)               # starts 0, 3 and a tail window at 5
    np.testing.assert_array_equal(tail[-1], series[5:9])


def test_wrong_number_of_window_scores_is_an_error():
    with pytest.raises(ValueError, match="window scores"):
        window_scores_to_timestamps(np.zeros(3), 10, 4, 1)
