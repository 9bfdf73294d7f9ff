"""``xbench run`` end to end on the tiny model: results, resuming, rescoring, kill and resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from benchmark.cli import cli
from benchmark.eval.predict import score
from benchmark.results.store import iter_result_files, predictions_path, read_predictions, read_result

TINY_RECIPE = ["--recipe", "quick", "--epochs", "2", "--lr", "5e-4", "--batch-size", "16", "--max-length", "24",
               "--train-limit", "120"]


def xbench(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    return result


def run_tiny(panx_dir, model, results, *extra):
    return xbench("run", "--model", model, "--source", "en", "--targets", "en,de,ja", "--data-dir", panx_dir,
                  "--results-dir", results, "--no-progress", *TINY_RECIPE, *extra)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, panx_dir, tiny_model):
    results = tmp_path_factory.mktemp("results")
    os.environ["XBENCH_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    outcome = run_tiny(panx_dir, tiny_model, results)
    assert outcome.exit_code == 0, outcome.output
    return results, outcome


def test_run_stores_every_target_with_predictions(finished_run, corpus, task):
    results, outcome = finished_run
    [path] = iter_result_files(results)
    result = read_result(path)
    assert set(result["targets"]) == {"en", "de", "ja"}
    assert result["seqeval_mode"] == "conlleval" and result["schema_version"] == 1
    assert result["versions"]["torch"] and result["recipe"]["max_length"] == 24
    assert len(result["training"]["dev_curve"]) == 2
    for lang, target in result["targets"].items():
        gold = corpus[lang]["test"]
        sidecar = read_predictions(path.parent / target["predictions"]["file"], target["predictions"]["sha256"])
        predicted = [[task.labels[int(c)] for c in row] for row in sidecar["tags"]]
        # One predicted tag per gold tag in every sentence (long ones span several windows).
        assert [len(p) for p in predicted] == [len(g) for g in gold.tags]
        # Rescoring the stored predictions gives exactly the stored F1.
        assert score(gold.tags, predicted)["f1"] == target["f1"]
        assert target["unmapped_words"] == 1  # the zero-width space in sentence 5
    assert "span F1 (%) per target" in outcome.output


def test_rerun_recomputes_nothing(finished_run, panx_dir, tiny_model):
    results, _ = finished_run
    [path] = iter_result_files(results)
    before = path.read_bytes()
    started = time.perf_counter()
    outcome = run_tiny(panx_dir, tiny_model, results)
    assert outcome.exit_code == 0
    assert "all 3 targets done" in outcome.output
    assert path.read_bytes() == before
    assert time.perf_counter() - started < 30


def test_new_target_is_added_without_touching_the_others(finished_run, panx_dir, tiny_model, tmp_path):
    results, _ = finished_run
    copy = tmp_path / "copy"
    import shutil

    shutil.copytree(results, copy)
    [path] = iter_result_files(copy)
    before = read_result(path)["targets"]
    outcome = xbench("run", "--model", tiny_model, "--targets", "en", "--data-dir", panx_dir, "--results-dir", copy,
                     "--no-progress", *TINY_RECIPE)
    assert outcome.exit_code == 0 and "all 1 targets done" in outcome.output
    assert read_result(path)["targets"] == before


def test_changed_recipe_is_kept_apart(finished_run, panx_dir, tiny_model):
    """Another recipe is another folder: the first run's files are not touched, never refused."""
    results, _ = finished_run
    [path] = results.rglob("seed-1.json")
    before = {p: p.read_bytes() for p in results.rglob("*") if p.is_file() and not p.name.endswith(".lock")}
    outcome = run_tiny(panx_dir, tiny_model, results, "--lr", "1e-3", "--epochs", "1", "--dry-run")
    assert outcome.exit_code == 0, outcome.output
    other = [line for line in outcome.output.splitlines() if "-> " in line][0].split("-> ")[1]
    assert Path(other).parts[-5] == "wikiann" and Path(other).parts[-4].startswith("quick-custom-")
    assert Path(other) != path and not Path(other).exists()
    assert {p: p.read_bytes() for p in before} == before


def test_dry_run_prints_the_plan(panx_dir, tiny_model, tmp_path):
    outcome = xbench("run", "--model", f"{tiny_model},{tiny_model}", "--seeds", "1,2", "--targets", "en,de,fr",
                     "--data-dir", panx_dir, "--results-dir", tmp_path / "r", "--dry-run")
    assert outcome.exit_code == 0, outcome.output
    assert "plan: 1 model(s) x 2 seed(s) x 2 target(s)" in outcome.output
    assert "missing (skipped): fr" in outcome.output
    assert not (tmp_path / "r").exists()


def test_hub_model_offline_fails_at_once_with_stand_ins(panx_dir, tmp_path):
    started = time.perf_counter()
    outcome = xbench("run", "--model", "xlmr-base", "--targets", "de", "--data-dir", panx_dir,
                     "--results-dir", tmp_path / "r", "--no-progress")
    assert outcome.exit_code == 2
    assert "model 'xlmr-base' (FacebookAI/xlm-roberta-base) is not cached" in outcome.output
    assert "can stand in" in outcome.output or "install the offline models" in outcome.output
    assert time.perf_counter() - started < 20


def test_multi_source_trains_on_the_union(panx_dir, tiny_model, tmp_path):
    outcome = xbench("run", "--model", tiny_model, "--source", "en,de", "--targets", "ja", "--data-dir", panx_dir,
                     "--results-dir", tmp_path, "--no-progress", *TINY_RECIPE)
    assert outcome.exit_code == 0, outcome.output
    [path] = iter_result_files(tmp_path)
    assert path.parent.name == "de+en"
    assert read_result(path)["training"]["train_sentences"] == 240


def _scores(results: Path) -> dict:
    [path] = iter_result_files(results)
    result = read_result(path)
    return {lang: (t["f1"], t["predictions"]["sha256"]) for lang, t in result["targets"].items()}


CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=CUDA)])
def test_killed_during_training_resumes_to_the_same_scores(panx_dir, tiny_model, tmp_path, device):
    """SIGKILL once a mid-training checkpoint exists; the rerun resumes and matches an unbroken run."""
    env = {**os.environ, "XBENCH_CACHE_DIR": str(tmp_path / "cache"),
           # Bit-identical GPU reruns need cuBLAS's deterministic workspace.
           "CUBLAS_WORKSPACE_CONFIG": ":4096:8"}
    args = [sys.executable, "-m", "benchmark.cli", "run", "--model", str(tiny_model), "--targets", "en,de",
            "--data-dir", str(panx_dir), "--no-progress", "--checkpoint-every", "0", "--device", device,
            *TINY_RECIPE, "--epochs", "3"]
    unbroken = subprocess.run(args + ["--results-dir", str(tmp_path / "a")], env=env, capture_output=True, text=True)
    assert unbroken.returncode == 0, unbroken.stderr
    process = subprocess.Popen(args + ["--results-dir", str(tmp_path / "b")], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not list((tmp_path / "cache").rglob("checkpoint.pt")) and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not list((tmp_path / "b").rglob("seed-1.json")), "killed too late to test resuming"
    resumed = subprocess.run(args + ["--results-dir", str(tmp_path / "b")], env=env, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming training" in resumed.stderr
    assert _scores(tmp_path / "a") == _scores(tmp_path / "b")
    [path] = iter_result_files(tmp_path / "b")
    assert json.loads(path.read_text())["training"]["resumed_from_step"] > 0
    assert not list((tmp_path / "cache").rglob("checkpoint.pt")), "checkpoints are cleaned once a run is done"


@CUDA
def test_gpu_run_matches_the_cpu_run(panx_dir, tiny_model, tmp_path):
    """The same fp32 run on the GPU and the CPU: the same training up to float noise, so nearly
    every predicted tag agrees and the scores are close."""
    runs = {}
    for device in ("cpu", "cuda"):
        outcome = run_tiny(panx_dir, tiny_model, tmp_path / device, "--device", device, "--bf16", "off")
        assert outcome.exit_code == 0, outcome.output
        [path] = iter_result_files(tmp_path / device)
        runs[device] = (path, read_result(path))
    assert runs["cuda"][1]["config"]["device"].startswith("cuda")
    assert runs["cpu"][1]["config"]["device"].startswith("cpu")
    for lang in ("en", "de", "ja"):
        tags = {d: read_predictions(predictions_path(path, lang))["tags"] for d, (path, _) in runs.items()}
        same = sum(a == b for ra, rb in zip(tags["cpu"], tags["cuda"]) for a, b in zip(ra, rb))
        total = sum(len(r) for r in tags["cpu"])
        assert same / total > 0.95, (lang, same, total)  # 98.6% for de on an H200
        f1 = {d: r["targets"][lang]["f1"] for d, (_, r) in runs.items()}
        assert abs(f1["cpu"] - f1["cuda"]) < 0.03, (lang, f1)
