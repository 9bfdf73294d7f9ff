"""The bad-input catalogue: each case is one clear line, exit status 2, no traceback, nothing written.

Every case runs the real CLI in-process and compares the whole working folder before and after
(results byte for byte). A few cases are input xbench accepts with a note (a stray file in a
data folder, a damaged file a report skips): they exit 0, say so in one line, and change nothing.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from benchmark.cli import cli
from benchmark.results.store import content_checksum
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
    done = CliRunner().invoke(cli, ["run", "--model", str(tiny_model), "--targets", "de,ja", "--data-dir", str(data),
                                    "--results-dir", str(results), "--test-limit", "20", *TINY])
    assert done.exit_code == 0, done.output
    return root, data, results, Path(tiny_model)


def workspace_files(folder: Path) -> list[Path]:
    """Every file under the workspace, but the cache and the scratch folder cases may write to."""
    return [p for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.endswith(".lock")
            and not {"cache", "scratch"} & set(p.relative_to(folder).parts)]


def snapshot(folder: Path) -> dict:
    """Each file's bytes."""
    return {p.relative_to(folder): p.read_bytes() for p in workspace_files(folder)}


def stat_snapshot(folder: Path) -> dict:
    """Each file's size, modification time and inode: any write or atomic replacement changes one.
    Taken around every case (reading every byte 200 times would take longer than the cases); the
    bytes themselves are compared once around the whole catalogue."""
    return {p.relative_to(folder): (s.st_size, s.st_mtime_ns, s.st_ino)
            for p in workspace_files(folder) for s in [p.stat()]}


@dataclass
class Case:
    """A command line, the text its message must hold (the first in the last line), its status."""

    name: str
    args: list
    expected: str | tuple[str, ...]
    status: int = 2
    env: dict | None = None

    @property
    def texts(self) -> tuple[str, ...]:
        return (self.expected,) if isinstance(self.expected, str) else self.expected


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


def _parquet_data(root: Path, corpus, task, name: str, damage) -> Path:
    from tests.conftest import write_hub_parquet

    folder = write_hub_parquet(root / name, {"de": corpus["de"]}, task)
    damage(folder / "de" / "test" / "0000.parquet")
    return folder


def _parquet_tags(path: Path, tags: list[int] | None, drop_tags: bool = False) -> None:
    """Rewrite a parquet shard with plain integer tags (no ClassLabel), or without the tags column."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(path)  # the hub's schema metadata (a ClassLabel over the tags) is kept
    index = table.schema.get_field_index("ner_tags")
    if drop_tags:
        table = table.set_column(index, "ner_tags", pa.nulls(len(table), table.schema.field("ner_tags").type))
    else:
        rows = table.column("ner_tags").to_pylist()
        rows[0] = tags + rows[0][len(tags):]
        table = table.set_column(index, "ner_tags", pa.array(rows, type=table.schema.field("ner_tags").type))
    pq.write_table(table, path)


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _panx_with(data: Path, target: Path, files: dict[str, bytes | None]) -> Path:
    """A copy of the data folder with files replaced (bytes), removed (None) or made folders (b"/")."""
    shutil.copytree(data, target)
    for name, content in files.items():
        (target / name).unlink(missing_ok=True)
        if content == b"/":
            (target / name).mkdir()
        elif content is not None:
            (target / name).write_bytes(content)
    return target


def _results_with(results: Path, target: Path, edit) -> Path:
    """A copy of the results folder, changed by ``edit(result_file)``."""
    shutil.copytree(results, target)
    edit(next(target.rglob("seed-1.json")))
    return target


def _sidecar(result_file: Path, lang: str = "de") -> Path:
    return result_file.parent / json.loads(result_file.read_bytes())["targets"][lang]["predictions"]["file"]


def _misplaced(results: Path, target: Path) -> Path:
    shutil.copytree(results, target)
    path = next(target.rglob("seed-1.json"))
    shutil.move(path, target / "wikiann" / "seed-1.json")
    shutil.move(path.with_suffix(".predictions"), target / "wikiann" / "seed-1.predictions")
    return target


def _write(path: Path, content: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def cases(root: Path, hostile: Path, data: Path, results: Path, tiny: Path, corpus, task) -> list[Case]:
    """Every case, by class: data files, data folders, options, folders and environment, stored
    results, report and compare, models, languages."""
    run = ["run", "--model", str(tiny), "--targets", "de", "--results-dir", str(results), *TINY]
    run_data = [*run, "--data-dir", str(data)]
    fresh = ["run", "--model", str(tiny), "--targets", "de", "--results-dir", str(root / "fresh-results"), *TINY]
    fresh_data = [*fresh, "--data-dir", str(data)]
    report = ["report", "--results-dir"]
    scratch = root / "scratch"
    bad = {name: _data_with(data, root / f"data-{name}", "test-de.tsv", content) for name, content in {
        "no-tab": b"Berlin\tB-LOC\nliegt\n", "two-tabs": b"Berlin\tB-LOC\tx\n", "empty-word": b" \tO\n",
        "unknown-tag": b"Berlin\tB-MISC\n", "not-utf8": b"M\xfcnchen\tB-LOC\n", "empty-file": b"",
        "lower-tag": b"Berlin\tb-loc\n", "tag-only": b"\tB-LOC\n", "blank-lines": b"\n  \n\n",
    }.items()}
    missing_split = shutil.copytree(data, root / "data-missing-split")
    (missing_split / "dev-en.tsv").unlink()
    stray = _panx_with(data, root / "data-stray", {"test-fo.orig.tsv": b"Berlin\tB-LOC\n",
                                                    "test-zz.tsv": b"Berlin\tB-LOC\n", "test-de.tsv~": b"x\n"})
    two_layouts = shutil.copytree(data, root / "data-two-layouts")
    _write(two_layouts / "fr" / "test", b"fr:Paris\tB-LOC\n")
    two_subfolders = root / "data-two-subfolders"
    shutil.copytree(data, two_subfolders / "a")
    shutil.copytree(data, two_subfolders / "b")
    changed_train = _panx_with(data, root / "data-changed-train", {
        "train-en.tsv": (data / "train-en.tsv").read_bytes().replace(b"Paris\tB-LOC", b"Paris\tB-ORG")})
    no_ja = _panx_with(data, root / "data-no-ja", {f"{s}-ja.tsv": None for s in ("train", "dev", "test")})
    stale = _panx_with(data, root / "data-stale", {
        "test-de.tsv": (data / "test-de.tsv").read_bytes().replace(b"\tB-PER", b"\tB-ORG", 1)})
    parquet_corrupt = _parquet_data(root, corpus, task, "pq-corrupt", _truncate)
    parquet_foreign = _parquet_data(root, corpus, task, "pq-foreign", lambda p: p.write_bytes(b"lang,f1\nde,1\n"))
    parquet_tag99 = _parquet_data(root, corpus, task, "pq-tag99", lambda p: _parquet_tags(p, [99]))
    parquet_negative = _parquet_data(root, corpus, task, "pq-negative", lambda p: _parquet_tags(p, [-1]))
    parquet_no_tags = _parquet_data(root, corpus, task, "pq-no-tags", lambda p: _parquet_tags(p, None, True))
    a_file = _write(root / "a-file.txt", b"not a folder\n")
    # Read-only places: /sys refuses new entries even to root, so a link into it is a read-only folder.
    per_run_read_only = hostile / "results-ro"
    per_run_read_only.mkdir(exist_ok=True)
    if not (per_run_read_only / "wikiann").is_symlink():
        (per_run_read_only / "wikiann").symlink_to("/sys/kernel")
    locked = shutil.copytree(results, root / "r-locked")
    lock = next(locked.rglob("seed-1.json")).with_name(".seed-1.json.lock")
    lock.unlink(missing_ok=True)
    lock.mkdir()
    ref = {name: _write(root / f"ref-{name}.csv", content) for name, content in {
        "words": b"lang,en_to_x\nde,high\n", "latin1": "lang,en_to_x\nd\u00e9,70\n".encode("latin-1"),
        "columns": b"language,score\nde,70\n", "empty": b"", "range": b"lang,en_to_x\nde,150\n",
    }.items()}
    no_config = _model_without(tiny, root / "m-no-config", "config.json")
    bin_only = _model_without(tiny, root / "m-bin", "model.safetensors")
    (bin_only / "pytorch_model.bin").write_bytes(b"pickle")
    bad_config = shutil.copytree(tiny, root / "m-bad-config")
    (bad_config / "config.json").write_text("{not json")
    model = str(tiny)
    return [
        # Data files: one line naming the file, the line and the value.
        Case("line without a tab", [*fresh, "--data-dir", str(bad["no-tab"])], "test-de.tsv:2: no tab between word and tag"),
        Case("line with two tabs", [*fresh, "--data-dir", str(bad["two-tabs"])], "test-de.tsv:1: more than one tab"),
        Case("empty word", [*fresh, "--data-dir", str(bad["empty-word"])], "test-de.tsv:1: empty word"),
        Case("tag without a word", [*fresh, "--data-dir", str(bad["tag-only"])], "test-de.tsv:1: empty word"),
        Case("unknown tag", [*fresh, "--data-dir", str(bad["unknown-tag"])], "test-de.tsv:1: unknown tag"),
        Case("tag in lower case", [*fresh, "--data-dir", str(bad["lower-tag"])], "test-de.tsv:1: unknown tag"),
        Case("bytes not UTF-8", [*fresh, "--data-dir", str(bad["not-utf8"])], "test-de.tsv:1: bytes that are not UTF-8"),
        Case("empty file", [*fresh, "--data-dir", str(bad["empty-file"])], "test-de.tsv: file is empty"),
        Case("only blank lines", [*fresh, "--data-dir", str(bad["blank-lines"])], "test-de.tsv: file is empty"),
        Case("split file is a folder", [*fresh, "--data-dir", str(_panx_with(data, root / "data-dir-split",
                                                                            {"test-de.tsv": b"/"}))],
             "test-de.tsv: cannot read file (Is a directory)"),
        Case("bad line in the source's training file", [*fresh, "--data-dir", str(_panx_with(
            data, root / "data-bad-train", {"train-en.tsv": b"Berlin\tB-LOC\n\x93quoted\x94\tO\n"}))],
             "train-en.tsv:2: bytes that are not UTF-8"),
        Case("bad line in the source's dev file", [*fresh, "--data-dir", str(_panx_with(
            data, root / "data-bad-dev", {"dev-en.tsv": b"Berlin\tB-LOC\tO\n"}))], "dev-en.tsv:1: more than one tab"),
        Case("wrong language prefix", ["data", "check", "--data-dir", str(_rahimi_with(root, corpus, b"fr:Paris\tB-LOC\n"))],
             "de/dev:1: word without the language prefix 'de:': 'fr:Paris'"),
        Case("prefix without a word", ["data", "check", "--data-dir", str(_rahimi_with(root / "rp", corpus, b"de:\tO\n"))],
             "de/dev:1: empty word"),
        Case("missing split", [*fresh, "--data-dir", str(missing_split)], "dev-en.tsv: missing dev split for language 'en'"),
        Case("corrupt parquet file", ["data", "check", "--data-dir", str(parquet_corrupt)],
             ("test/0000.parquet: not a readable parquet file", "replace it with a good copy")),
        Case("a file that is not parquet", ["data", "check", "--data-dir", str(parquet_foreign)],
             "test/0000.parquet: not a readable parquet file"),
        Case("tag id out of range", ["data", "check", "--data-dir", str(parquet_tag99)],
             "de test split, sentence 1: tag id 99 is out of range (the task's tags are 0 to 6"),
        Case("negative tag id", ["data", "check", "--data-dir", str(parquet_negative)],
             "de test split, sentence 1: tag id -1 is out of range"),
        Case("parquet without tags", ["data", "check", "--data-dir", str(parquet_no_tags)],
             "de test split, sentence 1: no ner_tags"),
        # Data folders.
        Case("data folder missing", [*run, "--data-dir", str(root / "nowhere")], "does not exist"),
        Case("data folder without data", [*run, "--data-dir", str(tiny)], "no task data found"),
        Case("data folder is a file", [*run, "--data-dir", str(a_file)], "Invalid value for '--data-dir'"),
        Case("two layouts in one folder", [*fresh, "--data-dir", str(two_layouts)], "holds data in several layouts (panx, rahimi)"),
        Case("two data subfolders", [*fresh, "--data-dir", str(two_subfolders)], "several subfolders hold data"),
        Case("stray files are listed, not languages", ["languages", "--data-dir", str(stray)],
             ("note: ignored in", "test-de.tsv~ (not {train,dev,test}-<lang>.tsv), test-fo.orig.tsv (not "
              "{train,dev,test}-<lang>.tsv), test-zz.tsv (language 'zz' is not declared by task wikiann; a target only by name)",
              "4 of 4 languages have data"), 0),
        Case("stray files are never targets of all", [*fresh, "--data-dir", str(stray), "--targets", "all", "--dry-run"],
             ("test-zz.tsv (language 'zz' is not declared by task wikiann; a target only by name)", "targets: de, en, ja"), 0),
        Case("stray files in data check", ["data", "check", "--data-dir", str(stray)],
             ("note: ignored in", "3 languages, 9 files valid"), 0),
        Case("a stray language asked for by name", ["languages", "--set", "zz", "--data-dir", str(stray)],
             "1 code(s) not declared by task wikiann (unknown language, usable by name): zz", 0),
        Case("unknown target", [*run_data, "--targets", "dee"],
             "unknown language or language set 'dee'; did you mean 'de'?"),
        Case("source without data", [*run_data, "--source", "fr"], "source language: no data for 1 of 1 languages (fr)"),
        # Options: checked before any work.
        Case("negative learning rate", [*run_data, "--lr", "-1e-5"], "lr must be > 0.0 and <= 1.0, got -1e-05"),
        Case("learning rate nan", [*run_data, "--lr", "nan"], "Invalid value for '--lr': 'nan' is not a finite number"),
        Case("learning rate inf", [*run_data, "--lr", "inf"], "Invalid value for '--lr': 'inf' is not a finite number"),
        Case("learning rate above 1", [*run_data, "--lr", "2"], "lr must be > 0.0 and <= 1.0, got 2.0"),
        Case("zero batch size", [*run_data, "--batch-size", "0"], "batch_size must be >= 1, got 0"),
        Case("zero epochs", [*run_data, "--epochs", "0"], "epochs must be >= 1, got 0"),
        Case("non-integer epochs", [*run_data, "--epochs", "two"], "Invalid value for '--epochs'"),
        Case("fractional epochs", [*run_data, "--epochs", "1.5"], "Invalid value for '--epochs'"),
        Case("misspelt option", [*run_data, "--epoch", "2"], "No such option '--epoch'. Did you mean '--epochs'?"),
        Case("window too small", [*run_data, "--max-length", "4"], "max_length must be >= 8"),
        Case("window too large", [*run_data, "--max-length", "100000"], "max_length must be >= 8 and <= 8192"),
        Case("zero train limit", [*run_data, "--train-limit", "0"], "train_limit must be >= 1, got 0"),
        Case("negative dev limit", [*run_data, "--dev-limit", "-1"], "dev_limit must be >= 1, got -1"),
        Case("zero eval batch size", [*run_data, "--eval-batch-size", "0"], "eval_batch_size must be >= 1, got 0"),
        Case("unknown batching", [*run_data, "--batching", "zigzag"], "Invalid value for '--batching'"),
        Case("unknown bf16 setting", [*run_data, "--bf16", "maybe"], "Invalid value for '--bf16'"),
        Case("unknown overwrite mode", [*run_data, "--overwrite", "sometimes"], "Invalid value for '--overwrite'"),
        Case("negative checkpoint interval", [*run_data, "--checkpoint-every", "-1"],
             "Invalid value for '--checkpoint-every'"),
        Case("checkpoint interval nan", [*run_data, "--checkpoint-every", "nan"], "'nan' is not a finite number"),
        Case("unknown recipe", [*run_data, "--recipe", "quik"], "unknown recipe 'quik' for task wikiann; did you mean 'quick'?"),
        Case("unknown task", ["run", "--task", "wikiaan", "--data-dir", str(data)], "unknown task 'wikiaan'; did you mean"),
        Case("bad seeds", [*run_data, "--seeds", "1,x"], "--seeds: 'x' is not a seed"),
        Case("repeated seeds", [*run_data, "--seeds", "1,1"], "--seeds: a seed is repeated"),
        Case("huge seed", [*run_data, "--seeds", "99999999999999999999"],
             "--seeds: 99999999999999999999 is out of range; seeds go from 0 to 4294967295"),
        Case("unbounded seed range", [*run_data, "--seeds", "1-100000000"],
             "--seeds: '1-100000000' is 100000000 seeds; at most 1000 in one command"),
        Case("seed range backwards", [*run_data, "--seeds", "3-1"], "--seeds: '3-1' is not a seed"),
        Case("negative seed", [*run_data, "--seeds", "-1"], "--seeds: -1 is out of range"),
        Case("empty seeds", [*run_data, "--seeds", ""], "--seeds: '' is not a seed"),
        Case("empty source", [*run_data, "--source", ","], "--source: give at least one language code"),
        Case("empty model list", [*run_data, "--model", ","], "--model: give at least one model"),
        Case("empty targets", [*run_data, "--targets", ","], "no languages given"),
        Case("zero test limit", [*run_data, "--test-limit", "0"], "--test-limit must be >= 1, got 0"),
        Case("negative test limit", [*run_data, "--test-limit", "-5"], "--test-limit must be >= 1, got -5"),
        Case("unknown device", [*run_data, "--device", "gpu"], "--device: 'gpu' is not a device"),
        Case("GPU index out of range", [*run_data, "--device", "cuda:99"], "--device cuda:99: "),
        # Folders and environment: checked up front, without creating anything.
        Case("results folder not writable", [*run_data, "--results-dir", "/proc/xbench-results", "--test-limit", "20"],
             "results folder /proc/xbench-results is not writable"),
        Case("results folder is a file", [*run_data, "--results-dir", str(a_file)], "Invalid value for '--results-dir'"),
        Case("results folder under a file", [*fresh_data, "--results-dir", str(a_file / "results")],
             f"results folder {a_file / 'results'} cannot be made: {a_file} is a file"),
        Case("cache is a file", fresh_data, f"cache folder {a_file} is a file, not a folder; set $XBENCH_CACHE_DIR",
             env={"XBENCH_CACHE_DIR": str(a_file)}),
        Case("cache under a file", fresh_data, f"cache folder {a_file / 'cache'} cannot be made",
             env={"XBENCH_CACHE_DIR": str(a_file / "cache")}),
        Case("cache read-only", fresh_data, "cache folder /sys/kernel/xbench-cache is not writable",
             env={"XBENCH_CACHE_DIR": "/sys/kernel/xbench-cache"}),
        Case("cache checked before the model", ["run", "--model", "mbert", "--targets", "de", "--data-dir", str(data),
                                                "--results-dir", str(root / "never-written")],
             "cache folder", env={"XBENCH_CACHE_DIR": str(a_file)}),
        Case("per-run folder read-only", [*fresh_data, "--results-dir", str(per_run_read_only)],
             ("cannot write in", "Operation not permitted", "pass another --results-dir")),
        Case("lock file not usable", [*run_data, "--results-dir", str(locked), "--test-limit", "20"],
             ("or take its lock .seed-1.json.lock", "a lock file of another user?")),
        # Stored results: damaged, contradicting, stale.
        Case("contradicting the stored training data", [*run_data, "--data-dir", str(changed_train), "--test-limit", "20"],
             "was made with a different train_data_sha256"),
        Case("contradicting the stored test limit", [*run_data, "--test-limit", "10"],
             "target de was scored with --test-limit 20, not 10"),
        Case("truncated result, only-missing", [*run_data, "--results-dir", str(_results_with(
            results, root / "r-run-trunc", _truncate)), "--test-limit", "20"],
             ("result file is truncated", "rerun with --overwrite always")),
        Case("truncated result, never", [*run_data, "--results-dir", str(_results_with(
            results, root / "r-never-trunc", _truncate)), "--test-limit", "20", "--overwrite", "never"],
             ("exists but cannot be read", "kept as it is (--overwrite never)"), 0),
        Case("stale score, never", [*run_data, "--data-dir", str(stale), "--test-limit", "20", "--overwrite", "never"],
             "but its scores of de are stale: the test data changed since they were scored", 0),
        Case("replacing would drop a target without data", [
            *run_data, "--data-dir", str(no_ja), "--results-dir", str(_results_with(
                results, root / "r-with-ja", lambda p: None)),
            "--test-limit", "20", "--overwrite", "always"],
             ("holds targets ja with no test data", "replacing it would drop them")),
        Case("truncated result", [*report, str(_edited_result(results, root / "r-trunc", lambda b: b[: len(b) // 2]))],
             ("no readable result files", "result file is truncated")),
        Case("result not JSON", [*report, str(_edited_result(results, root / "r-notjson", lambda b: b"\x00garbage"))],
             ("no readable result files", "result file is not valid JSON")),
        Case("result not an object", [*report, str(_edited_result(results, root / "r-array", lambda b: b"[1, 2]"))],
             ("no readable result files", "result file is not a JSON object")),
        Case("other schema version", [*report, str(_edited_result(
            results, root / "r-schema", _resealed(lambda r: r.update(schema_version=99))))],
             ("no readable result files", "result schema_version 99, this xbench reads 1")),
        Case("checksum mismatch", [*report, str(_edited_result(
            results, root / "r-sum", lambda b: b.replace(b'"seed": 1', b'"seed": 3')))],
             ("no readable result files", "checksum does not match")),
        Case("result in the wrong place", [*report, str(_misplaced(results, root / "r-misplaced"))],
             ("no readable result files", "not at <task>/<recipe>/<model>/<source>/seed-<n>.json")),
        Case("missing predictions file", [*report, str(_results_with(results, root / "r-no-sidecar",
                                                                     lambda p: _sidecar(p).unlink())),
                                          "--reports-dir", str(scratch / "a"), "--resamples", "200"],
             ("xbench: skipped", "predictions file", "is missing; recompute it with: xbench run"), 0),
        Case("damaged predictions file", [*report, str(_results_with(results, root / "r-bad-sidecar",
                                                                     lambda p: _truncate(_sidecar(p)))),
                                          "--reports-dir", str(scratch / "b"), "--resamples", "200"],
             ("xbench: skipped", "is damaged (checksum differs from its result); recompute it with: xbench run"), 0),
        Case("compare skips a damaged result", ["compare", "a", "b", "--results-dir", str(root / "r-trunc")],
             ("no readable result files", "xbench: skipped")),
        Case("mixed seqeval modes", [*report, str(_mixed_modes(results, root / "r-modes"))],
             "scores of different modes cannot be compared"),
        Case("report of an empty folder", [*report, str(root / "empty-results")], "no result files under"),
        # Report and compare options.
        Case("unknown report format", [*report, str(results), "--format", "pdf"], "--format: unknown output pdf"),
        Case("empty report format", [*report, str(results), "--format", ","], "--format: unknown output (none)"),
        Case("reports folder is a file", [*report, str(results), "--reports-dir", str(a_file)],
             "Invalid value for '--reports-dir'"),
        Case("reports folder under a file", [*report, str(results), "--reports-dir", str(a_file / "reports")],
             f"reports folder {a_file / 'reports'} cannot be made: {a_file} is a file"),
        Case("reports folder read-only", [*report, str(results), "--reports-dir", "/sys/kernel/xbench-reports"],
             "reports folder /sys/kernel/xbench-reports is not writable"),
        Case("reference with words for numbers", [*report, str(results), "--reference", str(ref["words"])],
             "ref-words.csv:2: en_to_x 'high' is not an F1 in %"),
        Case("reference not UTF-8", [*report, str(results), "--reference", str(ref["latin1"])],
             "ref-latin1.csv: reference file is not UTF-8 text"),
        Case("reference with other columns", [*report, str(results), "--reference", str(ref["columns"])],
             "needs the columns lang,en_to_x; its header is language,score"),
        Case("reference empty", [*report, str(results), "--reference", str(ref["empty"])], "its header is (empty)"),
        Case("reference out of range", [*report, str(results), "--reference", str(ref["range"])],
             "en_to_x '150' is not an F1 in %"),
        Case("reference missing", [*report, str(results), "--reference", str(root / "nowhere.csv")],
             "--reference", ),
        Case("alpha nan", [*report, str(results), "--alpha", "nan"], "'nan' is not a finite number"),
        Case("alpha above 1", [*report, str(results), "--alpha", "1.5"], "Invalid value for '--alpha'"),
        Case("too few resamples", [*report, str(results), "--resamples", "10"], "Invalid value for '--resamples'"),
        Case("negative bootstrap seed", [*report, str(results), "--seed", "-1"], "Invalid value for '--seed'"),
        Case("compare a model with itself", ["compare", model, model, "--results-dir", str(results)],
             "compare needs two different models"),
        Case("compare unknown model", ["compare", "a", "b", "--results-dir", str(results)], "no results hold both 'a' and 'b'"),
        Case("compare too few resamples", ["compare", "a", "b", "--results-dir", str(results), "--resamples", "5"],
             "Invalid value for '--resamples'"),
        # Models.
        Case("unknown model", ["run", "--model", "me5-smal", "--data-dir", str(data), "--results-dir", str(results)],
             "unknown model 'me5-smal'; did you mean 'me5-small'?"),
        Case("hub model offline", ["run", "--model", "mbert", "--targets", "de", "--data-dir", str(data), "--results-dir",
                                   str(root / "never-written")], "is not cached and the Hugging Face Hub cannot be reached"),
        Case("model without weights", [*run_data, "--model", str(_model_without(tiny, root / "m1", "model.safetensors"))],
             "has no safetensors weights"),
        Case("model with pickled weights only", [*fresh_data, "--model", str(bin_only)],
             "only PyTorch .bin weights, which xbench does not unpickle"),
        Case("model without tokenizer", [*run_data, "--model", str(_model_without(
            tiny, root / "m2", "tokenizer.json", "tokenizer_config.json", "vocab.txt"))], "has no tokenizer files"),
        Case("model without config", [*fresh_data, "--model", str(no_config)], "has no config.json"),
        Case("model config not JSON", [*fresh_data, "--model", str(bad_config)], "cannot load the tokenizer"),
        Case("model is a file", [*fresh_data, "--model", str(a_file)], "is a file; a local model is a folder"),
        Case("model folder missing", [*fresh_data, "--model", str(root / "no-model")], "does not exist"),
        # Languages.
        Case("unknown language set", ["languages", "--set", "xtreme41", "--data-dir", str(data)],
             "did you mean 'xtreme40'?"),
        Case("unknown language in a list", ["languages", "--set", "de,zz", "--data-dir", str(data)],
             "unknown language or language set 'zz'"),
        Case("data check of an unknown language", ["data", "check", "--languages", "zz", "--data-dir", str(data)],
             "unknown language or language set 'zz'"),
        Case("languages of an unknown task", ["languages", "--task", "nope"], "unknown task 'nope'"),
    ]


def test_bad_input_catalogue(workspace, corpus, task, tmp_path_factory, monkeypatch):
    root, data, results, tiny = workspace
    (root / "empty-results").mkdir(exist_ok=True)
    catalogue = cases(root, tmp_path_factory.mktemp("hostile"), data, results, tiny, corpus, task)
    assert len(catalogue) >= 80 and len({c.name for c in catalogue}) == len(catalogue)
    monkeypatch.chdir(root)
    failures = []
    bytes_before = snapshot(root)
    for case in catalogue:
        before = stat_snapshot(root)
        outcome = CliRunner().invoke(cli, case.args, env=case.env)
        output = outcome.output
        lines = output.strip().splitlines()
        problems = []
        if outcome.exit_code != case.status:
            problems.append(f"exit {outcome.exit_code}")
        if case.status == 2 and (not lines or not lines[-1].startswith("xbench: error: ")
                                 or case.texts[0] not in lines[-1]):
            problems.append(f"last line {lines[-1:]!r}")
        missing = [t for t in case.texts if t not in output]
        if missing:
            problems.append(f"no {missing!r} in {output[-400:]!r}")
        if "Traceback" in output or isinstance(outcome.exception, Exception) and \
                not isinstance(outcome.exception, SystemExit):
            problems.append(f"exception {outcome.exception!r}")
        if stat_snapshot(root) != before:
            problems.append("files changed")
        if problems:
            failures.append(f"{case.name}: {'; '.join(problems)}")
    assert not failures, "\n".join(failures)
    assert snapshot(root) == bytes_before
