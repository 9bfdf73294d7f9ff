"""Measure the coverage of report intervals by simulation; prints the table of docs/statistics.md.

Seed variance (shared and per-language, in F1 points) is estimated from a model's committed runs;
the simulated languages have that model's zero-shot test-split sizes. Usage (the figures of
docs/statistics.md):

    python scripts/measure_coverage.py --model me5-small --replications 250 --resamples 50
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmark.stats.coverage import measure_coverage, seed_noise_from_results  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results-dir", default="results")
    parser.add_argument("--task", default="wikiann")
    parser.add_argument("--recipe", default="quick")
    parser.add_argument("--model", default="me5-small")
    parser.add_argument("--replications", type=int, default=400)
    parser.add_argument("--resamples", type=int, default=200)
    parser.add_argument("--seeds", default="3,10")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--methods", default="seed-fiducial,seed-welch,two-level-bootstrap",
                        help="seed-fiducial (what reports use); seed-welch and two-level-bootstrap (what they "
                             "used before)")
    args = parser.parse_args()
    noise = seed_noise_from_results(Path(args.results_dir), args.task, args.recipe, args.model)
    first = json.loads(next((Path(args.results_dir) / args.task / args.recipe / args.model / "en").glob(
        "seed-*.json")).read_text(encoding="utf-8"))
    sizes = [t["n_sentences"] for lang, t in sorted(first["targets"].items()) if lang not in first["sources"]]
    print(f"seed noise of {args.model}: shared sd {noise.shared_sd:.2f}, per-language sd {noise.language_sd:.2f} "
          f"F1 points; {len(sizes)} languages, {sum(sizes):,} test sentences; {args.replications} replications, "
          f"{args.resamples} bootstrap resamples", flush=True)
    print("| method | seeds | coverage of the average | coverage per language | mean half-width (points) |")
    print("|:--|--:|--:|--:|--:|")
    for k in (int(s) for s in args.seeds.split(",")):
        start = time.time()
        for c in measure_coverage(noise, k, args.replications, sizes, n_resamples=args.resamples, seed=args.seed + k,
                                  methods=tuple(args.methods.split(","))):
            print(f"| {c.method} | {k} | {100 * c.average:.1f}% | {100 * c.per_language:.1f}% | "
                  f"{c.mean_half_width:.2f} |", flush=True)
        print(f"<!-- {k} seeds: {time.time() - start:.0f} s -->", flush=True)


if __name__ == "__main__":
    main()
