import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, roc_auc_score

from tsad_models.metrics.counts import counts_at_thresholds, f1_from_counts
from tsad_models.metrics.panel import EntityScores, EvalSettings, evaluate, evaluate_entities

from . import metrics_reference as ref

labels_strategy = st.lists(st.integers(0, 1), min_size=2, max_size=40)


@st.composite
def scored_series(draw):
    labels = np.array(draw(labels_strategy), dtype=np.int8)
    # few distinct values: many ties, the hard case for threshold search
    scores = np.array(draw(st.lists(st.integers(0, 6), min_size=len(labels), max_size=len(labels))), dtype=float) / 2
    return scores, labels


# short series: VUS buffers of at most 2 points (a vus_window longer than the series is refused)
SHORT = EvalSettings(vus_window=2)


@settings(max_examples=300, deadline=None)
@given(scored_series())
def test_oracle_equals_brute_force(series):
    scores, labels = series
    result = evaluate(scores, labels, settings=SHORT)
    if labels.sum() in (0, len(labels)):  # no anomaly, or nothing but anomalies: undefined
        assert math.isnan(result["f1@oracle"])
        return
    expected = ref.brute_force_oracle_all(scores, labels)
    for name, value in expected.items():
        assert result[f"{name}@oracle"] == pytest.approx(value, abs=1e-12), name


@settings(max_examples=200, deadline=None)
@given(scored_series(), st.floats(-1, 4))
def test_counts_at_any_threshold_equal_brute_force(series, threshold):
    scores, labels = series
    counts = counts_at_thresholds(scores, labels, np.array([threshold]))
    curve = ref.f1_pa_k_curve(scores, labels, threshold)
    ours = f1_from_counts(counts.tp_k[:, 0], counts.fp[0], counts.n_pos)
    np.testing.assert_allclose(ours, curve, atol=1e-12)


@settings(max_examples=200, deadline=None)
@given(scored_series())
def test_ranking_metrics_equal_scikit_learn(series):
    scores, labels = series
    result = evaluate(scores, labels, settings=SHORT)
    if 0 < labels.sum() < len(labels):
        assert result["auc_pr"] == pytest.approx(average_precision_score(labels, scores), abs=1e-12)
        assert result["auc_roc"] == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)


def test_agreement_with_tadpak_on_random_cases():
    from tadpak.pak import pak

    rng = np.random.default_rng(7)
    checked = 0
    for _ in range(60):
        n = int(rng.integers(10, 80))
        labels = (rng.random(n) < 0.3).astype(np.int8)
        scores = np.round(rng.random(n), 2)
        thresholds = np.unique(scores)
        counts = counts_at_thresholds(scores, labels, thresholds)
        for k in range(0, 101, 10):  # multiples of 10: tadpak's float "k/100*L" is exact there
            for i, t in enumerate(thresholds):
                # tadpak flags scores > thres; ours flags scores >= t: pass the next float below t
                reference = ref.f1(pak(scores, labels, np.nextafter(t, -np.inf), k=k), labels)
                assert f1_from_counts(counts.tp_k[k, i], counts.fp[i], counts.n_pos) == pytest.approx(
                    reference, abs=1e-12
                )
                checked += 1
    assert checked > 4_000


def test_tadpak_float_rounding_differs_from_the_exact_rule():
    """tadpak compares ``count > k/100 * L`` in floating point: 0.29 * 100 = 28.999999999999996,
    so a 100-point segment with exactly 29 flagged points is credited at K = 29 although
    29 is not more than 29 %.  We use the exact integer rule ``count * 100 > K * L``."""
    from tadpak.pak import pak

    labels = np.zeros(200, np.int8)
    labels[50:150] = 1
    scores = np.zeros(200)
    scores[50:79] = 1.0  # 29 of 100 points flagged
    credited_by_tadpak = pak(scores, labels, 0.5, k=29)[50:150].all()
    counts = counts_at_thresholds(scores, labels, np.array([1.0]))
    assert credited_by_tadpak  # tadpak's rounding
    assert counts.tp_k[29, 0] == 29  # exact: not credited, 29 true positives
    assert counts.tp_k[28, 0] == 100  # 29 > 28 %: credited


def test_no_anomaly_gives_nan_with_a_reason_not_zero():
    result = evaluate_entities([EntityScores("e", np.arange(10.0), np.zeros(10), np.arange(5.0))], SHORT)
    metrics, notes = result["aggregate"]["metrics"], result["aggregate"]["notes"]
    assert math.isnan(metrics["f1@oracle"]) and math.isnan(metrics["f1@val-quantile"]) and math.isnan(metrics["auc_pr"])
    assert "no anomaly in the test labels" in notes["f1@oracle"]


def test_all_points_anomalous_and_constant_scores():
    # every point anomalous: any scores would get F1 1.0 and AUC-PR 1.0; undefined, with the reason
    result = evaluate_entities([EntityScores("e", np.random.default_rng(0).random(10), np.ones(10))], SHORT)
    metrics, notes = result["aggregate"]["metrics"], result["aggregate"]["notes"]
    assert all(math.isnan(metrics[k]) for k in ("f1@oracle", "auc_pr", "auc_roc", "vus_pr", "f1_pa@val-quantile"))
    assert (
        notes["f1@oracle"]
        == notes["auc_pr"]
        == "every test point is anomalous: no normal point to tell apart, every metric is undefined"
    )
    constant = evaluate(np.zeros(10), np.array([0, 0, 1, 1, 0, 0, 0, 0, 0, 0]), settings=SHORT)
    assert constant["f1@oracle"] == pytest.approx(2 * 2 / (2 * 2 + 8))  # everything flagged
    assert constant["auc_roc"] == 0.5


@pytest.mark.parametrize(
    "scores, labels, message",
    [
        (np.array([0.1, np.nan, 0.3]), np.array([0, 1, 0]), "NaN/inf"),
        (np.array([0.1, np.inf, 0.3]), np.array([0, 1, 0]), "NaN/inf"),
        (np.array([0.1, 0.2]), np.array([0, 1, 0]), "2 values but labels has 3"),
    ],
)
def test_bad_scores_are_errors(scores, labels, message):
    with pytest.raises(ValueError, match=message):
        evaluate(scores, labels)


def test_label_free_thresholds_never_read_test_labels():
    rng = np.random.default_rng(0)
    pieces = []
    for name in ("a", "b"):
        labels = (rng.random(500) < 0.1).astype(np.int8)
        pieces.append((name, rng.random(500) + labels, labels, rng.random(200)))
    settings_ = EvalSettings(protocols=("val-quantile", "pot"), val_quantile=0.95, pot_level=0.9)
    first = evaluate_entities([EntityScores(n, s, y, v) for n, s, y, v in pieces], settings_)
    shuffled = evaluate_entities([EntityScores(n, s, rng.permutation(y), v) for n, s, y, v in pieces], settings_)
    assert first["aggregate"]["thresholds"] == shuffled["aggregate"]["thresholds"]
    assert not math.isnan(first["aggregate"]["thresholds"]["pot"]["a"])
    assert first["aggregate"]["thresholds"]["val-quantile"]["a"] == pytest.approx(np.quantile(pieces[0][3], 0.95))


def test_entities_aggregate_by_adding_counts():
    """Oracle over entities uses one shared threshold: equal to brute force on the concatenation
    when segments cannot merge across the boundary."""
    rng = np.random.default_rng(1)
    a_labels = np.array([0, 1, 1, 0, 0, 0, 1, 0], np.int8)
    b_labels = np.array([0, 0, 1, 1, 1, 0, 0, 0], np.int8)
    a, b = rng.integers(0, 5, 8) / 4, rng.integers(0, 5, 8) / 4
    result = evaluate_entities(
        [EntityScores("a", a, a_labels), EntityScores("b", b, b_labels)],
        EvalSettings(protocols=("oracle",), vus_window=8),
    )
    expected = ref.brute_force_oracle(np.concatenate([a, b]), np.concatenate([a_labels, b_labels]))
    for name, value in expected.items():
        assert result["aggregate"]["metrics"][f"{name}@oracle"] == pytest.approx(value, abs=1e-12)
    assert set(result["per_entity"]) == {"a", "b"}


def test_random_scores_look_strong_under_point_adjustment():
    """The reason the random row exists (Kim et al., AAAI 2022)."""
    rng = np.random.default_rng(0)
    labels = np.zeros(10_000, np.int8)
    for start in range(500, 10_000, 1000):
        labels[start : start + 100] = 1
    result = evaluate(rng.random(10_000), labels)
    assert result["f1_pa@oracle"] > 0.8 and result["f1@oracle"] < 0.25


@settings(max_examples=200, deadline=None)
@given(scored_series(), st.floats(0, 1), st.floats(0, 1))
def test_range_metrics_at_every_threshold_equal_the_definition(series, alpha_r, alpha_p):
    from tsad_models.metrics.range_based import range_counts, range_scores

    scores, labels = series
    if labels.sum() == 0:
        return
    thresholds = np.unique(scores)
    precision, recall, _ = range_scores(
        range_counts(scores, labels, ref.np.array(ref.segments(labels)), thresholds, alpha_r, alpha_p)
    )
    for i, t in enumerate(thresholds):
        p, r = ref.range_precision_recall(scores >= t, labels, alpha_r, alpha_p)
        assert precision[i] == pytest.approx(p, abs=1e-12) and recall[i] == pytest.approx(r, abs=1e-12)


@settings(max_examples=150, deadline=None)
@given(scored_series(), st.floats(0.05, 0.95))
def test_every_fixed_threshold_protocol_equals_the_definition(series, q):
    scores, labels = series
    if labels.sum() in (0, len(labels)):  # undefined: no anomaly, or nothing but anomalies
        return
    val = np.linspace(0, 3, 11)
    result = evaluate(
        scores, labels, val, EvalSettings(protocols=("val-quantile", "prior-ratio"), val_quantile=q, vus_window=2)
    )
    for protocol, t in (
        ("val-quantile", np.quantile(val, q)),
        ("prior-ratio", np.percentile(np.concatenate([val, scores]), 100 - 100 * labels.mean())),
    ):
        predictions = scores >= t
        assert result[f"f1@{protocol}"] == pytest.approx(ref.f1(predictions, labels), abs=1e-12)
        assert result[f"f1_pa@{protocol}"] == pytest.approx(
            ref.f1(ref.pa_k_predictions(predictions, labels, 0), labels), abs=1e-12
        )
        assert result[f"event_f1@{protocol}"] == pytest.approx(ref.event_f1(predictions, labels), abs=1e-12)
        p, r = ref.range_precision_recall(predictions, labels)
        assert result[f"range_f1@{protocol}"] == pytest.approx(ref.harmonic(p, r), abs=1e-12)


def test_pot_threshold_matches_the_gpd_quantile():
    """On exact GPD tails the POT threshold is the GPD quantile of the risk."""
    from scipy.stats import genpareto

    from tsad_models.metrics.protocols import pot_threshold

    rng = np.random.default_rng(0)
    val = rng.standard_normal(20_000)
    threshold, reason = pot_threshold(val, risk=1e-3, level=0.95)
    assert reason is None
    # for a Gaussian the 1e-3 upper quantile is 3.09; the GPD tail fit gets close to it
    assert threshold == pytest.approx(3.09, abs=0.1)
    tail = genpareto.rvs(0.1, scale=1.0, size=5000, random_state=1)
    threshold, _ = pot_threshold(tail, risk=1e-3, level=0.5)
    assert threshold == pytest.approx(genpareto.ppf(1 - 1e-3, 0.1), rel=0.15)


def test_pot_with_too_few_exceedances_is_nan_with_a_reason():
    result = evaluate_entities(
        [EntityScores("e", np.arange(20.0), np.r_[np.zeros(15), np.ones(5)], np.arange(30.0))],
        EvalSettings(protocols=("pot",), pot_level=0.98, vus_window=2),
    )
    assert math.isnan(result["aggregate"]["metrics"]["f1@pot"])
    assert "validation scores above the 0.98 quantile" in result["aggregate"]["notes"]["f1@pot"]


def test_prior_ratio_is_tagged_and_reads_labels():
    """prior-ratio is the one non-oracle protocol that reads labels: shuffling changes nothing
    (only the ratio is read), but dropping anomalies changes the threshold."""
    from tsad_models.metrics.protocols import LABEL_FREE, prior_ratio_threshold

    assert "prior-ratio" not in LABEL_FREE
    scores = np.arange(100.0)
    assert prior_ratio_threshold(np.zeros(0), scores, np.r_[np.zeros(90), np.ones(10)]) == pytest.approx(
        np.percentile(scores, 90)
    )
    assert prior_ratio_threshold(np.zeros(0), scores, np.r_[np.zeros(99), np.ones(1)]) == pytest.approx(
        np.percentile(scores, 99)
    )


def test_without_validation_scores_only_oracle_is_reported():
    result = evaluate(np.arange(10.0), np.array([0, 0, 1, 1, 0, 0, 0, 0, 0, 0]), settings=SHORT)
    assert "f1@oracle" in result and not any(k.endswith(("@val-quantile", "@pot", "@prior-ratio")) for k in result)
    assert {"vus_roc", "vus_pr", "auc_roc", "auc_pr", "range_f1@oracle", "event_f1@oracle"} <= set(result)


def test_affiliation_at_every_threshold_equals_numerical_integration():
    """Our exact piecewise-linear integrals against a brute-force grid integration of the definition."""
    from tsad_models.common.labels import label_segments
    from tsad_models.metrics.affiliation import affiliation_counts, affiliation_scores

    rng = np.random.default_rng(3)
    for _ in range(12):
        n = int(rng.integers(6, 25))
        labels = (rng.random(n) < 0.3).astype(np.int8)
        if labels.sum() == 0:
            labels[n // 2] = 1
        scores = rng.integers(0, 4, n) / 3
        thresholds = np.unique(scores)
        precision, recall, _ = affiliation_scores(affiliation_counts(scores, label_segments(labels), thresholds))
        for i, t in enumerate(thresholds):
            p, r = ref.affiliation_precision_recall(scores >= t, labels)
            # the grid integration is accurate to a few 1e-3; exact agreement with the
            # reference code is checked on stored fixtures (test_reference_fixtures.py)
            assert precision[i] == pytest.approx(p, abs=5e-3) and recall[i] == pytest.approx(r, abs=5e-3)


@settings(max_examples=60, deadline=None)
@given(scored_series())
def test_affiliation_and_range_oracles_are_the_best_fixed_threshold(series):
    scores, labels = series
    if labels.sum() in (0, len(labels)):
        return
    oracle = evaluate(scores, labels, settings=SHORT)
    best = {"range_f1": 0.0, "affiliation_f1": 0.0}
    for t in np.unique(scores):
        fixed = evaluate(
            scores, labels, np.array([t, t]), EvalSettings(protocols=("val-quantile",), val_quantile=0.5, vus_window=2)
        )
        for name in best:
            best[name] = max(best[name], fixed[f"{name}@val-quantile"])
    for name, value in best.items():
        assert oracle[f"{name}@oracle"] == pytest.approx(value, abs=1e-12)


@pytest.mark.parametrize("shape", [-0.4, -0.1, 0.0, 0.2, 0.5])
def test_gpd_fit_is_at_least_as_likely_as_scipys(shape):
    from scipy.stats import genpareto

    from tsad_models.metrics.protocols import gpd_fit, gpd_log_likelihood

    y = genpareto.rvs(shape, scale=2.0, size=2000, random_state=np.random.default_rng(1))
    xi, sigma = gpd_fit(y)
    c, _, scale = genpareto.fit(y, floc=0)
    assert gpd_log_likelihood(y, xi, sigma) >= gpd_log_likelihood(y, c, scale) - 1e-9
    assert xi == pytest.approx(c, abs=0.01) and sigma == pytest.approx(scale, rel=0.01)


def _nearest_smaller_by_stack(values, or_equal=False):
    n = len(values)
    left, right = np.full(n, -1), np.full(n, n)
    for out, order in ((left, range(n)), (right, range(n - 1, -1, -1))):
        stack = []
        for i in order:
            while stack and (values[stack[-1]] > values[i] if or_equal else values[stack[-1]] >= values[i]):
                stack.pop()
            if stack:
                out[i] = stack[-1]
            stack.append(i)
    return left, right


@pytest.mark.parametrize(
    "pattern",
    [
        "random",
        "ties",
        "random walk",
        "long ramp then a dip",
        "repeated ramps",
        "sawtooth",
        "decreasing",
        "constant",
        "smoothed",
    ],
)
def test_nearest_smaller_matches_the_stack_algorithm(pattern):
    """Pointer jumping, and its sparse-table finish for the indices that walk long monotone runs."""
    from tsad_models.metrics.range_based import _nearest_smaller_left, nearest_smaller

    rng = np.random.default_rng(7)
    n = 5_000
    values = {
        "random": rng.integers(0, n, n),
        "ties": rng.integers(0, 4, n),
        "random walk": np.cumsum(rng.normal(size=n)),
        "long ramp then a dip": np.r_[np.arange(n - 1), -1],
        "repeated ramps": np.tile(np.r_[np.arange(499), -1], n // 500),
        "sawtooth": np.tile(np.arange(250)[::-1], n // 250),
        "decreasing": np.arange(n)[::-1].copy(),
        "constant": np.zeros(n),
        "smoothed": np.convolve(rng.random(n + 49), np.ones(50) / 50, "valid"),
    }[pattern]
    left, right = nearest_smaller(values)
    expected_left, expected_right = _nearest_smaller_by_stack(values)
    assert np.array_equal(left, expected_left) and np.array_equal(right, expected_right)
    assert np.array_equal(
        _nearest_smaller_left(values, or_equal=True), _nearest_smaller_by_stack(values, or_equal=True)[0]
    )


@pytest.mark.parametrize("seed", range(6))
def test_vus_over_all_widths_at_once_equals_the_per_width_loop(seed):
    """Touching, close and edge segments, ties, and the full and the grid threshold sets."""
    from tsad_models.common.labels import label_segments
    from tsad_models.metrics.vus import vus

    rng = np.random.default_rng(seed)
    n = int(rng.integers(50, 400))
    labels = np.zeros(n, dtype=np.int8)
    for _ in range(int(rng.integers(1, 8))):
        start = int(rng.integers(0, n))
        labels[start : start + int(rng.integers(1, 12))] = 1
    labels[: int(rng.integers(0, 3))] = 1  # sometimes a segment at the start
    scores = rng.integers(0, 30, n) / 7 if seed % 2 else rng.random(n)
    segments = label_segments(labels)
    for window, n_thresholds in ((0, 250), (7, 250), (30, None), (100, 40)):
        ours = vus(scores, labels, segments, window, n_thresholds)
        expected = ref.vus_per_width(scores, labels, segments, window, n_thresholds)
        assert ours == pytest.approx(expected, abs=1e-12), (window, n_thresholds)
