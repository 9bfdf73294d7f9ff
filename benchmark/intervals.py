"""Seed-honest confidence intervals: a t interval over seeds combined with the sentence bootstrap.

Why: a score of a recipe is random twice over. Each fine-tune (seed) lands somewhere different,
and the test split is one sample of sentences. A two-level bootstrap that resamples 3 seeds
treats those 3 as the whole population of seeds and understates the seed part badly (the
bootstrap variance of a mean of k draws is (k - 1) / k of the sample variance over k, and its
percentiles ignore that the variance itself is estimated from k - 1 degrees of freedom). With
few seeds the honest seed-level interval is Student's t, as in any experiment with k replicates.

The method, for a model's F1 (one language, or the average over a set of languages) or for the
difference of two models:

- seed part: the sample variance over seeds of the per-seed scores, divided by the number of
  seeds (``s^2 / k``), for each model involved (two independent sets of fine-tunes for a
  difference);
- sentence part: the variance of the paired sentence bootstrap with every seed kept in every
  resample (what the fixed test split adds, shared by all seeds of a model);
- ``se^2`` = the sum of the parts; degrees of freedom by Welch-Satterthwaite (the bootstrap part
  counts as known, i.e. infinite degrees of freedom), so the interval is a t interval over seeds
  when seeds dominate, a normal one when sentences do;
- interval ``estimate ± t(1 - alpha/2, df) * se``, symmetric, and the two-sided p-value of "zero"
  from the same t distribution.

The seed variance includes some sentence-by-seed noise that the bootstrap counts too, so the
interval leans conservative. With one seed the seed part cannot be estimated: the interval then
covers test-sentence noise only and says so (``seed_variance_known`` is False).
Coverage, measured by simulation with seed variances estimated from the committed runs:
``docs/statistics.md`` (``benchmark/coverage.py`` holds the simulation).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats as _sps

METHOD = ("t interval over seeds (Welch-Satterthwaite degrees of freedom) combined with the variance of "
          "a paired bootstrap over test sentences")


@dataclass(frozen=True)
class SeedInterval:
    """An estimate with its seed-honest interval; for a difference, A minus B."""

    estimate: float
    ci_low: float
    ci_high: float
    se: float
    df: float  # inf when only sentence noise is counted
    p_value: float  # two-sided, of "the true value is 0"
    seed_var: float  # variance of the estimate that comes from seeds
    sentence_var: float  # variance that comes from the test sentences
    seed_variance_known: bool  # False when a model involved has a single seed

    @property
    def half_width(self) -> float:
        return (self.ci_high - self.ci_low) / 2


def seed_interval(seed_scores: Sequence[ArrayLike], sentence_replicates: ArrayLike, alpha: float = 0.05,
                  signs: Sequence[int] | None = None) -> SeedInterval:
    """Interval for ``sum(sign * mean(scores))`` over one model (``[a]``) or two (``[a, b]``, A - B).

    ``seed_scores``: per model, its per-seed scores (each seed one fine-tune, already averaged over
    the languages in question). ``sentence_replicates``: bootstrap replicates of the same estimate
    with test sentences resampled and all seeds kept (paired across models for a difference).

    >>> iv = seed_interval([[0.60, 0.62, 0.61]], [0.61, 0.612, 0.608, 0.61])
    >>> round(iv.estimate, 3), iv.df > 1.9, iv.ci_low < 0.6 < 0.62 < iv.ci_high
    (0.61, True, True)
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1); got {alpha!r}")
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
    denominator = sum(v * v / d for v, d in seed_parts)
    df = total * total / denominator if denominator > 0 else math.inf
    se = math.sqrt(total)
    if se == 0.0:
        p = 1.0 if estimate == 0.0 else 0.0
        return SeedInterval(estimate, estimate, estimate, 0.0, df, p, seed_var, sentence_var,
                            all(a.size > 1 for a in arrays))
    dist = _sps.norm if math.isinf(df) else _sps.t(df)
    q = float(dist.ppf(1.0 - alpha / 2.0))
    p = float(min(1.0, 2.0 * dist.sf(abs(estimate) / se)))
    return SeedInterval(estimate, estimate - q * se, estimate + q * se, se, df, p, seed_var, sentence_var,
                        all(a.size > 1 for a in arrays))

#: Coverage of a stated 95% interval, by number of seeds: (of the average over languages, of
#: single languages), measured by ``scripts/measure_coverage.py`` (docs/statistics.md) with the
#: seed variance of the committed me5-small runs; reports quote it. ``tests/test_coverage.py``
#: checks that a smaller run agrees.
MEASURED_COVERAGE = {3: (0.928, 0.940), 10: (0.948, 0.951)}
