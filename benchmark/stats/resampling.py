"""What the resampling tests share: the results they return (Comparison, Estimate), the checks
of their arguments, and the chunked, exact arithmetic that keeps them fast without changing a
single draw (so a slow reference loop can reproduce them bit for bit).

Randomness
----------
Every random function takes ``seed: int`` and draws from ``np.random.default_rng(seed)`` in the
order documented in its docstring, so that results are reproducible and a slow reference
implementation (see ``tests/test_stats.py``) can reproduce the draws exactly. Resamples are
processed in chunks of rows for speed and memory; NumPy fills integer and float arrays from the
stream in row-major order, so the chunk size does not change the draws.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "Comparison",
    "Estimate",
]

# Resampled rows are processed in chunks holding about this many sentence weights (float32),
# i.e. ~8 MiB per chunk. Tests monkeypatch it to check that chunking does not change results.
_CHUNK_ELEMENTS = 1 << 21

# Float32 sums of non-negative integers are exact while every partial sum stays below 2**24.
FLOAT32_EXACT = float(1 << 24)

# Comparisons of a resampled statistic with the observed one count values within this absolute
# tolerance as ties (i.e. as extreme), which keeps p-values conservative when a resample is
# mathematically equal to the observation but differs in the last bit.
TIE_TOL = 1e-12


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


def check_resample_arguments(n_resamples: int, alpha: float | None = None) -> None:
    if int(n_resamples) != n_resamples or n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive integer; got {n_resamples!r}")
    if alpha is not None and not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1); got {alpha!r}")


def chunk_rows(n_sentences: int, n_resamples: int) -> int:
    return int(max(1, min(n_resamples, _CHUNK_ELEMENTS // max(1, n_sentences))))
