"""Models kept, named and evaluated as given: ``--save-model``, ``--name``, ``xbench evaluate``."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from benchmark.cli import cli
from benchmark.models.labels import map_model_labels, parse_label
from benchmark.models.registry import resolve_model
from benchmark.results.store import read_predictions, read_result

TINY = ["--recipe", "quick", "--epochs", "2", "--lr", "5e-4", "--batch-size", "16", "--max-length", "24",
        "--train-limit", "120", "--test-limit", "30", "--no-progress"]
TASK_LABELS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC")


def xbench(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def kept(tmp_path_factory, panx_dir, tiny_model):
    """A tiny run on en -> de,ja with its fine-tuned model kept."""
    root = tmp_path_factory.mktemp("kept")
    os.environ["XBENCH_CACHE_DIR"] = str(root / "cache")
    outcome = xbench("run", "--model", tiny_model, "--name", "tiny", "--targets", "de,ja", "--data-dir", panx_dir,
                     "--results-dir", root / "results", "--save-model", root / "models", *TINY)
    assert outcome.exit_code == 0, outcome.output
    [path] = (root / "results").rglob("seed-1.json")
    return root, path, read_result(path)


def test_kept_model_is_recorded_and_loads_in_a_plain_pipeline(kept):
    from transformers import AutoModelForTokenClassification, AutoTokenizer, pipeline

    root, path, result = kept
    folder = Path(result["saved_model"]["path"])
    assert folder == (root / "models" / path.relative_to(root / "results").parent / "seed-1").resolve()
    assert len(result["saved_model"]["sha256"]) == 64
    model = AutoModelForTokenClassification.from_pretrained(folder)
    assert [model.config.id2label[i] for i in range(7)] == list(TASK_LABELS)
    tagger = pipeline("token-classification", model=model, tokenizer=AutoTokenizer.from_pretrained(folder))
    tags = tagger("Anna Berg was in Paris")
    assert tags and {t["entity"] for t in tags} <= set(TASK_LABELS)


def test_evaluate_reproduces_the_runs_scores_exactly(kept, panx_dir):
    root, path, result = kept
    outcome = xbench("evaluate", "--model", result["saved_model"]["path"], "--name", "tiny-kept", "--targets", "de,ja",
                     "--data-dir", panx_dir, "--results-dir", root / "results", "--test-limit", "30", "--no-progress")
    assert outcome.exit_code == 0, outcome.output
    [given] = (root / "results" / "wikiann" / "as-given").rglob("seed-0.json")
    assert given.relative_to(root / "results").parts == ("wikiann", "as-given", "tiny-kept", "en", "seed-0.json")
    evaluated = read_result(given)
    assert evaluated["evaluated_as_given"] and evaluated["recipe"] is None and evaluated["sources"] == ["en"]
    for lang in ("de", "ja"):
        assert evaluated["targets"][lang]["f1"] == result["targets"][lang]["f1"]
        ours = read_predictions(path.parent / result["targets"][lang]["predictions"]["file"])
        theirs = read_predictions(given.parent / evaluated["targets"][lang]["predictions"]["file"])
        assert ours["tags"] == theirs["tags"] and ours["counts"] == theirs["counts"]


def test_labels_of_another_scheme_and_order_give_the_same_scores(kept, panx_dir, tmp_path):
    """The kept classifier with its rows permuted and relabelled in BIOES/long spellings, plus a
    MISC row that is never predicted, scores exactly as the original."""
    import torch
    from transformers import AutoModelForTokenClassification

    root, path, result = kept
    original = AutoModelForTokenClassification.from_pretrained(result["saved_model"]["path"])
    names = ["S-LOCATION", "O", "E-PER", "B-ORGANIZATION", "I-LOC", "S-PERSON", "I-ORG", "B-MISC"]
    source_row = [5, 0, 2, 3, 6, 1, 4, None]
    config = original.config
    config.id2label = dict(enumerate(names))
    config.label2id = {n: i for i, n in enumerate(names)}
    config.num_labels = len(names)
    model = AutoModelForTokenClassification.from_config(config)
    model.load_state_dict({k: v for k, v in original.state_dict().items() if "classifier" not in k}, strict=False)
    with torch.no_grad():
        for new, old in enumerate(source_row):
            if old is None:
                model.classifier.weight[new] = 0
                model.classifier.bias[new] = -1e4
            else:
                model.classifier.weight[new] = original.classifier.weight[old]
                model.classifier.bias[new] = original.classifier.bias[old]
    folder = tmp_path / "relabelled"
    model.save_pretrained(folder, safe_serialization=True)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
        if (Path(result["saved_model"]["path"]) / name).exists():
            shutil.copy(Path(result["saved_model"]["path"]) / name, folder / name)
    outcome = xbench("evaluate", "--model", folder, "--source", "en", "--targets", "de,ja", "--data-dir", panx_dir,
                     "--results-dir", tmp_path / "results", "--test-limit", "30", "--max-length", "24", "--no-progress")
    assert outcome.exit_code == 0, outcome.output
    assert "labels B-MISC are predicted as O" in outcome.output
    [given] = (tmp_path / "results").rglob("seed-0.json")
    for lang in ("de", "ja"):
        assert read_result(given)["targets"][lang]["f1"] == result["targets"][lang]["f1"]


def test_two_spellings_of_one_folder_are_one_model(tiny_model, tmp_path, monkeypatch, panx_dir):
    monkeypatch.chdir(tiny_model.parent)
    spellings = [str(tiny_model), f"../{tiny_model.parent.name}/{tiny_model.name}", f"{tiny_model.name}/",
                 f"./{tiny_model.name}"]
    specs = [resolve_model(s) for s in spellings]
    assert len({(s.key, s.weights_sha256) for s in specs}) == 1
    assert specs[0].key.startswith(f"{tiny_model.name}-") and specs[0].key[-8:] == specs[0].weights_sha256[:8]
    plans = [xbench("run", "--model", s, "--targets", "de", "--data-dir", panx_dir, "--results-dir",
                    tmp_path / "r", "--dry-run", *TINY).output.splitlines()[1] for s in spellings]
    assert len(set(plans)) == 1, plans


def test_retrained_weights_in_the_same_folder_are_another_model(tiny_model, tmp_path):
    copy = shutil.copytree(tiny_model, tmp_path / "m")
    before = resolve_model(str(copy))
    weights = copy / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-1] + bytes([weights.read_bytes()[-1] ^ 1]))
    after = resolve_model(str(copy))
    assert before.key != after.key and before.weights_sha256 != after.weights_sha256


def test_a_short_training_is_flagged(kept):
    _, _, result = kept
    assert result["training"]["steps"] < 100
    assert any("optimiser steps" in w for w in result["warnings"])


def test_dry_run_names_the_refusal_it_will_meet(kept, panx_dir, tiny_model):
    root, _, _ = kept
    outcome = xbench("run", "--model", tiny_model, "--name", "tiny", "--targets", "de,ja", "--data-dir", panx_dir,
                     "--results-dir", root / "results", *TINY[:-3], "--test-limit", "10", "--dry-run")
    assert outcome.exit_code == 0, outcome.output
    assert "will stop:" in outcome.output and "--test-limit 30, not 10" in outcome.output


@pytest.mark.parametrize(("label", "parsed"), [
    ("B-PER", ("B", "PER")), ("I-LOC", ("I", "LOC")), ("PER", ("I", "PER")), ("S-ORG", ("B", "ORG")),
    ("E-LOC", ("I", "LOC")), ("U-PER", ("B", "PER")), ("L-ORG", ("I", "ORG")), ("b_person", ("B", "PER")),
    ("I-ORGANIZATION", ("I", "ORG")), ("O", ("O", "")), ("B-MISC", ("B", "MISC")), ("LABEL_3", None), ("x y", None),
])
def test_label_spellings(label, parsed):
    assert parse_label(label) == parsed


def test_io_labels_map_to_inside_tags():
    mapping, dropped = map_model_labels({0: "O", 1: "PER", 2: "LOC", 3: "ORG", 4: "DATE"}, TASK_LABELS)
    assert [TASK_LABELS[i] for i in mapping] == ["O", "I-PER", "I-LOC", "I-ORG", "O"] and dropped == ["DATE"]


def test_io_predictions_score_as_their_iob2_equivalent():
    """seqeval's default mode (the task's metric) reads I- after O as a chunk start."""
    from benchmark.eval.predict import score

    gold = [["B-PER", "I-PER", "O", "B-LOC"]]
    assert score(gold, [["I-PER", "I-PER", "O", "I-LOC"]])["f1"] == score(gold, gold)["f1"] == 1.0


def _edit_json(path: Path, **changes) -> None:
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


def test_bad_input_for_evaluate_and_keep(kept, panx_dir, tiny_model, tmp_path):
    root, path, result = kept
    unmappable = shutil.copytree(result["saved_model"]["path"], tmp_path / "unmappable")
    _edit_json(unmappable / "config.json", id2label={str(i): f"LABEL_{i}" for i in range(7)},
               label2id={f"LABEL_{i}": i for i in range(7)})
    no_types = shutil.copytree(result["saved_model"]["path"], tmp_path / "no-types")
    _edit_json(no_types / "config.json", id2label={str(i): n for i, n in enumerate(
        ["O", "B-DATE", "I-DATE", "B-TIME", "I-TIME", "B-MONEY", "I-MONEY"])})
    unlabelled = shutil.copytree(result["saved_model"]["path"], tmp_path / "no-metadata")
    (unlabelled / "xbench.json").unlink()
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    given = ["evaluate", "--targets", "de", "--data-dir", panx_dir, "--results-dir", tmp_path / "never",
             "--source", "en"]
    cases = [
        ([*given, "--model", unmappable], "are not NER labels"),
        ([*given, "--model", no_types], "none of the model's labels"),
        ([*given, "--model", tiny_model], "is not a token classifier"),
        (["evaluate", "--model", tiny_model.parent / "nowhere", "--data-dir", panx_dir], "does not exist"),
        (["evaluate", "--model", result["saved_model"]["path"], "--name", "me5-small", "--data-dir", panx_dir],
         "is a registered model"),
        (["evaluate", "--model", unlabelled, "--targets", "de", "--data-dir", panx_dir], "--source: say which"),
        (["run", "--model", tiny_model, "--targets", "de", "--data-dir", panx_dir, "--results-dir", tmp_path / "never",
          "--save-model", blocker / "models", *TINY], "--save-model folder"),
        (["run", "--model", "me5-small", "--name", "x", "--data-dir", panx_dir, "--results-dir", tmp_path / "never"],
         "--name names a local model folder"),
        (["run", "--model", f"{tiny_model},{unmappable}", "--name", "x", "--data-dir", panx_dir],
         "exactly one --model"),
        (["run", "--model", tiny_model, "--name", "a/b", "--data-dir", panx_dir], "--name 'a/b': use letters"),
    ]
    for args, expected in cases:
        outcome = xbench(*args)
        assert outcome.exit_code == 2, (args, outcome.output)
        assert expected in outcome.output and "Traceback" not in outcome.output, (args, outcome.output)
        assert len(outcome.output.strip().splitlines()) == 1, outcome.output
    assert not (tmp_path / "never").exists()


@pytest.mark.pretrained
def test_kept_me5_small_reproduces_its_scores(panx_dir, tmp_path):
    """The real multilingual encoder, trained a few steps, kept, reloaded and evaluated as given."""
    from benchmark.models.loading import offline_installed

    if not offline_installed(resolve_model("me5-small")):
        pytest.skip("me5-small's offline packages are not installed (scripts/setup.sh installs them)")
    from transformers import pipeline

    common = ["--targets", "de", "--data-dir", panx_dir, "--results-dir", tmp_path / "results", "--test-limit", "20",
              "--no-progress"]
    outcome = xbench("run", "--model", "me5-small", "--save-model", tmp_path / "models", "--recipe", "quick",
                     "--epochs", "1", "--train-limit", "32", "--batch-size", "16", "--max-length", "32", *common)
    assert outcome.exit_code == 0, outcome.output
    [path] = (tmp_path / "results").rglob("seed-1.json")
    result = read_result(path)
    kept_folder = result["saved_model"]["path"]
    assert pipeline("token-classification", model=kept_folder)("Anna Berg lives in Berlin") is not None
    outcome = xbench("evaluate", "--model", kept_folder, *common)
    assert outcome.exit_code == 0, outcome.output
    [given] = (tmp_path / "results").rglob("seed-0.json")
    assert read_result(given)["targets"]["de"]["f1"] == result["targets"]["de"]["f1"]
    assert np.array_equal(
        read_predictions(given.parent / read_result(given)["targets"]["de"]["predictions"]["file"])["counts"],
        read_predictions(path.parent / result["targets"]["de"]["predictions"]["file"])["counts"])
