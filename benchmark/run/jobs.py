"""What a launcher knows about a unit's job: a small record beside the result file.

``.seed-<n>.json.job`` (hidden, so result listings skip it) says which launcher runs the unit,
its job id and where its logs are; the launcher writes it at submission, and the unit, running
in the job, adds the last error line when it fails. ``xbench run`` reads it to wait for a job
already in the queue instead of submitting the unit twice, ``xbench status`` to say where
each unit stands. Writes are atomic (a reader sees the old record or the new one).
"""

from __future__ import annotations

import json
import os
import re
import socket
import sys
from contextlib import contextmanager
from pathlib import Path

from benchmark.errors import XbenchError
from benchmark.results.store import atomic_write_bytes


def record_path(result_file: Path) -> Path:
    return result_file.with_name(f".{result_file.name}.job")


def read_record(result_file: Path) -> dict | None:
    """The unit's job record, or None (never launched as a job, or unreadable: a record is a hint)."""
    try:
        record = json.loads(record_path(result_file).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def write_record(result_file: Path, record: dict) -> None:
    atomic_write_bytes(record_path(result_file), (json.dumps(record, indent=1, sort_keys=True) + "\n").encode())


def update_record(result_file: Path, **fields) -> None:
    record = read_record(result_file) or {}
    record.update(fields)
    write_record(result_file, record)


def current_job() -> dict | None:
    """This process's submitit job (launcher, id, host, log files), or None outside one."""
    launcher = os.environ.get("SUBMITIT_EXECUTOR")
    if not launcher or "SUBMITIT_FOLDER" not in os.environ:
        return None
    import submitit

    env = submitit.JobEnvironment()
    return {"launcher": launcher, "job_id": env.job_id, "host": socket.gethostname(),
            "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
            "stdout": str(env.paths.stdout), "stderr": str(env.paths.stderr)}


def error_line(err: BaseException) -> str:
    """One line naming what went wrong: xbench's own messages as they are, others with their type."""
    text = str(err).strip().splitlines()
    first = text[0] if text else ""
    if isinstance(err, XbenchError):
        return first
    return f"{type(err).__name__}: {first}" if first else type(err).__name__


@contextmanager
def failure_recorded(result_file: Path):
    """In a job, note the start and, on an error, its line in the job record (the log has the
    traceback). Outside a job, nothing: the error reaches the user directly."""
    job = current_job()
    if job is None:
        yield
        return
    update_record(result_file, **job, error=None, state="running")
    try:
        yield
    except Exception as err:
        update_record(result_file, error=error_line(err), state="failed")
        raise
    update_record(result_file, state="done")


# Lines of a job log that say why it ended: a Python exception, slurmstepd's CANCELLED/TIME
# LIMIT/OOM notes, srun's errors. submitit's own "triggered an exception" line says nothing new.
_ERROR = re.compile(r"(^[\w.]+(Error|Exception|Interrupt|Stopped)\b)|error:|CANCELLED|oom|Killed|"
                    r"out of memory|DUE TO", re.IGNORECASE)
_NOISE = re.compile(r"submitit (ERROR|WARNING|INFO)|Submitted job triggered an exception")


def last_error_line(log: Path | str | None, tail_bytes: int = 65536) -> str | None:
    """The last line of a log that says what went wrong, or None."""
    if not log:
        return None
    try:
        with open(log, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - tail_bytes))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return None
    lines = [part.strip() for line in text.splitlines() for part in line.split("\r") if part.strip()]
    for line in reversed(lines):
        if _ERROR.search(line) and not _NOISE.search(line):
            return line[:300]
    return None


def failure_of(result_file: Path) -> tuple[str | None, str | None]:
    """(log path, last error line) of a unit's job: the line the unit recorded, else the log's."""
    record = read_record(result_file) or {}
    log = record.get("stderr")
    return log, record.get("error") or last_error_line(log)


# The signal submitit checkpoints and requeues on. Slurm stops a job with SIGTERM (preemption,
# `scancel --signal=TERM`, the time limit's first warning), so xbench's Slurm jobs use SIGTERM
# for submitit too ($SUBMITIT_PREEMPT_SIGNAL, and sbatch --signal=TERM@<s>): one signal, which
# benchmark.signals already holds back to the end of a training step.
PREEMPT_SIGNAL = "TERM"


@contextmanager
def preemption_requeues():
    """In a Slurm job: a stop signal ends the unit as Ctrl-C does (benchmark.signals: at the end
    of the current training step, with the checkpoint saved), then submitit's own handler
    requeues it: ``Unit.checkpoint()`` resubmits the unit, ``scontrol requeue``, exit. Anywhere
    else the stop goes on as it is."""
    import signal

    from benchmark.signals import Stopped, ignore_stop_signals

    requeue = signal.getsignal(signal.SIGTERM)  # submitit's handler, installed before the unit ran
    if getattr(requeue, "__name__", "") != "checkpoint_and_try_requeue":
        yield
        return
    # submitit's usual checkpoint signal (job._interrupt(), or --sbatch signal=USR2@90) means the same.
    signal.signal(signal.SIGUSR2, lambda *_: os.kill(os.getpid(), signal.SIGTERM))
    try:
        yield
    except Stopped as stop:
        ignore_stop_signals()  # `scontrol requeue` sends SIGTERM again: it must not start a second requeue
        print(f"xbench: {stop.signal_name}: {stop.kept or 'stopped'}; requeueing the unit", file=sys.stderr,
              flush=True)
        requeue(signal.SIGTERM, None)  # does not return: exits once the job is requeued
        raise
