"""The conll layout and ``xbench import``: alignment of real-world prediction files, scoring, bad input."""

from __future__ import annotations

import gzip
import json

import pytest
from click.testing import CliRunner
from seqeval.metrics import f1_score

from benchmark.cli import cli
from benchmark.data.sources import read_sentences, resolve_source
from benchmark.data.tasks import get_task
from benchmark.imported.word_alignment import EXACT, REALIGNED, UNALIGNABLE, align_sentence
from benchmark.results.store import read_predictions, read_result

# Gold test sentences of a MasakhaNER-like language (words, tags).
GOLD = [
    (["Adé", "lọ", "sí", "l'", "Ékòó", "."], ["B-PER", "O", "O", "O", "B-LOC", "O"]),
    (["Ilé", "ìfowópamọ́", "Wema", "ṣí", "ní", "ọjọ́", "Ajé"], ["O", "O", "B-ORG", "O", "O", "B-DATE", "I-DATE"]),
    (["Olú", "Àkàndé", "kò", "wá"], ["B-PER", "I-PER", "O", "O"]),
    (["Mo", "rí", "Túndé", "àti", "Bọ́lá", "ní", "Ìbàdàn"], ["O", "O", "B-PER", "O", "B-PER", "O", "B-LOC"]),
]


def write_conll(path, sentences, separator=" ", gz=False):
    text = "\n\n".join("\n".join(f"{w}{separator}{t}" for w, t in zip(words, tags)) for words, tags in sentences)
    data = (text + "\n").encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


@pytest.fixture
def gold_dir(tmp_path):
    folder = tmp_path / "masakhaner"
    for lang in ("yor", "hau"):
        for split in ("train", "dev", "test"):
            write_conll(folder / lang / f"{split}.txt", GOLD)
    return folder


def _import(tmp_path, gold_dir, *args):
    result = CliRunner().invoke(cli, ["import", "--task", "masakhaner2", "--system", "sys-a", "--data-dir",
                                      str(gold_dir), "--results-dir", str(tmp_path / "results"), *args])
    return result


def test_conll_layout_space_or_tab_separated(tmp_path, gold_dir):
    task = get_task("masakhaner2")
    write_conll(gold_dir / "hau" / "dev.txt", GOLD[:2], separator="\t")
    write_conll(gold_dir / "hau" / "train.txt", [(["56 milli", "Naira"], ["O", "O"])])  # a word holding a space
    source = resolve_source(gold_dir)
    assert source.kind == "conll" and source.available_languages(task) == ["hau", "yor"]
    assert read_sentences(task, source, "yor", "test").tokens == [w for w, _ in GOLD]
    assert read_sentences(task, source, "hau", "validation").tags == [t for _, t in GOLD[:2]]
    assert read_sentences(task, source, "hau", "train").tokens == [["56 milli", "Naira"]]
    assert len(source.load(task, "yor")["test"]) == len(GOLD)


def test_space_separated_bad_line_names_file_and_line(tmp_path, gold_dir):
    (gold_dir / "yor" / "test.txt").write_text("Adé B-PER\nlọ\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["data", "check", "--task", "masakhaner2", "--languages", "yor",
                                      "--data-dir", str(gold_dir)])
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1].endswith(
        "test.txt:2: no space between word and tag (expected word<SPACE>tag): 'lọ'")


def test_import_of_gold_words_scores_as_seqeval(tmp_path, gold_dir):
    predicted = [(w, ["O" if t.endswith("DATE") else t for t in tags]) for w, tags in GOLD]
    predicted[2] = (GOLD[2][0], ["B-ORG", "I-ORG", "O", "O"])
    write_conll(tmp_path / "pred" / "yor-1.txt.gz", predicted, gz=True)
    result = _import(tmp_path, gold_dir, "--predictions", str(tmp_path / "pred" / "{lang}-{seed}.txt.gz"),
                     "--languages", "yor", "--seeds", "1")
    assert result.exit_code == 0, result.output
    assert "sys-a seed 1 yor: 4 exact, 0 re-aligned, 0 unalignable of 4 sentences" in result.output
    path = tmp_path / "results" / "masakhaner2" / "imported" / "sys-a" / "in-language" / "seed-1.json"
    stored = read_result(path)
    expected = f1_score([t for _, t in GOLD], [t for _, t in predicted])
    assert stored["targets"]["yor"]["f1"] == expected and 0 < expected < 1
    assert stored["recipe"] is None and stored["imported"]["files"]["yor"]["sha256"]
    sidecar = read_predictions(path.parent / stored["targets"]["yor"]["predictions"]["file"])
    tp, fp, fn = (sum(c[k] for c in sidecar["counts"]) for k in range(3))
    assert 2 * tp / (2 * tp + fp + fn) == pytest.approx(expected, abs=1e-12)


def test_split_and_quote_artefacts_are_realigned_and_scored_right():
    # yor: the gold's two words l' Ékòó are one predicted word.
    gold_words, gold_tags = GOLD[0]
    aligned = align_sentence(gold_words, ["Adé", "lọ", "sí", "l'Ékòó", "."], ["B-PER", "O", "O", "B-LOC", "O"])
    assert aligned.status == REALIGNED
    assert aligned.tags == ["B-PER", "O", "O", "B-LOC", "I-LOC", "O"]  # the predicted span covers both words
    # hau: the gold's ‘yan is """" yan in the predictions; the entity survives, as valid IOB2.
    aligned = align_sentence(["‘yan", "sanda", "sun", "zo"], ['""""', "yan", "sanda", "sun", "zo"],
                             ["O", "I-ORG", "I-ORG", "O", "O"])
    assert aligned.status == REALIGNED and aligned.tags == ["B-ORG", "I-ORG", "O", "O"]
    assert align_sentence(["a", "b"], ["a", "b"], ["O", "I-PER"]).tags == ["O", "I-PER"]  # exact: as given
    assert align_sentence(["a", "b"], ["a", "b"], ["O", "O"]).status == EXACT


def test_realigned_sentence_in_a_file_is_scored(tmp_path, gold_dir):
    predicted = [(w, list(t)) for w, t in GOLD]
    predicted[0] = (["Adé", "lọ", "sí", "l'Ékòó", "."], ["B-PER", "O", "O", "B-LOC", "O"])
    write_conll(tmp_path / "yor.txt", predicted)
    result = _import(tmp_path, gold_dir, "--file", "yor", "1", str(tmp_path / "yor.txt"))
    assert result.exit_code == 0, result.output
    assert "3 exact, 1 re-aligned, 0 unalignable of 4 sentences" in result.output
    stored = read_result(tmp_path / "results" / "masakhaner2" / "imported" / "sys-a" / "in-language" / "seed-1.json")
    target = stored["targets"]["yor"]
    # 8 gold entities, 8 predicted; only "l' Ékòó" (LOC over two words) differs from the gold "Ékòó".
    assert (target["precision"], target["recall"]) == (7 / 8, 7 / 8)
    assert target["alignment"]["realigned"] == 1


def test_unalignable_sentence_is_counted_not_dropped(tmp_path, gold_dir):
    predicted = [(w, list(t)) for w, t in GOLD]
    predicted[2] = (["Completely", "other", "words", "here", "too"], ["B-PER", "O", "B-LOC", "O", "O"])
    assert align_sentence(GOLD[2][0], *predicted[2]).status == UNALIGNABLE
    write_conll(tmp_path / "yor.txt", predicted)
    result = _import(tmp_path, gold_dir, "--file", "yor", "1", str(tmp_path / "yor.txt"))
    assert result.exit_code == 0, result.output
    assert "3 exact, 0 re-aligned, 1 unalignable of 4 sentences" in result.output
    path = tmp_path / "results" / "masakhaner2" / "imported" / "sys-a" / "in-language" / "seed-1.json"
    target = read_result(path)["targets"]["yor"]
    sidecar = read_predictions(path.parent / target["predictions"]["file"])
    assert sidecar["counts"][2] == [0, 2, 1] and sidecar["unalignable"] == [2]  # 1 gold entity missed, 2 spurious
    # 7 of 8 gold entities found; 9 predicted (7 + the 2 spurious): P 7/9, R 7/8.
    assert target["precision"] == pytest.approx(7 / 9) and target["recall"] == pytest.approx(7 / 8)


BAD_INPUT = [
    ("sentences", "has 4; a prediction file holds one sentence per test sentence, in order"),
    ("tag", "unknown tag (expected one of B-DATE B-LOC B-ORG B-PER I-DATE I-LOC I-ORG I-PER O): 'B-MISC'"),
    ("seed", "missing prediction file for yor seed 2: "),
    ("language", "unknown language or language set 'xyz' for task masakhaner2"),
]


@pytest.mark.parametrize("case,message", BAD_INPUT)
def test_bad_import_is_one_line_exit_2_nothing_written(tmp_path, gold_dir, case, message):
    predicted = [(w, list(t)) for w, t in GOLD]
    languages, seeds = "yor,hau", "1"
    if case == "sentences":
        predicted = predicted[:3]
    elif case == "tag":
        predicted[1][1][2] = "B-MISC"
    elif case == "seed":
        seeds = "1,2"
    elif case == "language":
        languages = "yor,xyz"
    for lang in ("yor", "hau"):
        write_conll(tmp_path / "pred" / f"{lang}-1.txt", predicted if lang == "yor" else GOLD)
    result = _import(tmp_path, gold_dir, "--predictions", str(tmp_path / "pred" / "{lang}-{seed}.txt"),
                     "--languages", languages, "--seeds", seeds)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len([line for line in lines if "error" in line]) == 1 and message in lines[-1], result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").rglob("*.json*"))


def test_report_works_on_imported_systems(tmp_path, gold_dir):
    from benchmark.report.write import write_reports

    for system, flip in (("sys-a", 0), ("sys-b", 1)):
        for seed in (1, 2):
            predicted = [(w, list(t)) for w, t in GOLD]
            if (seed + flip) % 2:
                predicted[3] = (GOLD[3][0], ["O"] * 7)
            if flip:  # never the same file as sys-a's
                predicted[2] = (GOLD[2][0], ["B-PER", "O", "O", "O"])
            for lang in ("yor", "hau"):
                write_conll(tmp_path / system / f"{lang}-{seed}.txt", predicted)
            for lang in ("yor", "hau"):
                (tmp_path / system / f"{lang}-res-{seed}.txt").write_text(f"f1 = {0.5 + flip / 10}\nloss = 1\n")
        result = CliRunner().invoke(cli, [
            "import", "--task", "masakhaner2", "--system", system, "--data-dir", str(gold_dir),
            "--results-dir", str(tmp_path / "results"), "--predictions", str(tmp_path / system / "{lang}-{seed}.txt"),
            "--published", str(tmp_path / system / "{lang}-res-{seed}.txt"),
            "--languages", "yor,hau", "--seeds", "1-2"])
        assert result.exit_code == 0, result.output
    written = write_reports(tmp_path / "results", tmp_path / "reports", ("md", "json"), 200, 0, 0.05)
    markdown = next(p for p in written if p.suffix == ".md").read_text(encoding="utf-8")
    assert "in-language NER" in markdown and "## Imported predictions" in markdown
    assert "xbench's F1 against the F1 the authors printed for the same file (8 files)" in markdown
    payload = json.loads(next(p for p in written if p.suffix == ".json").read_text(encoding="utf-8"))
    assert {row["model"] for row in payload["leaderboard"]} == {"sys-a", "sys-b"}


def test_printed_scores_filed_under_two_systems_are_named_and_set_aside():
    from benchmark.report.import_notes import FileScore, misfiled_scores, published_lines

    counts = {"exact": 4, "realigned": 0, "unalignable": 0, "exact_counts": [7, 1, 1], "realigned_counts": [0, 0, 0]}
    own = FileScore("afriberta", "ewe", 1, 0.8669, 0.8669, "same", counts, "a.gz")
    copy = FileScore("mbert", "ewe", 1, 0.8521, 0.8669, "same", counts, "m.gz")
    other = FileScore("mbert", "bam", 1, 0.80, 0.80, "other", counts, "b.gz")
    assert misfiled_scores([own, copy, other]) == {copy: own}
    lines = "\n".join(published_lines([own, copy, other]))
    assert "1 printed-score files of mbert (ewe) are byte for byte those of afriberta" in lines
    assert "(2 files): mean absolute difference 0.00 points" in lines


def test_one_file_cannot_stand_for_two_systems(tmp_path, gold_dir):
    write_conll(tmp_path / "a" / "yor.txt", GOLD)
    write_conll(tmp_path / "b" / "yor.txt.gz", GOLD, gz=True)  # the same predictions, compressed
    assert _import(tmp_path, gold_dir, "--file", "yor", "1", str(tmp_path / "a" / "yor.txt")).exit_code == 0
    result = CliRunner().invoke(cli, ["import", "--task", "masakhaner2", "--system", "sys-b", "--data-dir",
                                      str(gold_dir), "--results-dir", str(tmp_path / "results"),
                                      "--file", "yor", "3", str(tmp_path / "b" / "yor.txt.gz")])
    assert result.exit_code == 2
    assert "its words and tags are exactly those of sys-a yor seed 1" in result.output.strip().splitlines()[-1]
    assert not (tmp_path / "results" / "masakhaner2" / "imported" / "sys-b").exists()
