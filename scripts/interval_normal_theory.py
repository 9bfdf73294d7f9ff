"""Coverage of the interval rules in the normal model they are built on, without any NER.

A score is ``estimate ~ N(true, sum(sigma_i^2 / k_i) + B)`` with each model's seed variance
estimated from ``k_i`` seeds (``s_i^2 ~ sigma_i^2 chi2(k_i - 1) / (k_i - 1)``) and the sentence
part ``B`` known; ``ratio`` is ``B`` over the seed part. One model (``--seeds 3``) is a report's
interval of a model; two (``--seeds 3,3``) a difference of models. For each setting it prints how
often a 95% interval holds the true value with the rule reports use
(:func:`benchmark.stats.intervals.seed_interval`) and with Welch-Satterthwaite degrees of freedom, and
their mean half-widths. docs/statistics.md quotes its output:

    python scripts/interval_normal_theory.py --replications 4000
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmark.stats.intervals import seed_interval  # noqa: E402


def coverage(seeds: list[int], ratio: float, replications: int, rng: np.random.Generator, single: str):
    """(coverage, mean half-width) of ``seed_interval`` with unit seed variance per model."""
    seed_part = sum(1.0 / k for k in seeds)
    sentence_var = ratio * seed_part
    hits, width = 0, 0.0
    # Replicates with exactly the variance B: two points at +-sqrt(B / 2) have sample variance B.
    spread = np.sqrt(sentence_var / 2)
    for _ in range(replications):
        error = rng.normal(0.0, np.sqrt(seed_part + sentence_var))
        # Only the estimate and each model's sample variance enter, and in the normal model they
        # are independent: centred normal scores give the variance, the error goes on model A.
        scores = [rng.normal(0.0, 1.0, k) for k in seeds]
        scores = [s - s.mean() for s in scores]
        scores[0] = scores[0] + error
        iv = seed_interval(scores, [-spread, spread], single=single)
        hits += iv.ci_low <= 0.0 <= iv.ci_high
        width += iv.half_width
    return hits / replications, width / replications


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replications", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    print("| seeds | sentence part / seed part | reports' rule | Welch-Satterthwaite | half-widths (reports, Welch) |")
    print("|:--|--:|--:|--:|--:|")
    for seeds in ([3], [5], [10], [3, 3], [10, 10], [3, 10]):
        for ratio in (0.3, 0.6, 2.0):
            used, used_width = coverage(seeds, ratio, args.replications, rng, "fiducial")
            welch, welch_width = coverage(seeds, ratio, args.replications, rng, "welch")
            print(f"| {','.join(map(str, seeds))} | {ratio} | {100 * used:.1f}% | {100 * welch:.1f}% | "
                  f"{used_width:.2f}, {welch_width:.2f} |", flush=True)


if __name__ == "__main__":
    main()
