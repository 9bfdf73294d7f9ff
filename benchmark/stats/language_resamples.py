"""One resampling for a whole report: the paired two-level bootstrap drawn once for every system
and language, so that every comparison and average a report shows is read off the same draws
instead of drawing again for each of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from benchmark.stats.bootstrap import draw_seeds, percentile_ci, resampled_seed_f1, shift_p_value
from benchmark.stats.counts import as_counts, seed_f1, seed_mean
from benchmark.stats.resampling import Comparison, Estimate, check_resample_arguments

__all__ = [
    "LanguageResamples",
    "resample_languages",
]


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
        lo, hi = percentile_ci(boot, alpha)
        return Estimate(mean=mean, ci_low=lo, ci_high=hi)

    def compare(self, a: str, b: str, languages: Sequence[str] | None = None, alpha: float = 0.05) -> Comparison:
        """A minus B on one language (a 1-element list) or on the average over several."""
        langs = list(languages or self.languages)
        diff = float(np.mean([self.observed[a][lang] - self.observed[b][lang] for lang in langs]))
        boot = np.mean([self.replicates[a][lang] - self.replicates[b][lang] for lang in langs], axis=0)
        lo, hi = percentile_ci(boot, alpha)
        method = "paired_bootstrap" if len(langs) == 1 else "paired_average_difference"
        return Comparison(diff=diff, ci_low=lo, ci_high=hi, p_value=shift_p_value(boot, diff),
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
    check_resample_arguments(n_resamples)
    names = sorted(systems)
    if not names:
        raise ValueError("no systems given")
    languages = sorted(set.intersection(*(set(systems[n]) for n in names)))
    arrays = {n: {lang: as_counts(systems[n][lang], f"{n}[{lang!r}]") for lang in languages} for n in names}
    rng = np.random.default_rng(seed)
    seed_draws = {}
    for n in names:
        n_seeds = {a.shape[0] for a in arrays[n].values()} or {1}
        if len(n_seeds) != 1:
            raise ValueError(f"{n}: every language needs the same seeds")
        seed_draws[n] = draw_seeds(rng, n_seeds.pop(), n_resamples, resample_seeds)
    observed: dict[str, dict[str, float]] = {n: {} for n in names}
    replicates: dict[str, dict[str, NDArray[np.float64]]] = {n: {} for n in names}
    for lang in languages:
        sentences = {arrays[n][lang].shape[1] for n in names}
        if len(sentences) != 1:
            raise ValueError(f"{lang}: systems were scored on different numbers of sentences {sorted(sentences)}")
        per_seed = resampled_seed_f1([arrays[n][lang] for n in names], n_resamples, rng)
        for n, f in zip(names, per_seed):
            replicates[n][lang] = seed_mean(np.take_along_axis(f, seed_draws[n], axis=1))
            observed[n][lang] = float(seed_mean(seed_f1(arrays[n][lang])))
        if progress is not None:
            progress(lang)
    return LanguageResamples(tuple(languages), observed, replicates, int(n_resamples))
