"""Padded vs real subwords of a run's evaluation: batches per target (before issue 16) vs batches
sorted across the targets of a chunk (the pipeline), on the full test splits.

    python scripts/padding_check.py --data-dir ../shared/wikiann [--model me5-small] [--test-limit N]

The encoder's work grows with the padded tokens a batch computes, so this says how much of the
pipeline's evaluation gain on a CPU comes from batching across targets, for any --test-limit,
without running the model. Windows come from the encoded-split cache (built on first use).
"""

from __future__ import annotations

import argparse

import numpy as np

from benchmark.data.conll import TaggedSentences
from benchmark.data.sources import content_sha256, read_sentences, resolve_source
from benchmark.data.tasks import get_task
from benchmark.encoding.cache import cached_encoding
from benchmark.eval.pipeline import CHUNK_WINDOWS
from benchmark.models.loading import load_tokenizer, model_folder
from benchmark.models.registry import resolve_model


def padded(lengths: np.ndarray, batch_size: int) -> int:
    """Tokens computed when ``lengths`` are sorted longest first and cut into batches."""
    ordered = np.sort(lengths)[::-1]
    return int(sum(ordered[i] * len(ordered[i: i + batch_size]) for i in range(0, len(ordered), batch_size)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--model", default="me5-small")
    parser.add_argument("--test-limit", type=int, default=None)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--chunks", default=str(CHUNK_WINDOWS),
                        help="Chunk sizes (minimum windows per chunk) to compare, comma-separated.")
    args = parser.parse_args()
    task = get_task("wikiann")
    source = resolve_source(args.data_dir)
    spec = resolve_model(args.model)
    tokenizer = load_tokenizer(spec, model_folder(spec))
    per_target = []
    for lang in source.available_languages(task):
        test = read_sentences(task, source, lang, "test")
        if args.test_limit:
            test = TaggedSentences(test.tokens[: args.test_limit], test.tags[: args.test_limit])
        packed = cached_encoding(tokenizer, test, content_sha256(test), args.max_length,
                                 description={"lang": lang, "split": "test", "task": task.name})
        per_target.append(packed.lengths)
    real = int(sum(x.sum() for x in per_target))
    old = sum(padded(x, args.batch_size) for x in per_target)
    rows = [("per target (before)", old)]
    for size in (int(x) for x in args.chunks.split(",")):
        chunked, group = 0, []
        for lengths in per_target:
            group.append(lengths)
            if sum(len(g) for g in group) >= size:
                chunked += padded(np.concatenate(group), args.batch_size)
                group = []
        if group:
            chunked += padded(np.concatenate(group), args.batch_size)
        rows.append((f"chunks of >= {size} windows" + (" (now)" if size == CHUNK_WINDOWS else ""), chunked))
    rows.append(("one sort over all targets", padded(np.concatenate(per_target), args.batch_size)))
    print(f"{len(per_target)} targets, {sum(len(x) for x in per_target):,} windows, {real:,} real subwords "
          f"(test limit {args.test_limit}, window {args.max_length}, batches of {args.batch_size})")
    for name, tokens in rows:
        print(f"  {name:<36} {tokens:>12,} computed   padded/real {tokens / real:.3f}")


if __name__ == "__main__":
    main()
