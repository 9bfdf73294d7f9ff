"""Issue #13: nothing lost under --overwrite always, no stale score, damaged files repaired or
skipped, stray data files ignored, a missing best checkpoint, the CLI's last guard.

Runs the real CLI in-process on the tiny model (a fine-tune takes about a second); the tests that
need a process to die are in test_reliability.py.
"""

from __future__ import annotations

import errno
import json
import shlex
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from benchmark.cli import cli
from benchmark.results import store as store
from benchmark.results.store import iter_result_files, read_result
from tests.conftest import write_panx

TINY = ["--recipe", "quick", "--epochs", "1", "--lr", "5e-4", "--batch-size", "16", "--max-length", "24",
        "--train-limit", "60", "--test-limit", "20", "--no-progress"]


def xbench(*args, env=None):
    return CliRunner().invoke(cli, [str(a) for a in args], env=env)


def run_args(data: Path, model: Path, results: Path, targets: str = "de,ja", *extra) -> list:
    return ["run", "--model", model, "--targets", targets, "--data-dir", data, "--results-dir", results, *TINY, *extra]


def files_of(folder: Path) -> dict:
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.endswith(".lock")}


def scores(path: Path) -> dict:
    return {lang: (t["f1"], t["predictions"]["sha256"]) for lang, t in read_result(path)["targets"].items()}


@pytest.fixture(scope="module")
def finished(tmp_path_factory, corpus, tiny_model):
    """A data folder and a results folder holding one finished run over de and ja."""
    root = tmp_path_factory.mktemp("recovery")
    data = write_panx(root / "data", corpus)
    results = root / "results"
    done = xbench(*run_args(data, tiny_model, results), env={"XBENCH_CACHE_DIR": str(root / "cache")})
    assert done.exit_code == 0, done.output
    return data, results, Path(tiny_model)


@pytest.fixture()
def copy(finished, tmp_path):
    """Copies of the finished run's data and results, for a test to change."""
    data, results, model = finished
    return (shutil.copytree(data, tmp_path / "data"), shutil.copytree(results, tmp_path / "results"), model)


def the_result(results: Path) -> Path:
    [path] = iter_result_files(results)
    return path


# 1. --overwrite always: fewer targets than before never drops the others.
def test_overwrite_always_with_fewer_targets_recomputes_and_keeps_the_others(copy):
    data, results, model = copy
    path = the_result(results)
    before = scores(path)
    outcome = xbench(*run_args(data, model, results, "de", "--overwrite", "always"))
    assert outcome.exit_code == 0, outcome.output
    assert "also recomputing ja, which the stored result holds" in outcome.output
    assert f"replaced {path} with the new result" in outcome.output
    assert scores(path) == before  # same seed, same device: the same model and scores
    assert not store.staging_path(path).exists()
    # Only the files the new result refers to remain beside it.
    sidecars = {p.name for p in path.with_suffix(".predictions").iterdir()}
    assert sidecars == {Path(t["predictions"]["file"]).name for t in read_result(path)["targets"].values()}


def test_overwrite_always_stops_before_dropping_a_target_without_data(copy):
    data, results, model = copy
    (data / "test-ja.tsv").unlink()
    (data / "train-ja.tsv").unlink()
    (data / "dev-ja.tsv").unlink()
    before = files_of(results)
    outcome = xbench(*run_args(data, model, results, "de", "--overwrite", "always"))
    assert outcome.exit_code == 2
    assert "holds targets ja with no test data" in outcome.output and "would drop them" in outcome.output
    assert files_of(results) == before


# 2. A damaged result: the advised command works; report and compare skip it and go on.
def test_damaged_result_is_replaced_by_the_advised_command(copy):
    data, results, model = copy
    path = the_result(results)
    before = scores(path)
    path.write_bytes(path.read_bytes()[:200])
    refused = xbench(*run_args(data, model, results))
    assert refused.exit_code == 2 and "result file is truncated" in refused.output
    assert "rerun with --overwrite always" in refused.output
    replaced = xbench(*run_args(data, model, results, "de,ja", "--overwrite", "always"))
    assert replaced.exit_code == 0, replaced.output
    assert "the stored result cannot be read" in replaced.output
    assert scores(path) == before


def test_report_and_compare_skip_a_damaged_result_and_go_on(copy, tmp_path):
    data, results, model = copy
    path = the_result(results)
    twin = path.with_name("seed-2.json")
    made = xbench(*run_args(data, model, results, "de,ja", "--seeds", "2"))
    assert made.exit_code == 0, made.output
    twin.write_bytes(b"{\"not\": ")
    outcome = xbench("report", "--results-dir", results, "--reports-dir", tmp_path / "reports", "--resamples", "200")
    assert outcome.exit_code == 0, outcome.output
    skipped = [line for line in outcome.output.splitlines() if line.startswith("xbench: skipped")]
    assert len(skipped) == 1 and "seed-2.json: result file is truncated" in skipped[0]
    assert "from 1 result file" in next((tmp_path / "reports").glob("*.md")).read_text()
    compared = xbench("compare", str(model), str(model) + "x", "--results-dir", results)
    assert compared.exit_code == 2 and len([x for x in compared.output.splitlines() if "skipped" in x]) == 1


# 3. Stale scores: the test data changed after the score was computed.
def _change_test_data(data: Path) -> None:
    lines = (data / "test-de.tsv").read_text(encoding="utf-8").split("\n")
    first_entity = next(i for i, line in enumerate(lines) if line.endswith("\tB-PER"))
    lines[first_entity] = lines[first_entity].replace("\tB-PER", "\tB-ORG")
    (data / "test-de.tsv").write_text("\n".join(lines), encoding="utf-8")


def test_changed_test_data_is_recomputed_under_only_missing(copy):
    data, results, model = copy
    path = the_result(results)
    before = read_result(path)["targets"]
    _change_test_data(data)
    outcome = xbench(*run_args(data, model, results))
    assert outcome.exit_code == 0, outcome.output
    assert "de: its test data changed since it was scored (test_sha256 differs" in outcome.output
    assert "recomputing it" in outcome.output and "1 target(s) to evaluate" in outcome.output
    after = read_result(path)["targets"]
    assert after["de"]["test_sha256"] != before["de"]["test_sha256"]
    assert after["ja"] == before["ja"]
    again = xbench(*run_args(data, model, results))
    assert "all 2 targets done" in again.output


def test_changed_test_data_is_kept_and_called_stale_under_never(copy, tmp_path):
    data, results, model = copy
    _change_test_data(data)
    before = files_of(results)
    outcome = xbench(*run_args(data, model, results, "de,ja", "--overwrite", "never"))
    assert outcome.exit_code == 0, outcome.output
    assert "kept as it is (--overwrite never), but its scores of de are stale" in outcome.output
    assert files_of(results) == before
    report = xbench("report", "--results-dir", results, "--reports-dir", tmp_path / "reports", "--resamples", "200",
                    "--data-dir", data)
    assert report.exit_code == 0, report.output
    md = next((tmp_path / "reports").glob("*.md")).read_text()
    name = read_result(the_result(results))["model"]["name"]
    assert "**Stale scores** (‡)" in md and f"- {name} seed 1: de" in md and "| de ‡ |" in md
    assert files_of(results) == before


# 4. Stray files in a data folder are listed as ignored, never targets, never a crash.
def test_stray_files_are_ignored_and_never_targets(copy, tmp_path):
    data, results, model = copy
    shutil.copy(data / "test-de.tsv", data / "test-fo.orig.tsv")
    shutil.copy(data / "test-de.tsv", data / "test-zz.tsv")
    shutil.copy(data / "test-de.tsv", data / "test-de.tsv~")
    listing = xbench("languages", "--data-dir", data)
    assert listing.exit_code == 0, listing.output
    assert ("note: ignored in " f"{data}: test-de.tsv~ (not {{train,dev,test}}-<lang>.tsv), test-fo.orig.tsv (not "
            "{train,dev,test}-<lang>.tsv), test-zz.tsv (language 'zz' is not declared by task wikiann; a target only "
            "by name)") in listing.output
    assert "4 of 4 languages have data" in listing.output
    plan = xbench(*run_args(data, model, tmp_path / "r", "all", "--dry-run"))
    assert plan.exit_code == 0, plan.output
    assert "targets: de, en, ja" in plan.output and "zz" not in plan.output.split("note:")[0]


# 6. A checkpoint whose best weights are gone: set aside, trained again, no traceback.
def test_missing_best_weights_retrain_instead_of_a_traceback(copy, tmp_path):
    data, results, model = copy
    fresh = tmp_path / "fresh"
    stopped = xbench(*run_args(data, model, fresh, "de", "--epochs", "2"),
                     env={"XBENCH_FAULT": "train-step@5:TERM"})
    assert stopped.exit_code == 130, stopped.output
    assert "training checkpoint saved at step 5 of " in stopped.output, stopped.output
    [best] = (Path(tmp_path) / "xbench-cache").rglob("best.safetensors")
    best.unlink()
    resumed = xbench(*run_args(data, model, fresh, "de", "--epochs", "2"))
    assert resumed.exit_code == 0, resumed.output
    assert "best.safetensors is missing or damaged" in resumed.output and "training starts afresh" in resumed.output
    unbroken = xbench(*run_args(data, model, tmp_path / "unbroken", "de", "--epochs", "2"))
    assert unbroken.exit_code == 0
    assert scores(the_result(fresh)) == scores(the_result(tmp_path / "unbroken"))


# 7. A missing or damaged predictions file: report names it with a command that repairs it.
@pytest.mark.parametrize("damage", ["missing", "damaged"])
def test_report_names_a_bad_predictions_file_and_its_fix_works(copy, tmp_path, damage, monkeypatch):
    data, results, model = copy
    path = the_result(results)
    before = scores(path)
    sidecar = path.parent / read_result(path)["targets"]["ja"]["predictions"]["file"]
    if damage == "missing":
        sidecar.unlink()
    else:
        sidecar.write_bytes(sidecar.read_bytes()[::-1])
    report = xbench("report", "--results-dir", results, "--reports-dir", tmp_path / "reports", "--resamples", "200")
    assert report.exit_code == 0, report.output
    [line] = [x for x in report.output.splitlines() if x.startswith("xbench: skipped")]
    assert f"seed 1 on ja: predictions file {sidecar} is {damage}" in line
    advice = shlex.split(line.split("recompute it with: ")[1])
    assert advice[:2] == ["xbench", "run"]
    repaired = xbench(*advice[1:], "--no-progress")
    assert repaired.exit_code == 0, repaired.output
    assert f"ja: predictions file {sidecar} is {damage}" in repaired.output and "recomputing it" in repaired.output
    assert scores(path) == before
    clean = xbench("report", "--results-dir", results, "--reports-dir", tmp_path / "reports", "--resamples", "200")
    assert clean.exit_code == 0 and "skipped" not in clean.output


# 8. A full disk under the cache leaves no temporary checkpoint behind, and says so in one line.
def test_full_disk_under_the_cache_is_one_line_and_leaves_no_temporary_file(copy, tmp_path, monkeypatch):
    import torch

    data, results, model = copy

    def full_disk(obj, path, *args, **kwargs):
        Path(path).write_bytes(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", full_disk)
    outcome = xbench(*run_args(data, model, tmp_path / "r", "de", "--epochs", "2", "--checkpoint-every", "0"))
    assert outcome.exit_code == 2, outcome.output
    assert "cannot write the training checkpoint" in outcome.output and "No space left on device" in outcome.output
    assert not list((tmp_path / "xbench-cache").rglob("*.tmp*"))
    assert "Traceback" not in outcome.output


# 9. The last guard: an unforeseen error is one line naming it and the file holding its traceback.
def test_unexpected_error_is_one_line_with_the_traceback_in_a_file(tmp_path, monkeypatch):
    import benchmark.commands.models as models_command

    def broken():
        raise RuntimeError("registry exploded\nsecond line")

    monkeypatch.setattr(models_command, "models_table", broken)
    outcome = xbench("models")
    assert outcome.exit_code == 1
    [line] = outcome.output.strip().splitlines()
    assert line.startswith("xbench: unexpected error: RuntimeError: registry exploded (full traceback in ")
    crash = Path(line.split("full traceback in ")[1].split(")")[0])
    assert crash.parent == tmp_path / "xbench-cache" / "logs"
    assert "Traceback (most recent call last)" in crash.read_text() and "registry exploded" in crash.read_text()


def test_stop_signals_are_held_inside_a_deferred_block_and_nested_blocks_defer_to_the_outer():
    import os
    import signal

    from benchmark.signals import Stopped, deferred_stop_signals, stop_on_signals

    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        stop_on_signals()
        with pytest.raises(Stopped) as caught:
            with deferred_stop_signals() as stop:
                with deferred_stop_signals() as inner:
                    os.kill(os.getpid(), signal.SIGTERM)
                    assert inner is stop and stop.requested
                reached_after_inner = True  # the inner block ended without raising: the outer owns the stop
        assert reached_after_inner and caught.value.signal_name == "SIGTERM"
        with pytest.raises(Stopped):
            with deferred_stop_signals():
                os.kill(os.getpid(), signal.SIGINT)
                os.kill(os.getpid(), signal.SIGINT)  # a second one stops at once
                pytest.fail("not reached")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def test_result_json_records_the_data_folder_for_the_advice(finished):
    data, results, _ = finished
    assert json.loads(the_result(results).read_text())["config"]["data_dir"] == str(data.resolve())


def test_a_launcher_adds_its_own_stop_signal():
    """What the cluster launcher does with submitit's checkpoint signal: SIGUSR2 then stops as
    SIGTERM does, and deferred blocks hold it too."""
    import os
    import signal

    from benchmark.signals import STOP_SIGNALS, Stopped, deferred_stop_signals, stop_on_signals

    signals = (*STOP_SIGNALS, signal.SIGUSR2)
    previous = {s: signal.getsignal(s) for s in signals}
    try:
        stop_on_signals(signals)
        with pytest.raises(Stopped) as caught:
            with deferred_stop_signals() as stop:
                os.kill(os.getpid(), signal.SIGUSR2)
                assert stop.requested  # held: the block runs to its end
        assert caught.value.signal_name == "SIGUSR2"
        with pytest.raises(Stopped):
            os.kill(os.getpid(), signal.SIGUSR2)
            signal.pthread_sigmask(signal.SIG_BLOCK, [])  # a bytecode boundary for the handler to run
    finally:
        stop_on_signals(STOP_SIGNALS)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
