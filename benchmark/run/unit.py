"""The unit of work of ``xbench run``: one (model, seed, source set), fine-tuned once and
evaluated on every pending target, its result file written target by target.

A ``Unit`` is a plain picklable callable, so the same object runs in this process, in a local
worker or as one element of a Slurm job array (submitit). A finished (unit, target) is never
recomputed under ``--overwrite only-missing``; an interrupted training resumes from its last
checkpoint, which lives in xbench's cache (outside the results folder) and is removed once the
unit is done. ``checkpoint()`` is submitit's hook for preemption: the unit resubmits itself
unchanged, because everything a resumed unit needs is already on disk.
"""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from benchmark import __version__
from benchmark.data.conll import TaggedSentences
from benchmark.data.languages import LanguageSelection
from benchmark.data.sources import TEXT_LAYOUTS, DataSource, content_sha256, read_sentences
from benchmark.data.tasks import Recipe, Task
from benchmark.errors import XbenchError
from benchmark.faults import fault_point
from benchmark.models.registry import ModelSpec, weights_sha256
from benchmark.progress import say
from benchmark.results.store import (
    read_result,
    referenced_sidecars,
    remove_unreferenced_sidecars,
    sidecar_problem,
    staging_path,
    swap_in_replacement,
    write_result,
)
from benchmark.run.jobs import current_job
from benchmark.timing import CLOCK

if TYPE_CHECKING:
    from benchmark.run.plan import RunOptions


@dataclass(eq=False)  # a unit is itself: launchers key their bookkeeping on it
class Unit:
    """One (model, seed, source set), with everything it needs as plain data that pickles."""

    task: Task
    source: DataSource
    sources: tuple[str, ...]
    selection: LanguageSelection  # its present languages are the unit's targets
    recipe: Recipe
    spec: ModelSpec
    seed: int
    path: Path  # the result file
    options: RunOptions

    @property
    def label(self) -> str:
        return f"{self.spec.name} seed {self.seed}"

    def __call__(self) -> str:
        """Run where it lands (a local worker, a Slurm node): find the device and the model
        there, then train or resume, and evaluate. Returns the result file's path."""
        from benchmark.models.loading import model_folder
        from benchmark.run.hardware import resolve_device
        from benchmark.run.jobs import failure_recorded, preemption_requeues

        with failure_recorded(self.path), preemption_requeues():
            self.run(model_folder(self.spec), resolve_device(self.options.device))
        return str(self.path)

    def run(self, folder: Path, device) -> None:
        """Train (or resume) with the model in ``folder`` on ``device``; evaluate every pending target."""
        _run_one(self.task, self.source, self.sources, self.selection, self.recipe, self, folder, device,
                 self.options)

    def checkpoint(self):
        """submitit's preemption hook: resubmit the unit as it is. The training checkpoint
        (saved at the end of the step the signal interrupted) and the finished targets are on
        disk, so the requeued unit resumes from them."""
        from submitit.helpers import DelayedSubmission

        return DelayedSubmission(self)



def git_commit() -> str | None:
    """``$XBENCH_GIT_COMMIT`` if set (a copy of the code sent to another machine, whose ``.git``
    may be missing or stale), else the checkout's commit with ``-dirty`` for uncommitted
    changes, else None (an installed package)."""
    import os

    if os.environ.get("XBENCH_GIT_COMMIT"):
        return os.environ["XBENCH_GIT_COMMIT"]
    root = Path(__file__).resolve().parents[2]
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
    from benchmark.config import cache_root

    key = json.dumps({"identity": identity, "result": str(result_file.resolve())}, sort_keys=True)
    return cache_root() / "runs" / hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]


def _limited(sentences: TaggedSentences, limit: int | None) -> TaggedSentences:
    if limit is None:
        return sentences
    return TaggedSentences(sentences.tokens[:limit], sentences.tags[:limit])


def _concat(parts: list[TaggedSentences]) -> TaggedSentences:
    return TaggedSentences([s for p in parts for s in p.tokens], [t for p in parts for t in p.tags])


def saved_model_path(save_dir: Path, result_file: Path, results_dir: Path) -> Path:
    """Where ``--save-model`` keeps a unit's classifier: the result's place, mirrored."""
    relative = Path(result_file).relative_to(results_dir)
    return Path(save_dir) / relative.parent / relative.stem


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
             recipe: Recipe, planned: Unit, folder: Path, device, options: RunOptions) -> None:
    with result_lock(planned.path):
        _run_locked(task, source, sources, selection, recipe, planned, folder, device, options)


@contextmanager
def result_lock(path: Path):
    """Hold the lock of one result file: two processes on one results folder take turns."""
    from filelock import FileLock, Timeout

    lock_file = path.with_name(f".{path.name}.lock")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(lock_file))
        try:
            lock.acquire(timeout=1)
        except Timeout:
            say(f"waiting: another xbench process is working on {path}")
            lock.acquire()
    except OSError as err:
        raise XbenchError(f"cannot write in {path.parent} or take its lock {lock_file.name} "
                          f"({err.strerror or err}): a read-only folder, or a lock file of another user? "
                          "Make it writable, or pass another --results-dir") from None
    try:
        yield
    finally:
        lock.release()


def _run_locked(task, source, sources, selection, recipe, planned: Unit, folder: Path, device,
                options: RunOptions) -> None:
    from benchmark.signals import Stopped

    replacing = options.overwrite == "always" and planned.path.exists()
    try:
        _compute(task, source, sources, selection, recipe, planned, folder, device, options, replacing)
    except Stopped as err:
        path = planned.path
        if replacing and not getattr(err, "swapped", False):
            waiting = "; the replacement so far waits beside it" if staging_path(path).exists() else ""
            err.kept = "; ".join(filter(None, [f"{path} is unchanged{waiting}", err.kept]))
        elif err.kept is None:
            err.kept = f"finished targets are saved in {path}"
        raise


def _compute(task, source, sources, selection, recipe, planned: Unit, folder: Path, device,
             options: RunOptions, replacing: bool) -> None:
    """Train (or resume) one (model, seed) and evaluate the targets it still lacks.

    ``replacing`` (``--overwrite always`` over a stored result): the new result is built beside
    the stored one and swapped in at the end, so an interruption leaves the old one whole.
    """
    from benchmark.run.hardware import describe_device, resolve_bf16

    spec, seed, path = planned.spec, planned.seed, planned.path
    label = f"{spec.name} seed {seed}"
    if options.overwrite == "never" and path.exists():
        _say_kept(task, source, path, label, selection.present)
        return
    bf16, bf16_note = resolve_bf16(options.bf16, device)
    train_parts = {lang: _limited(read_sentences(task, source, lang, "train"), recipe.train_limit) for lang in sources}
    dev_parts = {lang: _limited(read_sentences(task, source, lang, "validation"), recipe.dev_limit) for lang in sources}
    train_sha = {lang: content_sha256(s) for lang, s in train_parts.items()}
    identity = run_identity(task, spec, sources, seed, recipe, bf16, train_sha)
    if replacing:
        stored, result = _start_replacement(path, identity, label)
        targets = _replacement_targets(path, stored, selection.present, source, label)
        todo = [t for t in targets if t not in (result or {}).get("targets", {})]
    else:
        stored = read_result(path) if path.exists() else None
        if stored is not None:
            refusal = identity_refusal(stored, identity, path) or \
                test_limit_refusal(stored, selection.present, options.test_limit, path)
            if refusal:
                raise XbenchError(refusal)
        redo = _targets_to_redo(task, source, path, stored, selection.present)
        for lang, why in redo.items():
            say(f"{label} {lang}: {why}; recomputing it")
        done = set(stored["targets"]) - set(redo) if stored else set()
        todo = [t for t in selection.present if t not in done]
        result = stored
    keep = saved_model_path(options.save_model_dir, path, options.results_dir) if options.save_model_dir else None
    if keep is not None and keep.exists():
        from benchmark.models.saving import check_saved_identity

        check_saved_identity(keep, identity)
    if not todo and replacing:  # a replacement interrupted just before its swap: finish it
        _finish(path, result, replacing, checkpoint_dir_for(identity, path), label)
        return
    if not todo and (keep is None or keep.exists()):
        say(f"{label}: all {len(selection.present)} targets done in {path}")
        # A run stopped after its last write leaves its checkpoint and replaced predictions behind.
        remove_unreferenced_sidecars(path, stored)
        shutil.rmtree(checkpoint_dir_for(identity, path), ignore_errors=True)
        return

    from benchmark.models.loading import load_token_classifier, load_tokenizer

    say(f"{label}: {len(todo)} target(s) to evaluate on {describe_device(device)}; bf16 {bf16_note}")
    tokenizer = load_tokenizer(spec, folder)
    model = load_token_classifier(spec, folder, task.labels, seed).to(device)
    label_id = {name: i for i, name in enumerate(task.labels)}
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

    from benchmark.encoding.align import encode_split
    from benchmark.eval.predict import SEQEVAL_MODE
    from benchmark.train.loop import train_model

    window = model_window(model.config, recipe.max_length)
    if window < recipe.max_length:
        say(f"{label}: the model holds {window} positions; windows of {window} subwords, not {recipe.max_length}")
        recipe = recipe.with_overrides(max_length=window)
    train_all = _concat(list(train_parts.values()))
    dev_all = _concat(list(dev_parts.values()))
    fault_point("tokenise")
    with CLOCK.phase("tokenising"):
        train_tag_ids = [[label_id[tag] for tag in tags] for tags in train_all.tags]
        encoded_train = encode_split(tokenizer, train_all.tokens, train_tag_ids, recipe.max_length)
        encoded_dev = encode_split(tokenizer, dev_all.tokens, None, recipe.max_length)

    def dev_f1(m) -> float:
        from benchmark.eval.predict import ids_to_tags, predict_word_tags, score

        predicted = predict_word_tags(m, encoded_dev, pad_id, recipe.eval_batch_size, bf16)
        return score(dev_all.tags, ids_to_tags(predicted, task.labels))["f1"]

    checkpoint_dir = checkpoint_dir_for(identity, path)
    if (checkpoint_dir / "checkpoint.pt").exists():
        say(f"{label}: resuming training from {checkpoint_dir}")
    with CLOCK.phase("training"):
        outcome = train_model(model, encoded_train, recipe, seed, pad_id, bf16, dev_f1, checkpoint_dir,
                              checkpoint_every_s=options.checkpoint_every_s, show_progress=options.show_progress)

    warnings = training_warnings(outcome.steps, outcome.best_dev_f1)
    for warning in warnings:
        say(f"{label}: warning: {warning}")
    if keep is not None and not keep.exists():
        from benchmark.models.saving import save_token_classifier

        save_token_classifier(model, tokenizer, keep, {
            "task": task.name, "recipe": recipe.as_dict(), "sources": list(sources), "seed": seed,
            "identity": identity, "model": spec.name, "max_length": recipe.max_length,
            "eval_batch_size": recipe.eval_batch_size, "bf16": bf16})
        say(f"{label}: fine-tuned model kept in {keep}")
    result = result or {
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
                        "data_dir": str(source.root.resolve()) if source.root is not None else None,
                        "checkpoint_every_s": options.checkpoint_every_s}
    job = current_job()
    if job is not None:  # where its log is, for whoever reads the result later
        result["config"]["job"] = job
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
    write_to = staging_path(path) if replacing else path
    if keep is not None:
        result["saved_model"] = {"path": str(keep.resolve()), "sha256": weights_sha256(keep)}
        write_result(write_to, result)
    # A new score's predictions never overwrite a file the stored result still refers to.
    in_use = referenced_sidecars(path, stored) if stored is not None or not replacing else \
        set(path.with_suffix(".predictions").glob("*.json.gz"))
    _evaluate_targets(task, source, todo, model, tokenizer, pad_id, recipe, bf16, result, path, options, label,
                      write_to=write_to, in_use=in_use)
    _finish(path, result, replacing, checkpoint_dir, label)


def _finish(path: Path, result: dict, replacing: bool, checkpoint_dir: Path, label: str) -> None:
    """Swap a replacement in, remove the predictions no result refers to, and the checkpoint."""
    from benchmark.signals import Stopped

    if replacing:
        try:
            swap_in_replacement(path)
        except Stopped as err:  # it waited for the swap: the new result is in place
            err.swapped, err.kept = True, f"{path} now holds the new result"
            raise
        say(f"{label}: replaced {path} with the new result")
    remove_unreferenced_sidecars(path, result)
    shutil.rmtree(checkpoint_dir, ignore_errors=True)


def _say_kept(task, source, path: Path, label: str, targets) -> None:
    """``--overwrite never`` over a stored result: keep it, and say which of its scores are stale."""
    try:
        stored = read_result(path)
    except XbenchError as err:
        say(f"{label}: {path} exists but cannot be read ({err}); kept as it is (--overwrite never)")
        return
    stale = [lang for lang in targets if lang in stored["targets"] and _is_stale(task, source, stored["targets"][lang],
                                                                             lang)]
    if stale:
        say(f"{label}: {path} kept as it is (--overwrite never), but its scores of {', '.join(stale)} are "
              "stale: the test data changed since they were scored; --overwrite only-missing recomputes them")
    else:
        say(f"{label}: {path} exists; kept as it is (--overwrite never)")


def _is_stale(task, source, stored_target: dict, lang: str) -> bool:
    from benchmark.results.staleness import is_stale

    return is_stale(task, source, stored_target, lang)


def _targets_to_redo(task, source, path: Path, stored: dict | None, targets) -> dict[str, str]:
    """Stored targets to compute again, with why: a missing or damaged predictions file, or
    test data that changed since the score was computed (a score must stay tied to its data)."""
    redo: dict[str, str] = {}
    for lang in targets:
        target = (stored or {}).get("targets", {}).get(lang)
        if target is None:
            continue
        problem = sidecar_problem(path, target)
        if problem:
            redo[lang] = problem
        elif _is_stale(task, source, target, lang):
            redo[lang] = f"its test data changed since it was scored (test_sha256 differs, {source.describe()})"
    return redo


def _start_replacement(path: Path, identity: dict, label: str) -> tuple[dict | None, dict | None]:
    """(the stored result if readable, a staged replacement to resume if there is one).

    ``--overwrite always`` never reads the stored result to decide anything but which targets
    it holds: a damaged one is replaced like any other.
    """
    try:
        stored = read_result(path)
    except XbenchError as err:
        stored = None
        say(f"{label}: the stored result cannot be read ({err}); it will be replaced")
    stage = staging_path(path)
    staged = None
    if stage.exists():
        try:
            staged = read_result(stage)
        except XbenchError:
            staged = None
        if staged is not None and staged.get("identity") == identity:
            say(f"{label}: resuming the replacement of {path} ({len(staged['targets'])} target(s) already "
                  "recomputed)")
        else:
            staged = None
            stage.unlink(missing_ok=True)
    return stored, staged


def _replacement_targets(path: Path, stored: dict | None, asked, source, label: str) -> list[str]:
    """What a replacement computes: the targets asked for, and every other target the stored
    result holds (a replacement never drops a score silently; see ``--overwrite`` in --help)."""
    extra = _extra_stored_targets(path, stored, asked, source)
    if extra:
        say(f"{label}: also recomputing {', '.join(extra)}, which the stored result holds (the replacement "
              "keeps every target)")
    return list(asked) + extra


def replacement_extra_targets(path: Path, asked, source, label: str) -> list[str]:
    """The targets a stored result holds beyond ``asked``, which its replacement recomputes too
    (an unreadable stored result holds none that can be known)."""
    try:
        stored = read_result(path)
    except XbenchError:
        return []
    extra = _extra_stored_targets(path, stored, asked, source)
    if extra:
        say(f"{label}: also recomputing {', '.join(extra)}, which the stored result holds (the replacement "
              "keeps every target)")
    return extra


def _extra_stored_targets(path: Path, stored: dict | None, asked, source) -> list[str]:
    """Targets a stored result holds beyond those asked for; one without data stops the run."""
    extra = [t for t in (stored or {}).get("targets", {}) if t not in asked]
    lacking = [t for t in extra if not source.has_language(t)]
    if lacking:
        raise XbenchError(f"{path} holds targets {', '.join(lacking)} with no test data in {source.describe()}: "
                          "replacing it would drop them; point --data-dir at their data, or delete the "
                          "result file first to start over")
    return extra


def _evaluate_targets(task, source, todo, model, tokenizer, pad_id, recipe, bf16, result, path, options, label,
                      label_map=None, write_to: Path | None = None, in_use: set[Path] | None = None):
    """Evaluate ``todo``, writing the result (to ``write_to``) as each target completes, so nothing
    done is lost.

    ``label_map`` maps the model's label ids to the task's, for a model with labels of its own
    (``xbench evaluate``); None when the model was fine-tuned on the task's labels. The work is
    done by :mod:`benchmark.eval.pipeline` (cached windows, batches across targets, scoring in
    the background).
    """
    from benchmark.eval.pipeline import evaluate_targets

    # A new score's predictions never overwrite a file the stored result still refers to.
    in_use = referenced_sidecars(path, result) if in_use is None else in_use
    evaluate_targets(task, source, todo, model, tokenizer, pad_id, recipe.max_length, recipe.eval_batch_size, bf16,
                     result, path, options.test_limit, options.show_progress, label, label_map=label_map, log=say,
                     write_to=write_to or path, in_use=in_use)


def count_test_sentences(task: Task, source: DataSource, langs, test_limit: int | None) -> dict[str, int]:
    """Test sentences per target (counted without parsing where the layout allows), for progress."""
    from benchmark.data.conll import count_sentences

    sizes = {}
    for lang in langs:
        if source.kind in TEXT_LAYOUTS:
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
        try:
            result = read_result(path)
        except XbenchError:  # absent, or damaged and kept under --overwrite never (already said)
            continue
        columns.append(f"{result['model']['name']} s{result['seed']}")
        rows.append({lang: result["targets"].get(lang, {}).get("f1") for lang in targets})
    table = [[lang, *(f"{100 * r[lang]:.1f}" if r.get(lang) is not None else "-" for r in rows)] for lang in targets]
    means = [sum(r[t] for t in targets) / len(targets) if all(r.get(t) is not None for t in targets) else None
             for r in rows]
    table.append(["mean", *(f"{100 * m:.1f}" if m is not None else "-" for m in means)])
    return "span F1 (%) per target\n" + tabulate(table, headers=["target", *columns])
