"""Almost Stochastic Order (Dror et al. 2019) over per-seed scores: does A's score distribution
over seeds lie above B's, not just its mean? A re-implementation of deepsig's ``aso`` that
draws from its own generator.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats as _sps

__all__ = [
    "ASO_THRESHOLD",
    "almost_stochastic_order",
]

#: eps_min below which system A is declared almost stochastically dominant over B. Dror et al.
#: (2019) use 0.5 as the boundary of the test; Ulmer et al. (2022, the ``deepsig`` package)
#: recommend the stricter 0.2 because eps_min is an upper bound estimated from few seeds.
ASO_THRESHOLD = 0.2


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
