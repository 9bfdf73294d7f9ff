"""``xbench errors``: what a model gets wrong on one target language, from its stored predictions.

The error analysis every NER paper does by hand: the stored per-word predictions of a result are
laid against the test split's gold tags (read again from the data, and checked against the
checksum the result recorded), and every entity span is sorted into one of:

- correct: same words, same type;
- mis-typed: same words, another type (PER read as ORG, ...);
- boundary: a gold and a predicted span of the same type that overlap but differ in extent;
- missed: a gold span no prediction overlaps with the same type;
- spurious: a predicted span no gold span overlaps with the same type.

Spans are seqeval's (conlleval mode), as in the scores, so correct + the rest add up to the
stored TP/FP/FN counts (checked).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from benchmark.errors import XbenchError
from benchmark.results.store import iter_result_files, read_predictions, read_result, recipe_key_of


@dataclass
class SentenceErrors:
    correct: list = field(default_factory=list)  # (type, start, end)
    mistyped: list = field(default_factory=list)  # (gold type, predicted type, start, end)
    boundary: list = field(default_factory=list)  # (type, gold (start, end), predicted (start, end))
    missed: list = field(default_factory=list)  # (type, start, end)
    spurious: list = field(default_factory=list)  # (type, start, end)

    @property
    def n_errors(self) -> int:
        return len(self.mistyped) + len(self.boundary) + len(self.missed) + len(self.spurious)

    def counts(self) -> tuple[int, int, int]:
        """(TP, FP, FN) as seqeval counts them: every span that is not exactly right is an FP or FN."""
        tp = len(self.correct)
        return tp, len(self.mistyped) + len(self.boundary) + len(self.spurious), \
            len(self.mistyped) + len(self.boundary) + len(self.missed)


def classify(gold_tags: list[str], predicted_tags: list[str]) -> SentenceErrors:
    """Sort one sentence's gold and predicted spans into correct / mis-typed / boundary / missed / spurious.

    >>> e = classify(["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "I-ORG", "O", "O"])
    >>> e.mistyped, e.missed
    ([('PER', 'ORG', 0, 1)], [('LOC', 3, 3)])
    """
    from seqeval.metrics.sequence_labeling import get_entities

    gold = set(get_entities(list(gold_tags)))
    pred = set(get_entities(list(predicted_tags)))
    out = SentenceErrors(correct=sorted(gold & pred, key=lambda s: s[1]))
    gold_left, pred_left = gold - pred, pred - gold
    by_extent = {(s, e): t for t, s, e in pred_left}
    for t, s, e in sorted(gold_left, key=lambda x: x[1]):
        if (s, e) in by_extent:
            out.mistyped.append((t, by_extent[(s, e)], s, e))
    typed = {(s, e) for _, _, s, e in out.mistyped}
    gold_left = {g for g in gold_left if (g[1], g[2]) not in typed}
    pred_left = {p for p in pred_left if (p[1], p[2]) not in typed}
    used_pred = set()
    for t, s, e in sorted(gold_left, key=lambda x: x[1]):
        overlap = sorted((p for p in pred_left if p[0] == t and p not in used_pred and p[1] <= e and s <= p[2]),
                         key=lambda p: p[1])
        if overlap:
            used_pred.add(overlap[0])
            out.boundary.append((t, (s, e), (overlap[0][1], overlap[0][2])))
        else:
            out.missed.append((t, s, e))
    out.spurious = sorted(pred_left - used_pred, key=lambda p: p[1])
    return out


def _find_result(results_dir: Path, model: str, target: str, task: str | None, recipe: str | None,
                 source: str | None, seed: int | None) -> tuple[Path, dict]:
    candidates = []
    for path in iter_result_files(results_dir):
        result = read_result(path)
        if result["model"]["name"] != model or target not in result["targets"]:
            continue
        key = (result["task"], recipe_key_of(results_dir, path), "+".join(sorted(result["sources"])))
        if (task or key[0]) == key[0] and (recipe or key[1]) == key[1] and (source or key[2]) == key[2] \
                and (seed is None or int(result["seed"]) == seed):
            candidates.append((key, int(result["seed"]), path, result))
    if not candidates:
        raise XbenchError(f"no result of model {model!r} with target {target!r} under {results_dir}"
                          + (f" matching task {task}, recipe {recipe}, source {source}, seed {seed}"
                             if any(v is not None for v in (task, recipe, source, seed)) else ""))
    keys = sorted({c[0] for c in candidates})
    if len(keys) > 1:
        raise XbenchError(f"{model} on {target} has results in several groups ("
                          + "; ".join(f"task {k[0]}, recipe {k[1]}, source {k[2]}" for k in keys)
                          + "); choose one with --task, --recipe and --source")
    _, _, path, result = min(candidates, key=lambda c: c[1])
    return path, result


def error_report(results_dir: Path, model: str, target: str, data_dir, task_name: str | None = None,
                 recipe: str | None = None, source: str | None = None, seed: int | None = None, top: int = 10,
                 examples: int = 3) -> str:
    from tabulate import tabulate

    from benchmark.data.sources import content_sha256, read_sentences, resolve_source
    from benchmark.data.tasks import get_task

    path, result = _find_result(Path(results_dir), model, target, task_name, recipe, source, seed)
    task = get_task(result["task"])
    stored = result["targets"][target]
    predictions = read_predictions(path.parent / stored["predictions"]["file"], stored["predictions"]["sha256"])
    labels = predictions.get("labels") or list(task.labels)
    data = resolve_source(data_dir)
    test = read_sentences(task, data, target, "test")
    limit = stored.get("test_limit")
    words = test.tokens[:limit] if limit else test.tokens
    gold = test.tags[:limit] if limit else test.tags
    if stored.get("test_sha256") and content_sha256(type(test)(words, gold)) != stored["test_sha256"]:
        raise XbenchError(f"the {target} test split in {data.describe()} differs from the one {path} was scored on "
                          "(test_sha256 does not match); point --data-dir at the data of the run")
    rows = predictions["tags"]
    if len(rows) != len(words):
        raise XbenchError(f"{path}: {len(rows)} predicted sentences for {target}, the test split has {len(words)}")
    predicted = [[labels[int(ch)] for ch in row] for row in rows]
    per_sentence = [classify(g, p) for g, p in zip(gold, predicted)]
    stored_counts = [tuple(c) for c in predictions["counts"]]
    if [e.counts() for e in per_sentence] != stored_counts:
        raise XbenchError(f"{path}: the span counts recomputed from the predictions differ from the stored ones")

    def text(i: int, s: int, e: int) -> str:
        return " ".join(words[i][s:e + 1])

    missed, spurious, mistyped, boundary = Counter(), Counter(), Counter(), Counter()
    for i, errs in enumerate(per_sentence):
        missed.update((text(i, s, e), t) for t, s, e in errs.missed)
        spurious.update((text(i, s, e), t) for t, s, e in errs.spurious)
        mistyped.update((text(i, s, e), f"{g} → {p}") for g, p, s, e in errs.mistyped)
        boundary.update((f"{text(i, *g)}  →  {text(i, *p)}", t) for t, g, p in errs.boundary)
    totals = {kind: sum(len(getattr(e, kind)) for e in per_sentence)
              for kind in ("correct", "mistyped", "boundary", "missed", "spurious")}
    n_gold = totals["correct"] + totals["mistyped"] + totals["boundary"] + totals["missed"]
    header = (f"{model} on {target} ({task.language(target).name}): task {result['task']}, recipe "
              f"{recipe_key_of(Path(results_dir), path)}, source {'+'.join(result['sources'])}, seed {result['seed']}"
              f"; span F1 {100 * stored['f1']:.1f} on {len(words):,} test sentences ({path})")
    lines = [header, "", f"{n_gold:,} gold entities: {totals['correct']:,} correct, {totals['mistyped']:,} mis-typed, "
             f"{totals['boundary']:,} with wrong boundaries, {totals['missed']:,} missed; "
             f"{totals['spurious']:,} spurious predictions."]
    per_type = stored.get("per_type") or {}
    if per_type:
        lines += ["", tabulate([[k, f"{100 * v['precision']:.1f}", f"{100 * v['recall']:.1f}", f"{100 * v['f1']:.1f}",
                                 v["support"]] for k, v in sorted(per_type.items())],
                               headers=["type", "P", "R", "F1", "support"])]
    for title, counter, second in (("missed (gold entities with no prediction)", missed, "type"),
                                   ("spurious (predicted, not in the gold)", spurious, "type"),
                                   ("mis-typed (right words, wrong type)", mistyped, "gold → predicted"),
                                   ("wrong boundaries (gold → predicted words)", boundary, "type")):
        if counter:
            lines += ["", f"Most frequent {title}:",
                      tabulate([[t, k, n] for (t, k), n in sorted(counter.items(), key=lambda x: (-x[1], x[0]))[:top]],
                               headers=["words", second, "times"])]
    worst = sorted(range(len(per_sentence)), key=lambda i: (-per_sentence[i].n_errors, i))
    shown = [i for i in worst if per_sentence[i].n_errors][:examples]
    if shown:
        lines += ["", "Example sentences (most errors first):"]
        for i in shown:
            lines += ["", f"  sentence {i + 1}:", "    gold:      " + _bracketed(words[i], gold[i]),
                      "    predicted: " + _bracketed(words[i], predicted[i])]
    return "\n".join(lines)


def _bracketed(words: list[str], tags: list[str]) -> str:
    """``[PER John Smith] visited [LOC Paris]``."""
    from seqeval.metrics.sequence_labeling import get_entities

    starts = {s: (t, e) for t, s, e in get_entities(list(tags))}
    out, i = [], 0
    while i < len(words):
        if i in starts:
            t, e = starts[i]
            out.append(f"[{t} {' '.join(words[i:e + 1])}]")
            i = e + 1
        else:
            out.append(words[i])
            i += 1
    return " ".join(out)
