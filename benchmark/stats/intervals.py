"""Seed-honest confidence intervals: the spread over seeds combined with the sentence bootstrap.

Why: a score of a recipe is random twice over. Each fine-tune (seed) lands somewhere different,
and the test split is one sample of sentences. A two-level bootstrap that resamples 3 seeds
treats those 3 as the whole population of seeds and understates the seed part badly (the
bootstrap variance of a mean of k draws is (k - 1) / k of the sample variance over k, and its
percentiles ignore that the variance itself is estimated from k - 1 degrees of freedom).

The parts, for a model's F1 (one language, or the average over a set of languages) or for the
difference of two models:

- seed part: the sample variance over seeds of the per-seed scores, divided by the number of
  seeds (``s^2 / k``), for each model involved (two independent sets of fine-tunes for a
  difference);
- sentence part: the variance of the paired sentence bootstrap with every seed kept in every
  resample (what the fixed test split adds, shared by all seeds of a model); it is measured on
  thousands of sentences and counts as known.

How they combine depends on how many seed variances are estimated:

- one (a model's score): the generalized confidence interval (Weerahandi 1993, "fiducial"): the
  seed variance is drawn from its fiducial distribution ``s^2 (k - 1) / chi2(k - 1)``, the
  interval is the quantiles of ``estimate - Z * sqrt(seed draw / k + sentence part)``. It is
  Student's t with k - 1 degrees of freedom when the sentences add nothing and the normal interval
  when the seeds add nothing, and in between it holds its rate (measured: docs/statistics.md).
  Welch-Satterthwaite degrees of freedom, used here before, fall short with 3 seeds (92.8% for a
  stated 95%): a seed variance that comes out low also raises the degrees of freedom;
- two (a difference of models): Welch's t with Welch-Satterthwaite degrees of freedom, the
  textbook two-sample interval, whose rate holds when both seed variances are estimated;
- none (single seeds only): the normal interval of the sentence part; it covers test-sentence
  noise only and says so (``seed_variance_known`` is False).

The two-sided p-value of "zero" comes from the same distribution as the interval, so p < alpha
exactly when the interval excludes zero. Coverage, measured by simulation with seed variances
estimated from the committed runs: ``docs/statistics.md`` (``benchmark/stats/coverage.py`` holds the
simulation).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize as _optimize
from scipy import stats as _sps

METHOD = ("generalized (fiducial) interval over seeds for a model, Welch's t for a difference of models, each "
          "combined with the variance of a paired bootstrap over test sentences")

#: Points of the grid over the seed variance's fiducial distribution: the half-width is within
#: 2e-5 (relative) of Student's t when the sentence part is zero.
FIDUCIAL_GRID = 4000


@dataclass(frozen=True)
class SeedInterval:
    """An estimate with its seed-honest interval; for a difference, A minus B."""

    estimate: float
    ci_low: float
    ci_high: float
    se: float
    df: float  # Welch-Satterthwaite's for a difference; k - 1 for one model; inf when only sentences count
    p_value: float  # two-sided, of "the true value is 0"
    seed_var: float  # variance of the estimate that comes from seeds
    sentence_var: float  # variance that comes from the test sentences
    seed_variance_known: bool  # False when a model involved has a single seed

    @property
    def half_width(self) -> float:
        return (self.ci_high - self.ci_low) / 2


def seed_interval(seed_scores: Sequence[ArrayLike], sentence_replicates: ArrayLike, alpha: float = 0.05,
                  signs: Sequence[int] | None = None, single: str = "fiducial") -> SeedInterval:
    """Interval for ``sum(sign * mean(scores))`` over one model (``[a]``) or two (``[a, b]``, A - B).

    ``seed_scores``: per model, its per-seed scores (each seed one fine-tune, already averaged over
    the languages in question). ``sentence_replicates``: bootstrap replicates of the same estimate
    with test sentences resampled and all seeds kept (paired across models for a difference).
    ``single``: how one estimated seed variance combines with the sentence part: "fiducial" (what
    reports use) or "welch" (Welch-Satterthwaite degrees of freedom, what they used before; kept so
    the coverage simulation can compare the two).

    >>> iv = seed_interval([[0.60, 0.62, 0.61]], [0.61, 0.612, 0.608, 0.61])
    >>> round(iv.estimate, 3), iv.df > 1.9, iv.ci_low < 0.6 < 0.62 < iv.ci_high
    (0.61, True, True)
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1); got {alpha!r}")
    if single not in ("fiducial", "welch"):
        raise ValueError(f"single must be 'fiducial' or 'welch'; got {single!r}")
    signs = list(signs) if signs is not None else [1] + [-1] * (len(seed_scores) - 1)
    arrays = [np.asarray(s, dtype=np.float64).reshape(-1) for s in seed_scores]
    if not arrays or any(a.size == 0 for a in arrays) or len(signs) != len(arrays):
        raise ValueError("seed_interval needs at least one score per model and one sign per model")
    estimate = float(sum(sign * a.mean() for sign, a in zip(signs, arrays)))
    seed_parts = [(float(a.var(ddof=1)) / a.size, a.size - 1) for a in arrays if a.size > 1]
    seed_var = sum(v for v, _ in seed_parts)
    replicates = np.asarray(sentence_replicates, dtype=np.float64).reshape(-1)
    sentence_var = float(replicates.var(ddof=1)) if replicates.size > 1 else 0.0
    total = seed_var + sentence_var
    known = all(a.size > 1 for a in arrays)
    se = math.sqrt(total)
    if se == 0.0:
        p = 1.0 if estimate == 0.0 else 0.0
        df = seed_parts[0][1] if len(seed_parts) == 1 else math.inf
        return SeedInterval(estimate, estimate, estimate, 0.0, df, p, seed_var, sentence_var, known)
    # A sentence part below 1e-9 of the seed part is rounding (replicates that are all equal): then
    # the fiducial interval is Student's t, computed exactly below rather than on the grid.
    if single == "fiducial" and len(seed_parts) == 1 and sentence_var > 1e-9 * seed_parts[0][0]:
        (part, df), = seed_parts
        spreads = np.sqrt(part / _fiducial_scale(df) + sentence_var)
        half = _fiducial_half_width(spreads, alpha)
        p = float(min(1.0, 2.0 * _sps.norm.sf(abs(estimate) / spreads).mean()))
        return SeedInterval(estimate, estimate - half, estimate + half, se, float(df), p, seed_var, sentence_var,
                            known)
    # Welch-Satterthwaite; with one seed part and no sentence part it is exactly Student's t with
    # k - 1 degrees of freedom, the fiducial interval's own limit there.
    denominator = sum(v * v / d for v, d in seed_parts)
    df = total * total / denominator if denominator > 0 else math.inf
    dist = _sps.norm if math.isinf(df) else _sps.t(df)
    q = float(dist.ppf(1.0 - alpha / 2.0))
    p = float(min(1.0, 2.0 * dist.sf(abs(estimate) / se)))
    return SeedInterval(estimate, estimate - q * se, estimate + q * se, se, df, p, seed_var, sentence_var, known)


@functools.lru_cache(maxsize=64)
def _fiducial_scale(df: int) -> np.ndarray:
    """chi2(df) / df at the midpoints of ``FIDUCIAL_GRID`` equal-probability cells: dividing an
    estimated variance by these draws it from its fiducial distribution."""
    cells = (np.arange(FIDUCIAL_GRID) + 0.5) / FIDUCIAL_GRID
    return _sps.chi2.ppf(cells, df) / df


def _fiducial_half_width(spreads: np.ndarray, alpha: float) -> float:
    """h with ``mean(P(|Z| * spread > h)) = alpha``: the half-width of the scale mixture of normals."""
    def excess(h: float) -> float:
        return float(_sps.norm.sf(h / spreads).mean()) - alpha / 2.0

    # mean(sf(h / s)) <= sf(h / max(s)), so the normal quantile at the largest spread brackets it.
    upper = float(_sps.norm.isf(alpha / 2.0) * spreads.max())
    return float(_optimize.brentq(excess, 0.0, upper, xtol=1e-12 * upper, rtol=1e-12))


#: Coverage of a stated 95% interval, by number of seeds: (of the average over languages, of
#: single languages), measured by ``scripts/measure_coverage.py`` (docs/statistics.md) with the
#: seed variance of the committed me5-small runs; reports quote it. ``tests/test_coverage.py``
#: checks that a smaller run agrees.
MEASURED_COVERAGE = {3: (0.976, 0.970), 10: (0.948, 0.957)}
