"""`xbench report` and `xbench compare` on a golden results tree of fabricated counts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from benchmark.cli import cli
from benchmark.results.store import predictions_path, read_result, result_path, write_predictions, write_result

LANGS = {"de": 400, "fr": 300, "ru": 300, "sw": 100}
TYPES = ("LOC", "ORG", "PER")


def fabricate_run(results: Path, model: str, seed: int, quality: float, langs=LANGS, mode="conlleval",
                  pretrained=("de", "fr", "ru", "en"), recipe="xtreme") -> Path:
    """A result file with per-sentence counts: each gold entity found with probability ``quality``.

    Entity types are split deterministically from the counts (a third each, by sentence index),
    so per-type scores are consistent with the overall ones."""
    import zlib

    rng = np.random.default_rng(zlib.crc32(f"{model}/{seed}".encode()))
    path = result_path(results, "wikiann", recipe, model, ("en",), seed)
    result = {"task": "wikiann", "sources": ["en"], "seed": seed, "seqeval_mode": mode,
              "recipe": {"name": recipe, "description": "fabricated for a test.", "lr": 2e-05, "epochs": 10},
              "model": {"name": model, "pretraining_languages": list(pretrained)}, "targets": {}}
    for lang, n in langs.items():
        gold = rng.integers(0, 4, size=n)
        tp = rng.binomial(gold, quality)
        fp = rng.binomial(2, 1 - quality, size=n)
        counts = np.stack([tp, fp, gold - tp], axis=1)
        sidecar = predictions_path(path, lang)
        sha = write_predictions(sidecar, {"lang": lang, "tags": [], "counts": counts.tolist()})
        total = counts.sum(axis=0)
        per_type = {}
        for i, kind in enumerate(TYPES):
            t = counts[i::3].sum(axis=0)
            p, r = t[0] / max(1, t[0] + t[1]), t[0] / max(1, t[0] + t[2])
            per_type[kind] = {"precision": float(p), "recall": float(r), "support": int(t[0] + t[2]),
                              "f1": float(2 * t[0] / max(1, 2 * t[0] + t[1] + t[2]))}
        result["targets"][lang] = {"f1": float(2 * total[0] / (2 * total[0] + total[1] + total[2])),
                                   "precision": float(total[0] / (total[0] + total[1])),
                                   "recall": float(total[0] / (total[0] + total[2])), "per_type": per_type,
                                   "n_sentences": n, "test_limit": None, "test_sha256": f"sha-{lang}",
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
    md = (tmp_path / "reports" / "wikiann-xtreme-en.md").read_text()
    png = (tmp_path / "reports" / "wikiann-xtreme-en.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    assert "](wikiann-xtreme-en.png)" in md
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
    assert (tmp_path / "reports" / "wikiann-xtreme-en-leaderboard.csv").read_text().startswith(
        "rank,model,recipe,zero_shot_f1")
    # Every picture exists as PNG (200 dpi) and SVG, and regenerating gives the same bytes.
    pictures = sorted(p.name for p in (tmp_path / "reports").glob("*.png"))
    assert len(pictures) == 1 + 2 * 3  # per-language, and a difference and a scatter per pair
    assert all((tmp_path / "reports" / name).with_suffix(".svg").is_file() for name in pictures)
    from PIL import Image

    with Image.open(tmp_path / "reports" / "wikiann-xtreme-en.png") as image:
        assert round(image.info["dpi"][0]) == 200
    again = report(golden, tmp_path / "again", "--format", "md")
    assert again.exit_code == 0
    assert (tmp_path / "again" / "wikiann-xtreme-en.md").read_text() == md
    for name in pictures:
        for suffix in (".png", ".svg"):
            first = (tmp_path / "reports" / name).with_suffix(suffix).read_bytes()
            assert (tmp_path / "again" / name).with_suffix(suffix).read_bytes() == first, name + suffix


def test_report_says_what_is_missing_instead_of_averaging_other_sets(golden, tmp_path):
    fabricate_run(golden, "weak", 3, 0.5, langs={"de": 400, "fr": 300})
    outcome = report(golden, tmp_path / "r")
    assert outcome.exit_code == 0, outcome.output
    md = (tmp_path / "r" / "wikiann-xtreme-en.md").read_text()
    assert "**Incomplete results.** Averages use only the 2 languages every run has:" in md
    assert "weak seed 3 lacks 2 of 4 targets: ru, sw" in md
    assert "seeds differ between models" in md
    assert "zero-shot average over 2 languages" in md


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
    assert lines[0] == "wikiann (recipe xtreme) from en: strong (A) vs weak (B), 4 zero-shot languages"
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
    assert "from 5 result files" in next((tmp_path / "r").glob("*.md")).read_text()


def test_edited_result_fails_its_checksum_and_is_skipped(golden, tmp_path):
    path = next(golden.rglob("seed-1.json"))
    path.write_text(path.read_text().replace('"seed": 1', '"seed": 7'))
    outcome = report(golden, tmp_path / "r")
    assert outcome.exit_code == 0 and "checksum does not match" in outcome.output
    assert read_result  # imported for the fabricator's format


def test_recipes_never_share_a_table(tmp_path):
    """A quick and an xtreme run of one model are two groups, never one leaderboard."""
    from benchmark.report.groups import load_groups
    from benchmark.results.store import recipe_key

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


def test_source_language_is_in_language_and_kept_out_of_the_headline(tmp_path):
    results = tmp_path / "results"
    langs = {"en": 300, **LANGS}
    for seed in (1, 2, 3):
        fabricate_run(results, "strong", seed, 0.8, langs=langs)
        fabricate_run(results, "weak", seed, 0.5, langs=langs)
    outcome = report(results, tmp_path / "r", "--format", "md,json")
    assert outcome.exit_code == 0, outcome.output
    md = (tmp_path / "r" / "wikiann-xtreme-en.md").read_text()
    assert "zero-shot average over 4 languages (95% CI)" in md
    assert "XTREME-style average, source included, 5 languages (95% CI)" in md
    assert "| in-language (en) |" in md.split("## Per language")[0]
    per_language = md.split("## Per language")[1].split("## Pictures")[0]
    assert per_language.index("*in-language (en)*") < per_language.index("| en |") < per_language.index(
        "*zero-shot*") < per_language.index("| de |")
    assert "Largest gains: en" not in md and "of 4 languages and worse" in md
    payload = json.loads((tmp_path / "r" / "wikiann-xtreme-en.json").read_text())
    assert payload["in_language"] == ["en"] and "en" not in payload["zero_shot"]
    board = {row["model"]: row for row in payload["leaderboard"]}
    assert board["strong"]["zero_shot_languages"] == 4 and board["strong"]["xtreme_style_languages"] == 5
    # Fewer than 5 seeds: the report says so; the recipe and its settings are stated.
    assert "**Fewer than 5 seeds:** strong (3), weak (3)" in md
    assert "Recipe `xtreme`: fabricated for a test. Settings: epochs 10, lr 2e-05." in md
    assert "± is" not in md and "F1 ± h: mean over seeds ± h, the half-width of its 95% interval" in md
    assert "Ulmer et al. (2022)" in md and "here 3 per model; with fewer than 5 per side even ε_min = 0 is weak" in md


def test_one_model_one_seed_report_reads_well(tmp_path):
    results = tmp_path / "results"
    fabricate_run(results, "solo", 1, 0.7, langs={"de": 200})
    reference = tmp_path / "reference.csv"
    reference.write_text("lang,en_to_x\nde,90\n")
    outcome = report(results, tmp_path / "r", "--format", "md,csv", "--reference", str(reference))
    assert outcome.exit_code == 0, outcome.output
    md = (tmp_path / "r" / "wikiann-xtreme-en.md").read_text()
    assert "zero-shot average over 1 language (95% CI)" in md
    assert "- **solo**: zero-shot average F1" in md and "over 1 language, from 1 seed." in md
    assert "Seeds: solo: 1." in md and "Seeds: 1, 2, 3" not in md
    assert "1 result file;" in md
    assert "seed-to-seed variance cannot be estimated" in md
    # en's own test split was not evaluated: no "XTREME-style (source included)" column repeating the headline.
    board = md.split("## Leaderboard")[1].split("The headline")[0]
    assert "zero-shot average over 1 language (95% CI)" in board and "XTREME-style" not in board
    assert "The source language's (en) own test split was not evaluated" in md
    for garbled in ("1 languages", "## Pairwise", "Ranks are tie groups", "most above on", ".0)"):
        assert garbled not in md, garbled
    # The model is below the (whole-number) reference on its one language: said once, in whole points.
    assert "is higher on 0 of 1 shared language, by -" in md and "; not above on de (-" in md
    # The pairs table is empty but has its header, so pandas reads it.
    import pandas as pd

    pairs = pd.read_csv(tmp_path / "r" / "wikiann-xtreme-en-pairs.csv")
    assert len(pairs) == 0 and list(pairs.columns)[:3] == ["a", "b", "avg_diff"]
    assert sorted(p.name for p in (tmp_path / "r").glob("*.png")) == ["wikiann-xtreme-en.png"]


def test_per_type_tables_and_long_export_read_back_by_pandas(golden, tmp_path):
    import pandas as pd

    outcome = report(golden, tmp_path / "r", "--format", "md,csv,json,parquet")
    assert outcome.exit_code == 0, outcome.output
    md = (tmp_path / "r" / "wikiann-xtreme-en.md").read_text()
    section = md.split("## Per entity type")[1].split("## Pairwise")[0]
    assert all(f"### {m}" in section for m in ("strong", "weak", "strong-twin"))
    assert "| lang | language | PER | ORG | LOC | all |" in section
    frames = [pd.read_csv(tmp_path / "r" / "wikiann-xtreme-en-scores.csv"),
              pd.read_json(tmp_path / "r" / "wikiann-xtreme-en-scores.json"),
              pd.read_parquet(tmp_path / "r" / "wikiann-xtreme-en-scores.parquet")]
    for frame in frames:
        # 3 models x 2 seeds x 4 targets x (PER, ORG, LOC, all)
        assert len(frame) == 3 * 2 * 4 * 4
        assert {"model", "recipe", "source", "seed", "target", "type", "precision", "recall", "f1", "support",
                "test_sha256"} <= set(frame.columns)
        assert set(frame["type"]) == {"all", "PER", "ORG", "LOC"}
    frame = frames[2]
    # The per-type table's figure is the mean over seeds of the stored per-type F1.
    stored = frame[(frame.model == "weak") & (frame.target == "de") & (frame.type == "PER")]["f1"].mean()
    row = next(line for line in md.split("### weak")[1].splitlines() if line.startswith("| de |"))
    assert row.split("|")[3].strip() == f"{100 * stored:.1f}"
    # Support of "all" is the sum over types.
    one = frame[(frame.model == "weak") & (frame.seed == 1) & (frame.target == "de")]
    assert one[one.type == "all"].support.item() == one[one.type != "all"].support.sum()
    assert (frame.recipe == "xtreme").all() and (frame.test_sha256 == "sha-" + frame.target).all()


def test_unknown_language_code_in_results_is_reported_not_a_crash(tmp_path):
    results = tmp_path / "results"
    for seed in (1, 2):
        fabricate_run(results, "a", seed, 0.8, langs={"de": 200, "xx-new": 150})
        fabricate_run(results, "b", seed, 0.6, langs={"de": 200, "xx-new": 150})
    outcome = report(results, tmp_path / "r")
    assert outcome.exit_code == 0, outcome.output
    md = (tmp_path / "r" / "wikiann-xtreme-en.md").read_text()
    assert "| xx-new | unknown | ? |" in md
    assert "Not declared by task wikiann (unknown language, script unknown): xx-new." in md
    compared = CliRunner().invoke(cli, ["compare", "a", "b", "--results-dir", str(results), "--resamples", "500"])
    assert compared.exit_code == 0 and "xx-new" in compared.output


def test_models_evaluated_as_given_form_their_own_group(golden, tmp_path):
    from benchmark.results.store import AS_GIVEN

    for seed in (1, 2):
        fabricate_run(golden, "ready-made", seed, 0.7, recipe=AS_GIVEN)
    outcome = report(golden, tmp_path / "r")
    assert outcome.exit_code == 0, outcome.output
    md = (tmp_path / "r" / f"wikiann-{AS_GIVEN}-en.md").read_text()
    assert md.startswith("# wikiann: models evaluated as given, no training")
    assert "xbench trained nothing" in md and "strong" not in md
    assert "ready-made" not in (tmp_path / "r" / "wikiann-xtreme-en.md").read_text()


def test_unseen_in_pretraining_reads_three_letter_codes_through_the_task():
    """MasakhaNER names Swahili `swa`; XLM-R's stored pretraining set says `sw`: seen, not unseen."""
    from benchmark.data.tasks import get_task
    from benchmark.models.registry import registry
    from benchmark.report.analysis import unseen_in_pretraining

    xlmr = set(registry()[1]["xlmr100"])
    task = get_task("masakhaner2-transfer")
    assert not unseen_in_pretraining(xlmr, "swa", task.language("swa").pretrained_in)
    assert unseen_in_pretraining(xlmr, "tsn", task.language("tsn").pretrained_in)
    assert not unseen_in_pretraining(xlmr, "sw", ())  # WikiANN's own code, found directly
    assert unseen_in_pretraining({"en"}, "pcm", task.language("pcm").pretrained_in)  # English-only model
    assert not unseen_in_pretraining(set(), "tsn", ()) and not unseen_in_pretraining(None, "tsn", ())
