"""Does a 95% interval cover 95% of the time? A simulation with realistic seed variance.

The interval a report gives is read as "what this recipe gets": the F1 averaged over fine-tunes
and over test sets like this one. This module simulates that situation and counts how often an
interval method covers the true value, so the rate a report states is a measured one.

The simulated world, per replication:

- languages with given test sizes and true detection rates; every test split is a fresh sample
  of sentences (gold entities Poisson(1.5) per sentence, each sentence easy or hard, which moves
  its detection rate by ±0.2 and its false positives by ±50%: sentence difficulty shared by all
  seeds and models, as in real data);
- each seed is a fine-tune: its detection rate moves by a shift common to all languages plus one
  of its own per language, with standard deviations in F1 points estimated from the committed
  runs (:func:`seed_noise_from_results`);
- the true value of a language is its expected F1 over seeds on an unlimited test set, computed
  exactly by Gauss-Hermite quadrature over the seed shift; the true average is their mean.

``docs/statistics.md`` gives the figures and the command that measures them
(``scripts/measure_coverage.py``); ``tests/test_coverage.py`` repeats a smaller run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmark.stats.intervals import seed_interval
from benchmark.stats.language_resamples import resample_languages

MEAN_GOLD = 1.5  # entities per test sentence
FALSE_POSITIVES = 0.5  # expected false positives per gold entity
DIFFICULTY = 0.2  # detection rate of an easy (hard) sentence: rate + (-) this


@dataclass(frozen=True)
class SeedNoise:
    """Seed-to-seed standard deviations of F1, in points: shared by all languages, and per language."""

    shared_sd: float
    language_sd: float


def seed_noise_from_results(results_dir: Path, task: str, recipe: str, model: str, source: str = "en") -> SeedNoise:
    """Split the seed variance of a model's committed runs into a shared and a per-language part.

    With per-seed F1 ``y[s, l]`` on L zero-shot targets: the variance over seeds of the average is
    ``shared^2 + language^2 / L`` and the mean over languages of each language's variance over
    seeds is ``shared^2 + language^2``; solving the two gives both parts (in F1 points).
    """
    folder = Path(results_dir) / task / recipe / model / source
    runs = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("seed-*.json"))]
    if len(runs) < 2:
        raise ValueError(f"{folder}: need at least two seeds to estimate seed variance, found {len(runs)}")
    sources = set(runs[0]["sources"])
    langs = sorted(set.intersection(*(set(r["targets"]) for r in runs)) - sources)
    scores = 100 * np.array([[r["targets"][lang]["f1"] for lang in langs] for r in runs])
    var_average = float(scores.mean(axis=1).var(ddof=1))
    mean_var = float(scores.var(axis=0, ddof=1).mean())
    n = len(langs)
    language_var = max(0.0, (mean_var - var_average) * n / (n - 1))
    shared_var = max(0.0, var_average - language_var / n)
    return SeedNoise(float(np.sqrt(shared_var)), float(np.sqrt(language_var)))


def _f1_at(rate):
    """Expected span F1 on an unlimited test set at detection rate ``rate``."""
    return 2 * rate / (1 + rate + FALSE_POSITIVES)


def _slope(rate):
    """dF1/d(rate) of :func:`_f1_at`: turns a seed shift in F1 points into a shift of the rate."""
    return 2 * (1 + FALSE_POSITIVES) / (1 + rate + FALSE_POSITIVES) ** 2


def true_f1(rates: np.ndarray, noise: SeedNoise) -> np.ndarray:
    """Expected F1 over seeds of each language (fraction), by 40-point Gauss-Hermite quadrature."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(40)
    weights = weights / weights.sum()
    sd_points = np.hypot(noise.shared_sd, noise.language_sd)
    shift = nodes[:, None] * sd_points / 100 / _slope(rates)[None, :]
    return (weights[:, None] * _f1_at(rates[None, :] + shift)).sum(axis=0)


def simulate_counts(rng: np.random.Generator, sizes, rates: np.ndarray, noise: SeedNoise,
                    n_seeds: int, mean_gold: float = MEAN_GOLD) -> dict[str, np.ndarray]:
    """Per-sentence (TP, FP, FN) of ``n_seeds`` fine-tunes on fresh test splits: lang -> (k, n, 3).

    ``mean_gold`` > 1.5 simulates blocks of several sentences as one unit (a faster bootstrap with
    the same number of entities; used by the quick test)."""
    shared = rng.normal(0.0, noise.shared_sd, n_seeds)
    counts = {}
    for i, (n, rate) in enumerate(zip(sizes, rates)):
        own = rng.normal(0.0, noise.language_sd, n_seeds)
        shift = (shared + own) / 100 / _slope(rate)
        gold = rng.poisson(mean_gold, n)
        hard = rng.random(n) < 0.5
        sentence_rate = np.where(hard, -DIFFICULTY, DIFFICULTY)
        p = np.clip(rate + shift[:, None] + sentence_rate[None, :], 0.0, 1.0)
        tp = rng.binomial(np.broadcast_to(gold, p.shape), p)
        fp = rng.poisson(FALSE_POSITIVES * mean_gold * np.where(hard, 1.5, 0.5), size=p.shape)
        counts[f"l{i:03d}"] = np.stack([tp, fp, gold[None, :] - tp], axis=-1)
    return counts


@dataclass(frozen=True)
class Coverage:
    """Share of replications whose 95% interval held the true value."""

    method: str
    n_seeds: int
    replications: int
    average: float  # interval of the average over languages
    per_language: float  # intervals of single languages, pooled
    mean_half_width: float  # of the average's interval, F1 points


def measure_coverage(noise: SeedNoise, n_seeds: int, replications: int, sizes, rates=None, n_resamples: int = 200,
                     seed: int = 0, alpha: float = 0.05, methods=("seed-fiducial", "seed-welch", "two-level-bootstrap"),
                     mean_gold: float = MEAN_GOLD, progress=None) -> list[Coverage]:
    """Coverage of each interval method over ``replications`` simulated experiments.

    Methods: ``seed-fiducial`` (:func:`benchmark.stats.intervals.seed_interval`, what reports use),
    ``seed-welch`` (the same parts with Welch-Satterthwaite degrees of freedom, what reports used
    before) and ``two-level-bootstrap`` (percentile interval with seeds resampled, before that).
    """
    sizes = list(sizes)
    rates = np.linspace(0.33, 0.65, len(sizes)) if rates is None else np.asarray(rates, dtype=np.float64)
    truth = true_f1(rates, noise)
    rng = np.random.default_rng(seed)
    hits = {m: {"average": 0, "language": 0, "width": 0.0} for m in methods}
    for rep in range(replications):
        counts = simulate_counts(rng, sizes, rates, noise, n_seeds, mean_gold)
        langs = sorted(counts)
        boot_seed = int(rng.integers(0, 2**31))
        seed_methods = [m for m in methods if m.startswith("seed-")]
        if seed_methods:
            sample = resample_languages({"m": counts}, n_resamples=n_resamples, seed=boot_seed,
                                        resample_seeds=False)
            per_seed = {lang: _per_seed_f1(counts[lang]) for lang in langs}
            average_scores = [np.mean([per_seed[lang] for lang in langs], axis=0)]
            average_reps = np.mean([sample.replicates["m"][lang] for lang in langs], axis=0)
            for method in seed_methods:
                single = method.removeprefix("seed-")
                average = seed_interval(average_scores, average_reps, alpha, single=single)
                _tally(hits[method], average.ci_low, average.ci_high, truth.mean(), True)
                for lang, true in zip(langs, truth):
                    one = seed_interval([per_seed[lang]], sample.replicates["m"][lang], alpha, single=single)
                    _tally(hits[method], one.ci_low, one.ci_high, true, False)
        if "two-level-bootstrap" in methods:
            sample = resample_languages({"m": counts}, n_resamples=n_resamples, seed=boot_seed)
            est = sample.average("m", alpha=alpha)
            _tally(hits["two-level-bootstrap"], est.ci_low, est.ci_high, truth.mean(), True)
            for lang, true in zip(langs, truth):
                low, high = np.quantile(sample.replicates["m"][lang], [alpha / 2, 1 - alpha / 2])
                _tally(hits["two-level-bootstrap"], low, high, true, False)
        if progress is not None:
            progress(rep + 1)
    return [Coverage(m, n_seeds, replications, h["average"] / replications,
                     h["language"] / (replications * len(sizes)), 100 * h["width"] / replications)
            for m, h in hits.items()]


def _per_seed_f1(counts: np.ndarray) -> np.ndarray:
    tp, fp, fn = counts.sum(axis=1).T
    return np.where(tp > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1), 0.0)


def _tally(hits: dict, low: float, high: float, true: float, is_average: bool) -> None:
    key = "average" if is_average else "language"
    hits[key] += int(low <= true <= high)
    if is_average:
        hits["width"] += (high - low) / 2
