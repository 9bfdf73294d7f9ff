"""Paired approximate randomisation of the span-F1 difference on one language: a test that
assumes nothing about the sampling distribution, swapping the two systems' outputs sentence by
sentence to build the null distribution.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from benchmark.stats.counts import as_counts, f1_from_counts, seed_mean, system_f1
from benchmark.stats.resampling import FLOAT32_EXACT, TIE_TOL, Comparison, check_resample_arguments, chunk_rows

__all__ = [
    "approximate_randomization",
]


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
    check_resample_arguments(n_resamples)
    a_ = as_counts(a, "a")
    b_ = as_counts(b, "b")
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
    exact32 = float(np.abs(delta).max(initial=0)) * n < FLOAT32_EXACT
    ftype = np.float32 if exact32 else np.float64
    delta_f = delta.astype(ftype)
    diff = system_f1(a_) - system_f1(b_)
    rng = np.random.default_rng(seed)
    d = np.empty(n_resamples)
    step = chunk_rows(n, n_resamples)
    for start in range(0, n_resamples, step):
        rows = min(step, n_resamples - start)
        swap = (rng.random((rows, n)) < 0.5).astype(ftype)
        moved = (swap @ delta_f).astype(np.float64)
        pa = (tot_a + moved).reshape(rows, n_seeds, 3)
        pb = (tot_b - moved).reshape(rows, n_seeds, 3)
        fa = np.asarray(f1_from_counts(pa[..., 0], pa[..., 1], pa[..., 2]))
        fb = np.asarray(f1_from_counts(pb[..., 0], pb[..., 1], pb[..., 2]))
        d[start : start + rows] = seed_mean(fa) - seed_mean(fb)
    extreme = int(np.count_nonzero(np.abs(d) >= abs(diff) - TIE_TOL))
    return Comparison(
        diff=float(diff),
        ci_low=float("nan"),
        ci_high=float("nan"),
        p_value=(1.0 + extreme) / (1.0 + n_resamples),
        n_resamples=n_resamples,
        method="approximate_randomization",
    )
