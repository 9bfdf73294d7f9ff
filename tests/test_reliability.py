"""Interruption, concurrency, hostile names and full disks: xbench loses nothing.

Fault points are named in benchmark/faults.py; a kill there is a SIGKILL with no cleanup, a stop
a SIGTERM (what timeout, kill and Slurm send), which xbench handles as Ctrl-C.
"""

from __future__ import annotations

import errno
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmark.errors import XbenchError
from benchmark.results.store import iter_result_files, read_result, write_result

RECIPE = ["--recipe", "quick", "--epochs", "2", "--lr", "5e-4", "--batch-size", "16", "--max-length", "24",
          "--train-limit", "120", "--bf16", "off"]
INTERRUPTED = "run the same command again to resume"


def run_args(panx_dir, model, results, targets="en,de,ja", *extra):
    return [sys.executable, "-m", "benchmark.cli", "run", "--model", str(model), "--targets", targets,
            "--data-dir", str(panx_dir), "--results-dir", str(results), "--no-progress", "--checkpoint-every", "0",
            *RECIPE, *extra]


REPO = Path(__file__).resolve().parents[1]


def environment(cache: Path, **extra) -> dict:
    """The subprocess runs this checkout's xbench (tests run in their own working folder)."""
    env = {**os.environ, "XBENCH_CACHE_DIR": str(cache), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    env.pop("XBENCH_FAULT", None)
    return {**env, **extra}


def outcome_of(results: Path) -> dict:
    """What a finished run computed: per target F1 and the predictions' checksum, and the dev curve."""
    [path] = iter_result_files(results)
    result = read_result(path)
    return {"targets": {lang: (t["f1"], t["predictions"]["sha256"]) for lang, t in result["targets"].items()},
            "dev": [round(d["dev_f1"], 12) for d in result["training"]["dev_curve"]]}


@pytest.fixture(scope="module")
def unbroken_results(tmp_path_factory, panx_dir, tiny_model):
    root = tmp_path_factory.mktemp("unbroken")
    done = subprocess.run(run_args(panx_dir, tiny_model, root / "results"), env=environment(root / "cache"),
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return root / "results"


@pytest.fixture(scope="module")
def unbroken(unbroken_results):
    return outcome_of(unbroken_results)


def assert_consistent(results: Path) -> None:
    """Every stored result is readable and every predictions file it names is whole."""
    from benchmark.results.store import sidecar_problem

    for path in iter_result_files(results):
        result = read_result(path)
        assert not [sidecar_problem(path, t) for t in result["targets"].values() if sidecar_problem(path, t)]


def assert_stopped_cleanly(process, signal_name: str) -> str:
    """Killed: status -9. Stopped by SIGTERM: status 130, one last line saying what was kept."""
    if signal_name == "KILL":
        assert process.returncode == -signal.SIGKILL, process.stderr
        return ""
    assert process.returncode == 130, process.stderr
    last = process.stderr.strip().splitlines()[-1]
    assert last.startswith("xbench: interrupted (SIGTERM); ") and last.endswith(INTERRUPTED), process.stderr
    assert "Traceback" not in process.stderr and "Exception ignored" not in process.stderr
    return last


FAULT_POINTS = ["tokenise", "train-step@5", "checkpoint-write@3", "evaluate@2", "result-write@2"]


@pytest.mark.parametrize("signal_name", ["KILL", "TERM"])
def test_stopped_at_every_fault_point_in_turn_reruns_to_the_same_results(signal_name, tmp_path, panx_dir,
                                                                         tiny_model, unbroken):
    """One run stopped at each fault point in turn (training, checkpoint, evaluation, result write),
    each rerun resuming what the last one kept, then a clean rerun: the same scores as unbroken."""
    args = run_args(panx_dir, tiny_model, tmp_path / "results")
    for point in FAULT_POINTS:
        stopped = subprocess.run(args, env=environment(tmp_path / "cache", XBENCH_FAULT=f"{point}:{signal_name}"),
                                 capture_output=True, text=True)
        last = assert_stopped_cleanly(stopped, signal_name)
        if signal_name == "TERM" and point.startswith(("train-step", "checkpoint-write")):
            assert "training checkpoint saved at step" in last
        if signal_name == "TERM" and point.startswith(("evaluate", "result-write")):
            assert "finished targets are saved in" in last
        assert_consistent(tmp_path / "results")
    rerun = subprocess.run(args, env=environment(tmp_path / "cache"), capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert outcome_of(tmp_path / "results") == unbroken
    assert not list((tmp_path / "cache").rglob("checkpoint.pt*"))


def test_overwrite_always_interrupted_anywhere_keeps_the_old_result_whole(tmp_path, panx_dir, tiny_model,
                                                                         unbroken_results, unbroken):
    """--overwrite always builds the new result beside the old one: killed or stopped in training,
    evaluation, the staged write or just before the swap, the old result and its predictions are
    byte for byte what they were; the same command then resumes the replacement and swaps it in."""
    import shutil

    results = shutil.copytree(unbroken_results, tmp_path / "results")
    before = {p: p.read_bytes() for p in results.rglob("*") if p.is_file() and not p.name.endswith(".lock")}
    [path] = iter_result_files(results)
    args = run_args(panx_dir, tiny_model, results, "en,de,ja", "--overwrite", "always")
    for fault in ("train-step@3:TERM", "evaluate@2:KILL", "result-write@1:TERM", "replace:KILL"):
        stopped = subprocess.run(args, env=environment(tmp_path / "cache", XBENCH_FAULT=fault), capture_output=True,
                                 text=True)
        last = assert_stopped_cleanly(stopped, fault.rpartition(":")[2])
        assert {p: p.read_bytes() for p in before} == before, fault
        if last:
            assert f"xbench: interrupted (SIGTERM); {path} is unchanged" in last
    final = subprocess.run(args, env=environment(tmp_path / "cache"), capture_output=True, text=True)
    assert final.returncode == 0, final.stderr
    assert "resuming the replacement" in final.stderr and f"replaced {path}" in final.stderr
    assert outcome_of(results) == unbroken
    assert_consistent(results)
    assert not list(results.rglob(".*replacing"))


def test_a_second_ctrl_c_while_exiting_prints_no_atexit_traceback(tmp_path, panx_dir, tiny_model):
    """The second Ctrl-C arrives while Python runs its exit handlers: it is ignored, not a traceback."""
    code = ("import atexit, os, signal, sys, time\n"
            "atexit.register(lambda: (os.kill(os.getpid(), signal.SIGINT), time.sleep(0.3)))\n"
            "from benchmark.cli import main\n"
            "sys.argv[0] = 'xbench'\n"
            "main()\n")
    args = run_args(panx_dir, tiny_model, tmp_path / "results", "de")[3:]  # after "-m benchmark.cli"
    stopped = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                             env=environment(tmp_path / "cache", XBENCH_FAULT="tokenise:INT"))
    assert stopped.returncode == 130, stopped.stderr
    assert stopped.stderr.strip().splitlines()[-1].startswith("xbench: interrupted (SIGINT); ")
    assert "Exception ignored" not in stderr_of(stopped) and "Traceback" not in stderr_of(stopped)


def stderr_of(process) -> str:
    return process.stderr


def test_killed_at_random_moments_reruns_to_the_same_results(tmp_path, panx_dir, tiny_model, unbroken):
    args = run_args(panx_dir, tiny_model, tmp_path / "results")
    rng = random.Random(2026)
    for _ in range(2):
        process = subprocess.Popen(args, env=environment(tmp_path / "cache"), stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(4.0, 9.0))
        process.send_signal(signal.SIGKILL)
        process.wait()
    final = subprocess.run(args, env=environment(tmp_path / "cache"), capture_output=True, text=True)
    assert final.returncode == 0, final.stderr
    assert outcome_of(tmp_path / "results") == unbroken


def test_ctrl_c_stops_cleanly_and_says_how_to_resume(tmp_path, panx_dir, tiny_model, unbroken):
    args = run_args(panx_dir, tiny_model, tmp_path / "results", "en,de,ja", "--epochs", "2")
    process = subprocess.Popen(args, env=environment(tmp_path / "cache"), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not list((tmp_path / "cache").rglob("checkpoint.pt")) and time.time() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    if process.returncode == 0:
        pytest.skip("the run finished before Ctrl-C arrived")
    assert process.returncode == 130
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("xbench: interrupted (SIGINT); ") and last.endswith(INTERRUPTED)
    assert "Traceback" not in stderr
    rerun = subprocess.run(args, env=environment(tmp_path / "cache"), capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert outcome_of(tmp_path / "results") == unbroken


def test_two_runs_at_once_compute_each_target_once(tmp_path, panx_dir, tiny_model, unbroken):
    args = run_args(panx_dir, tiny_model, tmp_path / "results")
    env = environment(tmp_path / "cache")
    first = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    second = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    outputs = [p.communicate(timeout=300) for p in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outputs
    stderr = outputs[0][1] + outputs[1][1]
    assert stderr.count("3 target(s) to evaluate") == 1  # one trained and evaluated
    assert "waiting: another xbench process is working on" in stderr
    assert "all 3 targets done" in stderr
    assert outcome_of(tmp_path / "results") == unbroken


def test_report_during_a_run_reads_only_complete_files(tmp_path, panx_dir, tiny_model):
    args = run_args(panx_dir, tiny_model, tmp_path / "results")
    process = subprocess.Popen(args, env=environment(tmp_path / "cache"), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    from click.testing import CliRunner

    from benchmark.cli import cli

    reads = []
    while process.poll() is None:
        outcome = CliRunner().invoke(cli, ["report", "--results-dir", str(tmp_path / "results"),
                                           "--reports-dir", str(tmp_path / "reports"), "--resamples", "200"])
        # Either nothing is written yet, or a report of the complete files: never a damaged file.
        assert outcome.exit_code == 0 or "no result files under" in outcome.output, outcome.output
        reads.append(outcome.exit_code)
        time.sleep(0.2)
    assert process.returncode == 0
    assert 0 in reads or CliRunner().invoke(cli, ["report", "--results-dir", str(tmp_path / "results"),
                                                  "--reports-dir", str(tmp_path / "r2")]).exit_code == 0


def test_hostile_model_folder_names_stay_inside_results(tmp_path, panx_dir, tiny_model):
    import shutil

    hostile = tmp_path / "..  my model ü" / "v1.0"
    shutil.copytree(tiny_model, hostile)
    results = tmp_path / "results"
    done = subprocess.run(run_args(panx_dir, hostile, results, "de"), env=environment(tmp_path / "cache"),
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    [path] = iter_result_files(results)
    assert path.resolve().is_relative_to(results.resolve())
    relative = path.relative_to(results).parts
    assert ".." not in relative and all(part.isascii() and " " not in part for part in relative)
    model = read_result(path)["model"]
    # One canonical name whatever the path: the folder's name and a checksum of its weights.
    assert model["name"] == f"v1.0-{model['weights_sha256'][:8]}" and model["local_path"] == str(hostile.resolve())


def test_remote_code_in_a_model_folder_is_never_executed(tmp_path, tiny_model):
    import shutil

    from benchmark.models.loading import load_token_classifier
    from benchmark.models.registry import resolve_model

    folder = tmp_path / "remote-code-model"
    shutil.copytree(tiny_model, folder)
    marker = tmp_path / "executed"
    (folder / "evil.py").write_text(f"open({str(marker)!r}, 'w').write('pwned')\n")
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoConfig": "evil.Config", "AutoModelForTokenClassification": "evil.Model"}
    (folder / "config.json").write_text(json.dumps(config))
    try:
        load_token_classifier(resolve_model(str(folder)), folder, ("O", "B-PER", "I-PER"), seed=0)
    except (XbenchError, ValueError, OSError):
        pass
    assert not marker.exists()


def test_full_disk_while_writing_leaves_the_previous_result_intact(tmp_path, monkeypatch):
    path = tmp_path / "seed-1.json"
    write_result(path, {"targets": {"de": {"f1": 0.5}}})
    before = path.read_bytes()
    real_open = open

    class FullDisk:
        def __init__(self, *a, **k):
            self.handle = real_open(*a, **k)

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.handle, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

    import benchmark.results.store as results_module

    monkeypatch.setattr(results_module, "open", FullDisk, raising=False)
    with pytest.raises(XbenchError) as caught:
        write_result(path, {"targets": {"de": {"f1": 0.9}, "fr": {"f1": 0.7}}})
    assert str(caught.value) == (f"cannot write {path}: No space left on device; the previous version, if any, "
                                 "is intact")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["seed-1.json"]
