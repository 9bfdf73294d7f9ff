"""Rescore stored predictions with seqeval against the gold test data; compare with stored F1.

    python scripts/rescore_check.py --results-dir results --data-dir ../shared/wikiann

Prints one line per (result, target) and exits non-zero if any rescored F1 differs from the
stored one, or if any sentence has a different number of predicted and gold tags.
"""

from __future__ import annotations

import argparse
import sys

from seqeval.metrics import f1_score

from benchmark.data.sources import read_sentences, resolve_source
from benchmark.data.tasks import get_task
from benchmark.results.store import iter_result_files, read_predictions, read_result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results-dir", default="results")
    parser.add_argument("--data-dir", required=True)
    args = parser.parse_args()
    source = resolve_source(args.data_dir)
    mismatches = checked = 0
    for path in iter_result_files(args.results_dir):
        result = read_result(path)
        task = get_task(result["task"])
        for lang, target in sorted(result["targets"].items()):
            gold = read_sentences(task, source, lang, "test")
            limit = target.get("test_limit")
            gold_tags = gold.tags[:limit] if limit else gold.tags
            stored = read_predictions(path.parent / target["predictions"]["file"], target["predictions"]["sha256"])
            predicted = [[task.labels[int(c)] for c in row] for row in stored["tags"]]
            lengths_ok = [len(p) for p in predicted] == [len(g) for g in gold_tags]
            rescored = f1_score(gold_tags, predicted) if lengths_ok else float("nan")
            same = lengths_ok and rescored == target["f1"]
            checked += 1
            mismatches += not same
            print(f"{result['model']['name']} seed {result['seed']} {lang}: stored {100 * target['f1']:.4f} "
                  f"rescored {100 * rescored:.4f} {'same' if same else 'DIFFERENT'}"
                  f"{'' if lengths_ok else ' (tag counts differ from gold)'}")
    print(f"{checked} targets rescored, {mismatches} differ")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
