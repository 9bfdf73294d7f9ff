"""Launching a planned grid: in this process, side by side on this machine, or on Slurm.

``run()`` plans the grid (``benchmark.run.plan``), checks everything it can before any work, and
hands the units to a launcher:

- ``in-process`` (the default): one unit after another, as xbench always ran; an error stops it.
- ``local``: ``--max-parallel`` units at once, each a submitit local job with its own GPU
  (``CUDA_VISIBLE_DEVICES``); by default as many units as GPUs.
- ``slurm``: one submitit job array, one element per unit with work left.

With ``local`` and ``slurm`` a failing unit does not stop the others: the summary names it with
its log and last error line, and the same command again runs only what is still missing.
Units already in the Slurm queue (``--no-wait`` earlier) are waited for, not submitted again.
"""

from __future__ import annotations

import os
import shlex
import shutil
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import click

from benchmark.errors import XbenchError
from benchmark.progress import say
from benchmark.run.jobs import failure_of, read_record, write_record
from benchmark.run.plan import (
    Grid,
    RunOptions,
    check_writable_folder,
    describe_plan,
    done_targets,
    has_work,
    pending_targets,
    plan_grid,
    preflight_data,
)
from benchmark.run.slurm import Partition, SlurmOptions
from benchmark.run.unit import Unit, final_table

LAUNCHERS = ("in-process", "local", "slurm")
LOCAL_TIMEOUT_MIN = 365 * 24 * 60  # submitit's local jobs time out; a unit should not


@dataclass
class LaunchOptions:
    launcher: str = "in-process"
    max_parallel: int | None = None  # local: units at once (default: the number of GPUs, at least 1)
    job_dir: Path | None = None  # job logs; default <results-dir>/jobs
    wait: bool = True
    slurm: SlurmOptions = field(default_factory=SlurmOptions)


class UnitsFailed(XbenchError):
    """Some units failed while the others finished; the summary above names them."""

    exit_code = 1



def run(options: RunOptions, launch: LaunchOptions | None = None) -> list[Path]:
    """Plan the grid, run or submit its units, print the F1 table; returns the result files."""
    launch = launch or LaunchOptions()
    grid = plan_grid(options)
    partition = check_launch(launch, options)
    from benchmark.models.loading import model_folder
    from benchmark.run.hardware import resolve_device

    # A GPU asked for and not there: say so before any work (on Slurm the GPU is on the node).
    device = resolve_device(options.device) if launch.launcher != "slurm" else None
    if options.dry_run:
        click.echo(describe_plan(grid, device, options))
        return []
    if launch.launcher != "in-process":
        from benchmark.folders import check_writable_folder as check_folder

        check_folder(job_dir_of(launch, options), "job folder", "pass another --job-dir")
    # Models first: a hub model that cannot be had should fail at once, before any data is read.
    # Jobs then load it from the cache (compute nodes often have no internet).
    folders = {spec.name: model_folder(spec) for spec in grid.specs}
    pending = pending_targets(grid.units, options.overwrite, grid.source)
    if pending:
        preflight_data(grid.task, grid.source, grid.sources, pending, options.show_progress)
    check_writable_folder(Path(options.results_dir), "--results-dir")
    if launch.launcher == "in-process":
        for unit in grid.units:
            unit.run(folders[unit.spec.name], device)
        failed = {}
    else:
        failed = launch_jobs(grid, options, launch, partition)
        if failed is None:  # --no-wait
            return []
    click.echo(final_table(grid.task, [u.path for u in grid.units], grid.selection.present))
    if failed:
        raise UnitsFailed(f"{len(failed)} of {len(grid.units)} unit(s) failed ({', '.join(u.label for u in failed)}); "
                          "see their logs above, fix the cause and run the same command again: it runs only them")
    return [u.path for u in grid.units]


def check_launch(launch: LaunchOptions, options: RunOptions) -> Partition | None:
    """Launcher settings that cannot work: one line, before anything is read, built or submitted."""
    if launch.launcher not in LAUNCHERS:
        raise XbenchError(f"--launcher must be one of {', '.join(LAUNCHERS)}")
    if launch.max_parallel is not None and launch.max_parallel < 1:
        raise XbenchError(f"--max-parallel must be >= 1, got {launch.max_parallel}")
    if launch.max_parallel is not None and launch.launcher != "local":
        raise XbenchError("--max-parallel is for --launcher local (on Slurm, --array-parallelism)")
    if not launch.wait and launch.launcher != "slurm":
        raise XbenchError("--no-wait is for --launcher slurm (local units run only while xbench waits)")
    if launch.launcher == "local" and options.device.startswith("cuda:"):
        raise XbenchError(f"--device {options.device}: the local launcher gives each unit its own GPU; "
                          "use --device auto or cuda")
    if launch.launcher != "slurm":
        if launch.slurm != SlurmOptions():
            raise XbenchError("--partition, --gpus-per-job, --cpus-per-job, --mem, --time, --array-parallelism, "
                              "--account, --qos and --sbatch are for --launcher slurm")
        return None
    from benchmark.run.slurm import check_cluster, node_local_reason, sbatch_extras, test_submission

    sbatch_extras(launch.slurm.sbatch)
    if launch.slurm.array_parallelism is not None and launch.slurm.array_parallelism < 1:
        raise XbenchError(f"--array-parallelism must be >= 1, got {launch.slurm.array_parallelism}")
    partition = check_cluster(launch.slurm)
    test_submission(launch.slurm, partition)
    for folder, what, option in ((Path(options.results_dir), "results folder", "--results-dir"),
                                 (job_dir_of(launch, options), "job log folder", "--job-dir")):
        reason = node_local_reason(folder, partition.nodes)
        if reason:
            raise XbenchError(f"{what} {folder}: the jobs on {partition.name}'s nodes cannot write it ({reason}); "
                              f"pass a {option} on storage the nodes share")
    return partition


def job_dir_of(launch: LaunchOptions, options: RunOptions) -> Path:
    return Path(launch.job_dir) if launch.job_dir else Path(options.results_dir) / "jobs"


def job_setup_lines(threads: int | None = None) -> list[str]:
    """Shell lines run before each job: the job imports this very xbench, and loads models from
    the caches only (compute nodes often have no internet; `xbench models --download` first)."""
    import benchmark

    root = Path(benchmark.__file__).resolve().parent.parent
    lines = [f"export PYTHONPATH={shlex.quote(str(root))}${{PYTHONPATH:+:$PYTHONPATH}}",
             "export HF_HUB_OFFLINE=1"]
    if threads is not None:
        lines.append(f"export OMP_NUM_THREADS=${{OMP_NUM_THREADS:-{threads}}}")
    return lines


def launch_jobs(grid: Grid, options: RunOptions, launch: LaunchOptions, partition: Partition | None):
    """Submit the units with work left and (unless --no-wait) wait for them; returns the failed
    units, or None when not waiting."""
    job_dir = job_dir_of(launch, options)
    job_dir.mkdir(parents=True, exist_ok=True)
    todo = []
    for unit in grid.units:
        if has_work(unit, options.overwrite):
            todo.append(unit)
        else:
            say(f"{unit.label}: all {len(unit.selection.present)} targets done in {unit.path}")
    if not todo:
        return []
    say(f"job logs: {job_dir.resolve()}")
    progress = GridProgress(todo, options.overwrite, options.show_progress)
    if launch.launcher == "local":
        run_local(todo, launch.max_parallel, job_dir, progress)
    else:
        if not submit_slurm(todo, launch, partition, job_dir):
            return None
        watch_slurm(todo, progress)
    progress.close()
    return summarise(todo, options.overwrite)


# --- local: N units side by side, each with its own GPU -------------------------------------------

def _gpu_count() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def least_used_gpu(in_use: list[int], gpus: int) -> int:
    """The GPU the fewest running units have (the lowest index on a tie): one unit per GPU while
    there are free ones, then evenly shared.

    >>> least_used_gpu([0, 2], 4), least_used_gpu([0, 1], 2), least_used_gpu([0, 1, 0], 2)
    (1, 0, 1)
    """
    return min(range(gpus), key=lambda g: (in_use.count(g), g))


def run_local(units: list[Unit], max_parallel: int | None, job_dir: Path, progress: GridProgress) -> None:
    import submitit

    gpus = _gpu_count()
    slots = max_parallel or max(1, gpus)
    threads = None if gpus else max(1, (os.cpu_count() or 1) // slots)  # CPU units share the cores
    waiting, running = list(units), {}  # unit -> (job, gpu)
    while waiting or running:
        while waiting and len(running) < slots:
            unit = waiting.pop(0)
            gpu = least_used_gpu([g for _, g in running.values()], gpus) if gpus else None
            executor = submitit.LocalExecutor(folder=str(job_dir / "%j"))
            executor.update_parameters(timeout_min=LOCAL_TIMEOUT_MIN, gpus_per_node=1 if gpus else 0,
                                       visible_gpus=(gpu,) if gpus else (), setup=job_setup_lines(threads))
            job = executor.submit(unit)
            _note_submitted(unit, "local", job)
            running[unit] = (job, gpu)
        for unit in [u for u, (job, _) in running.items() if job.done()]:
            del running[unit]
        progress.show({**{u: "running" for u in running}, **{u: "pending" for u in waiting}})
        time.sleep(0.5)
    try:  # submitit's local controller makes the folder pattern itself as an (empty) folder
        (job_dir / "%j").rmdir()
    except OSError:
        pass


def _note_submitted(unit: Unit, launcher: str, job) -> None:
    write_record(unit.path, {"launcher": launcher, "job_id": str(job.job_id), "stdout": str(job.paths.stdout),
                             "stderr": str(job.paths.stderr), "error": None, "state": "submitted",
                             "submitted": datetime.now(timezone.utc).isoformat(timespec="seconds")})


# --- slurm: one job array ------------------------------------------------------------------------

def submit_slurm(units: list[Unit], launch: LaunchOptions, partition: Partition, job_dir: Path) -> bool:
    """Submit the units not already in the queue as one array; False when not to wait."""
    from submitit.core.utils import FailedJobError, FailedSubmissionError

    from benchmark.run.slurm import executor, queue_states

    queued = queue_states()
    attached = [u for u in units if (r := read_record(u.path)) and r.get("launcher") == "slurm"
                and r.get("job_id") in queued]
    fresh = [u for u in units if u not in attached]
    if attached:
        ids = ", ".join(read_record(u.path)["job_id"] for u in attached)
        say(f"{len(attached)} unit(s) already in the Slurm queue (job {ids}): waiting for them, not resubmitting")
    if fresh:
        ex = executor(job_dir, launch.slurm, partition, len(fresh))
        before = set(job_dir.iterdir())
        try:
            jobs = ex.submit_array(fresh)
        except (FailedJobError, FailedSubmissionError) as err:
            for leftover in set(job_dir.iterdir()) - before:  # refused: leave nothing behind
                shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
            lines = [line for line in str(err).splitlines() if line.strip()]
            reason = next((line for line in lines if "error" in line.lower()), lines[-1] if lines else "")
            raise XbenchError(f"sbatch refused the job array: {reason.strip()}") from None
        for unit, job in zip(fresh, jobs):
            _note_submitted(unit, "slurm", job)
        array_id = jobs[0].job_id.split("_")[0]
        what = f"job array {array_id} ({len(fresh)} units)" if len(fresh) > 1 else f"job {array_id} (1 unit)"
        click.echo(f"submitted to Slurm: {what} on partition {partition.name}, time limit "
                   f"{partition.time_min / 60:g} h per unit")
    if not launch.wait:
        click.echo("not waiting (--no-wait): `xbench status` with the same options shows the grid; the same "
                   "`xbench run` command again waits for these jobs and reruns only what failed")
        return False
    return True


def watch_slurm(units: list[Unit], progress: GridProgress) -> None:
    """Poll squeue until every unit's job has left the queue. A job out of the queue has ended
    when submitit wrote its outcome, else after a second poll (a requeued job stays queued)."""
    from benchmark.run.slurm import queue_states

    records = {u: read_record(u.path) for u in units}
    absent = dict.fromkeys(units, 0)
    started = time.monotonic()
    while True:
        queued = queue_states()
        states = {}
        for unit in units:
            state = queued.get(records[unit]["job_id"])
            absent[unit] = 0 if state else absent[unit] + 1
            ended = absent[unit] >= 2 or (absent[unit] and _outcome_written(records[unit]))
            states[unit] = "ended" if ended else "pending" if state == "PENDING" else "running"
        progress.show(states)
        if all(s == "ended" for s in states.values()):
            return
        # Quick polls while short grids finish, then gentler on the controller.
        elapsed = time.monotonic() - started
        time.sleep(1 if elapsed < 60 else 5 if elapsed < 600 else 15)


def _outcome_written(record: dict) -> bool:
    """Whether submitit wrote the job's outcome (its result pickle; never read here)."""
    from submitit.core.utils import JobPaths

    return JobPaths(Path(record["stdout"]).parent, job_id=record["job_id"], task_id=0).result_pickle.exists()


# --- progress and summary -------------------------------------------------------------------------

class GridProgress:
    """Units done, running, pending and failed; targets done of all the grid's targets. A bar on a
    terminal; in a log, one line each time the units' states change."""

    def __init__(self, units: list[Unit], overwrite: str, show_progress: bool):
        from benchmark.progress import current_mode, progress

        self.units, self.overwrite = units, overwrite
        self.lines = show_progress and current_mode() == "lines"
        self.total = sum(len(u.selection.present) for u in units)
        self.bar = progress(self.total, "grid", "targets", enabled=show_progress)
        self.last_line = None

    def show(self, states: dict[Unit, str]) -> None:
        targets = {u: len(set(u.selection.present) & done_targets(u.path, "only-missing")) for u in self.units}
        done = sum(targets.values())
        counts = {"done": 0, "running": 0, "pending": 0, "failed": 0}
        for unit in self.units:
            state = states.get(unit, "ended")
            if state == "ended":
                state = "done" if targets[unit] == len(unit.selection.present) else "failed"
            counts[state] += 1
        line = ", ".join(f"{n} {what}" for what, n in counts.items())
        self.bar.update(done - self.bar.n)
        self.bar.set_postfix_str(f"units: {line}")
        if self.lines and line != self.last_line:
            self.bar.write(f"grid: units {line}; targets {done}/{self.total}")
        self.last_line = line

    def close(self) -> None:
        self.bar.close()


def summarise(units: list[Unit], overwrite: str) -> list[Unit]:
    """Name every unit that did not finish, with its log and last error line; returns them."""
    failed = [u for u in units if has_work(u, "only-missing")]
    say(f"grid: {len(units) - len(failed)} of {len(units)} unit(s) done" + (f", {len(failed)} failed"
                                                                              if failed else ""))
    for unit in failed:
        record = read_record(unit.path) or {}
        log, line = failure_of(unit.path)
        say(f"failed: {unit.label} (job {record.get('job_id', '?')}): {line or 'no error line in its log'}")
        say(f"  log: {log}")
    return failed
