"""``xbench import``: put another pipeline's test-set predictions into the results store.

Prediction files are CoNLL ``word tag`` lines (space or tab, plain or gzip), one sentence per
test sentence in the test file's order. Each file is checked against the task's gold test split
(same number of sentences, tags among the task's labels), its sentences aligned to the gold
words where they differ (:mod:`benchmark.imported.word_alignment`), and scored as xbench scores its own
runs. The result is one result file per (system, seed) under the recipe key ``imported``, with
per-sentence counts sidecars exactly like xbench's own, so ``report``, ``compare`` and the
statistics work on imported systems unchanged. Everything is read and checked before anything
is written: a bad file leaves the store untouched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from benchmark.checksums import file_sha256
from benchmark.data.conll import TaggedSentences, count_scheme_breaks, read_tagged_file
from benchmark.data.sources import content_sha256, read_sentences, resolve_source
from benchmark.data.tasks import Task, did_you_mean, get_task
from benchmark.errors import XbenchError
from benchmark.imported.word_alignment import EXACT, REALIGNED, UNALIGNABLE, align_sentence
from benchmark.results.record import KIND_IMPORTED, Result
from benchmark.results.store import (
    IMPORTED,
    IN_LANGUAGE,
    iter_result_files,
    predictions_path,
    result_path,
    write_predictions,
)

SYSTEM_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")
_PUBLISHED_F1 = re.compile(r"^\s*f1\s*[=:]\s*([0-9.eE+-]+)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class PredictionFile:
    lang: str
    seed: int
    path: Path


@dataclass
class ImportedTarget:
    """One prediction file, scored: what goes into the result and its sidecar."""

    file: PredictionFile
    sha256: str
    content_sha256: str  # of the words and tags, whatever the compression: spots one file filed twice
    scores: dict
    counts: list
    tags: list[str]
    alignment: dict
    unalignable: list[int]
    gold: TaggedSentences
    published: dict | None


def prediction_files(task: Task, pattern: str | None, explicit: tuple[tuple[str, str, str], ...],
                     languages: tuple[str, ...], seeds: tuple[int, ...]) -> list[PredictionFile]:
    """The files to import: a pattern expanded over languages and seeds, or explicit
    (language, seed, path) triples. Unknown languages and missing files stop here."""
    if bool(pattern) == bool(explicit):
        raise XbenchError("give either --predictions PATTERN (with {lang} and {seed}) or --file LANG SEED PATH, "
                          "not both and not neither")
    if pattern:
        if not languages or not seeds:
            raise XbenchError("--predictions needs --languages and --seeds to expand {lang} and {seed}")
        for field, values in (("{lang}", languages), ("{seed}", seeds)):
            if len(values) > 1 and field not in pattern:
                raise XbenchError(f"--predictions {pattern!r} has no {field}, but {len(values)} are asked for; "
                                  f"one file cannot be several {field[1:-1]}s")
        files = [PredictionFile(lang, seed, Path(pattern.replace("{lang}", lang).replace("{seed}", str(seed))))
                 for seed in seeds for lang in languages]
    else:
        files = []
        for lang, seed, path in explicit:
            try:
                files.append(PredictionFile(lang, int(seed), Path(path)))
            except ValueError:
                raise XbenchError(f"--file {lang} {seed} {path}: the seed must be an integer") from None
    for f in files:
        if f.lang not in task.languages:
            raise XbenchError(f"unknown language {f.lang!r} for task {task.name}"
                              f"{did_you_mean(f.lang, task.languages)}; `xbench languages --task {task.name}` "
                              "lists its codes")
    pairs = [(f.lang, f.seed) for f in files]
    if len(set(pairs)) != len(pairs):
        raise XbenchError("two prediction files are given for the same language and seed")
    for f in files:
        if not f.path.is_file():
            raise XbenchError(f"missing prediction file for {f.lang} seed {f.seed}: {f.path}")
    return files


def read_published_f1(path: Path) -> float:
    """The ``f1 = 0.86...`` line of a results file printed by the authors' script."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise XbenchError(f"{path}: cannot read the published scores ({err})") from None
    found = _PUBLISHED_F1.search(text)
    if not found:
        raise XbenchError(f"{path}: no 'f1 = <number>' line in the published scores")
    return float(found.group(1))


def score_file(task: Task, file: PredictionFile, gold: TaggedSentences, published_path: Path | None) -> ImportedTarget:
    """Read, check, align and score one prediction file against the gold test split."""
    from benchmark.eval.predict import score, sentence_counts

    predicted = read_tagged_file(file.path, task.labels)
    if len(predicted) != len(gold):
        raise XbenchError(f"{file.path}: {len(predicted)} sentences, but the {task.name} test split of {file.lang} "
                          f"has {len(gold)}; a prediction file holds one sentence per test sentence, in order")
    gold_scored, pred_scored, tags, unalignable = [], [], [], []
    status_counts = {EXACT: 0, REALIGNED: 0, UNALIGNABLE: 0}
    uncovered = dropped = 0
    for i, (words, gold_tags, pred_words, pred_tags) in enumerate(
            zip(gold.tokens, gold.tags, predicted.tokens, predicted.tags)):
        aligned = align_sentence(words, pred_words, pred_tags)
        status_counts[aligned.status] += 1
        uncovered += aligned.uncovered
        dropped += aligned.dropped
        if aligned.tags is None:
            # Never dropped: the gold entities are all missed and the predicted ones all spurious.
            # Side by side, padded with O, the two cannot share a span.
            gold_scored.append(list(gold_tags) + ["O"] * len(pred_tags))
            pred_scored.append(["O"] * len(gold_tags) + list(pred_tags))
            tags.append(["O"] * len(words))
            unalignable.append(i)
        else:
            gold_scored.append(list(gold_tags))
            pred_scored.append(aligned.tags)
            tags.append(aligned.tags)
    counts = sentence_counts(gold_scored, pred_scored)
    skipped = set(unalignable)
    differing = {i for i, (w, p) in enumerate(zip(gold.tokens, predicted.tokens)) if w != p}
    realigned = sorted(differing - skipped)
    exact = sorted(set(range(len(gold))) - differing)
    label_id = {label: str(i) for i, label in enumerate(task.labels)}
    published = None
    if published_path is not None:
        published = {"f1": read_published_f1(published_path), "file": str(published_path),
                     "sha256": file_sha256(published_path)}
    return ImportedTarget(
        file=file, sha256=file_sha256(file.path), content_sha256=content_sha256(predicted),
        scores=score(gold_scored, pred_scored), counts=counts.tolist(),
        tags=["".join(label_id[t] for t in row) for row in tags],
        alignment={"exact": status_counts[EXACT], "realigned": status_counts[REALIGNED],
                   "unalignable": status_counts[UNALIGNABLE], "gold_words_uncovered": uncovered,
                   "predicted_words_dropped": dropped,
                   # TP, FP, FN summed over the exact and over the re-aligned sentences: how they compare
                   "exact_counts": _summed(counts, exact), "realigned_counts": _summed(counts, realigned)},
        unalignable=unalignable, gold=gold, published=published)


def _summed(counts, rows: list[int]) -> list[int]:
    return [int(x) for x in counts[rows].sum(axis=0)] if rows else [0, 0, 0]


def import_predictions(task_name: str, system: str, pattern: str | None, explicit, languages_spec: str | None,
                       seeds: tuple[int, ...], data_dir, results_dir: Path, source: str = IN_LANGUAGE,
                       published_pattern: str | None = None, pretrained_in: str | None = None,
                       overwrite: bool = False, log=print) -> list[Path]:
    """Check every file, then write one result per seed; returns the result files written."""
    from benchmark.run.unit import git_commit, library_versions

    task = get_task(task_name)
    if not SYSTEM_NAME.match(system):
        raise XbenchError(f"--system {system!r}: use letters, digits and . _ + - (at most 64), starting with a "
                          "letter or digit; it names the system in reports and its results folder")
    if pretrained_in is not None and not any(pretrained_in in lang.pretrained_in for lang in task.languages.values()):
        known = sorted({m for lang in task.languages.values() for m in lang.pretrained_in})
        raise XbenchError(f"--pretrained-in {pretrained_in!r}: no language of {task.name} names it; known: "
                          f"{', '.join(known)}")
    languages = _languages(task, languages_spec) if languages_spec else ()
    files = prediction_files(task, pattern, tuple(explicit or ()), languages, seeds)
    if published_pattern and "{lang}" not in published_pattern and len({f.lang for f in files}) > 1:
        raise XbenchError("--published needs {lang} (and {seed}) in its pattern, like --predictions")
    source_data = resolve_source(data_dir)
    gold: dict[str, TaggedSentences] = {}
    targets: dict[int, dict[str, ImportedTarget]] = {}
    from tqdm import tqdm

    for f in tqdm(files, desc=f"importing {system}", unit="file", leave=False):
        if f.lang not in gold:
            gold[f.lang] = read_sentences(task, source_data, f.lang, "test")
        published_path = None
        if published_pattern:
            published_path = Path(published_pattern.replace("{lang}", f.lang).replace("{seed}", str(f.seed)))
            if not published_path.is_file():
                raise XbenchError(f"missing published scores for {f.lang} seed {f.seed}: {published_path}")
        targets.setdefault(f.seed, {})[f.lang] = score_file(task, f, gold[f.lang], published_path)
    langs_of_seed = {seed: sorted(t) for seed, t in targets.items()}
    if len({tuple(v) for v in langs_of_seed.values()}) > 1:
        log("note: seeds cover different languages: " + "; ".join(
            f"seed {s}: {len(v)}" for s, v in sorted(langs_of_seed.items())))
    _refuse_other_systems_files(task, system, source, targets, Path(results_dir))
    paths = {seed: result_path(results_dir, task.name, IMPORTED, system, (source,), seed) for seed in targets}
    results = {seed: _result(task, system, source, seed, targets[seed], pretrained_in) for seed in targets}
    to_write = []
    for seed, path in sorted(paths.items()):
        if path.exists():
            existing = Result.read(path)
            if existing.identity == results[seed].identity:
                log(f"{system} seed {seed}: {path} already holds exactly these files; kept")
                continue
            if not overwrite:
                raise XbenchError(f"{path} already holds other imported files for {system} seed {seed}; "
                                  "pass --overwrite to replace it, or another --system or --results-dir")
        to_write.append(seed)
    versions, commit = library_versions(), git_commit()
    for seed in to_write:
        path, result = paths[seed], results[seed]
        result.stamp(versions, commit)
        for lang, t in sorted(targets[seed].items()):
            sidecar = predictions_path(path, lang)
            sha = write_predictions(sidecar, {"lang": lang, "labels": list(task.labels), "tags": t.tags,
                                              "counts": t.counts, "unalignable": t.unalignable})
            result.targets[lang]["predictions"] = {"file": str(sidecar.relative_to(path.parent)), "sha256": sha}
        result.write(path)
    for seed in sorted(targets):
        for lang, t in sorted(targets[seed].items()):
            a = t.alignment
            log(f"{system} seed {seed} {lang}: {a['exact']} exact, {a['realigned']} re-aligned, "
                f"{a['unalignable']} unalignable of {len(t.gold)} sentences; F1 {100 * t.scores['f1']:.2f}"
                + (f" (published {100 * t.published['f1']:.2f})" if t.published else "") + f"  [{t.file.path}]")
    return [paths[seed] for seed in to_write]


def _refuse_other_systems_files(task: Task, system: str, source: str, targets: dict, results_dir: Path) -> None:
    """The same predictions cannot stand for two systems: a file whose words and tags equal a file
    another system was imported with (same language) is refused, naming both."""
    folder = results_dir / task.name / IMPORTED
    if not folder.is_dir():
        return
    seen = {}
    for path in iter_result_files(folder):
        if path.parent.parent.name == system or path.parent.name != source:
            continue
        result = Result.read(path)
        for lang, stored in (result.imported or {}).get("files", {}).items():
            seen[(lang, stored.get("content_sha256"))] = (result.model["name"], result.seed, stored["path"])
    for _, by_lang in sorted(targets.items()):
        for lang, t in sorted(by_lang.items()):
            other = seen.get((lang, t.content_sha256))
            if other:
                raise XbenchError(f"{t.file.path}: its words and tags are exactly those of {other[0]} {lang} seed "
                                  f"{other[1]} ({other[2]}), already imported; one set of predictions cannot stand "
                                  "for two systems (a file copied into the wrong folder?)")


def _languages(task: Task, spec: str) -> tuple[str, ...]:
    """Codes and set names of the task, in order; a code the task does not know stops here."""
    codes: list[str] = []
    for item in (i.strip() for i in spec.split(",") if i.strip()):
        if item in task.language_sets:
            codes.extend(task.language_sets[item])
        elif item in task.languages:
            codes.append(item)
        else:
            raise XbenchError(f"unknown language or language set {item!r} for task {task.name}"
                              f"{did_you_mean(item, list(task.languages) + list(task.language_sets))}; "
                              f"`xbench languages --task {task.name}` lists its codes")
    return tuple(dict.fromkeys(codes))


def _result(task: Task, system: str, source: str, seed: int, targets: dict[str, ImportedTarget],
            pretrained_in: str | None) -> Result:
    from benchmark.eval.predict import SEQEVAL_MODE

    files = {lang: {"path": str(t.file.path), "sha256": t.sha256, "content_sha256": t.content_sha256}
             for lang, t in sorted(targets.items())}
    pretraining = None
    if pretrained_in is not None:
        pretraining = sorted(code for code, lang in task.languages.items() if pretrained_in in lang.pretrained_in)
    return Result(
        kind=KIND_IMPORTED, task=task.name, task_version=task.version,
        identity={"task": task.name, "task_version": task.version, "model": system, "sources": [source],
                  "seed": seed, "imported": True, "files_sha256": {k: v["sha256"] for k, v in files.items()}},
        model={"name": system, "key": system, "hub_id": None, "family": "imported", "random_init": False,
               "pretraining_languages": pretraining},
        sources=[source], seed=seed, recipe=None, imported={"files": files}, seqeval_mode=SEQEVAL_MODE,
        targets={lang: {
            **t.scores, "n_sentences": len(t.gold), "n_words": sum(len(w) for w in t.gold.tokens),
            "scheme_breaks_gold": count_scheme_breaks(t.gold.tags), "test_limit": None,
            "test_sha256": content_sha256(t.gold), "alignment": t.alignment,
            **({"published": t.published} if t.published else {}),
        } for lang, t in sorted(targets.items())},
    )
