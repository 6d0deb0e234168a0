import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tsad_models.common.errors import DataError
from tsad_models.models.windows import scores_to_timestamps, sliding_windows, window_starts


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
    assert starts[0] == 0 and starts[-1] + window == n  # first and last points covered
    assert np.all(np.diff(starts) > 0)
    scores = np.array(data.draw(st.lists(st.floats(-1e3, 1e3), min_size=len(starts), max_size=len(starts))))
    mapped = scores_to_timestamps(scores, n, window, step, "window")
    positions = np.array(
        data.draw(st.lists(st.floats(-1e3, 1e3), min_size=len(starts) * window, max_size=len(starts) * window))
    ).reshape(len(starts), window)
    by_position = scores_to_timestamps(positions, n, window, step, "position")
    if step > 1:  # a last-point score with step > 1 would pass a later point's score to the points before it
        with pytest.raises(ValueError, match="need step 1"):
            scores_to_timestamps(scores, n, window, step, "last")
    else:
        by_last = scores_to_timestamps(scores, n, window, step, "last")
    for t in range(n):
        covering = [i for i, start in enumerate(starts) if start <= t < start + window]
        assert covering, f"timestamp {t} not covered"
        # window: the mean of the covering windows' scores
        assert mapped[t] == pytest.approx(np.mean(scores[covering]), rel=1e-9, abs=1e-9)
        # position: the mean of what each covering window says about t's own position
        assert by_position[t] == pytest.approx(
            np.mean([positions[i, t - starts[i]] for i in covering]), rel=1e-9, abs=1e-9
        )
        # last (step 1): the score of the window ending at t, or the first window for t < window - 1
        if step == 1:
            ending = max(t, window - 1) - window + 1
            assert ending in covering and by_last[t] == scores[ending]


def test_sliding_windows_shape_and_content():
    series = np.arange(20, dtype=float).reshape(10, 2)
    windows = sliding_windows(series, 4, 3)  # starts 0, 3, 6 (the last ends at 10)
    assert windows.shape == (3, 4, 2)
    np.testing.assert_array_equal(windows[1], series[3:7])
    np.testing.assert_array_equal(windows[-1], series[6:10])
    tail = sliding_windows(series[:9], 4, 3)  # starts 0, 3 and a tail window at 5
    np.testing.assert_array_equal(tail[-1], series[5:9])


def test_last_point_scores_with_step_one_belong_to_the_window_ending_there():
    scores = np.arange(7, dtype=float)  # 7 windows of 4 over 10 points, window i ends at i + 3
    mapped = scores_to_timestamps(scores, 10, 4, 1, "last")
    np.testing.assert_array_equal(mapped, [0, 0, 0, 0, 1, 2, 3, 4, 5, 6])


def test_wrong_shape_or_granularity_is_an_error():
    with pytest.raises(ValueError, match=r"window scores of shape \(3,\) for 7 windows"):
        scores_to_timestamps(np.zeros(3), 10, 4, 1)
    with pytest.raises(ValueError, match=r"position scores of shape \(7,\) .* expected \(7, 4\)"):
        scores_to_timestamps(np.zeros(7), 10, 4, 1, "position")
    with pytest.raises(ValueError, match="granularity must be one of"):
        scores_to_timestamps(np.zeros(7), 10, 4, 1, "segment")


def test_a_huge_window_score_does_not_leak_into_later_timestamps():
    # running sums would cancel 1e20 against the small scores and give 0 or negative values
    mapped = scores_to_timestamps(np.array([1e20, 1.0, 2.0, 3.0, 4.0]), 8, 4, 1)
    np.testing.assert_allclose(mapped[4:], [2.5, 3.0, 3.5, 4.0])
    assert mapped[:4].min() > 1e19


def test_min_max_scaling_uses_the_training_range_unclipped_and_shifts_a_constant_channel():
    from tsad_models.models.scaling import MinMaxScaling

    train = np.array([[0.0, 5.0], [2.0, 5.0], [4.0, 5.0]])
    scaling = MinMaxScaling.fit(train)
    np.testing.assert_array_equal(scaling(train), [[0.0, 0.0], [0.5, 0.0], [1.0, 0.0]])
    np.testing.assert_array_equal(scaling(np.array([[8.0, 7.0]])), [[2.0, 2.0]])  # beyond the range: kept
    assert scaling(None) is None and scaling(train).dtype == np.float32
    widened = MinMaxScaling.fit(train, epsilon=1e-4)  # TranAD's normalize3: every moving channel's span widened
    np.testing.assert_allclose(widened.span, [4.0001, 1.0])  # a constant one only shifted: never x 10^4
