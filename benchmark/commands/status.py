"""``xbench status``: where each unit of a grid stands, from the results folder, xbench's cache
and, for units submitted to Slurm, the queue. It reads and never writes.

A unit's training checkpoint lives in the cache under a hash of the run's identity, which
includes bf16, decided where the unit runs; both possible folders are looked at. Only the
checkpoint's step is read (a memory map, not the weights).
"""

from __future__ import annotations

import math
from pathlib import Path

from tabulate import tabulate

from benchmark.data.sources import content_sha256, read_sentences
from benchmark.run.jobs import failure_of, read_record
from benchmark.run.plan import RunOptions, done_targets, plan_grid
from benchmark.run.unit import Unit, _limited, checkpoint_dir_for, run_identity


def _queue(units: list[Unit]) -> dict[str, str]:
    """Slurm's view of the units' jobs; {} when none was submitted to Slurm or Slurm is not here."""
    from benchmark.errors import XbenchError
    from benchmark.run.slurm import queue_states

    if not any((read_record(u.path) or {}).get("launcher") == "slurm" for u in units):
        return {}
    try:
        return queue_states()
    except XbenchError:
        return {}


def _alive(pid) -> bool:
    """Whether a local job's controller process still runs."""
    import os

    try:
        os.kill(int(pid), 0)
    except (OSError, TypeError, ValueError):
        return False
    return True


def checkpoint_step(unit: Unit, train_sha: dict) -> str | None:
    """``step 40 of 90`` for the unit's last training checkpoint, or None when it has none."""
    for bf16 in (False, True):
        identity = run_identity(unit.task, unit.spec, unit.sources, unit.seed, unit.recipe, bf16, train_sha)
        path = checkpoint_dir_for(identity, unit.path) / "checkpoint.pt"
        if path.exists():
            import torch

            try:
                state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
            except Exception:  # damaged: the unit itself sets it aside when it resumes
                return "damaged checkpoint"
            windows = state["outcome"].get("train_windows") or 0
            total = math.ceil(windows / unit.recipe.batch_size) * unit.recipe.epochs
            return f"step {state['step']} of {total}"
    return None


def status_table(options: RunOptions) -> str:
    grid = plan_grid(options, quiet=True, writes=False)
    queued = _queue(grid.units)
    train_sha = None
    rows, failures = [], []
    for unit in grid.units:
        targets = len(grid.selection.present)
        done = len(set(grid.selection.present) & done_targets(unit.path, "only-missing"))
        record = read_record(unit.path) or {}
        job_id = record.get("job_id")
        queue_state = queued.get(job_id) if record.get("launcher") == "slurm" else None
        step = None
        if done < targets:
            if train_sha is None:
                train_sha = {lang: content_sha256(_limited(read_sentences(grid.task, grid.source, lang, "train"),
                                                           grid.recipe.train_limit)) for lang in grid.sources}
            step = checkpoint_step(unit, train_sha)
        if done == targets:
            state = "done"
        elif queue_state:
            state = queue_state.lower()
        elif record.get("launcher") == "local" and record.get("state") != "failed" and _alive(job_id):
            state = "running"
        elif record.get("state") in ("failed", "running", "submitted"):
            # A job that left the queue without finishing has failed, whatever it last wrote.
            state = "failed"
            failures.append(unit)
        elif step or done:
            state = "interrupted"
        else:
            state = "not started"
        job = f"{record['launcher']} {job_id}" if job_id else "-"
        rows.append([unit.spec.name, unit.seed, f"{done}/{targets}", step or "-", state, job])
    lines = [tabulate(rows, headers=["model", "seed", "targets done", "last checkpoint", "state", "job"])]
    for unit in failures:
        log, line = failure_of(unit.path)
        lines.append(f"failed: {unit.label}: {line or 'no error line in its log'}\n  log: {log}")
    counts = {}
    for row in rows:
        counts[row[4]] = counts.get(row[4], 0) + 1
    lines.append(f"{len(rows)} unit(s): " + ", ".join(f"{n} {state}" for state, n in counts.items()))
    lines.append(f"results: {Path(options.results_dir)}")
    return "\n".join(lines)
