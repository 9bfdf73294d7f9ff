"""The paired two-level bootstrap (test sentences x training seeds) of span F1: a comparison on
one language (paired_bootstrap) and averages over a language set (average_with_ci,
paired_average_difference), with the machinery that the one resampling for a whole report
(language_resamples.py) reuses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from benchmark.stats.counts import as_counts, f1_from_counts, seed_f1, seed_mean
from benchmark.stats.resampling import (
    FLOAT32_EXACT,
    TIE_TOL,
    Comparison,
    Estimate,
    check_resample_arguments,
    chunk_rows,
)

__all__ = [
    "average_with_ci",
    "paired_average_difference",
    "paired_bootstrap",
]


# --------------------------------------------------------------------------------------------
# Bootstrap machinery
# --------------------------------------------------------------------------------------------


def resampled_seed_f1(
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
    exact32 = float(cmat.max(initial=0)) * n < FLOAT32_EXACT
    ftype = np.float32 if exact32 else np.float64
    cmat_f = cmat.astype(ftype)
    out = [np.empty((n_resamples, k)) for k in seeds]
    step = chunk_rows(n, n_resamples)
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


def draw_seeds(
    rng: np.random.Generator, n_seeds: int, n_resamples: int, resample_seeds: bool
) -> NDArray[np.int64]:
    """Seed indices of each resample, shape (n_resamples, n_seeds): drawn with replacement, or
    all seeds in order (no draws) when seeds are not resampled."""
    if resample_seeds:
        return rng.integers(0, n_seeds, size=(n_resamples, n_seeds))
    return np.broadcast_to(np.arange(n_seeds), (n_resamples, n_seeds))


def percentile_ci(values: NDArray[np.float64], alpha: float) -> tuple[float, float]:
    lo, hi = np.quantile(values, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(lo), float(hi)


def shift_p_value(boot: NDArray[np.float64], observed: float) -> float:
    """Two-sided bootstrap p-value by the shift method (see :func:`paired_bootstrap`)."""
    centred = np.abs(boot - boot.mean())
    extreme = int(np.count_nonzero(centred >= abs(observed) - TIE_TOL))
    return (1.0 + extreme) / (1.0 + boot.size)


def _language_arrays(
    per_language_counts: Mapping[str, ArrayLike], name: str
) -> tuple[list[str], list[NDArray[np.int64]]]:
    if len(per_language_counts) == 0:
        raise ValueError(f"{name} must hold at least one language")
    langs = sorted(per_language_counts)
    arrays = [as_counts(per_language_counts[lang], f"{name}[{lang!r}]") for lang in langs]
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
    seeds_a = draw_seeds(rng, sa, n_resamples, resample_seeds)
    seeds_b = draw_seeds(rng, sb, n_resamples, resample_seeds)
    total_a = np.zeros(n_resamples)
    total_b = np.zeros(n_resamples)
    observed_a = 0.0
    observed_b = 0.0
    for a, b in zip(a_arrays, b_arrays):
        f_a, f_b = resampled_seed_f1([a, b], n_resamples, rng)
        total_a += seed_mean(np.take_along_axis(f_a, seeds_a, axis=1))
        total_b += seed_mean(np.take_along_axis(f_b, seeds_b, axis=1))
        observed_a += float(seed_mean(seed_f1(a)))
        observed_b += float(seed_mean(seed_f1(b)))
    n_lang = len(a_arrays)
    boot = total_a / n_lang - total_b / n_lang
    diff = observed_a / n_lang - observed_b / n_lang
    lo, hi = percentile_ci(boot, alpha)
    return Comparison(
        diff=float(diff),
        ci_low=lo,
        ci_high=hi,
        p_value=shift_p_value(boot, diff),
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
    check_resample_arguments(n_resamples, alpha)
    a_ = as_counts(a, "a")
    b_ = as_counts(b, "b")
    if a_.shape[1] != b_.shape[1]:
        raise ValueError(
            f"a and b must be scored on the same sentences; got {a_.shape[1]} and "
            f"{b_.shape[1]} sentences"
        )
    return _paired_average_core(
        [a_], [b_], int(n_resamples), seed, alpha, "paired_bootstrap", resample_seeds
    )


# --------------------------------------------------------------------------------------------
# Many languages
# --------------------------------------------------------------------------------------------


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
    check_resample_arguments(n_resamples, alpha)
    _, arrays = _language_arrays(per_language_counts, "per_language_counts")
    n_resamples = int(n_resamples)
    n_seeds = arrays[0].shape[0]
    rng = np.random.default_rng(seed)
    seed_idx = draw_seeds(rng, n_seeds, n_resamples, resample_seeds)
    total = np.zeros(n_resamples)
    observed = 0.0
    for arr in arrays:
        (f,) = resampled_seed_f1([arr], n_resamples, rng)
        total += seed_mean(np.take_along_axis(f, seed_idx, axis=1))
        observed += float(seed_mean(seed_f1(arr)))
    lo, hi = percentile_ci(total / len(arrays), alpha)
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
    check_resample_arguments(n_resamples, alpha)
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
