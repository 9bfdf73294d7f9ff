"""Slurm, through submitit: checks that stop before anything is submitted, and the queue.

The grid goes to Slurm as one job array (``executor.submit_array``, submitit's array call for
checkpointable callables: each element is one unit). Accounting (``sacct``) is optional on
clusters and off on many test setups, so job states come from ``squeue`` alone: a unit that
has left the queue has ended, and its result file says whether it finished.
"""

from __future__ import annotations

import getpass
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from benchmark.errors import XbenchError

DEFAULT_TIME_MIN = 3 * 24 * 60  # when neither --time nor the partition gives a limit
SIGNAL_DELAY_S = 120  # the time limit's warning: enough to finish a step and write a checkpoint


@dataclass
class SlurmOptions:
    partition: str | None = None
    gpus_per_job: int = 0
    cpus_per_job: int | None = None
    mem_gb: float | None = None
    time: str | None = None  # minutes, or Slurm's [D-]HH:MM[:SS]
    array_parallelism: int | None = None
    account: str | None = None
    qos: str | None = None
    sbatch: tuple[str, ...] = ()  # KEY=VALUE (or KEY) for any other sbatch option


@dataclass
class Partition:
    name: str
    nodes: tuple[str, ...]
    time_min: int  # the limit a job gets: --time, else the partition's default or maximum


def _run(command: list[str]) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise XbenchError(f"--launcher slurm: {command[0]} did not answer ({err}); is the Slurm controller up?") \
            from None


def parse_time(text: str, what: str = "--time") -> int | None:
    """Slurm's time formats (``90``, ``4:00:00``, ``2-00``, ``1-12:00:00``) in minutes; None for
    UNLIMITED/INFINITE. One clear line for anything else."""
    text = text.strip()
    if text.upper() in ("UNLIMITED", "INFINITE"):
        return None
    match = re.fullmatch(r"(?:(\d+)-)?(\d+(?::\d+){0,2})", text)
    if not match:
        raise XbenchError(f"{what}: {text!r} is not a time; give minutes (90) or [D-]HH:MM:SS (1-12:00:00)")
    days, rest = match.groups()
    parts = [int(x) for x in rest.split(":")]
    if days is not None:  # days-hours[:minutes[:seconds]]
        hours, mins, secs = (parts + [0, 0])[:3]
        minutes = int(days) * 1440 + hours * 60 + mins + secs / 60
    elif len(parts) == 3:  # hours:minutes:seconds
        minutes = parts[0] * 60 + parts[1] + parts[2] / 60
    else:  # minutes[:seconds]
        minutes = parts[0] + (parts[1] / 60 if len(parts) == 2 else 0)
    minutes = int(-(-minutes // 1))  # round seconds up to whole minutes
    if minutes < 1:
        raise XbenchError(f"{what}: {text!r} is under a minute")
    return minutes


def sbatch_extras(items: tuple[str, ...]) -> dict:
    """``--sbatch constraint=a100 --sbatch exclusive`` as submitit's additional parameters."""
    extras = {}
    for item in items:
        key, has_value, value = item.partition("=")
        key = key.strip().lstrip("-")
        if not re.fullmatch(r"[a-z][a-z0-9_-]*", key):
            raise XbenchError(f"--sbatch {item!r}: give an sbatch option as KEY=VALUE or KEY, e.g. constraint=a100")
        extras[key.replace("_", "-")] = value if has_value else True
    return extras


def check_cluster(options: SlurmOptions) -> Partition:
    """Slurm answers here and the partition exists: otherwise one line, nothing submitted."""
    if shutil.which("sbatch") is None or shutil.which("squeue") is None:
        raise XbenchError("--launcher slurm: no Slurm here (sbatch is not on PATH); run from a cluster's login "
                          "node (on one machine, `bash scripts/slurm.sh start` sets one up)")
    listing = _run(["sinfo", "-h", "-o", "%P"])
    if listing.returncode != 0:
        reason = (listing.stderr.strip().splitlines() or ["no answer"])[-1]
        raise XbenchError(f"--launcher slurm: the Slurm controller does not answer ({reason})")
    partitions = [p.strip() for p in listing.stdout.split()]
    names = [p.rstrip("*") for p in partitions]
    name = options.partition or next((p.rstrip("*") for p in partitions if p.endswith("*")), None)
    if name is None:
        raise XbenchError(f"--partition: this cluster has no default partition; choose one of {', '.join(names)}")
    if name not in names:
        raise XbenchError(f"--partition {name}: no such partition; this cluster has {', '.join(names) or 'none'}")
    shown = _run(["scontrol", "show", "partition", name, "--oneliner"]).stdout
    fields = dict(re.findall(r"(\w+)=(\S+)", shown))
    nodes = tuple(_expand_nodes(fields.get("Nodes", "")))
    if options.time is not None:
        time_min = parse_time(options.time)
        if time_min is None:
            raise XbenchError("--time: give a limit (minutes or [D-]HH:MM:SS), not UNLIMITED")
    else:
        default = fields.get("DefaultTime", "NONE")
        time_min = (parse_time(default, "the partition's DefaultTime") if default not in ("NONE", "") else None) \
            or parse_time(fields.get("MaxTime", "UNLIMITED"), "the partition's MaxTime") or DEFAULT_TIME_MIN
    return Partition(name, nodes, time_min)


def sbatch_flags(options: SlurmOptions, partition: Partition) -> list[str]:
    """The sbatch options a unit's job gets (submitit writes the same into its script)."""
    from benchmark.run.jobs import PREEMPT_SIGNAL

    flags = [f"--partition={partition.name}", f"--time={partition.time_min}",
             f"--signal={PREEMPT_SIGNAL}@{SIGNAL_DELAY_S}"]
    for flag, value in (("cpus-per-task", options.cpus_per_job), ("gpus-per-node", options.gpus_per_job or None),
                        ("mem", f"{options.mem_gb:g}G" if options.mem_gb else None), ("account", options.account),
                        ("qos", options.qos)):
        if value is not None:
            flags.append(f"--{flag}={value}")
    for key, value in sbatch_extras(options.sbatch).items():
        flags.append(f"--{key}" if value is True else f"--{key}={value}")
    return flags


def test_submission(options: SlurmOptions, partition: Partition) -> None:
    """``sbatch --test-only`` with the units' options: whatever Slurm would refuse (an unknown
    option, account or QoS, a limit above the partition's) is one line now, and nothing is queued."""
    shown = _run(["sbatch", "--test-only", *sbatch_flags(options, partition), "--wrap", "true"])
    if shown.returncode != 0:
        lines = [line.strip() for line in shown.stderr.splitlines() if line.strip()] or ["no reason given"]
        reason = next((line for line in lines if "error" in line.lower() or "unrecognized" in line), lines[0])
        raise XbenchError(f"Slurm refuses these job options ({' '.join(sbatch_flags(options, partition))}): "
                          f"{reason}")


def _expand_nodes(spec: str) -> list[str]:
    if not spec or spec == "(null)":
        return []
    shown = _run(["scontrol", "show", "hostnames", spec])
    return shown.stdout.split() if shown.returncode == 0 else [spec]


def node_local_reason(folder: Path, nodes: tuple[str, ...]) -> str | None:
    """Why jobs on other nodes could not write ``folder`` (it lives on this machine only), or None.

    Only a folder on a RAM disk or under /tmp is known to be local; anything else is trusted.
    """
    import socket

    if not nodes or set(nodes) <= {socket.gethostname(), socket.getfqdn()}:
        return None  # the jobs run here: they see this machine's disks
    resolved = folder.resolve()
    if any(resolved.is_relative_to(p) for p in (Path("/tmp"), Path("/var/tmp"), Path("/dev/shm"))):
        return f"{resolved} is under this machine's temporary folder"
    mount, fstype = Path("/"), ""
    try:
        for line in Path("/proc/mounts").read_text().splitlines():
            parts = line.split()
            point = Path(parts[1])
            if resolved.is_relative_to(point) and len(point.parts) >= len(mount.parts):
                mount, fstype = point, parts[2]
    except OSError:
        return None
    if fstype in ("tmpfs", "ramfs"):
        return f"{resolved} is on a {fstype} of this machine"
    return None


def executor(job_dir: Path, options: SlurmOptions, partition: Partition, units: int):
    """A submitit executor for one array of ``units`` jobs with the user's sbatch settings."""
    import submitit

    from benchmark.run.jobs import PREEMPT_SIGNAL
    from benchmark.run.launch import job_setup_lines

    ex = submitit.AutoExecutor(folder=str(job_dir / "%j"), cluster="slurm")
    # The time limit's warning comes as SIGTERM too, SIGNAL_DELAY_S before the end (submitit's default
    # is USR2); the job's submitit is told the same through the environment.
    extras = {"signal": f"{PREEMPT_SIGNAL}@{SIGNAL_DELAY_S}", **sbatch_extras(options.sbatch)}
    ex.update_parameters(
        name="xbench", timeout_min=partition.time_min, slurm_partition=partition.name,
        cpus_per_task=options.cpus_per_job, gpus_per_node=options.gpus_per_job or None, mem_gb=options.mem_gb,
        slurm_array_parallelism=options.array_parallelism or units, slurm_account=options.account,
        slurm_qos=options.qos, slurm_additional_parameters=extras,
        slurm_setup=[*job_setup_lines(), f"export SUBMITIT_PREEMPT_SIGNAL={PREEMPT_SIGNAL}"],
    )
    return ex


def queue_states() -> dict[str, str]:
    """Every job of this user that Slurm still holds: ``{"42_1": "RUNNING", "43": "PENDING"}``.

    One ``squeue`` for all units; array elements one a line (``-r``). A failed call returns {},
    which the caller must not read as "all ended": see :func:`benchmark.run.launch.watch`.
    """
    shown = _run(["squeue", "-h", "-r", "-u", getpass.getuser(), "-o", "%i %T"])
    if shown.returncode != 0:
        raise XbenchError(f"squeue failed: {(shown.stderr.strip().splitlines() or ['no answer'])[-1]}")
    states = {}
    for line in shown.stdout.splitlines():
        job_id, _, state = line.strip().partition(" ")
        if job_id:
            states[job_id] = state.strip()
    return states
