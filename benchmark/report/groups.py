"""Report groups: the result files of one (task, recipe, source), read from the results store.

Loading is kept apart from the analysis so that what a report is made of (which runs, which
languages every run has, which scores are stale, the per-sentence counts) can be read and tested
without any statistics. A damaged file or target is left out with one line; the rest goes on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmark.errors import XbenchError
from benchmark.results.store import iter_result_files, read_predictions, read_result, recipe_key_of


@dataclass
class ModelRuns:
    """One model's runs in a report group: seed -> result, with where the results live."""

    name: str
    results: dict[int, dict] = field(default_factory=dict)
    paths: dict[int, Path] = field(default_factory=dict)

    @property
    def seeds(self) -> list[int]:
        return sorted(self.results)

    def pretraining_languages(self) -> set[str] | None:
        langs = next(iter(self.results.values()))["model"].get("pretraining_languages")
        return None if langs is None else set(langs)


@dataclass
class Group:
    task: str
    source: str
    models: dict[str, ModelRuns]
    seqeval_mode: str
    recipe: str = ""  # the recipe key: results of different recipes never share a table
    stale: dict[tuple[str, int], list[str]] = field(default_factory=dict)  # (model, seed) -> stale targets


def _skipped(line: str) -> None:
    """Something damaged is left out of a report or comparison: one line, and the rest goes on."""
    import sys

    print(f"xbench: skipped {line}", file=sys.stderr)


def _readable(results_dir: Path, path: Path) -> tuple[dict, str] | None:
    """(result, recipe key), leaving out damaged targets; None (and one line) for a damaged file."""
    from benchmark.results.rerun import rerun_command
    from benchmark.results.store import sidecar_problem

    try:
        result, recipe = read_result(path), recipe_key_of(results_dir, path)
    except XbenchError as err:
        _skipped(f"{err}")
        return None
    for lang in sorted(result["targets"]):
        problem = sidecar_problem(path, result["targets"][lang])
        if problem:
            _skipped(f"{result['model']['name']} seed {result['seed']} on {lang}: {problem}; recompute it with: "
                     f"{rerun_command(result, results_dir, [lang])}")
            del result["targets"][lang]
    return result, recipe


def load_groups(results_dir: Path) -> list[Group]:
    """Result files grouped by (task, recipe, source); mixing seqeval modes in a group is an error."""
    files = iter_result_files(results_dir)
    if not files:
        raise XbenchError(f"no result files under {results_dir}; run `xbench run` first")
    groups: dict[tuple[str, str, str], Group] = {}
    for path in files:
        readable = _readable(results_dir, path)
        if readable is None:
            continue
        result, recipe = readable
        key = (result["task"], recipe, "+".join(sorted(result["sources"])))
        group = groups.setdefault(key, Group(key[0], key[2], {}, result["seqeval_mode"], key[1]))
        if result["seqeval_mode"] != group.seqeval_mode:
            raise XbenchError(f"{path}: scored in seqeval mode {result['seqeval_mode']!r}, other results of "
                              f"{key[0]} from {key[2]} in {group.seqeval_mode!r}; scores of different modes "
                              "cannot be compared")
        runs = group.models.setdefault(result["model"]["name"], ModelRuns(result["model"]["name"]))
        runs.results[int(result["seed"])] = result
        runs.paths[int(result["seed"])] = path
    if not groups:
        raise XbenchError(f"no readable result files under {results_dir} (each damaged one is named above)")
    return [groups[k] for k in sorted(groups)]


def mark_stale(group: Group, data_dir: Path | None) -> None:
    """Note each run's stale scores (test data changed since): the report marks them."""
    from benchmark.results.staleness import stale_targets

    for m in group.models.values():
        for seed, result in m.results.items():
            stale = stale_targets(result, data_dir)
            if stale:
                group.stale[(m.name, seed)] = stale


def coverage(group: Group) -> tuple[list[str], list[str]]:
    """(languages every run has, lines saying what some runs lack)."""
    all_targets = sorted({t for m in group.models.values() for r in m.results.values() for t in r["targets"]})
    common = [t for t in all_targets
              if all(t in r["targets"] for m in group.models.values() for r in m.results.values())]
    missing = []
    for m in sorted(group.models.values(), key=lambda m: m.name):
        for seed in m.seeds:
            lacks = [t for t in all_targets if t not in m.results[seed]["targets"]]
            if lacks:
                missing.append(f"{m.name} seed {seed} lacks {len(lacks)} of {len(all_targets)} targets: "
                               f"{', '.join(lacks)}")
    seed_counts = {m.name: len(m.seeds) for m in group.models.values()}
    if len(set(seed_counts.values())) > 1:
        missing.append("seeds differ between models: " + ", ".join(f"{k} {v}" for k, v in sorted(seed_counts.items())))
    return common, missing


def load_counts(group: Group, languages: list[str], progress=None) -> dict[str, dict[str, np.ndarray]]:
    """Per-sentence (TP, FP, FN) of every model, language and seed: (n_seeds, n_sentences, 3)."""
    counts: dict[str, dict[str, np.ndarray]] = {}
    for m in group.models.values():
        counts[m.name] = {}
        for lang in languages:
            if progress is not None:
                progress(lang)
            rows = []
            for seed in m.seeds:
                target = m.results[seed]["targets"][lang]
                sidecar = m.paths[seed].parent / target["predictions"]["file"]
                rows.append(np.asarray(read_predictions(sidecar, target["predictions"]["sha256"])["counts"],
                                       dtype=np.int64).reshape(-1, 3))
            if len({r.shape[0] for r in rows}) != 1:
                raise XbenchError(f"{m.name} on {lang}: seeds were scored on different numbers of test sentences "
                                  "(mixed --test-limit?); rerun them alike")
            counts[m.name][lang] = np.stack(rows)
    sizes = {lang: {c[lang].shape[1] for c in counts.values()} for lang in languages}
    uneven = [lang for lang, s in sizes.items() if len(s) > 1]
    if uneven:
        raise XbenchError(f"models were scored on different test sentences for {', '.join(uneven)} "
                          "(mixed --test-limit?); a paired comparison needs the same sentences")
    return counts
