"""Progress: bars on a terminal, plain step lines in a log, nothing with --quiet."""

from __future__ import annotations

import io
import re

from click.testing import CliRunner

from benchmark.cli import cli
from benchmark.progress import LineProgress

TINY = ["--recipe", "quick", "--epochs", "2", "--lr", "5e-4", "--batch-size", "16", "--max-length", "24",
        "--train-limit", "80", "--test-limit", "20"]


def run(panx_dir, tiny_model, results, *extra):
    return CliRunner().invoke(cli, ["run", "--model", str(tiny_model), "--targets", "de,ja", "--data-dir",
                                    str(panx_dir), "--results-dir", str(results), *TINY, *extra])


def test_a_run_in_a_log_prints_step_lines_not_bar_fragments(panx_dir, tiny_model, tmp_path):
    outcome = run(panx_dir, tiny_model, tmp_path / "r")  # CliRunner's streams are no terminal
    assert outcome.exit_code == 0, outcome.output
    lines = outcome.output.splitlines()
    assert "\r" not in outcome.output and "\x1b[" not in outcome.output and "█" not in outcome.output
    assert any(re.match(r"training: done, \d+ steps in \dm\d\ds$", line) for line in lines), lines
    assert sum("scoring the source dev split" in line for line in lines) == 2
    assert any(line.startswith("evaluating ") and "done, 40 sentences in" in line for line in lines), lines
    per_target = [line for line in lines if re.search(r" (de|ja): F1 \d+\.\d\d \(20 sentences, ", line)]
    assert len(per_target) == 2, lines


def test_quiet_prints_only_the_table(panx_dir, tiny_model, tmp_path):
    outcome = run(panx_dir, tiny_model, tmp_path / "r", "--quiet")
    assert outcome.exit_code == 0, outcome.output
    assert "training:" not in outcome.output and "evaluating" not in outcome.output
    assert "span F1 (%) per target" in outcome.output


def test_line_progress_reports_rate_eta_and_a_closing_line():
    stream = io.StringIO()
    bar = LineProgress(100, "evaluating m", "sentences", every_s=0, stream=stream)
    bar.set_postfix(target="de")
    bar.update(25)
    bar.write("m de: F1 50.00")
    bar.update(75)
    bar.close()
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("evaluating m: 25/100 sentences (25%), ") and "ETA" in lines[0]
    assert lines[0].endswith("target de") and lines[1] == "m de: F1 50.00"
    assert lines[-1].startswith("evaluating m: done, 100 sentences in ") and len(lines) == 3
