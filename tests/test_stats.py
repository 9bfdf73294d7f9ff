"""Tests of the statistics in benchmark.stats (counts, bootstrap, randomization, multiple, aso,
language_resamples): exactness against seqeval and slow reference loops, calibration."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
from scipy import stats as sps

from benchmark.stats import aso, resampling
from benchmark.stats.aso import ASO_THRESHOLD, almost_stochastic_order
from benchmark.stats.bootstrap import average_with_ci, paired_average_difference, paired_bootstrap
from benchmark.stats.counts import f1_from_counts, prf_from_counts, system_f1
from benchmark.stats.multiple import count_wins, holm, wilcoxon_languages
from benchmark.stats.randomization import approximate_randomization
from benchmark.stats.resampling import Comparison

# ---------------------------------------------------------------------------------------------
# Synthetic data
# ---------------------------------------------------------------------------------------------


def synth_language(
    rng: np.random.Generator,
    n_sentences: int,
    detect: dict[str, float],
    n_seeds: dict[str, int],
    seed_jitter: float = 0.01,
) -> dict[str, np.ndarray]:
    """Counts (n_seeds, n_sentences, 3) for several systems on the same sentences.

    Sentences have a shared difficulty (hard sentences are hard for every system), which is what
    makes pairing matter. Each seed of each system gets its own small shift of detection rate.
    """
    gold = rng.poisson(1.5, n_sentences)
    difficulty = rng.normal(0.0, 1.0, n_sentences)
    out = {}
    for name, p in detect.items():
        rows = []
        for _ in range(n_seeds[name]):
            logit = np.log(p / (1 - p)) + rng.normal(0.0, seed_jitter) - 0.8 * difficulty
            prob = 1.0 / (1.0 + np.exp(-logit))
            tp = rng.binomial(gold, prob)
            fp = rng.poisson(0.3 * np.exp(0.3 * difficulty))
            rows.append(np.stack([tp, fp, gold - tp], axis=1))
        out[name] = np.stack(rows)
    return out


# ---------------------------------------------------------------------------------------------
# F1 from counts = seqeval
# ---------------------------------------------------------------------------------------------

TAGS = ["O", "O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]


def _random_tags(rng: np.random.Generator, length: int) -> list[str]:
    return [TAGS[i] for i in rng.integers(0, len(TAGS), size=length)]


def test_f1_from_counts_equals_seqeval_on_random_iob2():
    from seqeval.metrics import f1_score, precision_score, recall_score
    from seqeval.metrics.sequence_labeling import get_entities

    rng = np.random.default_rng(123)
    for case in range(300):
        n_sent = int(rng.integers(1, 12))
        y_true, y_pred = [], []
        for _ in range(n_sent):
            length = int(rng.integers(1, 15))
            y_true.append(_random_tags(rng, length))
            # Half the cases: prediction = gold with some tags changed (realistic overlap).
            if case % 2:
                pred = list(y_true[-1])
                for i in np.flatnonzero(rng.random(length) < 0.3):
                    pred[i] = TAGS[int(rng.integers(0, len(TAGS)))]
                y_pred.append(pred)
            else:
                y_pred.append(_random_tags(rng, length))
        counts = np.zeros((n_sent, 3), dtype=np.int64)
        for i, (t, p) in enumerate(zip(y_true, y_pred)):
            gold, pred = set(get_entities(t)), set(get_entities(p))
            tp = len(gold & pred)
            counts[i] = (tp, len(pred) - tp, len(gold) - tp)
        tp, fp, fn = counts.sum(axis=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = (
                precision_score(y_true, y_pred),
                recall_score(y_true, y_pred),
                f1_score(y_true, y_pred),
            )
        got = prf_from_counts(tp, fp, fn)
        assert got == pytest.approx(expected, abs=1e-9)
        assert f1_from_counts(tp, fp, fn) == pytest.approx(expected[2], abs=1e-9)
        assert system_f1(counts) == pytest.approx(expected[2], abs=1e-9)


def test_f1_edge_cases_and_broadcasting():
    assert f1_from_counts(0, 0, 0) == 0.0
    assert f1_from_counts(0, 5, 0) == 0.0
    assert f1_from_counts(0, 0, 5) == 0.0
    assert f1_from_counts(0, 3, 4) == 0.0
    assert f1_from_counts(5, 0, 0) == 1.0
    assert isinstance(f1_from_counts(1, 1, 1), float)
    # p = 3/4, r = 3/5 -> 2 * 0.75 * 0.6 / 1.35 = 2/3
    assert f1_from_counts(3, 1, 2) == pytest.approx(2 / 3)
    got = f1_from_counts(np.array([[3], [0]]), np.array([1, 0, 2]), 2)
    assert got.shape == (2, 3)
    assert got[1].tolist() == [0.0, 0.0, 0.0]
    assert got[0, 0] == pytest.approx(2 / 3)


def test_system_f1_is_mean_of_per_seed_corpus_f1():
    counts = np.array([[[1, 0, 0], [0, 1, 1]], [[2, 0, 0], [0, 0, 0]]])
    # seed 0: tp=1, fp=1, fn=1 -> 0.5; seed 1: tp=2 -> 1.0
    assert system_f1(counts) == pytest.approx(0.75)


# ---------------------------------------------------------------------------------------------
# Slow reference implementations (plain loops, same draws in the documented order)
# ---------------------------------------------------------------------------------------------


def _slow_f1(counts_2d: np.ndarray) -> float:
    tp, fp, fn = (int(x) for x in counts_2d.sum(axis=0))
    return float(f1_from_counts(tp, fp, fn))


def _slow_mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _slow_paired_average(a_list, b_list, n_resamples, seed, alpha, resample_seeds=True):
    """Obvious loop: per resample, per language, per drawn seed, sum the drawn sentences."""
    rng = np.random.default_rng(seed)
    sa, sb = a_list[0].shape[0], b_list[0].shape[0]
    if resample_seeds:
        seeds_a = rng.integers(0, sa, size=(n_resamples, sa))
        seeds_b = rng.integers(0, sb, size=(n_resamples, sb))
    else:
        seeds_a = [list(range(sa))] * n_resamples
        seeds_b = [list(range(sb))] * n_resamples
    sentence_idx = [
        [rng.integers(0, a.shape[1], size=a.shape[1]) for _ in range(n_resamples)] for a in a_list
    ]
    n_lang = len(a_list)
    d = []
    for r in range(n_resamples):
        tot_a = tot_b = 0.0
        for lang, (a, b) in enumerate(zip(a_list, b_list)):
            idx = sentence_idx[lang][r]
            tot_a += _slow_mean([_slow_f1(a[j][idx]) for j in seeds_a[r]])
            tot_b += _slow_mean([_slow_f1(b[j][idx]) for j in seeds_b[r]])
        d.append(tot_a / n_lang - tot_b / n_lang)
    d = np.array(d)
    obs_a = sum(_slow_mean([_slow_f1(x) for x in a]) for a in a_list)
    obs_b = sum(_slow_mean([_slow_f1(x) for x in b]) for b in b_list)
    diff = obs_a / n_lang - obs_b / n_lang
    lo, hi = np.quantile(d, [alpha / 2, 1 - alpha / 2])
    mean = np.mean(d)
    extreme = sum(1 for x in d if abs(x - mean) >= abs(diff) - resampling.TIE_TOL)
    return diff, lo, hi, (1 + extreme) / (1 + n_resamples)


def _slow_average(arrays, n_resamples, seed, alpha):
    rng = np.random.default_rng(seed)
    s = arrays[0].shape[0]
    seed_idx = rng.integers(0, s, size=(n_resamples, s))
    sentence_idx = [
        [rng.integers(0, x.shape[1], size=x.shape[1]) for _ in range(n_resamples)] for x in arrays
    ]
    boot = []
    for r in range(n_resamples):
        tot = 0.0
        for lang, x in enumerate(arrays):
            idx = sentence_idx[lang][r]
            tot += _slow_mean([_slow_f1(x[j][idx]) for j in seed_idx[r]])
        boot.append(tot / len(arrays))
    mean = sum(_slow_mean([_slow_f1(seed_counts) for seed_counts in x]) for x in arrays)
    lo, hi = np.quantile(np.array(boot), [alpha / 2, 1 - alpha / 2])
    return mean / len(arrays), lo, hi


def _slow_randomization(a, b, n_resamples, seed):
    rng = np.random.default_rng(seed)
    n = a.shape[1]
    diff = system_f1(a) - system_f1(b)
    extreme = 0
    for _ in range(n_resamples):
        swap = rng.random(n) < 0.5
        a2 = np.where(swap[None, :, None], b, a)
        b2 = np.where(swap[None, :, None], a, b)
        d = _slow_mean([_slow_f1(x) for x in a2]) - _slow_mean([_slow_f1(x) for x in b2])
        extreme += abs(d) >= abs(diff) - resampling.TIE_TOL
    return diff, (1 + extreme) / (1 + n_resamples)


def _assert_same(x: Comparison, y: Comparison) -> None:
    """Field-by-field equality, NaN equal to NaN (approximate randomisation has NaN CIs)."""
    np.testing.assert_equal(dataclasses.astuple(x), dataclasses.astuple(y))


@pytest.fixture
def small_chunks(monkeypatch):
    """Force several chunks, with a partial last one, so chunking is exercised."""
    monkeypatch.setattr(resampling, "_CHUNK_ELEMENTS", 7 * 37)


def test_paired_bootstrap_equals_slow_loop(small_chunks):
    rng = np.random.default_rng(5)
    sys_ = synth_language(rng, 37, {"a": 0.7, "b": 0.6}, {"a": 3, "b": 2}, seed_jitter=0.3)
    got = paired_bootstrap(sys_["a"], sys_["b"], n_resamples=201, seed=11, alpha=0.1)
    diff, lo, hi, p = _slow_paired_average([sys_["a"]], [sys_["b"]], 201, 11, 0.1)
    assert got.diff == diff
    assert got.ci_low == lo
    assert got.ci_high == hi
    assert got.p_value == p
    assert got.n_resamples == 201
    assert got.method == "paired_bootstrap"
    fixed = paired_bootstrap(sys_["a"], sys_["b"], 201, seed=11, alpha=0.1, resample_seeds=False)
    expected = _slow_paired_average([sys_["a"]], [sys_["b"]], 201, 11, 0.1, resample_seeds=False)
    assert (fixed.diff, fixed.ci_low, fixed.ci_high, fixed.p_value) == expected


def test_paired_average_difference_equals_slow_loop(small_chunks):
    rng = np.random.default_rng(6)
    langs = {"xx": 37, "aa": 20, "mm": 9}
    a, b = {}, {}
    for lang, n in langs.items():
        s = synth_language(rng, n, {"a": 0.65, "b": 0.6}, {"a": 2, "b": 3}, seed_jitter=0.3)
        a[lang], b[lang] = s["a"], s["b"]
    got = paired_average_difference(a, b, n_resamples=150, seed=3)
    order = sorted(langs)
    diff, lo, hi, p = _slow_paired_average([a[k] for k in order], [b[k] for k in order], 150, 3, 0.05)
    assert (got.diff, got.ci_low, got.ci_high, got.p_value) == (diff, lo, hi, p)
    # One language: exactly paired_bootstrap.
    one = paired_average_difference({"xx": a["xx"]}, {"xx": b["xx"]}, n_resamples=150, seed=3)
    pb = paired_bootstrap(a["xx"], b["xx"], n_resamples=150, seed=3)
    assert (one.diff, one.ci_low, one.ci_high, one.p_value) == (
        pb.diff,
        pb.ci_low,
        pb.ci_high,
        pb.p_value,
    )


def test_average_with_ci_equals_slow_loop(small_chunks):
    rng = np.random.default_rng(7)
    data = {
        lang: synth_language(rng, n, {"a": 0.6}, {"a": 3}, seed_jitter=0.3)["a"]
        for lang, n in {"de": 30, "fr": 12, "sw": 25}.items()
    }
    got = average_with_ci(data, n_resamples=120, seed=9, alpha=0.1)
    mean, lo, hi = _slow_average([data[k] for k in sorted(data)], 120, 9, 0.1)
    assert (got.mean, got.ci_low, got.ci_high) == (mean, lo, hi)


def test_approximate_randomization_equals_slow_loop(small_chunks):
    rng = np.random.default_rng(8)
    sys_ = synth_language(rng, 37, {"a": 0.7, "b": 0.62}, {"a": 2, "b": 2})
    got = approximate_randomization(sys_["a"], sys_["b"], n_resamples=250, seed=4)
    diff, p = _slow_randomization(sys_["a"], sys_["b"], 250, 4)
    assert got.diff == diff
    assert got.p_value == p
    assert np.isnan(got.ci_low) and np.isnan(got.ci_high)
    assert got.method == "approximate_randomization"


def test_chunk_size_does_not_change_results(monkeypatch):
    rng = np.random.default_rng(9)
    sys_ = synth_language(rng, 50, {"a": 0.7, "b": 0.65}, {"a": 3, "b": 3})
    results = []
    for chunk in (1, 50 * 3, 50 * 64, 1 << 21):
        monkeypatch.setattr(resampling, "_CHUNK_ELEMENTS", chunk)
        results.append(
            (
                paired_bootstrap(sys_["a"], sys_["b"], n_resamples=100, seed=1),
                approximate_randomization(sys_["a"], sys_["b"], n_resamples=100, seed=1),
            )
        )
    for boot, ar in results[1:]:
        assert boot == results[0][0]
        _assert_same(ar, results[0][1])



def test_the_patched_chunk_size_is_the_one_the_loops_read(monkeypatch):
    """``_CHUNK_ELEMENTS`` lives in resampling.py while the loops live in bootstrap.py and
    randomization.py: patching it must change how they draw (else the chunking tests above would
    prove nothing). 7 * 37 elements on 37 sentences: rows of 7, and a partial last chunk."""
    draws = []
    real = np.random.default_rng

    class Recording:
        def __init__(self, seed):
            self.rng = real(seed)

        def integers(self, low, high, size):
            draws.append(("integers", size))
            return self.rng.integers(low, high, size=size)

        def random(self, size):
            draws.append(("random", size))
            return self.rng.random(size)

    monkeypatch.setattr(np.random, "default_rng", Recording)
    monkeypatch.setattr(resampling, "_CHUNK_ELEMENTS", 7 * 37)
    sys_ = synth_language(real(3), 37, {"a": 0.7, "b": 0.6}, {"a": 2, "b": 2})
    paired_bootstrap(sys_["a"], sys_["b"], n_resamples=20, seed=1, resample_seeds=False)
    assert draws == [("integers", (7, 37)), ("integers", (7, 37)), ("integers", (6, 37))]
    draws.clear()
    approximate_randomization(sys_["a"], sys_["b"], n_resamples=20, seed=1)
    assert draws == [("random", (7, 37)), ("random", (7, 37)), ("random", (6, 37))]


# ---------------------------------------------------------------------------------------------
# Behaviour: null calibration, power
# ---------------------------------------------------------------------------------------------


def test_identical_systems_are_never_different():
    rng = np.random.default_rng(10)
    a = synth_language(rng, 80, {"a": 0.6}, {"a": 3})["a"]
    boot = paired_bootstrap(a, a, n_resamples=200, seed=0)
    ar = approximate_randomization(a, a, n_resamples=200, seed=0)
    assert boot.diff == 0.0 and boot.p_value == 1.0
    # The two copies' seeds are drawn independently, so the interval has width, around 0.
    assert boot.ci_low < 0.0 < boot.ci_high
    assert ar.diff == 0.0 and ar.p_value == 1.0
    # Without seed resampling (or with one seed) every resample gives exactly 0.
    for x, kw in [(a, {"resample_seeds": False}), (a[:1], {})]:
        res = paired_bootstrap(x, x, n_resamples=50, seed=0, **kw)
        assert res.ci_low == res.ci_high == 0.0 and res.p_value == 1.0


def _null_p_values(n_seeds: int, **kwargs) -> tuple[dict[str, np.ndarray], list[float]]:
    """p-values of 40 null pairs: A and B from the same generator on fresh sentences each."""
    rng = np.random.default_rng(2024)
    p: dict[str, list[float]] = {"boot": [], "ar": []}
    diffs = []
    for _ in range(40):
        s = synth_language(rng, 150, {"a": 0.6, "b": 0.6}, {"a": n_seeds, "b": n_seeds})
        boot = paired_bootstrap(s["a"], s["b"], n_resamples=300, seed=1, **kwargs)
        p["boot"].append(boot.p_value)
        p["ar"].append(approximate_randomization(s["a"], s["b"], n_resamples=300, seed=1).p_value)
        diffs.append(boot.diff)
    return {k: np.array(v) for k, v in p.items()}, diffs


def test_null_pairs_one_seed_calibrated():
    p, diffs = _null_p_values(1)
    for values in p.values():
        # 20 languages: nothing survives Holm.
        assert count_wins(diffs[:20], holm(values[:20]))[:2] == (0, 0)
        # Spread over (0, 1), not piled up at either end; consistent with uniform.
        assert values.min() < 0.1 and values.max() > 0.9
        assert 0.3 < np.median(values) < 0.7
        assert sps.kstest(values, "uniform").pvalue > 0.05


def test_null_pairs_three_seeds():
    # Here seeds differ only by per-sentence noise, the case where the two-level bootstrap is
    # conservative (see paired_bootstrap's docstring): p-values lean towards 1 but still spread.
    p, diffs = _null_p_values(3)
    for values in p.values():
        assert count_wins(diffs[:20], holm(values[:20]))[:2] == (0, 0)
        assert values.min() < 0.3 and values.max() > 0.9
    assert np.median(p["boot"]) > 0.5
    assert sps.kstest(p["ar"], "uniform").pvalue > 0.01
    # Keeping all seeds in every resample is calibrated in this setting.
    fixed, diffs = _null_p_values(3, resample_seeds=False)
    assert count_wins(diffs[:20], holm(fixed["boot"][:20]))[:2] == (0, 0)
    assert sps.kstest(fixed["boot"], "uniform").pvalue > 0.01


def test_clearly_better_system_is_significant():
    rng = np.random.default_rng(11)
    s = synth_language(rng, 300, {"a": 0.8, "b": 0.6}, {"a": 3, "b": 3})
    boot = paired_bootstrap(s["a"], s["b"], n_resamples=500, seed=0)
    ar = approximate_randomization(s["a"], s["b"], n_resamples=500, seed=0)
    assert boot.diff > 0.05
    assert boot.p_value == 1 / 501 and ar.p_value == 1 / 501
    assert 0 < boot.ci_low <= boot.diff <= boot.ci_high
    # Reversed roles: same p-value, negated difference and interval.
    rev = paired_bootstrap(s["b"], s["a"], n_resamples=500, seed=0)
    assert rev.diff == pytest.approx(-boot.diff)
    assert rev.p_value == boot.p_value
    assert rev.ci_high < 0


def test_different_seed_counts():
    rng = np.random.default_rng(12)
    s = synth_language(rng, 60, {"a": 0.7, "b": 0.6}, {"a": 1, "b": 5})
    res = paired_bootstrap(s["a"], s["b"], n_resamples=100, seed=0)
    assert res.diff == pytest.approx(system_f1(s["a"]) - system_f1(s["b"]))
    with pytest.raises(ValueError, match="same\\s+number of seeds"):
        approximate_randomization(s["a"], s["b"], n_resamples=10)


def test_input_validation():
    a = np.ones((2, 10, 3), dtype=int)
    with pytest.raises(ValueError, match="same sentences"):
        paired_bootstrap(a, np.ones((2, 9, 3), dtype=int), n_resamples=10)
    with pytest.raises(ValueError, match="shape"):
        paired_bootstrap(np.ones((2, 10, 4)), a, n_resamples=10)
    with pytest.raises(ValueError, match="non-negative"):
        system_f1(-a)
    with pytest.raises(ValueError, match="n_resamples"):
        paired_bootstrap(a, a, n_resamples=0)
    with pytest.raises(ValueError, match="same seeds"):
        average_with_ci({"x": a, "y": a[:1]}, n_resamples=10)
    with pytest.raises(ValueError, match="same languages"):
        paired_average_difference({"x": a}, {"y": a}, n_resamples=10)
    # A 2-d array is one seed.
    assert system_f1(a[0]) == system_f1(a[:1])


def test_seeds_reproducible_and_distinct():
    rng = np.random.default_rng(13)
    s = synth_language(rng, 60, {"a": 0.7, "b": 0.65}, {"a": 3, "b": 3})
    data = {"x": s["a"], "y": s["b"]}
    assert paired_bootstrap(s["a"], s["b"], 200, seed=5) == paired_bootstrap(s["a"], s["b"], 200, 5)
    _assert_same(
        approximate_randomization(s["a"], s["b"], 200, 5),
        approximate_randomization(s["a"], s["b"], 200, 5),
    )
    assert average_with_ci(data, 200, seed=5) == average_with_ci(data, 200, seed=5)
    x, y = paired_bootstrap(s["a"], s["b"], 200, seed=5), paired_bootstrap(s["a"], s["b"], 200, 6)
    assert x.diff == y.diff
    assert (x.ci_low, x.ci_high) != (y.ci_low, y.ci_high)
    e5, e6 = average_with_ci(data, 200, seed=5), average_with_ci(data, 200, seed=6)
    assert e5.mean == e6.mean and (e5.ci_low, e5.ci_high) != (e6.ci_low, e6.ci_high)
    assert almost_stochastic_order([0.6, 0.62, 0.61], [0.59, 0.61, 0.6], seed=5) == (
        almost_stochastic_order([0.6, 0.62, 0.61], [0.59, 0.61, 0.6], seed=5)
    )
    assert almost_stochastic_order([0.6, 0.62, 0.61], [0.59, 0.61, 0.6], seed=5) != (
        almost_stochastic_order([0.6, 0.62, 0.61], [0.59, 0.61, 0.6], seed=6)
    )


# ---------------------------------------------------------------------------------------------
# Many languages
# ---------------------------------------------------------------------------------------------


def test_holm_hand_worked():
    # m = 4, p = [0.01, 0.04, 0.03, 0.005]. Sorted: 0.005 (#3), 0.01 (#0), 0.03 (#2), 0.04 (#1).
    # Multipliers m - k + 1 = 4, 3, 2, 1: 0.02, 0.03, 0.06, 0.04.
    # Running maximum (monotone): 0.02, 0.03, 0.06, 0.06.
    # Back in input order: #0 -> 0.03, #1 -> 0.06, #2 -> 0.06, #3 -> 0.02.
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])
    # Cap at 1: p = [0.5, 0.6] -> 2 * 0.5 = 1.0, then max(1.0, 1 * 0.6) = 1.0.
    np.testing.assert_allclose(holm([0.6, 0.5]), [1.0, 1.0])
    # Ties keep equal adjusted values; one p-value is unchanged; empty stays empty.
    np.testing.assert_allclose(holm([0.02, 0.02, 0.5]), [0.06, 0.06, 0.5])
    np.testing.assert_allclose(holm([0.3]), [0.3])
    assert holm([]).shape == (0,)
    with pytest.raises(ValueError):
        holm([0.1, np.nan])


def test_count_wins():
    diffs = [0.1, -0.2, 0.05, 0.3]
    adjusted = [0.01, 0.02, 0.2, 0.05]
    assert count_wins(diffs, adjusted) == (2, 1, 4)  # p <= alpha counts
    comps = [Comparison(d, np.nan, np.nan, p, 10, "x") for d, p in zip(diffs, adjusted)]
    assert count_wins(comps, adjusted, alpha=0.01) == (1, 0, 4)
    with pytest.raises(ValueError):
        count_wins(diffs, adjusted[:3])


def test_average_with_ci_contains_point_estimate():
    rng = np.random.default_rng(14)
    data = {
        lang: synth_language(rng, n, {"a": p}, {"a": 3})["a"]
        for lang, n, p in [("de", 200, 0.8), ("sw", 80, 0.4), ("yo", 40, 0.3), ("fi", 150, 0.7)]
    }
    est = average_with_ci(data, n_resamples=400, seed=0)
    expected = np.mean([system_f1(x) for x in data.values()])
    assert est.mean == pytest.approx(expected)
    assert est.ci_low < est.mean < est.ci_high
    assert est.ci_high - est.ci_low < 0.2


def test_paired_average_difference_behaviour():
    rng = np.random.default_rng(15)
    a, b, c = {}, {}, {}
    for lang in ["de", "fr", "sw", "yo"]:
        s = synth_language(rng, 120, {"a": 0.75, "b": 0.6, "c": 0.6}, {"a": 3, "b": 2, "c": 3})
        a[lang], b[lang], c[lang] = s["a"], s["b"], s["c"]
    res = paired_average_difference(a, b, n_resamples=300, seed=0)
    per_lang = np.mean([system_f1(a[k]) - system_f1(b[k]) for k in a])
    assert res.diff == pytest.approx(per_lang)
    assert res.ci_low <= res.diff <= res.ci_high
    assert res.ci_low > 0 and res.p_value == 1 / 301
    same = paired_average_difference(a, a, n_resamples=100, seed=0)
    assert same.diff == 0.0 and same.p_value == 1.0


def test_wilcoxon_languages():
    # All 10 differences positive: exact two-sided p = 2 / 2**10.
    assert wilcoxon_languages(np.arange(1, 11) / 100) == pytest.approx(2 / 1024)
    assert wilcoxon_languages(-np.arange(1, 11) / 100) == pytest.approx(2 / 1024)
    assert wilcoxon_languages(np.zeros(7)) == 1.0
    assert wilcoxon_languages([0.01, -0.01, 0.02, -0.02, 0.03, -0.03]) > 0.5
    with pytest.raises(ValueError):
        wilcoxon_languages([])


# ---------------------------------------------------------------------------------------------
# Almost stochastic order
# ---------------------------------------------------------------------------------------------

ASO_CASES = {
    "better": ([0.81, 0.80, 0.82, 0.79, 0.815], [0.70, 0.71, 0.69, 0.72, 0.705]),
    "overlap": ([0.80, 0.78, 0.82, 0.79, 0.81], [0.79, 0.77, 0.80, 0.78, 0.81]),
    "three": ([0.60, 0.62, 0.61], [0.59, 0.61, 0.60]),
    "unequal": ([0.55, 0.61, 0.58, 0.60], [0.57, 0.54, 0.59, 0.56, 0.53, 0.58]),
}
# Printed by deepsig 1.2.8: aso(a, b, seed=1, show_progress=False) and aso(b, a, ...), with the
# default confidence_level=0.95, num_bootstrap_iterations=1000, dt=0.005.
DEEPSIG_1_2_8 = {
    "better": (0.0, 0.9962875131762539),
    "overlap": (0.46088952356368895, 1.0),
    "three": (0.38902845292209576, 1.0),
    "unequal": (0.3362834043849553, 1.0),
}


def _deepsig_uniforms(seed: int, n_a: int, n_b: int, iterations: int = 1000):
    """deepsig's draws: iteration i reseeds NumPy's legacy generator with seed + i (i >= 1)."""
    u_a, u_b = [], []
    for i in range(1, iterations + 1):
        legacy = np.random.RandomState(seed + i)
        u_a.append(legacy.uniform(0, 1, n_a))
        u_b.append(legacy.uniform(0, 1, n_b))
    return np.array(u_a), np.array(u_b)


@pytest.mark.parametrize("case", sorted(ASO_CASES))
def test_aso_reproduces_deepsig_given_its_random_numbers(case):
    a, b = ASO_CASES[case]
    for (x, y), expected in zip([(a, b), (b, a)], DEEPSIG_1_2_8[case]):
        u_x, u_y = _deepsig_uniforms(1, len(x), len(y))
        got = aso._aso_from_uniforms(np.array(x), np.array(y), u_x, u_y, 0.95, 0.005)
        assert got == pytest.approx(expected, abs=1e-9)


def test_aso_public_function():
    a, b = ASO_CASES["better"]
    assert almost_stochastic_order(a, b) < ASO_THRESHOLD
    assert almost_stochastic_order(b, a) > 0.9
    # With its own random numbers, close to deepsig up to bootstrap noise.
    for case in ("overlap", "three", "unequal"):
        a, b = ASO_CASES[case]
        assert almost_stochastic_order(a, b, seed=0) == pytest.approx(
            DEEPSIG_1_2_8[case][0], abs=0.06
        )
    # Identical samples: violation ratio 0.5, and the bootstrap spread makes the upper bound
    # larger still (deepsig 1.2.8 gives 1.0): no dominance either way.
    same = [0.5, 0.52, 0.51, 0.53]
    assert almost_stochastic_order(same, same) >= 0.5
    with pytest.raises(ValueError):
        almost_stochastic_order([], [0.5])


def test_one_resampling_for_a_report_equals_the_single_tests():
    """resample_languages draws as paired_bootstrap / paired_average_difference do."""
    from benchmark.stats.bootstrap import paired_average_difference, paired_bootstrap
    from benchmark.stats.language_resamples import resample_languages

    rng = np.random.default_rng(7)
    a = {lang: rng.integers(0, 3, size=(3, n, 3)) for lang, n in (("de", 40), ("fr", 25))}
    b = {lang: rng.integers(0, 3, size=(2, c.shape[1], 3)) for lang, c in a.items()}
    sample = resample_languages({"a": {"de": a["de"]}, "b": {"de": b["de"]}}, n_resamples=300, seed=5)
    assert sample.compare("a", "b") == paired_bootstrap(a["de"], b["de"], n_resamples=300, seed=5)
    both = resample_languages({"a": a, "b": b}, n_resamples=300, seed=5)
    expected = paired_average_difference(a, b, n_resamples=300, seed=5)
    got = both.compare("a", "b")
    assert (got.diff, got.ci_low, got.ci_high, got.p_value) == pytest.approx(
        (expected.diff, expected.ci_low, expected.ci_high, expected.p_value), abs=1e-12)
