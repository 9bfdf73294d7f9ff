"""Many languages at once: Holm's correction of per-language p-values, counting significant wins,
and the Wilcoxon signed-rank test across languages. Testing dozens of languages one by one would
otherwise find spurious wins by chance.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats as _sps

from benchmark.stats.resampling import Comparison

__all__ = [
    "count_wins",
    "holm",
    "wilcoxon_languages",
]


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
