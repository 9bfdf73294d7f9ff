"""`xbench report` and `xbench compare` on a golden results tree of fabricated counts."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from benchmark.cli import cli
from benchmark.results import predictions_path, read_result, result_path, write_predictions, write_result

LANGS = {"de": 400, "fr": 300, "ru": 300, "sw": 100}


def fabricate_run(results: Path, model: str, seed: int, quality: float, langs=LANGS, mode="conlleval",
                  pretrained=("de", "fr", "ru", "en")) -> Path:
    """A result file with per-sentence counts: each gold entity found with probability ``quality``."""
    rng = np.random.default_rng(hash((model, seed)) % 2**32)
    path = result_path(results, "wikiann", "xtreme", model, ("en",), seed)
    result = {"task": "wikiann", "sources": ["en"], "seed": seed, "seqeval_mode": mode,
              "model": {"name": model, "pretraining_languages": list(pretrained)}, "targets": {}}
    for lang, n in langs.items():
        gold = rng.integers(0, 4, size=n)
        tp = rng.binomial(gold, quality)
        fp = rng.binomial(2, 1 - quality, size=n)
        counts = np.stack([tp, fp, gold - tp], axis=1)
        sidecar = predictions_path(path, lang)
        sha = write_predictions(sidecar, {"lang": lang, "tags": [], "counts": counts.tolist()})
        total = counts.sum(axis=0)
        result["targets"][lang] = {"f1": float(2 * total[0] / (2 * total[0] + total[1] + total[2])),
                                   "n_sentences": n, "test_limit": None,
                                   "predictions": {"file": str(sidecar.relative_to(path.parent)), "sha256": sha}}
    write_result(path, result)
    return path


@pytest.fixture()
def golden(tmp_path):
    results = tmp_path / "results"
    for seed in (1, 2):
        fabricate_run(results, "strong", seed, 0.8)
        fabricate_run(results, "weak", seed, 0.5, pretrained=("en",))
        fabricate_run(results, "strong-twin", seed, 0.8)
    return results


def report(results, reports, *extra):
    return CliRunner().invoke(cli, ["report", "--results-dir", str(results), "--reports-dir", str(reports),
                                    "--resamples", "2000", *extra])


def test_report_writes_markdown_and_chart_and_is_reproducible(golden, tmp_path):
    outcome = report(golden, tmp_path / "reports", "--format", "md,csv,json")
    assert outcome.exit_code == 0, outcome.output
    md = (tmp_path / "reports" / "wikiann-en.md").read_text()
    png = (tmp_path / "reports" / "wikiann-en.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    assert "![Per-language F1](wikiann-en.png)" in md
    board = md.split("## Leaderboard")[1].split("## Per language")[0]
    rows = [line for line in board.splitlines() if line.startswith("| ") and "rank" not in line]
    # The two equally good systems share rank 1; the weak one is ranked below both.
    ranks = {row.split("|")[2].strip().strip("*"): row.split("|")[1].strip() for row in rows}
    assert ranks == {"strong": "1", "strong-twin": "1", "weak": "3"}
    assert "share rank 1" in md
    per_language = md.split("## Per language")[1].split("## Pairwise")[0]
    sw_row = next(line for line in per_language.splitlines() if line.startswith("| sw"))
    assert "100 ⚠" in sw_row  # low power
    assert "°" in sw_row  # sw is not in the fabricated models' pretraining languages
    assert "Holm-Bonferroni" in md and "2,000 resamples" in md and "conlleval" in md
    assert (tmp_path / "reports" / "wikiann-en-leaderboard.csv").read_text().startswith("rank,model,avg_f1")
    # Regenerating gives the same bytes.
    again = report(golden, tmp_path / "again", "--format", "md")
    assert again.exit_code == 0
    assert (tmp_path / "again" / "wikiann-en.md").read_text() == md
    assert (tmp_path / "again" / "wikiann-en.png").read_bytes() == png


def test_report_says_what_is_missing_instead_of_averaging_other_sets(golden, tmp_path):
    fabricate_run(golden, "weak", 3, 0.5, langs={"de": 400, "fr": 300})
    outcome = report(golden, tmp_path / "r")
    assert outcome.exit_code == 0, outcome.output
    md = (tmp_path / "r" / "wikiann-en.md").read_text()
    assert "**Incomplete results.** Averages use only the 2 languages every run has:" in md
    assert "weak seed 3 lacks 2 of 4 targets: ru, sw" in md
    assert "seeds differ between models" in md
    assert "average F1 over 2 languages" in md


def test_mixed_seqeval_modes_are_refused(golden, tmp_path):
    fabricate_run(golden, "strict-one", 1, 0.8, mode="strict")
    outcome = report(golden, tmp_path / "r")
    assert outcome.exit_code == 2
    assert "scores of different modes cannot be compared" in outcome.output


def test_compare_prints_per_language_table_with_holm_and_k_of_l(golden):
    outcome = CliRunner().invoke(cli, ["compare", "strong", "weak", "--results-dir", str(golden),
                                       "--resamples", "2000"])
    assert outcome.exit_code == 0, outcome.output
    lines = outcome.output.splitlines()
    assert lines[0] == "wikiann from en: strong (A) vs weak (B), 4 languages"
    assert "p Holm" in lines[1]
    assert any(line.startswith("de ") and line.rstrip().endswith("*") for line in lines)
    assert "A better on 4 of 4 languages, B better on 0" in outcome.output or \
           "A better on 3 of 4 languages, B better on 0" in outcome.output


def test_damaged_result_file_is_skipped_with_one_line(golden, tmp_path):
    path = next(golden.rglob("seed-1.json"))
    path.write_text(path.read_text()[:-40])
    outcome = report(golden, tmp_path / "r")
    assert outcome.exit_code == 0, outcome.output
    skipped = [line for line in outcome.output.splitlines() if line.startswith("xbench: skipped")]
    assert len(skipped) == 1 and f"{path}: result file is truncated" in skipped[0]
    assert "from 5 result files" in (tmp_path / "r" / "wikiann-en.md").read_text()


def test_edited_result_fails_its_checksum_and_is_skipped(golden, tmp_path):
    path = next(golden.rglob("seed-1.json"))
    path.write_text(path.read_text().replace('"seed": 1', '"seed": 7'))
    outcome = report(golden, tmp_path / "r")
    assert outcome.exit_code == 0 and "checksum does not match" in outcome.output
    assert read_result  # imported for the fabricator's format


def test_recipes_never_share_a_table(tmp_path):
    """A quick and an xtreme run of one model are two groups, never one leaderboard."""
    from benchmark.report import load_groups
    from benchmark.results import recipe_key

    fabricate_run(tmp_path, "m", 1, 0.8)
    quick = result_path(tmp_path, "wikiann", "quick", "m", ("en",), 1)
    shutil.copytree(result_path(tmp_path, "wikiann", "xtreme", "m", ("en",), 1).parent.parent.parent,
                    quick.parent.parent.parent)
    groups = load_groups(tmp_path)
    assert [(g.task, g.recipe, g.source, sorted(g.models)) for g in groups] == [
        ("wikiann", "quick", "en", ["m"]), ("wikiann", "xtreme", "en", ["m"])]
    declared = {"name": "quick", "description": "a", "lr": 5e-5, "epochs": 2}
    assert recipe_key(dict(declared, description="b"), declared) == "quick"
    custom = recipe_key(dict(declared, epochs=1), declared)
    assert custom.startswith("quick-custom-") and custom != recipe_key(dict(declared, epochs=3), declared)
