"""`xbench errors`: span classification by hand, and the command on stored predictions + data."""

from __future__ import annotations

from click.testing import CliRunner

from benchmark.cli import cli
from benchmark.data.sources import content_sha256
from benchmark.eval.predict import sentence_counts
from benchmark.report.error_analysis import classify
from benchmark.results.store import predictions_path, result_path, write_predictions, write_result


def test_classify_sorts_every_span_once():
    gold = ["B-PER", "I-PER", "O", "B-LOC", "O", "B-ORG", "I-ORG", "I-ORG", "O", "B-LOC"]
    pred = ["B-PER", "I-PER", "O", "B-ORG", "B-PER", "O", "B-ORG", "I-ORG", "O", "O"]
    e = classify(gold, pred)
    assert e.correct == [("PER", 0, 1)]
    assert e.mistyped == [("LOC", "ORG", 3, 3)]
    assert e.boundary == [("ORG", (5, 7), (6, 7))]
    assert e.missed == [("LOC", 9, 9)]
    assert e.spurious == [("PER", 4, 4)]
    # The same TP/FP/FN as the scores (seqeval spans).
    assert list(e.counts()) == sentence_counts([gold], [pred])[0].tolist()


def _stored_run(results, corpus, task, edit) -> None:
    """A result of model 'm' on de whose predictions are the gold tags with ``edit`` applied."""
    test = corpus["de"]["test"]
    predicted = [edit(list(tags)) for tags in test.tags]
    label_id = {label: i for i, label in enumerate(task.labels)}
    path = result_path(results, "wikiann", "quick", "m", ("en",), 1)
    sidecar = predictions_path(path, "de")
    sha = write_predictions(sidecar, {"lang": "de", "labels": list(task.labels),
                                      "tags": ["".join(str(label_id[t]) for t in row) for row in predicted],
                                      "counts": sentence_counts(test.tags, predicted).tolist()})
    write_result(path, {"task": "wikiann", "sources": ["en"], "seed": 1, "seqeval_mode": "conlleval",
                        "model": {"name": "m"}, "targets": {"de": {
                            "f1": 0.5, "n_sentences": len(test), "test_limit": None,
                            "test_sha256": content_sha256(test),
                            "predictions": {"file": str(sidecar.relative_to(path.parent)), "sha256": sha}}}})


def test_errors_command_lists_the_model_mistakes_with_their_words(tmp_path, panx_dir, corpus, task):
    def per_as_org(tags):  # every person read as an organisation, every location missed
        return [t.replace("PER", "ORG") if "PER" in t else ("O" if "LOC" in t else t) for t in tags]

    _stored_run(tmp_path / "results", corpus, task, per_as_org)
    out = CliRunner().invoke(cli, ["errors", "--model", "m", "--target", "de", "--results-dir",
                                   str(tmp_path / "results"), "--data-dir", str(panx_dir), "--examples", "2"])
    assert out.exit_code == 0, out.output
    text = out.output
    assert text.startswith("m on de (German): task wikiann, recipe quick, source en, seed 1")
    assert " 0 spurious predictions." in text and "0 with wrong boundaries" in text
    mistyped = text.split("Most frequent mis-typed")[1].split("Example sentences")[0]
    assert "PER → ORG" in mistyped and any(name in mistyped for name in ("Anna Berg", "Tom", "Mario Rossi", "Li Wei"))
    missed = text.split("Most frequent missed")[1].split("Most frequent")[0]
    assert "LOC" in missed and ("New York" in missed or "Paris" in missed)
    assert text.count("    gold:      ") == 2 and "[PER " in text and "predicted: " in text


def test_errors_refuses_other_test_data(tmp_path, panx_dir, corpus, task):
    _stored_run(tmp_path / "results", corpus, task, lambda tags: tags)
    other = tmp_path / "other"
    other.mkdir()
    for f in panx_dir.iterdir():
        text = f.read_text(encoding="utf-8")
        (other / f.name).write_text(text.replace("Berlin", "Bern") if f.name == "test-de.tsv" else text,
                                    encoding="utf-8")
    out = CliRunner().invoke(cli, ["errors", "--model", "m", "--target", "de", "--results-dir",
                                   str(tmp_path / "results"), "--data-dir", str(other)])
    assert out.exit_code == 2 and "test_sha256 does not match" in out.output
    out = CliRunner().invoke(cli, ["errors", "--model", "nobody", "--target", "de", "--results-dir",
                                   str(tmp_path / "results"), "--data-dir", str(other)])
    assert out.exit_code == 2 and "no result of model 'nobody'" in out.output
