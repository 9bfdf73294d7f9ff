"""Planning a run grid: the (model, seed, source set) units asked for and which have work left.

Planning reads the task, the data folder's layout and the results folder; it loads no model and
writes nothing, so ``--dry-run``, ``xbench status`` and every launcher share it. A unit has work
left when some target is missing from its result file (``--overwrite only-missing``), when it
has no result file (``never``), or always (``always``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmark.data.languages import LanguageSelection, missing_message, select_languages
from benchmark.data.sources import DataSource, content_sha256, read_sentences, resolve_source
from benchmark.data.tasks import Recipe, Task, get_task
from benchmark.errors import XbenchError
from benchmark.models.registry import ModelSpec, resolve_model
from benchmark.progress import say
from benchmark.results.store import read_result, recipe_key, result_path, source_key
from benchmark.run.unit import (
    Unit,
    _extra_stored_targets,
    _limited,
    identity_refusal,
    run_identity,
    saved_model_path,
    test_limit_refusal,
)

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
class Grid:
    """Everything planning found: the resolved task, recipe, data and the units, in order."""

    task: Task
    recipe: Recipe
    source: DataSource
    sources: tuple[str, ...]
    selection: LanguageSelection
    specs: list[ModelSpec]
    units: list[Unit]


MAX_SEEDS = 1000  # one fine-tune each: more in one command is a typo (1-100000000), not a plan
MAX_SEED = 2**32 - 1  # what every generator xbench seeds (torch, numpy) accepts


def parse_seeds(text: str) -> tuple[int, ...]:
    """``"1,2,3"`` or ``"1-3"`` into seeds; one clear line for anything else."""
    seeds: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        try:
            if "-" in part[1:]:
                low, high = (int(x) for x in part.split("-", 1))
                if high < low:
                    raise ValueError
                if high - low + 1 + len(seeds) > MAX_SEEDS:
                    raise XbenchError(f"--seeds: {part!r} is {high - low + 1} seeds; at most {MAX_SEEDS} in one "
                                      "command (each seed is one fine-tune)")
                seeds.extend(range(low, high + 1))
            else:
                seeds.append(int(part))
        except ValueError:
            raise XbenchError(f"--seeds: {part!r} is not a seed; give integers like 1,2,3 or 1-3") from None
    if any(s < 0 or s > MAX_SEED for s in seeds):
        bad = next(s for s in seeds if s < 0 or s > MAX_SEED)
        raise XbenchError(f"--seeds: {bad} is out of range; seeds go from 0 to {MAX_SEED}")
    if len(seeds) > MAX_SEEDS:
        raise XbenchError(f"--seeds: {len(seeds)} seeds; at most {MAX_SEEDS} in one command (each seed is one "
                          "fine-tune)")
    if len(set(seeds)) != len(seeds):
        raise XbenchError(f"--seeds: a seed is repeated in {text!r}")
    return tuple(seeds)



def plan_grid(options: RunOptions, quiet: bool = False, writes: bool = True) -> Grid:
    """Check the options and list the units, one per (model, seed), in the order given.
    ``writes``: the caller will write results (``xbench status`` only reads)."""
    task = get_task(options.task)
    if options.overwrite not in OVERWRITE_MODES:
        raise XbenchError(f"--overwrite must be one of {', '.join(OVERWRITE_MODES)}")
    declared = task.recipe(options.recipe)
    recipe = declared.with_overrides(**options.recipe_overrides)
    recipe_dir = recipe_key(recipe.as_dict(), declared.as_dict())
    if options.test_limit is not None and options.test_limit < 1:
        raise XbenchError(f"--test-limit must be >= 1, got {options.test_limit}")
    if writes and not options.dry_run:
        check_output_folders(Path(options.results_dir))
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
    if selection.missing and not quiet:
        say(f"note: {missing_message(selection, source)}; evaluating the {len(selection.present)} others.")
    if not selection.present:
        raise XbenchError(f"no target language has data in {source.describe()}")
    units = [Unit(task, source, sources, selection, recipe, spec, seed,
                  result_path(options.results_dir, task.name, recipe_dir, spec.key, sources, seed), options)
             for spec in specs for seed in options.seeds]
    return Grid(task, recipe, source, sources, selection, specs, units)


def check_output_folders(results_dir: Path) -> None:
    """The cache (checkpoints, converted models) and the results folder must be writable: checked
    before any model is loaded or any data read, and without creating either."""
    from benchmark.config import CACHE_ENV, cache_root
    from benchmark.folders import check_writable_folder

    check_writable_folder(cache_root(), "cache folder", f"set ${CACHE_ENV} to a writable folder")
    check_writable_folder(results_dir, "results folder", "pass another --results-dir")


def done_targets(path: Path, overwrite: str) -> set[str]:
    """Targets a result file already holds (none when it will be recomputed or cannot be read)."""
    if overwrite == "always" or not path.exists():
        return set()
    try:
        return set(read_result(path).get("targets", {}))
    except XbenchError:
        return set()


def has_work(unit: Unit, overwrite: str) -> bool:
    """Whether running the unit would compute anything (a damaged result file counts: the unit
    itself then says what is wrong with it)."""
    if overwrite == "never" and unit.path.exists():
        return False
    return bool(set(unit.selection.present) - done_targets(unit.path, overwrite))


def pending_targets(units: list[Unit], overwrite: str, source) -> list[str]:
    """Targets some unit still has to evaluate (damaged result files count as pending: the unit
    itself will then say what is wrong with them); under ``always``, also the other targets the
    stored results hold, which a replacement recomputes."""
    pending: dict[str, None] = {}
    for unit in units:
        targets = unit.selection.present
        if overwrite == "never" and unit.path.exists():
            continue
        done = done_targets(unit.path, overwrite)
        pending.update((t, None) for t in targets if t not in done)
        if overwrite == "always" and unit.path.exists():
            try:
                stored = read_result(unit.path)
            except XbenchError:
                continue
            pending.update((t, None) for t in _extra_stored_targets(unit.path, stored, targets, source))
    return list(pending)


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


def describe_plan(grid: Grid, device, options: RunOptions) -> str:
    """What ``run`` will do, unit by unit, including a refusal it would meet."""
    from benchmark.run.hardware import resolve_bf16

    task, source, sources, selection, recipe = grid.task, grid.source, grid.sources, grid.selection, grid.recipe
    lines = [f"plan: {len(grid.specs)} model(s) x {len(options.seeds)} seed(s) x "
             f"{len(selection.present)} target(s), trained on {source_key(sources)} with recipe "
             f"{recipe_key(recipe.as_dict(), task.recipe(recipe.name).as_dict())}"]
    if selection.missing:
        lines.append(f"missing (skipped): {', '.join(selection.missing)}")
    train_sha = None
    for p in grid.units:
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
