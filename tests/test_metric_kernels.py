"""The compiled kernels (``_kernels.c``) against their NumPy twins, and the panel's threading.

Every number must be the same whichever engine ran and however many threads were used;
the NumPy code is itself checked against brute force in test_metrics.py.
"""

import math
import shutil
import sysconfig

import numpy as np
import pytest

from tsad_models.common.labels import label_segments
from tsad_models.metrics import kernels
from tsad_models.metrics.affiliation import affiliation_counts
from tsad_models.metrics.counts import segment_true_positives
from tsad_models.metrics.panel import EntityScores, EvalSettings, evaluate, evaluate_entities
from tsad_models.metrics.range_based import range_counts
from tsad_models.metrics.table import score_table

needs_compiled = pytest.mark.skipif(kernels.compiled is None, reason="the compiled metric kernels are not built")


def test_the_compiled_kernels_are_built_where_a_compiler_is(monkeypatch):
    """`pip install -e .` builds them (setup.py); without a C compiler the NumPy engine runs."""
    monkeypatch.delenv(kernels.ENGINE_VARIABLE, raising=False)
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        pytest.skip(f"no C compiler ({compiler}): the NumPy engine is expected")
    assert kernels.compiled is not None, (
        "tsad_models/metrics/_kernels is not built (or is stale) although a C compiler is present: "
        "run `pip install -e .`"
    )
    assert kernels.engine() == "c"


def _both_engines(monkeypatch, call):
    monkeypatch.setenv(kernels.ENGINE_VARIABLE, "numpy")
    reference = call()
    monkeypatch.setenv(kernels.ENGINE_VARIABLE, "c")
    return reference, call()


def _assert_same(reference, compiled, context):
    if isinstance(reference, dict):
        assert reference.keys() == compiled.keys(), context
        for key in reference:
            _assert_same(reference[key], compiled[key], (context, key))
    elif isinstance(reference, tuple):
        for a, b in zip(reference, compiled, strict=True):
            _assert_same(a, b, context)
    elif isinstance(reference, float) and math.isnan(reference):
        assert math.isnan(compiled), context
    else:
        np.testing.assert_allclose(compiled, reference, rtol=1e-12, atol=1e-12, err_msg=str(context))


def _random_case(rng):
    """Short series with every awkward feature: ties, few or many levels, segments touching
    the edges, zone boundaries falling on half points, single-point segments."""
    n = int(rng.integers(1, 80))
    labels = (rng.random(n) < rng.random()).astype(np.int8)
    if labels.sum() == 0:
        labels[rng.integers(n)] = 1
    levels = int(rng.integers(1, 10))
    scores = rng.integers(0, levels, n) / 2.0 if rng.random() < 0.7 else rng.normal(size=n)
    return scores, labels


def _thresholds(rng, scores):
    thresholds = np.unique(scores)
    choice = rng.random()
    if choice < 0.2:
        thresholds = thresholds[len(thresholds) // 2 :]  # some points below every threshold
    elif choice < 0.35:
        thresholds = thresholds[:1]
    elif choice < 0.5:
        thresholds = np.unique(rng.choice(thresholds, size=max(1, len(thresholds) // 2)))
    return thresholds


@needs_compiled
def test_range_and_affiliation_kernels_equal_numpy_on_random_cases(monkeypatch):
    rng = np.random.default_rng(11)
    for case in range(1500):
        scores, labels = _random_case(rng)
        segments = label_segments(labels)
        thresholds = _thresholds(rng, scores)
        alpha_r, alpha_p = (0.0, 0.0) if case % 2 else (rng.random(), rng.random())
        reference, compiled = _both_engines(
            monkeypatch,
            lambda: (
                range_counts(scores, labels, segments, thresholds, alpha_r, alpha_p),
                affiliation_counts(scores, segments, thresholds),
            ),
        )
        _assert_same(reference, compiled, (case, scores.tolist(), labels.tolist(), thresholds.tolist()))


@needs_compiled
def test_score_table_and_pa_k_kernels_equal_numpy(monkeypatch):
    rng = np.random.default_rng(12)
    for case in range(400):
        scores, labels = _random_case(rng)
        if case % 7 == 0:
            scores = np.where(scores == 0, -0.0, scores)  # -0.0 and 0.0 are one score
        if case % 11 == 0:
            scores = np.full_like(scores, 3.25)
        reference, compiled = _both_engines(monkeypatch, lambda: score_table(scores, labels))
        for field in ("distinct", "total", "positive", "ranks"):
            np.testing.assert_array_equal(
                getattr(compiled, field), getattr(reference, field), err_msg=f"{case} {field}"
            )
        segments = label_segments(labels)
        lengths = segments[:, 1] - segments[:, 0]
        positive_ranks = rng.integers(-1, 6, int(labels.sum()))
        begin, end = sorted(rng.integers(0, 7, 2))
        end = max(end, begin + 1)
        reference, compiled = _both_engines(
            monkeypatch, lambda: segment_true_positives(positive_ranks, lengths, begin, end)
        )
        np.testing.assert_array_equal(compiled[0], reference[0])
        np.testing.assert_array_equal(compiled[1], reference[1])


@needs_compiled
@pytest.mark.parametrize("scores_kind", ["continuous", "few levels", "skewed"])
def test_score_table_on_a_long_series(monkeypatch, scores_kind):
    """Long enough for the bucketed lookup's batches, its large buckets and its skewed inputs."""
    rng = np.random.default_rng(5)
    n = 200_000
    scores = {
        "continuous": rng.random(n),
        "few levels": rng.integers(0, 7, n) * 0.1,
        "skewed": np.exp(rng.normal(0, 12, n)) * rng.choice([-1, 1], n),
    }[scores_kind]
    labels = (rng.random(n) < 0.02).astype(np.int8)
    reference, compiled = _both_engines(monkeypatch, lambda: score_table(scores, labels))
    for field in ("distinct", "total", "positive", "ranks"):
        np.testing.assert_array_equal(getattr(compiled, field), getattr(reference, field), err_msg=field)


def _series(seed, n, ties):
    rng = np.random.default_rng(seed)
    labels = np.zeros(n, dtype=np.int8)
    for start in rng.choice(n - 60, 12, replace=False):
        labels[start : start + int(rng.integers(1, 60))] = 1
    scores = rng.random(n) + labels * rng.random(n)
    if ties:
        scores = np.round(scores, 2)
    return scores, labels, rng.random(n // 5)


@needs_compiled
@pytest.mark.parametrize("ties", [False, True])
def test_the_whole_panel_is_the_same_on_either_engine(monkeypatch, ties):
    scores, labels, val = _series(3, 20_000, ties)
    settings = EvalSettings(protocols=("oracle", "val-quantile", "pot", "prior-ratio"))
    reference, compiled = _both_engines(monkeypatch, lambda: evaluate(scores, labels, val, settings))
    _assert_same(reference, compiled, "panel")


@needs_compiled
def test_entities_aggregate_the_same_on_either_engine(monkeypatch):
    pieces = [EntityScores(f"e{i}", *_series(i, 3_000 + 500 * i, ties=i % 2 == 1)) for i in range(3)]
    reference, compiled = _both_engines(monkeypatch, lambda: evaluate_entities(pieces))
    _assert_same(reference["aggregate"]["metrics"], compiled["aggregate"]["metrics"], "aggregate")
    for name in reference["per_entity"]:
        _assert_same(reference["per_entity"][name]["metrics"], compiled["per_entity"][name]["metrics"], name)


def test_one_thread_and_two_give_the_same_panel(monkeypatch):
    scores, labels, val = _series(4, 10_000, ties=False)
    monkeypatch.setenv(kernels.THREADS_VARIABLE, "1")
    one = evaluate(scores, labels, val)
    monkeypatch.setenv(kernels.THREADS_VARIABLE, "2")
    assert evaluate(scores, labels, val) == one


def test_an_error_on_the_second_thread_reaches_the_caller(monkeypatch):
    from tsad_models.metrics import panel

    def broken(*args, **kwargs):
        raise RuntimeError("affiliation sweep failed")

    monkeypatch.setenv(kernels.THREADS_VARIABLE, "2")
    monkeypatch.setattr(panel, "affiliation_counts", broken)
    scores, labels, val = _series(4, 2_000, ties=False)
    with pytest.raises(RuntimeError, match="affiliation sweep failed"):
        evaluate(scores, labels, val)


def test_bad_engine_and_thread_settings_are_named(monkeypatch):
    monkeypatch.setenv(kernels.ENGINE_VARIABLE, "fortran")
    with pytest.raises(ValueError, match="TSAD_BENCH_METRICS_ENGINE='fortran'"):
        kernels.engine()
    monkeypatch.delenv(kernels.ENGINE_VARIABLE)
    monkeypatch.setenv(kernels.THREADS_VARIABLE, "two")
    with pytest.raises(ValueError, match="TSAD_BENCH_METRICS_THREADS='two'"):
        kernels.threads()


EDGE_CASES = {
    "one anomalous point": (np.array([0.5]), np.array([1])),
    "one normal point": (np.array([0.5]), np.array([0])),
    "all anomalous": (np.arange(5.0), np.ones(5, dtype=int)),
    "constant scores": (np.zeros(50), np.r_[np.zeros(40), np.ones(10)].astype(int)),
    "negative zero": (np.r_[-0.0, 0.0, 1.0, -0.0], np.array([0, 1, 1, 0])),
    "extreme magnitudes": (np.r_[1e-300, 1e300, -1e300, 0.0, 5e-324], np.array([0, 1, 0, 0, 1])),
}


@needs_compiled
@pytest.mark.parametrize("case", EDGE_CASES)
def test_edge_cases_are_the_same_on_either_engine(monkeypatch, case):
    scores, labels = EDGE_CASES[case]
    # VUS buffers no longer than the series (a longer vus_window is refused)
    settings = EvalSettings(protocols=("oracle", "val-quantile", "pot", "prior-ratio"), vus_window=len(scores))
    reference, compiled = _both_engines(monkeypatch, lambda: evaluate(scores, labels, np.arange(10.0), settings))
    _assert_same(reference, compiled, case)


def test_oracle_chunks_and_split_table_do_not_change_the_numbers(monkeypatch):
    """The oracle's candidate chunks (large series) and the table's two-thread split
    (from 65,536 points), forced on a small series, give the unsplit numbers."""
    from tsad_models.metrics import panel, table

    scores, labels, val = _series(6, 6_000, ties=True)
    monkeypatch.setenv(kernels.THREADS_VARIABLE, "1")
    whole = evaluate(scores, labels, val)
    monkeypatch.setenv(kernels.THREADS_VARIABLE, "2")
    monkeypatch.setattr(panel, "ORACLE_CHUNK", 7)
    monkeypatch.setattr(table, "PARALLEL_FROM", 8)
    split = evaluate(scores, labels, val)
    _assert_same(whole, split, "chunked")
