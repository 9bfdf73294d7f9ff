"""The bad-input catalogue: each case is one clear line, exit status 2, no traceback, nothing written.

Every case runs the real CLI in-process and compares the whole working folder before and after.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from benchmark.cli import cli
from benchmark.results import content_checksum
from tests.conftest import write_panx

TINY = ["--recipe", "quick", "--epochs", "1", "--lr", "5e-4", "--batch-size", "16", "--max-length", "24",
        "--train-limit", "60", "--no-progress"]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, corpus, tiny_model):
    """A data folder, a model, and a results folder holding one finished tiny run."""
    import os

    root = tmp_path_factory.mktemp("bad-input")
    os.environ["XBENCH_CACHE_DIR"] = str(root / "cache")
    data = write_panx(root / "data", corpus)
    results = root / "results"
    done = CliRunner().invoke(cli, ["run", "--model", str(tiny_model), "--targets", "de", "--data-dir", str(data),
                                    "--results-dir", str(results), "--test-limit", "20", *TINY])
    assert done.exit_code == 0, done.output
    return root, data, results, Path(tiny_model)


def snapshot(folder: Path) -> dict:
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and "cache" not in p.parts and not p.name.endswith(".lock")}


def _data_with(data: Path, target: Path, name: str, content: bytes) -> Path:
    shutil.copytree(data, target)
    (target / name).write_bytes(content)
    return target


def _rahimi_with(root: Path, corpus, content: bytes) -> Path:
    from tests.conftest import write_rahimi

    folder = write_rahimi(root / "rahimi-bad", {"de": corpus["de"]})
    (folder / "de" / "dev").write_bytes(content)
    return folder


def _model_without(tiny: Path, target: Path, *names: str) -> Path:
    shutil.copytree(tiny, target)
    for name in names:
        (target / name).unlink(missing_ok=True)
    return target


def _edited_result(results: Path, target: Path, edit) -> Path:
    shutil.copytree(results, target)
    path = next(target.rglob("seed-1.json"))
    path.write_bytes(edit(path.read_bytes()))
    return target


def _resealed(change):
    """Edit a result's content and its checksum, as another xbench version would have written it."""
    def edit(raw: bytes) -> bytes:
        result = json.loads(raw)
        change(result)
        result["checksum"] = content_checksum(result)
        return json.dumps(result).encode()
    return edit


def _mixed_modes(results: Path, target: Path) -> Path:
    shutil.copytree(results, target)
    source = next(target.rglob("seed-1.json"))
    copy = source.parent / "seed-2.json"
    result = json.loads(source.read_bytes())
    result["seed"], result["seqeval_mode"] = 2, "strict"
    result["checksum"] = content_checksum(result)
    copy.write_text(json.dumps(result))
    shutil.copytree(source.with_suffix(".predictions"), copy.with_suffix(".predictions"))
    return target


def cases(root: Path, data: Path, results: Path, tiny: Path, corpus) -> list[tuple[str, list[str], str]]:
    """(name, command line, expected text of the one error line)."""
    run = ["run", "--model", str(tiny), "--targets", "de", "--results-dir", str(results), *TINY]
    run_data = [*run, "--data-dir", str(data)]
    fresh = ["run", "--model", str(tiny), "--targets", "de", "--results-dir", str(root / "fresh-results"), *TINY]
    report = ["report", "--results-dir"]
    bad = {name: _data_with(data, root / f"data-{name}", "test-de.tsv", content) for name, content in {
        "no-tab": b"Berlin\tB-LOC\nliegt\n", "two-tabs": b"Berlin\tB-LOC\tx\n", "empty-word": b" \tO\n",
        "unknown-tag": b"Berlin\tB-MISC\n", "not-utf8": b"M\xfcnchen\tB-LOC\n", "empty-file": b"",
    }.items()}
    missing_split = shutil.copytree(data, root / "data-missing-split")
    (missing_split / "dev-en.tsv").unlink()
    return [
        ("line without a tab", [*fresh, "--data-dir", str(bad["no-tab"])], "test-de.tsv:2: no tab between word and tag"),
        ("line with two tabs", [*fresh, "--data-dir", str(bad["two-tabs"])], "test-de.tsv:1: more than one tab"),
        ("empty word", [*fresh, "--data-dir", str(bad["empty-word"])], "test-de.tsv:1: empty word"),
        ("unknown tag", [*fresh, "--data-dir", str(bad["unknown-tag"])], "test-de.tsv:1: unknown tag"),
        ("bytes not UTF-8", [*fresh, "--data-dir", str(bad["not-utf8"])], "test-de.tsv:1: bytes that are not UTF-8"),
        ("empty file", [*fresh, "--data-dir", str(bad["empty-file"])], "test-de.tsv: file is empty"),
        ("wrong language prefix", ["data", "check", "--data-dir", str(_rahimi_with(root, corpus, b"fr:Paris\tB-LOC\n"))],
         "de/dev:1: word without the language prefix 'de:': 'fr:Paris'"),
        ("missing split", [*fresh, "--data-dir", str(missing_split)], "dev-en.tsv: missing dev split for language 'en'"),
        ("data folder missing", [*run, "--data-dir", str(root / "nowhere")], "does not exist"),
        ("data folder without data", [*run, "--data-dir", str(tiny)], "no WikiANN data found"),
        ("unknown target", [*run_data, "--targets", "dee"],
         "unknown language or language set 'dee'; did you mean 'de'?"),
        ("unknown language set", ["languages", "--set", "xtreme41", "--data-dir", str(data)],
         "did you mean 'xtreme40'?"),
        ("source without data", [*run_data, "--source", "fr"], "source language: no data for 1 of 1 languages (fr)"),
        ("unknown model", ["run", "--model", "me5-smal", "--data-dir", str(data), "--results-dir", str(results)],
         "unknown model 'me5-smal'; did you mean 'me5-small'?"),
        ("hub model offline", ["run", "--model", "mbert", "--targets", "de", "--data-dir", str(data), "--results-dir",
                               str(root / "never-written")], "is not cached and the Hugging Face Hub cannot be reached"),
        ("model without weights", [*run_data, "--model", str(_model_without(tiny, root / "m1", "model.safetensors"))],
         "has no safetensors weights"),
        ("model without tokenizer", [*run_data, "--model", str(_model_without(
            tiny, root / "m2", "tokenizer.json", "tokenizer_config.json", "vocab.txt"))], "has no tokenizer files"),
        ("negative learning rate", [*run_data, "--lr", "-1e-5"], "lr must be > 0.0 and <= 1.0, got -1e-05"),
        ("zero batch size", [*run_data, "--batch-size", "0"], "batch_size must be >= 1, got 0"),
        ("window too small", [*run_data, "--max-length", "4"], "max_length must be >= 8"),
        ("non-integer epochs", [*run_data, "--epochs", "two"], "Invalid value for '--epochs'"),
        ("unknown recipe", [*run_data, "--recipe", "quik"], "unknown recipe 'quik' for task wikiann; did you mean 'quick'?"),
        ("unknown task", ["run", "--task", "wikiaan", "--data-dir", str(data)], "unknown task 'wikiaan'; did you mean"),
        ("bad seeds", [*run_data, "--seeds", "1,x"], "--seeds: 'x' is not a seed"),
        ("repeated seeds", [*run_data, "--seeds", "1,1"], "--seeds: a seed is repeated"),
        ("zero test limit", [*run_data, "--test-limit", "0"], "--test-limit must be >= 1, got 0"),
        ("unknown device", [*run_data, "--device", "gpu"], "--device: 'gpu' is not a device"),
        ("GPU index out of range", [*run_data, "--device", "cuda:99"], "--device cuda:99: "),
        ("contradicting the stored training data", [*run, "--data-dir", str(_data_with(
            data, root / "data-train-changed", "train-en.tsv", b"Berlin\tB-LOC\n\n" + (data / "train-en.tsv").read_bytes()))],
         "was made with a different train_data_sha256"),
        ("contradicting the stored test limit", [*run_data, "--test-limit", "10"],
         "target de was scored with --test-limit 20, not 10"),
        ("results folder not writable", [*run_data, "--results-dir", "/proc/xbench-results", "--test-limit", "20"],
         "folder /proc/xbench-results is not writable"),
        ("truncated result", [*report, str(_edited_result(results, root / "r-trunc", lambda b: b[: len(b) // 2]))],
         "result file is truncated"),
        ("result not JSON", [*report, str(_edited_result(results, root / "r-notjson", lambda b: b"\x00garbage"))],
         "result file is not valid JSON"),
        ("other schema version", [*report, str(_edited_result(
            results, root / "r-schema", _resealed(lambda r: r.update(schema_version=99))))],
         "result schema_version 99, this xbench reads 1"),
        ("checksum mismatch", [*report, str(_edited_result(
            results, root / "r-sum", lambda b: b.replace(b'"seed": 1', b'"seed": 3')))], "checksum does not match"),
        ("mixed seqeval modes", [*report, str(_mixed_modes(results, root / "r-modes"))],
         "scores of different modes cannot be compared"),
        ("report of an empty folder", [*report, str(root / "empty-results")], "no result files under"),
        ("unknown report format", [*report, str(results), "--format", "pdf"], "--format: unknown output pdf"),
        ("compare unknown model", ["compare", "a", "b", "--results-dir", str(results)], "no results hold both 'a' and 'b'"),
    ]


def test_bad_input_catalogue(workspace, corpus, monkeypatch):
    root, data, results, tiny = workspace
    (root / "empty-results").mkdir(exist_ok=True)
    catalogue = cases(root, data, results, tiny, corpus)
    assert len(catalogue) >= 25
    monkeypatch.chdir(root)
    failures = []
    for name, args, expected in catalogue:
        before = snapshot(root)
        outcome = CliRunner().invoke(cli, args)
        lines = outcome.output.strip().splitlines()
        problems = []
        if outcome.exit_code != 2:
            problems.append(f"exit {outcome.exit_code}")
        if not lines or not lines[-1].startswith("xbench: error: ") or expected not in lines[-1]:
            problems.append(f"last line {lines[-1:]!r}")
        if "Traceback" in outcome.output or isinstance(outcome.exception, Exception) and \
                not isinstance(outcome.exception, SystemExit):
            problems.append(f"exception {outcome.exception!r}")
        if snapshot(root) != before:
            problems.append("files changed")
        if problems:
            failures.append(f"{name}: {'; '.join(problems)}")
    assert not failures, "\n".join(failures)
