"""``xbench run``: fine-tune each model on the source, evaluate zero-shot on every target.

One result per (task, model, source, seed). A finished (run, target) is never recomputed
under ``--overwrite only-missing``; an interrupted training resumes from its last checkpoint,
which lives in xbench's cache (outside the results folder) and is removed once the run is done.
"""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import click

from benchmark import __version__
from benchmark.data.conll import TaggedSentences
from benchmark.data.sources import DataSource, content_sha256, read_sentences, resolve_source
from benchmark.errors import XbenchError
from benchmark.faults import fault_point
from benchmark.languages import LanguageSelection, missing_message, select_languages
from benchmark.models.registry import ModelSpec, resolve_model, weights_sha256
from benchmark.results import (
    read_result,
    recipe_key,
    result_path,
    source_key,
    write_result,
)
from benchmark.tasks import Recipe, Task, get_task
from benchmark.timing import CLOCK

OVERWRITE_MODES = ("never", "only-missing", "always")


@dataclass
class RunOptions:
    task: str = "wikiann"
    models: tuple[str, ...] = ("me5-small",)
    sources: tuple[str, ...] = ("en",)
    targets: str = "all"
    recipe: str | None = None
    recipe_overrides: dict = field(default_factory=dict)
    seeds: tuple[int, ...] = (1,)
    data_dir: str | None = None
    results_dir: Path = Path("results")
    overwrite: str = "only-missing"
    bf16: str = "auto"
    device: str = "auto"
    test_limit: int | None = None
    checkpoint_every_s: float = 300.0
    dry_run: bool = False
    show_progress: bool = True
    model_alias: str | None = None  # --name: the canonical name of one local model folder
    save_model_dir: Path | None = None  # --save-model: keep each fine-tuned classifier here


@dataclass
class PlannedRun:
    spec: ModelSpec
    seed: int
    path: Path


def parse_seeds(text: str) -> tuple[int, ...]:
    """``"1,2,3"`` or ``"1-3"`` into seeds; one clear line for anything else."""
    seeds: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        try:
            if "-" in part[1:]:
                low, high = (int(x) for x in part.split("-", 1))
                if high < low:
                    raise ValueError
                seeds.extend(range(low, high + 1))
            else:
                seeds.append(int(part))
        except ValueError:
            raise XbenchError(f"--seeds: {part!r} is not a seed; give integers like 1,2,3 or 1-3") from None
    if any(s < 0 for s in seeds):
        raise XbenchError("--seeds: seeds must be >= 0")
    if len(set(seeds)) != len(seeds):
        raise XbenchError(f"--seeds: a seed is repeated in {text!r}")
    return tuple(seeds)


def _echo(message: str = "") -> None:
    click.echo(message, err=True)


def git_commit() -> str | None:
    """``$XBENCH_GIT_COMMIT`` if set (a copy of the code sent to another machine, whose ``.git``
    may be missing or stale), else the checkout's commit with ``-dirty`` for uncommitted
    changes, else None (an installed package)."""
    import os

    if os.environ.get("XBENCH_GIT_COMMIT"):
        return os.environ["XBENCH_GIT_COMMIT"]
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (commit + ("-dirty" if dirty else "")) or None


def library_versions() -> dict:
    """Installed versions, read from package metadata (importing datasets alone takes seconds)."""
    from importlib.metadata import PackageNotFoundError, version

    def installed(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    names = ("transformers", "torch", "datasets", "tokenizers", "seqeval")
    return {"xbench": __version__, **{name: installed(name) for name in names},
            "python": platform.python_version()}


def run_identity(task: Task, spec: ModelSpec, sources: tuple[str, ...], seed: int, recipe: Recipe,
                 bf16: bool, train_sha256: dict) -> dict:
    """What makes two trainings the same training: resuming or extending needs these to match."""
    recipe_fields = {k: v for k, v in recipe.as_dict().items() if k != "description"}
    identity = {"task": task.name, "task_version": task.version, "model": spec.name, "sources": list(sources),
                "seed": seed, "recipe": recipe_fields, "bf16": bf16, "train_data_sha256": train_sha256}
    if spec.weights_sha256 is not None:  # a local folder: its name alone does not fix its weights
        identity["weights_sha256"] = spec.weights_sha256
    return identity


# Below this many optimiser steps, or this best dev F1, a fine-tune has not learned the task.
MIN_USEFUL_STEPS = 100
MIN_USEFUL_DEV_F1 = 0.10


def training_warnings(steps: int, best_dev_f1: float) -> list[str]:
    """Why a fine-tune cannot have learned anything useful, if it cannot (printed and stored)."""
    warnings = []
    if steps < MIN_USEFUL_STEPS:
        warnings.append(f"only {steps} optimiser steps (fewer than {MIN_USEFUL_STEPS}): too little training "
                        "for these scores to say anything about the model; use more --train-limit or --epochs")
    if best_dev_f1 < MIN_USEFUL_DEV_F1:
        warnings.append(f"best source dev F1 {100 * best_dev_f1:.2f} is near the floor of an untrained "
                        f"classifier (below {100 * MIN_USEFUL_DEV_F1:.0f}): the model has not learned the task")
    return warnings


def model_window(config, wanted: int) -> int:
    """The longest window the model's position table allows, at most ``wanted``.

    RoBERTa-style models start positions after the padding index, so two rows are not usable.
    """
    positions = getattr(config, "max_position_embeddings", wanted) or wanted
    if getattr(config, "model_type", "") in ("roberta", "xlm-roberta", "camembert", "xlm-roberta-xl"):
        positions -= (getattr(config, "pad_token_id", 1) or 1) + 1
    return min(wanted, positions)


def checkpoint_dir_for(identity: dict, result_file: Path) -> Path:
    from benchmark.models.loading import cache_root

    key = json.dumps({"identity": identity, "result": str(result_file.resolve())}, sort_keys=True)
    return cache_root() / "runs" / hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]


def _limited(sentences: TaggedSentences, limit: int | None) -> TaggedSentences:
    if limit is None:
        return sentences
    return TaggedSentences(sentences.tokens[:limit], sentences.tags[:limit])


def _concat(parts: list[TaggedSentences]) -> TaggedSentences:
    return TaggedSentences([s for p in parts for s in p.tokens], [t for p in parts for t in p.tags])


def run(options: RunOptions) -> list[Path]:
    """Do every planned (model, seed) run; returns the result files touched."""
    task = get_task(options.task)
    if options.overwrite not in OVERWRITE_MODES:
        raise XbenchError(f"--overwrite must be one of {', '.join(OVERWRITE_MODES)}")
    declared = task.recipe(options.recipe)
    recipe = declared.with_overrides(**options.recipe_overrides)
    recipe_dir = recipe_key(recipe.as_dict(), declared.as_dict())
    if options.test_limit is not None and options.test_limit < 1:
        raise XbenchError(f"--test-limit must be >= 1, got {options.test_limit}")
    source = resolve_source(options.data_dir)
    if options.model_alias is not None and len(set(options.models)) != 1:
        raise XbenchError("--name names one local model folder; give exactly one --model with it")
    specs = [resolve_model(m, options.model_alias) for m in dict.fromkeys(options.models)]
    if options.save_model_dir is not None:
        check_writable_folder(Path(options.save_model_dir), "--save-model")
    source_langs = select_languages(task, ",".join(options.sources), source)
    if source_langs.missing:
        raise XbenchError(f"source language: {missing_message(source_langs, source)}")
    sources = tuple(dict.fromkeys(source_langs.requested))
    selection = select_languages(task, options.targets, source)
    if selection.missing:
        _echo(f"note: {missing_message(selection, source)}; evaluating the {len(selection.present)} others.")
    if not selection.present:
        raise XbenchError(f"no target language has data in {source.describe()}")
    plan = [PlannedRun(spec, seed, result_path(options.results_dir, task.name, recipe_dir, spec.key, sources, seed))
            for spec in specs for seed in options.seeds]
    from benchmark.hardware import resolve_device
    from benchmark.models.loading import model_folder

    device = resolve_device(options.device)  # a GPU asked for and not there: say so before any work
    if options.dry_run:
        click.echo(describe_plan(task, source, plan, sources, selection, recipe, device, options))
        return []
    # Models first: a hub model that cannot be had should fail at once, before any data is read.
    folders = {spec.name: model_folder(spec) for spec in specs}
    pending = _pending_targets(plan, selection.present, options.overwrite)
    if pending:
        preflight_data(task, source, sources, pending, options.show_progress)
    _check_writable(Path(options.results_dir))
    touched = []
    for planned in plan:
        _run_one(task, source, sources, selection, recipe, planned, folders[planned.spec.name], device, options)
        touched.append(planned.path)
    click.echo(final_table(task, [p.path for p in plan], selection.present))
    return touched


def saved_model_path(save_dir: Path, result_file: Path, results_dir: Path) -> Path:
    """Where ``--save-model`` keeps a unit's classifier: the result's place, mirrored."""
    relative = Path(result_file).relative_to(results_dir)
    return Path(save_dir) / relative.parent / relative.stem


def _pending_targets(plan: list[PlannedRun], targets, overwrite: str) -> list[str]:
    """Targets some planned run still has to evaluate (damaged result files count as pending:
    the run itself will then say what is wrong with them)."""
    pending: set[str] = set()
    for planned in plan:
        if overwrite == "never" and planned.path.exists():
            continue
        done = _done_targets(planned.path, overwrite)
        pending |= {t for t in targets if t not in done}
    return [t for t in targets if t in pending]


def _done_targets(path: Path, overwrite: str) -> set[str]:
    """Targets a result file already holds (none when it will be recomputed or cannot be read)."""
    if overwrite == "always" or not path.exists():
        return set()
    try:
        return set(read_result(path).get("targets", {}))
    except XbenchError:
        return set()


def preflight_data(task: Task, source: DataSource, sources, targets, show_progress: bool) -> None:
    """Read every split the run will need once, before any training: a bad line in the last
    target's test file should stop the run now, not after an hour of fine-tuning."""
    from benchmark.progress import progress

    needed = [(lang, split) for lang in sources for split in ("train", "validation")]
    needed += [(lang, "test") for lang in targets]
    bar = progress(len(needed), "checking data", "files", leave=False, enabled=show_progress)
    for lang, split in needed:
        read_sentences(task, source, lang, split)
        bar.update(1)
    bar.close()


def check_writable_folder(folder: Path, what: str) -> None:
    """Create ``folder`` if needed and prove a file can be written there, or stop with one line."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".xbench-write-probe-{time.time_ns()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise XbenchError(f"{what} folder {folder} is not writable ({err.strerror or err}); "
                          f"pass another {what}") from None


def _check_writable(results_dir: Path) -> None:
    check_writable_folder(results_dir, "--results-dir")


def describe_plan(task, source, plan, sources, selection: LanguageSelection, recipe: Recipe, device,
                  options) -> str:
    """What ``run`` will do, unit by unit, including a refusal it would meet."""
    from benchmark.hardware import resolve_bf16

    lines = [f"plan: {len({p.spec.name for p in plan})} model(s) x {len(options.seeds)} seed(s) x "
             f"{len(selection.present)} target(s), trained on {source_key(sources)} with recipe "
             f"{recipe_key(recipe.as_dict(), task.recipe(recipe.name).as_dict())}"]
    if selection.missing:
        lines.append(f"missing (skipped): {', '.join(selection.missing)}")
    train_sha = None
    for p in plan:
        line = f"  {p.spec.name} seed {p.seed}: "
        if p.path.exists() and options.overwrite == "never":
            lines.append(line + f"kept as it is (--overwrite never) -> {p.path}")
            continue
        existing = None
        if p.path.exists() and options.overwrite != "always":
            try:
                existing = read_result(p.path)
            except XbenchError as err:
                lines.append(line + f"will stop: {err}")
                continue
        if existing is not None:
            if train_sha is None:
                train_sha = {lang: content_sha256(_limited(read_sentences(task, source, lang, "train"),
                                                           recipe.train_limit)) for lang in sources}
            bf16, _ = resolve_bf16(options.bf16, device)
            refusal = identity_refusal(existing, run_identity(task, p.spec, sources, p.seed, recipe, bf16, train_sha),
                                       p.path) or test_limit_refusal(existing, selection.present, options.test_limit,
                                                                     p.path)
            if refusal:
                lines.append(line + f"will stop: {refusal}")
                continue
        done = set(existing["targets"]) if existing else set()
        todo = [t for t in selection.present if t not in done]
        action = ("train, then evaluate " if todo else "nothing to do: ") + \
            f"{len(todo)} target(s) to evaluate, {len(selection.present) - len(todo)} done"
        if options.save_model_dir is not None:
            keep = saved_model_path(options.save_model_dir, p.path, options.results_dir)
            if not todo and not keep.exists():
                action = "train to save the model (every target is done)"
            action += f"; model kept in {keep}"
        lines.append(line + f"{action} -> {p.path}")
    lines.append(f"targets: {', '.join(selection.present)}")
    return "\n".join(lines)


def identity_refusal(existing: dict, identity: dict, path: Path) -> str | None:
    """Why a stored result cannot be extended by this training (None when it can)."""
    if existing["identity"] == identity:
        return None
    stored = existing["identity"]
    changed = sorted(k for k in set(identity) | set(stored) if stored.get(k) != identity.get(k))
    return (f"{path} was made with a different {', '.join(changed)}; rerun with the same settings, "
            "--overwrite always to replace it, or another --results-dir")


def test_limit_refusal(existing: dict, targets, test_limit, path: Path) -> str | None:
    for lang in targets:
        stored = existing["targets"].get(lang)
        if stored is not None and stored.get("test_limit") != test_limit:
            return (f"{path}: target {lang} was scored with --test-limit {stored.get('test_limit')}, not "
                    f"{test_limit}; use the same limit, --overwrite always, or another --results-dir")
    return None


def _run_one(task: Task, source: DataSource, sources: tuple[str, ...], selection: LanguageSelection,
             recipe: Recipe, planned: PlannedRun, folder: Path, device, options: RunOptions) -> None:
    with result_lock(planned.path):
        _run_locked(task, source, sources, selection, recipe, planned, folder, device, options)


@contextmanager
def result_lock(path: Path):
    """Hold the lock of one result file: two processes on one results folder take turns."""
    from filelock import FileLock, Timeout

    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path.with_name(f".{path.name}.lock")))
    try:
        lock.acquire(timeout=1)
    except Timeout:
        _echo(f"waiting: another xbench process is working on {path}")
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def _run_locked(task, source, sources, selection, recipe, planned: PlannedRun, folder: Path, device,
                options: RunOptions) -> None:
    from benchmark.hardware import describe_device, resolve_bf16

    spec, seed, path = planned.spec, planned.seed, planned.path
    label = f"{spec.name} seed {seed}"
    existing = read_result(path) if path.exists() else None
    if existing is not None and options.overwrite == "never":
        _echo(f"{label}: {path} exists; kept as it is (--overwrite never)")
        return
    if existing is not None and options.overwrite == "always":
        shutil.rmtree(path.with_suffix(".predictions"), ignore_errors=True)
        path.unlink()
        existing = None
    done = set(existing["targets"]) if existing else set()
    todo = [t for t in selection.present if t not in done]
    bf16, bf16_note = resolve_bf16(options.bf16, device)
    train_parts = {lang: _limited(read_sentences(task, source, lang, "train"), recipe.train_limit) for lang in sources}
    dev_parts = {lang: _limited(read_sentences(task, source, lang, "validation"), recipe.dev_limit) for lang in sources}
    train_sha = {lang: content_sha256(s) for lang, s in train_parts.items()}
    identity = run_identity(task, spec, sources, seed, recipe, bf16, train_sha)
    if existing is not None:
        refusal = identity_refusal(existing, identity, path) or \
            test_limit_refusal(existing, selection.present, options.test_limit, path)
        if refusal:
            raise XbenchError(refusal)
    keep = saved_model_path(options.save_model_dir, path, options.results_dir) if options.save_model_dir else None
    if keep is not None and keep.exists():
        from benchmark.models.saving import check_saved_identity

        check_saved_identity(keep, identity)
    if not todo and (keep is None or keep.exists()):
        _echo(f"{label}: all {len(selection.present)} targets done in {path}")
        return

    from benchmark.models.loading import load_token_classifier, load_tokenizer

    _echo(f"{label}: {len(todo)} target(s) to evaluate on {describe_device(device)}; bf16 {bf16_note}")
    tokenizer = load_tokenizer(spec, folder)
    model = load_token_classifier(spec, folder, task.labels, seed).to(device)
    label_id = {name: i for i, name in enumerate(task.labels)}
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

    from benchmark.align import encode_split
    from benchmark.evaluate import SEQEVAL_MODE
    from benchmark.train import train_model

    window = model_window(model.config, recipe.max_length)
    if window < recipe.max_length:
        _echo(f"{label}: the model holds {window} positions; windows of {window} subwords, not {recipe.max_length}")
        recipe = recipe.with_overrides(max_length=window)
    train_all = _concat(list(train_parts.values()))
    dev_all = _concat(list(dev_parts.values()))
    fault_point("tokenise")
    with CLOCK.phase("tokenising"):
        train_tag_ids = [[label_id[tag] for tag in tags] for tags in train_all.tags]
        encoded_train = encode_split(tokenizer, train_all.tokens, train_tag_ids, recipe.max_length)
        encoded_dev = encode_split(tokenizer, dev_all.tokens, None, recipe.max_length)

    def dev_f1(m) -> float:
        from benchmark.evaluate import ids_to_tags, predict_word_tags, score

        predicted = predict_word_tags(m, encoded_dev, pad_id, recipe.eval_batch_size, bf16)
        return score(dev_all.tags, ids_to_tags(predicted, task.labels))["f1"]

    checkpoint_dir = checkpoint_dir_for(identity, path)
    if (checkpoint_dir / "checkpoint.pt").exists():
        _echo(f"{label}: resuming training from {checkpoint_dir}")
    with CLOCK.phase("training"):
        outcome = train_model(model, encoded_train, recipe, seed, pad_id, bf16, dev_f1, checkpoint_dir,
                              checkpoint_every_s=options.checkpoint_every_s, show_progress=options.show_progress)

    warnings = training_warnings(outcome.steps, outcome.best_dev_f1)
    for warning in warnings:
        _echo(f"{label}: warning: {warning}")
    if keep is not None and not keep.exists():
        from benchmark.models.saving import save_token_classifier

        save_token_classifier(model, tokenizer, keep, {
            "task": task.name, "recipe": recipe.as_dict(), "sources": list(sources), "seed": seed,
            "identity": identity, "model": spec.name, "max_length": recipe.max_length,
            "eval_batch_size": recipe.eval_batch_size, "bf16": bf16})
        _echo(f"{label}: fine-tuned model kept in {keep}")
    result = existing or {
        "task": task.name, "task_version": task.version, "identity": identity,
        "model": {"name": spec.name, "key": spec.key, "hub_id": spec.hub_id, "family": spec.family,
                  "random_init": spec.random_init,
                  **({"local_path": str(spec.local_path), "weights_sha256": spec.weights_sha256}
                     if spec.local_path is not None else {}),
                  "pretraining_languages": sorted(spec.languages) if spec.languages is not None else None},
        "sources": list(sources), "seed": seed, "recipe": recipe.as_dict(),
        "seqeval_mode": SEQEVAL_MODE, "targets": {},
    }
    result["config"] = {"bf16": bf16, "bf16_note": bf16_note, "device": describe_device(device),
                        "data_source": source.describe(),
                        "checkpoint_every_s": options.checkpoint_every_s}
    result["versions"] = library_versions()
    result["git_commit"] = git_commit()
    result["training"] = {
        "dev_curve": outcome.dev_curve, "best_epoch": outcome.best_epoch, "best_dev_f1": outcome.best_dev_f1,
        "steps": outcome.steps, "seconds": round(outcome.seconds, 1), "train_sentences": len(train_all),
        "train_windows": outcome.train_windows, "train_subwords": outcome.train_subwords,
        "dev_sentences": len(dev_all), "resumed_from_step": outcome.resumed_from_step,
        "data_sha256": {"train": train_sha, "validation": {k: content_sha256(v) for k, v in dev_parts.items()}},
    }
    result["warnings"] = warnings
    if keep is not None:
        result["saved_model"] = {"path": str(keep.resolve()), "sha256": weights_sha256(keep)}
        write_result(path, result)
    _evaluate_targets(task, source, todo, model, tokenizer, pad_id, recipe, bf16, result, path, options, label)
    shutil.rmtree(checkpoint_dir, ignore_errors=True)


def _evaluate_targets(task, source, todo, model, tokenizer, pad_id, recipe, bf16, result, path, options, label,
                      label_map=None):
    """Evaluate ``todo``, writing the result as each target completes (so nothing done is lost).

    ``label_map`` maps the model's label ids to the task's, for a model with labels of its own
    (``xbench evaluate``); None when the model was fine-tuned on the task's labels. The work is
    done by :mod:`benchmark.eval_pipeline` (cached windows, batches across targets, scoring in
    the background).
    """
    from benchmark.eval_pipeline import evaluate_targets

    evaluate_targets(task, source, todo, model, tokenizer, pad_id, recipe.max_length, recipe.eval_batch_size, bf16,
                     result, path, options.test_limit, options.show_progress, label, label_map=label_map, log=_echo)


def count_test_sentences(task: Task, source: DataSource, langs, test_limit: int | None) -> dict[str, int]:
    """Test sentences per target (counted without parsing where the layout allows), for progress."""
    from benchmark.data.conll import count_sentences

    sizes = {}
    for lang in langs:
        if source.kind in ("panx", "rahimi"):
            n = count_sentences(source.split_path(lang, "test"))
        else:
            n = len(read_sentences(task, source, lang, "test"))
        sizes[lang] = n if test_limit is None else min(n, test_limit)
    return sizes


def final_table(task: Task, paths: list[Path], targets) -> str:
    from tabulate import tabulate

    rows = []
    columns = []
    for path in paths:
        if not path.exists():
            continue
        result = read_result(path)
        columns.append(f"{result['model']['name']} s{result['seed']}")
        rows.append({lang: result["targets"].get(lang, {}).get("f1") for lang in targets})
    table = [[lang, *(f"{100 * r[lang]:.1f}" if r.get(lang) is not None else "-" for r in rows)] for lang in targets]
    means = [sum(r[t] for t in targets) / len(targets) if all(r.get(t) is not None for t in targets) else None
             for r in rows]
    table.append(["mean", *(f"{100 * m:.1f}" if m is not None else "-" for m in means)])
    return "span F1 (%) per target\n" + tabulate(table, headers=["target", *columns])
