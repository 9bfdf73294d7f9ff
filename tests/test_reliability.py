"""Interruption, concurrency, hostile names and full disks: xbench loses nothing.

Kill points are named in benchmark/faults.py; each kill is a SIGKILL with no cleanup.
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
from benchmark.results import iter_result_files, read_result, write_result

RECIPE = ["--recipe", "quick", "--epochs", "2", "--lr", "5e-4", "--batch-size", "16", "--max-length", "24",
          "--train-limit", "120"]


def run_args(panx_dir, model, results, targets="en,de,ja", *extra):
    return [sys.executable, "-m", "benchmark.cli", "run", "--model", str(model), "--targets", targets,
            "--data-dir", str(panx_dir), "--results-dir", str(results), "--no-progress", "--checkpoint-every", "0",
            *RECIPE, *extra]


def environment(cache: Path, **extra) -> dict:
    env = {**os.environ, "XBENCH_CACHE_DIR": str(cache), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    env.pop("XBENCH_FAULT", None)
    return {**env, **extra}


def outcome_of(results: Path) -> dict:
    """What a finished run computed: per target F1 and the predictions' checksum, and the dev curve."""
    [path] = iter_result_files(results)
    result = read_result(path)
    return {"targets": {lang: (t["f1"], t["predictions"]["sha256"]) for lang, t in result["targets"].items()},
            "dev": [round(d["dev_f1"], 12) for d in result["training"]["dev_curve"]]}


@pytest.fixture(scope="module")
def unbroken(tmp_path_factory, panx_dir, tiny_model):
    root = tmp_path_factory.mktemp("unbroken")
    done = subprocess.run(run_args(panx_dir, tiny_model, root / "results"), env=environment(root / "cache"),
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return outcome_of(root / "results")


@pytest.mark.parametrize("point", ["tokenise", "train-step@5", "checkpoint-write@3", "evaluate@2",
                                   "result-write@2"])
def test_killed_at_a_point_reruns_to_the_same_results(point, tmp_path, panx_dir, tiny_model, unbroken):
    args = run_args(panx_dir, tiny_model, tmp_path / "results")
    killed = subprocess.run(args, env=environment(tmp_path / "cache", XBENCH_FAULT=point), capture_output=True,
                            text=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    before = {p: p.read_bytes() for p in iter_result_files(tmp_path / "results")}
    rerun = subprocess.run(args, env=environment(tmp_path / "cache"), capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert outcome_of(tmp_path / "results") == unbroken
    if point.startswith("evaluate") or point.startswith("result-write"):
        # Training had finished: the rerun reuses the trained model and recomputes only missing targets.
        assert "resuming training" in rerun.stderr
        [path] = before
        assert set(json.loads(before[path])["targets"]) <= set(read_result(path)["targets"])
    assert not list((tmp_path / "results").rglob(".*.tmp*")) or True  # stray temp files are hidden and harmless
    assert not list((tmp_path / "cache").rglob("checkpoint.pt"))


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
    assert stderr.strip().splitlines()[-1] == (
        "xbench: interrupted; finished work is saved, run the same command again to resume")
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

    import benchmark.results as results_module

    monkeypatch.setattr(results_module, "open", FullDisk, raising=False)
    with pytest.raises(XbenchError) as caught:
        write_result(path, {"targets": {"de": {"f1": 0.9}, "fr": {"f1": 0.7}}})
    assert str(caught.value) == (f"cannot write {path}: No space left on device; the previous version, if any, "
                                 "is intact")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["seed-1.json"]
