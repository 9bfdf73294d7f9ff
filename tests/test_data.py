"""Data from every source gives one result; bad data gets one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from benchmark.cli import cli
from benchmark.data.conll import count_scheme_breaks, read_tagged_file
from benchmark.data.sources import read_sentences, resolve_source
from benchmark.errors import XbenchError
from tests.conftest import SHARED_WIKIANN, write_hub_parquet, write_panx, write_rahimi


def _as_lists(dataset_dict):
    return {split: (ds["tokens"], ds["ner_tags"]) for split, ds in dataset_dict.items()}


def test_panx_rahimi_and_hub_parquet_give_identical_sentences(tmp_path, corpus, task):
    panx = resolve_source(write_panx(tmp_path / "panx", corpus))
    rahimi = resolve_source(write_rahimi(tmp_path / "rahimi", corpus))
    parquet = resolve_source(write_hub_parquet(tmp_path / "hub", corpus, task))
    assert (panx.kind, rahimi.kind, parquet.kind) == ("panx", "rahimi", "parquet")
    for lang in corpus:
        loaded = [source.load(task, lang) for source in (panx, rahimi, parquet)]
        for dd in loaded:
            assert set(dd) == {"train", "validation", "test"}
            assert dd["train"].features["ner_tags"].feature.names == list(task.labels)
            assert dd["train"].column_names == ["tokens", "ner_tags"]
        assert _as_lists(loaded[0]) == _as_lists(loaded[1]) == _as_lists(loaded[2])
        assert loaded[0]["test"]["tokens"] == corpus[lang]["test"].tokens


def test_layout_is_detected_through_one_subfolder(tmp_path, corpus):
    write_panx(tmp_path / "wikiann" / "panx", corpus)
    source = resolve_source(tmp_path / "wikiann")
    assert source.kind == "panx" and source.root == tmp_path / "wikiann" / "panx"


def test_data_dir_falls_back_to_environment_then_hub(tmp_path, corpus, monkeypatch):
    assert resolve_source(None).kind == "hub"
    monkeypatch.setenv("XBENCH_DATA_DIR", str(write_panx(tmp_path / "p", corpus)))
    assert resolve_source(None).kind == "panx"


def test_folder_without_data_is_explained(tmp_path):
    with pytest.raises(XbenchError, match="no WikiANN data found"):
        resolve_source(tmp_path)
    with pytest.raises(XbenchError, match="does not exist"):
        resolve_source(tmp_path / "nope")


GOOD = "Paris\tB-LOC\nis\tO\n\nTom\tB-PER\n"
BAD_CASES = [
    # (file content, Rahimi prefix, expected message after "<path>:")
    (b"Paris\tB-LOC\nis O\n", None, "2: no tab between word and tag (expected word<TAB>tag): 'is O'"),
    (b"Paris\tB-LOC\tx\n", None, "1: more than one tab (expected word<TAB>tag): 'Paris\\tB-LOC\\tx'"),
    (b"Paris\tB-LOC\n\tO\n", None, "2: empty word: '\\tO'"),
    (b"Paris\tB-LOC\nis\tB-MISC\n", None,
     "2: unknown tag (expected one of B-LOC B-ORG B-PER I-LOC I-ORG I-PER O): 'B-MISC'"),
    (b"de:Paris\tB-LOC\nfr:ist\tO\n", "de", "2: word without the language prefix 'de:': 'fr:ist'"),
    (b"de:Paris\tB-LOC\nde:\tO\n", "de", "2: empty word: 'de:\\tO'"),
    (b"Paris\tB-LOC\n\nM\xfcnchen\tB-LOC\n", None, "3: bytes that are not UTF-8: 'M\\\\xfcnchen\\tB-LOC'"),
]


@pytest.mark.parametrize("content,prefix,expected", BAD_CASES)
def test_malformed_line_names_file_line_and_value(tmp_path, task, content, prefix, expected):
    path = tmp_path / "train-de.tsv"
    path.write_bytes(content)
    with pytest.raises(XbenchError) as caught:
        read_tagged_file(path, task.labels, lang_prefix=prefix)
    assert str(caught.value) == f"{path}:{expected}"


def test_empty_file_is_an_error(tmp_path, task):
    path = tmp_path / "test-de.tsv"
    path.write_text("\n\n")
    with pytest.raises(XbenchError, match=r"test-de.tsv: file is empty$"):
        read_tagged_file(path, task.labels)


def test_good_file_parses_with_crlf_and_no_final_blank_line(tmp_path, task):
    path = tmp_path / "x.tsv"
    path.write_bytes(GOOD.replace("\n", "\r\n").encode())
    parsed = read_tagged_file(path, task.labels)
    assert parsed.tokens == [["Paris", "is"], ["Tom"]] and parsed.tags == [["B-LOC", "O"], ["B-PER"]]


def test_scheme_breaks_are_counted_and_kept(tmp_path, task):
    tags = [["O", "I-PER", "I-PER"], ["B-LOC", "I-ORG"], ["I-LOC"], ["B-PER", "I-PER"]]
    assert count_scheme_breaks(tags) == 3  # I after O, I after another type, I at the start
    path = tmp_path / "test-de.tsv"
    path.write_text("a\tO\nb\tI-PER\n\nc\tB-LOC\nd\tI-ORG\n")
    assert read_tagged_file(path, task.labels).tags == [["O", "I-PER"], ["B-LOC", "I-ORG"]]


def _run(*args):
    return CliRunner().invoke(cli, list(args))


def test_cli_bad_line_is_one_line_exit_2_no_traceback(tmp_path, corpus):
    folder = write_panx(tmp_path / "d", corpus)
    (folder / "dev-de.tsv").write_text("Berlin\tB-LOC\nliegt\n")
    result = _run("data", "check", "--data-dir", str(folder))
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1] == (
        f"xbench: error: {folder / 'dev-de.tsv'}:2: no tab between word and tag (expected word<TAB>tag): 'liegt'")
    assert "Traceback" not in result.output


def test_missing_split_names_the_file(tmp_path, corpus, task):
    folder = write_panx(tmp_path / "d", corpus)
    (folder / "test-de.tsv").unlink()
    with pytest.raises(XbenchError, match=r"test-de.tsv: missing test split for language 'de'"):
        read_sentences(task, resolve_source(folder), "de", "test")


def test_unknown_target_gets_did_you_mean(panx_dir):
    result = _run("languages", "--set", "xtrem40", "--data-dir", str(panx_dir))
    assert result.exit_code == 2
    assert "unknown language or language set 'xtrem40'; did you mean 'xtreme40'?" in result.output


def test_languages_names_missing_languages_and_where_it_looked(panx_dir):
    result = _run("languages", "--set", "en,de,fr", "--data-dir", str(panx_dir))
    assert result.exit_code == 0, result.output
    assert "no data for 1 of 3 languages (fr); looked in panx files in" in result.output
    assert "2 of 3 languages have data" in result.output


def test_data_check_prints_counts(panx_dir, corpus):
    result = _run("data", "check", "--languages", "de", "--data-dir", str(panx_dir))
    assert result.exit_code == 0, result.output
    test_row = next(line.split() for line in result.output.splitlines() if line.startswith("de") and "test" in line)
    assert int(test_row[2]) == len(corpus["de"]["test"])
    assert int(test_row[3]) == sum(len(s) for s in corpus["de"]["test"].tokens)


@pytest.mark.realdata
@pytest.mark.skipif(not SHARED_WIKIANN.is_dir(), reason="real WikiANN data not present")
def test_real_data_xtreme40_lists_36_languages_and_en_counts():
    result = _run("languages", "--set", "xtreme40", "--data-dir", str(SHARED_WIKIANN))
    assert result.exit_code == 0, result.output
    assert "36 of 40 languages have data" in result.output
    assert "(ka, my, th, yo)" in result.output
    en = next(line.split() for line in result.output.splitlines() if line.startswith("en "))
    assert en[3:8] == ["Indo-European", "xlmr,mbert", "20000", "10000", "10000"]


@pytest.mark.realdata
@pytest.mark.skipif(not SHARED_WIKIANN.is_dir(), reason="real WikiANN data not present")
def test_real_files_load_in_every_layout(tmp_path, task):
    """The real panx files, and the same files converted to Rahimi's layout, load identically."""
    from benchmark.data.conll import write_tagged_file

    panx = resolve_source(SHARED_WIKIANN)
    sents = {split: read_sentences(task, panx, "af", split) for split in ("train", "validation", "test")}
    names = {"train": "train", "validation": "dev", "test": "test"}
    (tmp_path / "af").mkdir()
    for split, s in sents.items():
        write_tagged_file(tmp_path / "af" / names[split], s, lang_prefix="af")
    rahimi = resolve_source(tmp_path)
    assert rahimi.kind == "rahimi"
    assert _as_lists(rahimi.load(task, "af")) == _as_lists(panx.load(task, "af"))
    assert len(sents["train"]) == 5000


def test_hub_failure_is_one_line(monkeypatch, task):
    import datasets

    def offline(*args, **kwargs):
        raise ConnectionError("Couldn't reach the Hugging Face Hub")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(XbenchError, match=r"cannot load unimelb-nlp/wikiann config 'de' from the Hugging Face Hub: "
                                          r"the Hub cannot be reached \(HF_HUB_OFFLINE is set\) and it is not "
                                          r"cached; pass --data-dir"):
        resolve_source(None).load(task, "de")


def test_source_path_is_stable(tmp_path, corpus):
    source = resolve_source(write_panx(tmp_path / "d", corpus))
    assert source.split_path("de", "validation") == Path(tmp_path / "d" / "dev-de.tsv")
