"""Significance tests and confidence intervals for span-F1 comparisons.

Why this module exists: a cross-lingual NER benchmark compares two systems on dozens of
languages, each system trained with a few random seeds. A difference of one F1 point on one
language may be noise from the test sentences (which sentences happened to be in the test set)
or from training (which seed). The functions here put a number on both sources of noise.

Data representation
-------------------
A system's output on one language is an integer array ``counts`` of shape
``(n_seeds, n_sentences, 3)`` holding, per training seed and test sentence, the number of true
positive, false positive and false negative entity spans (TP, FP, FN). Row ``j`` of the seed axis
is one trained model; when several languages are given together, row ``j`` must be the *same*
model in every language. A 2-d array ``(n_sentences, 3)`` is read as one seed.

F1 is corpus-level span F1 computed from counts *summed* over sentences (as seqeval does), never
an average of per-sentence F1, and is a fraction in [0, 1]. This is why everything works on
counts: F1 is not additive over sentences, so every resample re-sums the counts and recomputes F1.

Randomness
----------
Every random function takes ``seed: int`` and draws from ``np.random.default_rng(seed)`` in the
order documented in its docstring, so that results are reproducible and a slow reference
implementation (see ``tests/test_stats.py``) can reproduce the draws exactly. Resamples are
processed in chunks of rows for speed and memory; NumPy fills integer and float arrays from the
stream in row-major order, so the chunk size does not change the draws.

Functions
---------
- :func:`f1_from_counts`, :func:`prf_from_counts`, :func:`system_f1`: point estimates.
- :func:`paired_bootstrap`: two-level (sentences x seeds) paired bootstrap, CI and p-value.
- :func:`approximate_randomization`: paired approximate randomisation p-value.
- :func:`holm`, :func:`count_wins`: correction for testing many languages.
- :func:`average_with_ci`, :func:`paired_average_difference`: averages over a language set.
- :func:`wilcoxon_languages`: signed-rank test across languages.
- :func:`almost_stochastic_order`: ASO over per-seed scores (Dror et al. 2019).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats as _sps

__all__ = [
    "ASO_THRESHOLD",
    "Comparison",
    "Estimate",
    "almost_stochastic_order",
    "approximate_randomization",
    "average_with_ci",
    "count_wins",
    "f1_from_counts",
    "holm",
    "paired_average_difference",
    "paired_bootstrap",
    "prf_from_counts",
    "system_f1",
    "wilcoxon_languages",
    "LanguageResamples",
    "resample_languages",
]

#: eps_min below which system A is declared almost stochastically dominant over B. Dror et al.
#: (2019) use 0.5 as the boundary of the test; Ulmer et al. (2022, the ``deepsig`` package)
#: recommend the stricter 0.2 because eps_min is an upper bound estimated from few seeds.
ASO_THRESHOLD = 0.2

# Resampled rows are processed in chunks holding about this many sentence weights (float32),
# i.e. ~8 MiB per chunk. Tests monkeypatch it to check that chunking does not change results.
_CHUNK_ELEMENTS = 1 << 21

# Float32 sums of non-negative integers are exact while every partial sum stays below 2**24.
_FLOAT32_EXACT = float(1 << 24)

# Comparisons of a resampled statistic with the observed one count values within this absolute
# tolerance as ties (i.e. as extreme), which keeps p-values conservative when a resample is
# mathematically equal to the observation but differs in the last bit.
_TIE_TOL = 1e-12


@dataclass(frozen=True)
class Comparison:
    """Result of comparing system A with system B (A minus B).

    ``diff``: observed difference of mean-over-seeds F1 (or of its average over languages).
    ``ci_low``, ``ci_high``: percentile confidence interval of the difference at level 1-alpha;
    NaN for approximate randomisation, which tests but does not estimate.
    ``p_value``: two-sided p-value of "no difference". ``n_resamples``: resamples drawn.
    ``method``: which procedure produced it.
    """

    diff: float
    ci_low: float
    ci_high: float
    p_value: float
    n_resamples: int
    method: str


@dataclass(frozen=True)
class Estimate:
    """A point estimate with a percentile bootstrap confidence interval."""

    mean: float
    ci_low: float
    ci_high: float


# --------------------------------------------------------------------------------------------
# Point estimates
# --------------------------------------------------------------------------------------------


def prf_from_counts(
    tp: ArrayLike, fp: ArrayLike, fn: ArrayLike
) -> tuple[NDArray[np.float64] | float, NDArray[np.float64] | float, NDArray[np.float64] | float]:
    """Precision, recall and F1 from summed span counts, with seqeval's conventions.

    ``p = tp / (tp + fp)``, ``r = tp / (tp + fn)``, ``f = 2 p r / (p + r)``, each 0 where its
    denominator is 0 (seqeval's default ``zero_division``). Inputs broadcast; scalar inputs give
    Python floats. The counts must already be summed over the sentences of the corpus: span F1 is
    a corpus-level statistic.
    """
    tp_, fp_, fn_ = np.broadcast_arrays(
        np.asarray(tp, dtype=np.float64),
        np.asarray(fp, dtype=np.float64),
        np.asarray(fn, dtype=np.float64),
    )
    pred = tp_ + fp_
    gold = tp_ + fn_
    p = np.divide(tp_, pred, out=np.zeros(tp_.shape), where=pred != 0)
    r = np.divide(tp_, gold, out=np.zeros(tp_.shape), where=gold != 0)
    denom = p + r
    # Same operation order as seqeval: (1 + beta**2) * p * r / (beta**2 * p + r) with beta = 1.
    f = np.divide(2.0 * p * r, denom, out=np.zeros(tp_.shape), where=denom != 0)
    if f.ndim == 0:
        return float(p), float(r), float(f)
    return p, r, f


def f1_from_counts(tp: ArrayLike, fp: ArrayLike, fn: ArrayLike) -> NDArray[np.float64] | float:
    """Corpus-level span F1 from summed TP/FP/FN counts (see :func:`prf_from_counts`).

    0 when ``tp + fp + fn == 0`` or when precision + recall is 0, as in seqeval.
    """
    return prf_from_counts(tp, fp, fn)[2]


def _as_counts(counts: ArrayLike, name: str = "counts") -> NDArray[np.int64]:
    """Validate and return counts as int64 of shape (n_seeds, n_sentences, 3)."""
    arr = np.asarray(counts)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[-1] != 3:
        raise ValueError(
            f"{name} must have shape (n_seeds, n_sentences, 3) holding TP, FP, FN per sentence; "
            f"got shape {arr.shape}"
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} needs at least one seed and one sentence; got shape {arr.shape}")
    if not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_):
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise ValueError(f"{name} must hold whole numbers of entity spans")
    out = arr.astype(np.int64)
    if out.min() < 0:
        raise ValueError(f"{name} must be non-negative")
    return out


def _seed_f1(counts: NDArray[np.int64]) -> NDArray[np.float64]:
    """Corpus F1 of each seed: shape (n_seeds,)."""
    sums = counts.sum(axis=1)
    return np.asarray(f1_from_counts(sums[:, 0], sums[:, 1], sums[:, 2]))


def _seed_mean(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """Mean over the last axis, summed left to right (so a plain loop can reproduce it bitwise)."""
    acc = values[..., 0].copy()
    for k in range(1, values.shape[-1]):
        acc += values[..., k]
    return acc / values.shape[-1]


def system_f1(counts: ArrayLike) -> float:
    """Mean over seeds of each seed's corpus-level F1.

    The mean of per-seed F1 (not F1 of counts pooled over seeds) is what a paper reports as
    "F1 averaged over N runs", and what the bootstrap functions here resample.
    """
    return float(_seed_mean(_seed_f1(_as_counts(counts))))


# --------------------------------------------------------------------------------------------
# Bootstrap machinery
# --------------------------------------------------------------------------------------------


def _check_common(n_resamples: int, alpha: float | None = None) -> None:
    if int(n_resamples) != n_resamples or n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive integer; got {n_resamples!r}")
    if alpha is not None and not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1); got {alpha!r}")


def _chunk_rows(n_sentences: int, n_resamples: int) -> int:
    return int(max(1, min(n_resamples, _CHUNK_ELEMENTS // max(1, n_sentences))))


def _resampled_seed_f1(
    systems: Sequence[NDArray[np.int64]], n_resamples: int, rng: np.random.Generator
) -> list[NDArray[np.float64]]:
    """Per-seed corpus F1 of each system on ``n_resamples`` paired resamples of the sentences.

    All systems share the sentences. For resample ``r`` the sentence indices are
    ``rng.integers(0, n, size=n)`` (drawn for all resamples in row-major order, in chunks of
    rows), identical for every system. Returns one array of shape (n_resamples, n_seeds) per
    system.

    Speed: the counts of the drawn sentences are summed as ``W @ C`` where ``W[r, i]`` is how
    often sentence ``i`` was drawn in resample ``r`` (a bincount per row) and ``C`` is the
    (n_sentences, total_seeds * 3) count matrix, in float32 when that is exact.
    """
    n = systems[0].shape[1]
    seeds = [s.shape[0] for s in systems]
    cmat = np.concatenate([s.transpose(1, 0, 2).reshape(n, -1) for s in systems], axis=1)
    exact32 = float(cmat.max(initial=0)) * n < _FLOAT32_EXACT
    ftype = np.float32 if exact32 else np.float64
    cmat_f = cmat.astype(ftype)
    out = [np.empty((n_resamples, k)) for k in seeds]
    step = _chunk_rows(n, n_resamples)
    weights = np.empty((step, n), dtype=ftype)
    for start in range(0, n_resamples, step):
        rows = min(step, n_resamples - start)
        idx = rng.integers(0, n, size=(rows, n))
        w = weights[:rows]
        for i in range(rows):
            # One bincount per row keeps the histogram in cache; measured faster than a single
            # bincount over offset indices of the whole chunk.
            w[i] = np.bincount(idx[i], minlength=n)
        sums = (w @ cmat_f).astype(np.float64)
        col = 0
        for out_s, k in zip(out, seeds):
            block = sums[:, col : col + 3 * k].reshape(rows, k, 3)
            out_s[start : start + rows] = f1_from_counts(block[..., 0], block[..., 1], block[..., 2])
            col += 3 * k
    return out


def _draw_seeds(
    rng: np.random.Generator, n_seeds: int, n_resamples: int, resample_seeds: bool
) -> NDArray[np.int64]:
    """Seed indices of each resample, shape (n_resamples, n_seeds): drawn with replacement, or
    all seeds in order (no draws) when seeds are not resampled."""
    if resample_seeds:
        return rng.integers(0, n_seeds, size=(n_resamples, n_seeds))
    return np.broadcast_to(np.arange(n_seeds), (n_resamples, n_seeds))


def _percentile_ci(values: NDArray[np.float64], alpha: float) -> tuple[float, float]:
    lo, hi = np.quantile(values, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(lo), float(hi)


def _shift_p_value(boot: NDArray[np.float64], observed: float) -> float:
    """Two-sided bootstrap p-value by the shift method (see :func:`paired_bootstrap`)."""
    centred = np.abs(boot - boot.mean())
    extreme = int(np.count_nonzero(centred >= abs(observed) - _TIE_TOL))
    return (1.0 + extreme) / (1.0 + boot.size)


def _language_arrays(
    per_language_counts: Mapping[str, ArrayLike], name: str
) -> tuple[list[str], list[NDArray[np.int64]]]:
    if len(per_language_counts) == 0:
        raise ValueError(f"{name} must hold at least one language")
    langs = sorted(per_language_counts)
    arrays = [_as_counts(per_language_counts[lang], f"{name}[{lang!r}]") for lang in langs]
    n_seeds = {a.shape[0] for a in arrays}
    if len(n_seeds) != 1:
        detail = ", ".join(f"{lang}: {a.shape[0]}" for lang, a in zip(langs, arrays))
        raise ValueError(
            f"{name}: every language needs the same seeds (row j = the same trained model in "
            f"every language); seed counts differ ({detail})"
        )
    return langs, arrays


def _paired_average_core(
    a_arrays: Sequence[NDArray[np.int64]],
    b_arrays: Sequence[NDArray[np.int64]],
    n_resamples: int,
    seed: int,
    alpha: float,
    method: str,
    resample_seeds: bool,
) -> Comparison:
    """Shared implementation of :func:`paired_bootstrap` and :func:`paired_average_difference`."""
    sa, sb = a_arrays[0].shape[0], b_arrays[0].shape[0]
    rng = np.random.default_rng(seed)
    seeds_a = _draw_seeds(rng, sa, n_resamples, resample_seeds)
    seeds_b = _draw_seeds(rng, sb, n_resamples, resample_seeds)
    total_a = np.zeros(n_resamples)
    total_b = np.zeros(n_resamples)
    observed_a = 0.0
    observed_b = 0.0
    for a, b in zip(a_arrays, b_arrays):
        f_a, f_b = _resampled_seed_f1([a, b], n_resamples, rng)
        total_a += _seed_mean(np.take_along_axis(f_a, seeds_a, axis=1))
        total_b += _seed_mean(np.take_along_axis(f_b, seeds_b, axis=1))
        observed_a += float(_seed_mean(_seed_f1(a)))
        observed_b += float(_seed_mean(_seed_f1(b)))
    n_lang = len(a_arrays)
    boot = total_a / n_lang - total_b / n_lang
    diff = observed_a / n_lang - observed_b / n_lang
    lo, hi = _percentile_ci(boot, alpha)
    return Comparison(
        diff=float(diff),
        ci_low=lo,
        ci_high=hi,
        p_value=_shift_p_value(boot, diff),
        n_resamples=int(n_resamples),
        method=method,
    )


# --------------------------------------------------------------------------------------------
# Tests on one language
# --------------------------------------------------------------------------------------------


def paired_bootstrap(
    a: ArrayLike,
    b: ArrayLike,
    n_resamples: int = 10_000,
    seed: int = 0,
    alpha: float = 0.05,
    *,
    resample_seeds: bool = True,
) -> Comparison:
    """Two-level paired bootstrap of the F1 difference between systems A and B on one language.

    Why paired: both systems are scored on the same sentences, and sentence difficulty is shared,
    so resampling the *same* sentence indices for both removes that common variance (Koehn 2004;
    Berg-Kirkpatrick et al. 2012). Why two-level: with several training seeds the comparison
    should also reflect training noise (cf. Clark et al. 2011), so each resample also draws, for
    each system independently, as many seeds as it has, with replacement.

    Resample ``r``: draw ``n_sentences`` sentence indices with replacement (same for A and B);
    draw ``n_seeds_a`` seed indices of A and ``n_seeds_b`` of B with replacement; a system's
    score is the mean over its drawn seeds of the corpus F1 of that seed on the drawn sentences;
    ``d_r = score_A - score_B``.

    Draw order from ``np.random.default_rng(seed)``: ``rng.integers(0, n_seeds_a,
    size=(n_resamples, n_seeds_a))``, then ``rng.integers(0, n_seeds_b, size=(n_resamples,
    n_seeds_b))``, then the sentence indices, ``rng.integers(0, n_sentences, size=n_sentences)``
    for resample 0, 1, ... (drawn in chunks of rows, which gives the same numbers). With
    ``resample_seeds=False`` the two seed draws are skipped.

    ``diff`` is the observed difference of mean-over-seeds F1. The CI is the percentile interval
    ``[q(alpha/2), q(1-alpha/2)]`` of ``d`` (``np.quantile``, linear interpolation).

    The p-value is two-sided by the *shift* method: the null distribution is the bootstrap
    distribution translated to mean zero, ``p = (1 + #{r: |d_r - mean(d)| >= |diff|}) / (1 + R)``
    (Efron & Tibshirani 1993, "An Introduction to the Bootstrap", sec. 16.4; Berg-Kirkpatrick,
    Burkett & Klein 2012, "An Empirical Investigation of Statistical Significance in NLP", whose
    test counts resamples with ``d_r > 2 diff``, i.e. shifts by the observed ``diff``; shifting by
    the bootstrap mean differs only by the bootstrap's bias). Koehn (2004, "Statistical
    Significance Tests for Machine Translation Evaluation") instead reads off how often A wins,
    which is not a p-value under a null; that is why it is not used. The ``+1`` terms make the
    p-value valid and never 0 (it is at least ``1 / (1 + R)``).

    Calibration (measured in the tests' simulation, where seeds differ only by per-sentence
    noise): with one seed per system the p-values are close to uniform under the null; with
    three seeds the two-level bootstrap is *conservative*: its variance was about 3x the true
    variance of the difference, so null p-values pile up towards 1 and real differences are
    found less often. This is the known upward bias of resampling both factors of a crossed
    design (seeds x sentences share the seed-by-sentence noise; McCullagh 2000, "Resampling and
    exchangeable arrays"; Owen 2007, "The pigeonhole bootstrap"). It is the safe side: when seeds
    do differ as whole models (common in zero-shot cross-lingual transfer) resampling sentences
    only would be anti-conservative. ``resample_seeds=False`` keeps all seeds in every resample
    (sentence-level bootstrap of the mean-over-seeds F1; no seed draws are made); use it only
    when seed-to-seed variation is known to be small.

    ``a`` and ``b`` must have the same number of sentences; seed counts may differ. Cost: about
    ``n_resamples * n_sentences`` random integers, one bincount per resample and a float32
    matrix product: about 0.7-1 s for 3 + 3 seeds x 10,000 sentences x 10,000 resamples on
    one core of the development machine (more when OpenBLAS threads compete for busy cores).
    """
    _check_common(n_resamples, alpha)
    a_ = _as_counts(a, "a")
    b_ = _as_counts(b, "b")
    if a_.shape[1] != b_.shape[1]:
        raise ValueError(
            f"a and b must be scored on the same sentences; got {a_.shape[1]} and "
            f"{b_.shape[1]} sentences"
        )
    return _paired_average_core(
        [a_], [b_], int(n_resamples), seed, alpha, "paired_bootstrap", resample_seeds
    )


def approximate_randomization(
    a: ArrayLike,
    b: ArrayLike,
    n_resamples: int = 10_000,
    seed: int = 0,
) -> Comparison:
    """Paired approximate randomisation test of the F1 difference on one language.

    Why: it needs no assumption about the sampling distribution and is the usual
    test for F-score differences (Noreen 1989; Yeh 2000, "More accurate tests for the
    statistical significance of result differences"; Riezler & Maxwell 2005). Under the null
    hypothesis that the two systems are exchangeable, the label "A" or "B" on each sentence's
    output is arbitrary, so swapping them sentence by sentence gives the null distribution.

    Resample ``r``: each sentence's outputs are swapped between A and B with probability 1/2;
    with several seeds the *whole per-sentence seed stack* is swapped (seed j of A's output on
    that sentence moves to seed j of the pseudo-system B and vice versa), so each pseudo-seed is
    still a complete set of per-sentence counts from which corpus F1 is computed. Swapping
    seed-averaged counts would not be valid, because F1 is not linear in the counts, hence A and
    B must have the same number of seeds (ValueError otherwise; use :func:`paired_bootstrap`).
    ``d_r`` = mean-over-seeds F1 of pseudo-A minus that of pseudo-B.

    Draw order: ``rng.random(n_sentences) < 0.5`` (True = swap) for resample 0, 1, ... from
    ``np.random.default_rng(seed)``, drawn in chunks of rows (same numbers).

    ``p = (1 + #{r: |d_r| >= |diff|}) / (1 + R)``, two-sided. ``ci_low`` and ``ci_high`` are NaN:
    the randomisation distribution is centred on zero by construction and says nothing about the
    size of the difference; use :func:`paired_bootstrap` for an interval.
    """
    _check_common(n_resamples)
    a_ = _as_counts(a, "a")
    b_ = _as_counts(b, "b")
    if a_.shape[1] != b_.shape[1]:
        raise ValueError(
            f"a and b must be scored on the same sentences; got {a_.shape[1]} and "
            f"{b_.shape[1]} sentences"
        )
    if a_.shape[0] != b_.shape[0]:
        raise ValueError(
            f"approximate_randomization swaps whole per-sentence seed stacks and needs the same "
            f"number of seeds for both systems; got {a_.shape[0]} and {b_.shape[0]}. Swapping "
            f"seed-averaged counts is not valid for F1; use paired_bootstrap instead"
        )
    n_resamples = int(n_resamples)
    n_seeds, n = a_.shape[0], a_.shape[1]
    flat_a = a_.transpose(1, 0, 2).reshape(n, -1)
    flat_b = b_.transpose(1, 0, 2).reshape(n, -1)
    delta = flat_b - flat_a
    tot_a = flat_a.sum(axis=0).astype(np.float64)
    tot_b = flat_b.sum(axis=0).astype(np.float64)
    exact32 = float(np.abs(delta).max(initial=0)) * n < _FLOAT32_EXACT
    ftype = np.float32 if exact32 else np.float64
    delta_f = delta.astype(ftype)
    diff = system_f1(a_) - system_f1(b_)
    rng = np.random.default_rng(seed)
    d = np.empty(n_resamples)
    step = _chunk_rows(n, n_resamples)
    for start in range(0, n_resamples, step):
        rows = min(step, n_resamples - start)
        swap = (rng.random((rows, n)) < 0.5).astype(ftype)
        moved = (swap @ delta_f).astype(np.float64)
        pa = (tot_a + moved).reshape(rows, n_seeds, 3)
        pb = (tot_b - moved).reshape(rows, n_seeds, 3)
        fa = np.asarray(f1_from_counts(pa[..., 0], pa[..., 1], pa[..., 2]))
        fb = np.asarray(f1_from_counts(pb[..., 0], pb[..., 1], pb[..., 2]))
        d[start : start + rows] = _seed_mean(fa) - _seed_mean(fb)
    extreme = int(np.count_nonzero(np.abs(d) >= abs(diff) - _TIE_TOL))
    return Comparison(
        diff=float(diff),
        ci_low=float("nan"),
        ci_high=float("nan"),
        p_value=(1.0 + extreme) / (1.0 + n_resamples),
        n_resamples=n_resamples,
        method="approximate_randomization",
    )


# --------------------------------------------------------------------------------------------
# Many languages
# --------------------------------------------------------------------------------------------


def holm(p_values: ArrayLike) -> NDArray[np.float64]:
    """Holm-Bonferroni adjusted p-values, in the order given.

    Why: testing A against B on L languages at level alpha each would find about alpha * L
    spurious wins; Holm (1979) controls the family-wise error rate at alpha without assuming
    independence and is uniformly more powerful than Bonferroni. With the p-values sorted
    ascending, ``adj_(i) = max_{k <= i} min(1, (m - k + 1) p_(k))`` (1-based), so adjusted values
    are monotone in the raw ones and capped at 1. Reject where ``adj <= alpha``.
    """
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1:
        raise ValueError(f"p_values must be one-dimensional; got shape {p.shape}")
    if p.size == 0:
        return p.copy()
    if np.any(np.isnan(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError("p_values must lie in [0, 1] and not be NaN")
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.maximum.accumulate(scaled)
    return out


def count_wins(
    comparisons_or_diffs: Sequence[Comparison] | Sequence[float] | ArrayLike,
    adjusted_p: ArrayLike,
    alpha: float = 0.05,
) -> tuple[int, int, int]:
    """Count significant wins: "A beats B on K of L languages" at the corrected level.

    ``comparisons_or_diffs``: one :class:`Comparison` or one difference (A minus B) per language;
    ``adjusted_p``: the per-language p-values after correction (e.g. :func:`holm`). A language is
    a win for A when its adjusted p-value is ``<= alpha`` and the difference is positive, a win
    for B when it is negative. Returns ``(wins_a, wins_b, n_languages)``.
    """
    items = list(comparisons_or_diffs)  # type: ignore[arg-type]
    diffs = np.array([c.diff if isinstance(c, Comparison) else float(c) for c in items])
    p = np.asarray(adjusted_p, dtype=np.float64).reshape(-1)
    if p.size != diffs.size:
        raise ValueError(f"got {diffs.size} comparisons but {p.size} p-values")
    significant = p <= alpha
    wins_a = int(np.count_nonzero(significant & (diffs > 0)))
    wins_b = int(np.count_nonzero(significant & (diffs < 0)))
    return wins_a, wins_b, int(diffs.size)


def average_with_ci(
    per_language_counts: Mapping[str, ArrayLike],
    n_resamples: int = 10_000,
    seed: int = 0,
    alpha: float = 0.05,
    *,
    resample_seeds: bool = True,
) -> Estimate:
    """A system's F1 averaged over a language set, with a bootstrap confidence interval.

    ``mean`` = mean over languages of the per-language mean-over-seeds F1 (each language weighs
    the same, whatever its test size: the benchmark asks about languages, not sentences).

    The CI resamples what is random in that number: the test sentences, *within* each language
    independently (stratified: each language keeps its size), and the training seeds. A seed is
    one trained model evaluated on every language, so each resample draws ONE multiset of seed
    indices (``n_seeds`` with replacement) and uses it for every language; drawing seeds per
    language would treat one model's errors as independent across languages and make the
    interval too narrow. Percentile interval at level 1-alpha. ``resample_seeds=False`` keeps
    every seed in every resample (see :func:`paired_bootstrap` on when that is appropriate).

    All languages must have the same number of seeds, row j being the same model everywhere.
    Languages are processed in sorted key order. Draw order from ``np.random.default_rng(seed)``:
    ``rng.integers(0, n_seeds, size=(n_resamples, n_seeds))``; then, for each language in
    sorted order, ``rng.integers(0, n_sentences, size=n_sentences)`` for resample 0, 1, ....
    """
    _check_common(n_resamples, alpha)
    _, arrays = _language_arrays(per_language_counts, "per_language_counts")
    n_resamples = int(n_resamples)
    n_seeds = arrays[0].shape[0]
    rng = np.random.default_rng(seed)
    seed_idx = _draw_seeds(rng, n_seeds, n_resamples, resample_seeds)
    total = np.zeros(n_resamples)
    observed = 0.0
    for arr in arrays:
        (f,) = _resampled_seed_f1([arr], n_resamples, rng)
        total += _seed_mean(np.take_along_axis(f, seed_idx, axis=1))
        observed += float(_seed_mean(_seed_f1(arr)))
    lo, hi = _percentile_ci(total / len(arrays), alpha)
    return Estimate(mean=observed / len(arrays), ci_low=lo, ci_high=hi)


def paired_average_difference(
    a: Mapping[str, ArrayLike],
    b: Mapping[str, ArrayLike],
    n_resamples: int = 10_000,
    seed: int = 0,
    alpha: float = 0.05,
    *,
    resample_seeds: bool = True,
) -> Comparison:
    """Difference of two systems' F1 averaged over the same language set, with CI and p-value.

    Same scheme as :func:`average_with_ci`, paired as in :func:`paired_bootstrap`: per language,
    the same resampled sentence indices for A and B; per resample, one multiset of A's seeds
    shared by all languages and, independently, one of B's seeds shared by all languages.
    ``diff`` = average over languages of (mean-over-seeds F1 of A) minus the same for B. CI:
    percentile; p-value: two-sided shift method (see :func:`paired_bootstrap`).

    ``a`` and ``b`` must have the same languages, with the same sentences per language; within a
    system every language must have the same seeds. Draw order: ``rng.integers(0, n_seeds_a,
    size=(n_resamples, n_seeds_a))``, ``rng.integers(0, n_seeds_b, size=(n_resamples,
    n_seeds_b))``, then per language in sorted key order the sentence indices of resample 0, 1,
    .... With one language this is exactly :func:`paired_bootstrap`; ``resample_seeds`` as
    there (conservative when seeds differ only by per-sentence noise).
    """
    _check_common(n_resamples, alpha)
    if set(a) != set(b):
        raise ValueError(
            f"a and b must cover the same languages; only in a: {sorted(set(a) - set(b))}, "
            f"only in b: {sorted(set(b) - set(a))}"
        )
    langs, a_arrays = _language_arrays(a, "a")
    _, b_arrays = _language_arrays(b, "b")
    for lang, x, y in zip(langs, a_arrays, b_arrays):
        if x.shape[1] != y.shape[1]:
            raise ValueError(
                f"language {lang!r}: a and b must be scored on the same sentences; got "
                f"{x.shape[1]} and {y.shape[1]} sentences"
            )
    return _paired_average_core(
        a_arrays,
        b_arrays,
        int(n_resamples),
        seed,
        alpha,
        "paired_bootstrap_average",
        resample_seeds,
    )


def wilcoxon_languages(diffs: ArrayLike) -> float:
    """Two-sided Wilcoxon signed-rank p-value over per-language differences (A minus B).

    Why: it asks whether A beats B *across languages* (each language one paired observation),
    which the per-language tests do not; it uses the sizes of the differences but not their
    scale, and assumes only that they are symmetric about the median under the null (Wilcoxon
    1945; Demšar 2006 recommends it for comparing two methods over several data sets). Zero
    differences are dropped (scipy's default ``zero_method="wilcox"``); if all are zero, there is
    no evidence of a difference and the p-value is 1.0.
    """
    d = np.asarray(diffs, dtype=np.float64).reshape(-1)
    if d.size == 0:
        raise ValueError("wilcoxon_languages needs at least one difference")
    if not np.all(np.isfinite(d)):
        raise ValueError("differences must be finite")
    if np.all(d == 0):
        return 1.0
    return float(_sps.wilcoxon(d, alternative="two-sided").pvalue)


# --------------------------------------------------------------------------------------------
# Almost stochastic order
# --------------------------------------------------------------------------------------------


def _quantiles(sorted_scores: NDArray[np.float64], t: NDArray[np.float64]) -> NDArray[np.float64]:
    """Empirical quantile function on the last axis, as deepsig's ``get_quantile_function``:
    ``Q(t) = sorted[clip(ceil(n t) - 1, 0, n - 1)]``."""
    n = sorted_scores.shape[-1]
    idx = np.clip(np.ceil(n * t).astype(np.int64) - 1, 0, n - 1)
    return sorted_scores[..., idx]


def _violation_ratio(
    q_a: NDArray[np.float64], q_b: NDArray[np.float64], dt: float
) -> NDArray[np.float64]:
    """deepsig's ``compute_violation_ratio`` on quantiles at t = dt, 2dt, ... (last axis).

    ``eps_W2 = int_{F^-1 < G^-1} (G^-1 - F^-1)^2 dt / int (G^-1 - F^-1)^2 dt``, 0.5 when the
    distributions coincide. As in deepsig, the first grid point is left out of the numerator.
    """
    diff = q_b - q_a
    w2 = np.sum(diff**2 * dt, axis=-1)
    viol = np.where(q_a >= q_b, 0.0, diff)
    num = np.sum(viol[..., 1:] ** 2 * dt, axis=-1)
    return np.where(w2 == 0, 0.5, num / np.where(w2 == 0, 1.0, w2))


def almost_stochastic_order(
    scores_a: ArrayLike,
    scores_b: ArrayLike,
    confidence_level: float = 0.95,
    num_bootstrap: int = 1000,
    seed: int = 0,
    dt: float = 0.005,
) -> float:
    """eps_min of the Almost Stochastic Order test that A is better than B (higher = better).

    Why: with few seeds, "mean F1 of A > mean F1 of B" can hide that A's score distribution over
    seeds overlaps B's. ASO (Dror, Shlomov & Reichart 2019, "Deep Dominance - How to Properly
    Compare Deep Neural Models", after del Barrio, Cuesta-Albertos & Matrán 2018) measures how
    much of the (squared 2-Wasserstein) distance between the two score distributions lies where
    A's quantile function is below B's. ``eps_min`` is a 1 - confidence_level upper confidence
    bound on that violation ratio: 0 means A dominates B, 0.5 no order, 1 B dominates A. Declare A
    almost stochastically dominant when ``eps_min < ASO_THRESHOLD`` (0.2, as recommended by
    Ulmer et al. 2022 for ``deepsig``).

    Implementation: a re-implementation of ``deepsig.aso`` (deepsig 1.2.8), not a call to it.
    ``deepsig`` was not used because installing it would add ``psutil`` to the environment and
    because it seeds NumPy's global random state, sets joblib's global pickler and evaluates
    quantiles element by element (seconds per call). The algorithm is the same: violation ratio
    of the empirical quantile functions on the grid ``t = dt, 2 dt, ... < 1``; ``num_bootstrap``
    bootstrap replicates that redraw ``len(a)`` and ``len(b)`` scores from the empirical
    distributions (through the quantile function at uniform variates, as deepsig does);
    ``sigma = std(c (eps_r - eps))`` with ``c = sqrt(n_a n_b / (n_a + n_b))``;
    ``eps_min = clip(eps - sigma / c * Phi^-1(1 - confidence_level), 0, 1)``. Only the random
    numbers differ: here ``np.random.default_rng(seed).random((num_bootstrap, n_a))`` then
    ``.random((num_bootstrap, n_b))``, so results match deepsig up to bootstrap noise; fed
    deepsig's own random numbers, this code reproduces deepsig 1.2.8's outputs to the last digits
    (checked in the tests against values that deepsig 1.2.8 printed). For several comparisons pass a
    Bonferroni-corrected ``confidence_level = 1 - (1 - 0.95) / m`` yourself (deepsig's
    ``num_comparisons`` argument does this, but adds ``(1 - cl) / m`` to ``cl``, which equals
    Bonferroni only for m = 2).
    """
    a = np.sort(np.asarray(scores_a, dtype=np.float64).reshape(-1))
    b = np.sort(np.asarray(scores_b, dtype=np.float64).reshape(-1))
    if a.size == 0 or b.size == 0:
        raise ValueError("both score lists must be non-empty")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("scores must be finite")
    if not 0.0 < confidence_level < 1.0:
        raise ValueError(f"confidence_level must be in (0, 1); got {confidence_level!r}")
    if int(num_bootstrap) != num_bootstrap or num_bootstrap < 2:
        raise ValueError(f"num_bootstrap must be an integer >= 2; got {num_bootstrap!r}")
    rng = np.random.default_rng(seed)
    u_a = rng.random((int(num_bootstrap), a.size))
    u_b = rng.random((int(num_bootstrap), b.size))
    return _aso_from_uniforms(a, b, u_a, u_b, confidence_level, dt)


def _aso_from_uniforms(
    scores_a: NDArray[np.float64],
    scores_b: NDArray[np.float64],
    u_a: NDArray[np.float64],
    u_b: NDArray[np.float64],
    confidence_level: float,
    dt: float,
) -> float:
    """ASO eps_min given the bootstrap's uniform variates, shape (num_bootstrap, n_a) and
    (num_bootstrap, n_b). Separate so that the tests can feed deepsig's own random numbers and
    reproduce its published outputs exactly."""
    a = np.sort(np.asarray(scores_a, dtype=np.float64))
    b = np.sort(np.asarray(scores_b, dtype=np.float64))
    t = np.arange(dt, 1, dt)
    ratio = float(_violation_ratio(_quantiles(a, t), _quantiles(b, t), dt))
    boot_a = np.sort(_quantiles(a, u_a.reshape(-1)).reshape(u_a.shape), axis=1)
    boot_b = np.sort(_quantiles(b, u_b.reshape(-1)).reshape(u_b.shape), axis=1)
    samples = _violation_ratio(_quantiles(boot_a, t), _quantiles(boot_b, t), dt)
    const = np.sqrt(a.size * b.size / (a.size + b.size))
    sigma = np.std(const * (samples - ratio))
    eps = ratio - (1.0 / const) * sigma * _sps.norm.ppf(1.0 - confidence_level)
    return float(np.clip(eps, 0.0, 1.0))


# --------------------------------------------------------------------------------------------
# One resampling for a whole report
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LanguageResamples:
    """Bootstrap replicates of every system's F1 on every language, from one set of draws.

    ``observed[name][lang]`` is the mean over seeds of the corpus F1; ``replicates[name][lang]``
    holds its ``n_resamples`` bootstrap replicates. For a language, all systems share the
    sentence draws (paired); each system's seed draws are shared across languages (a seed is
    one trained model evaluated on every language). Every comparison and average of a report
    is then read off these arrays, so the expensive draws happen once per language.
    """

    languages: tuple[str, ...]
    observed: dict[str, dict[str, float]]
    replicates: dict[str, dict[str, NDArray[np.float64]]]
    n_resamples: int

    def average(self, name: str, languages: Sequence[str] | None = None, alpha: float = 0.05) -> Estimate:
        """Mean F1 over languages with a percentile CI (bootstrap stratified by language)."""
        langs = list(languages or self.languages)
        mean = float(np.mean([self.observed[name][lang] for lang in langs]))
        boot = np.mean([self.replicates[name][lang] for lang in langs], axis=0)
        lo, hi = _percentile_ci(boot, alpha)
        return Estimate(mean=mean, ci_low=lo, ci_high=hi)

    def compare(self, a: str, b: str, languages: Sequence[str] | None = None, alpha: float = 0.05) -> Comparison:
        """A minus B on one language (a 1-element list) or on the average over several."""
        langs = list(languages or self.languages)
        diff = float(np.mean([self.observed[a][lang] - self.observed[b][lang] for lang in langs]))
        boot = np.mean([self.replicates[a][lang] - self.replicates[b][lang] for lang in langs], axis=0)
        lo, hi = _percentile_ci(boot, alpha)
        method = "paired_bootstrap" if len(langs) == 1 else "paired_average_difference"
        return Comparison(diff=diff, ci_low=lo, ci_high=hi, p_value=_shift_p_value(boot, diff),
                          n_resamples=self.n_resamples, method=method)


def resample_languages(
    systems: Mapping[str, Mapping[str, ArrayLike]],
    n_resamples: int = 10_000,
    seed: int = 0,
    *,
    resample_seeds: bool = True,
    progress=None,
) -> LanguageResamples:
    """Draw once, for every language the systems share, the paired two-level bootstrap.

    ``progress``, if given, is called with each language's code once its draws are done.

    Draw order (documented so a slow implementation can repeat it): for each system in sorted
    name order, its seed indices (n_resamples x n_seeds); then, for each language in sorted
    order, the sentence indices as in :func:`paired_bootstrap`, shared by all systems. With two
    systems and one language this is exactly :func:`paired_bootstrap`'s draw sequence.
    """
    _check_common(n_resamples)
    names = sorted(systems)
    if not names:
        raise ValueError("no systems given")
    languages = sorted(set.intersection(*(set(systems[n]) for n in names)))
    arrays = {n: {lang: _as_counts(systems[n][lang], f"{n}[{lang!r}]") for lang in languages} for n in names}
    rng = np.random.default_rng(seed)
    seed_draws = {}
    for n in names:
        n_seeds = {a.shape[0] for a in arrays[n].values()} or {1}
        if len(n_seeds) != 1:
            raise ValueError(f"{n}: every language needs the same seeds")
        seed_draws[n] = _draw_seeds(rng, n_seeds.pop(), n_resamples, resample_seeds)
    observed: dict[str, dict[str, float]] = {n: {} for n in names}
    replicates: dict[str, dict[str, NDArray[np.float64]]] = {n: {} for n in names}
    for lang in languages:
        sentences = {arrays[n][lang].shape[1] for n in names}
        if len(sentences) != 1:
            raise ValueError(f"{lang}: systems were scored on different numbers of sentences {sorted(sentences)}")
        per_seed = _resampled_seed_f1([arrays[n][lang] for n in names], n_resamples, rng)
        for n, f in zip(names, per_seed):
            replicates[n][lang] = _seed_mean(np.take_along_axis(f, seed_draws[n], axis=1))
            observed[n][lang] = float(_seed_mean(_seed_f1(arrays[n][lang])))
        if progress is not None:
            progress(lang)
    return LanguageResamples(tuple(languages), observed, replicates, int(n_resamples))
