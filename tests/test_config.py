"""Settings: flag > environment > project file (xbench.toml or [tool.xbench]) > default."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from benchmark.cli import cli
from benchmark.config import resolve
from benchmark.data.sources import resolve_source
from benchmark.errors import XbenchError
from tests.conftest import write_panx


def test_default_when_nothing_is_set(tmp_path):
    assert resolve("results_dir", cwd=tmp_path).value == "results"
    assert resolve("data_dir", cwd=tmp_path).value is None and resolve("data_dir", cwd=tmp_path).source == "default"
    assert resolve_source(None).kind == "hub"


def test_project_file_is_found_from_a_subfolder_and_paths_are_relative_to_it(tmp_path, corpus, monkeypatch):
    write_panx(tmp_path / "data", corpus)
    (tmp_path / "xbench.toml").write_text('data_dir = "data"\nresults_dir = "out/results"\n')
    (tmp_path / "a" / "b").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "a" / "b")
    data = resolve("data_dir")
    assert data.value == str(tmp_path / "data") and data.source == str(tmp_path / "xbench.toml")
    assert resolve("results_dir").value == str(tmp_path / "out" / "results")
    assert resolve_source(None).kind == "panx"


def test_pyproject_tool_table(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.xbench]\nreports_dir = "/abs/reports"\n')
    monkeypatch.chdir(tmp_path)
    resolved = resolve("reports_dir")
    assert resolved.value == "/abs/reports" and resolved.source.endswith("pyproject.toml [tool.xbench]")


def test_nearest_project_file_wins_and_xbench_toml_before_pyproject(tmp_path, monkeypatch):
    (tmp_path / "xbench.toml").write_text('results_dir = "outer"\n')
    inner = tmp_path / "inner"
    inner.mkdir()
    (inner / "pyproject.toml").write_text('[tool.xbench]\nresults_dir = "from-pyproject"\n')
    (inner / "xbench.toml").write_text('results_dir = "from-xbench-toml"\n')
    monkeypatch.chdir(inner)
    assert resolve("results_dir").value == str(inner / "from-xbench-toml")


def test_precedence_flag_over_environment_over_file_over_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve("results_dir").source == "default"
    (tmp_path / "xbench.toml").write_text('results_dir = "file"\n')
    assert resolve("results_dir").value == str(tmp_path / "file")
    monkeypatch.setenv("XBENCH_RESULTS_DIR", "/env")
    from_env = resolve("results_dir")
    assert from_env.value == "/env" and from_env.source == "environment $XBENCH_RESULTS_DIR"
    flagged = resolve("results_dir", "/flag")
    assert flagged.value == "/flag" and flagged.source == "flag --results-dir"


def test_cache_dir_from_the_project_file(tmp_path, monkeypatch):
    from benchmark.config import cache_root

    monkeypatch.delenv("XBENCH_CACHE_DIR")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "xbench.toml").write_text('cache_dir = "cache"\n')
    assert cache_root() == tmp_path / "cache"


def test_config_command_shows_value_and_source(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "xbench.toml").write_text('data_dir = "d"\n')
    monkeypatch.setenv("XBENCH_REPORTS_DIR", "/r")
    out = CliRunner().invoke(cli, ["config"]).output
    rows = {line.split()[0]: line for line in out.splitlines()[2:] if line and not line.startswith("precedence")}
    assert str(tmp_path / "d") in rows["data_dir"] and str(tmp_path / "xbench.toml") in rows["data_dir"]
    assert "/r" in rows["reports_dir"] and "$XBENCH_REPORTS_DIR" in rows["reports_dir"]
    assert "default" in rows["results_dir"]
    assert out.splitlines()[0] == f"project file: {tmp_path / 'xbench.toml'}"


def test_run_writes_where_the_project_file_says(tmp_path, monkeypatch, corpus, tiny_model):
    write_panx(tmp_path / "data", corpus)
    (tmp_path / "xbench.toml").write_text('data_dir = "data"\nresults_dir = "my-results"\n')
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    outcome = CliRunner().invoke(cli, ["run", "--model", str(tiny_model), "--targets", "de", "--recipe", "quick",
                                       "--epochs", "1", "--train-limit", "40", "--max-length", "24",
                                       "--test-limit", "10", "--no-progress"])
    assert outcome.exit_code == 0, outcome.output
    assert list((tmp_path / "my-results").rglob("seed-1.json")) and not (tmp_path / "sub" / "results").exists()


@pytest.mark.parametrize(("content", "message"), [
    ('data_dir = 3\n', "setting data_dir must be a non-empty string"),
    ('data_dri = "x"\n', "unknown setting 'data_dri'"),
    ('data_dir = "x\n', "cannot read project settings"),
])
def test_bad_project_file_is_one_line(tmp_path, monkeypatch, content, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "xbench.toml").write_text(content)
    outcome = CliRunner().invoke(cli, ["config"])
    assert outcome.exit_code == 2 and message in outcome.output and str(tmp_path / "xbench.toml") in outcome.output
    assert len(outcome.output.strip().splitlines()) == 1
    with pytest.raises(XbenchError):
        resolve("data_dir")


def test_missing_data_folder_names_where_the_setting_came_from(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "xbench.toml").write_text('data_dir = "nowhere"\n')
    with pytest.raises(XbenchError, match=f"data folder {tmp_path / 'nowhere'} does not exist \\(from {tmp_path}"):
        resolve_source(None)
    assert os.environ.get("XBENCH_DATA_DIR") is None and Path.cwd() == tmp_path
