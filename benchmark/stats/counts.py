"""Corpus-level span F1 from per-sentence counts: the point estimates every test resamples,
and the checks that counts must pass before anything is computed from them.

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
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "f1_from_counts",
    "prf_from_counts",
    "system_f1",
]


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


def as_counts(counts: ArrayLike, name: str = "counts") -> NDArray[np.int64]:
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


def seed_f1(counts: NDArray[np.int64]) -> NDArray[np.float64]:
    """Corpus F1 of each seed: shape (n_seeds,)."""
    sums = counts.sum(axis=1)
    return np.asarray(f1_from_counts(sums[:, 0], sums[:, 1], sums[:, 2]))


def seed_mean(values: NDArray[np.float64]) -> NDArray[np.float64]:
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
    return float(seed_mean(seed_f1(as_counts(counts))))
