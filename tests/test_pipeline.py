"""The evaluation pipeline: byte-identical predictions to the one-target-at-a-time loop, the
encoded-split cache (shared, verified, rebuilt when damaged, safe under concurrent builders),
sentence progress and ``xbench cache``."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from benchmark.cli import cli
from benchmark.data.conll import TaggedSentences, count_scheme_breaks
from benchmark.data.sources import content_sha256, read_sentences, resolve_source
from benchmark.encoding.align import encode_split
from benchmark.encoding.cache import cached_encoding, encoded_root, list_entries, read_entry, tokenizer_sha256
from benchmark.encoding.packed import pack, unpack
from benchmark.eval import pipeline as eval_pipeline
from benchmark.results.store import predictions_path, write_predictions

TARGETS = ["en", "de", "ja"]


@pytest.fixture(scope="module")
def classifier(tiny_model, task):
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    torch.manual_seed(3)
    model = AutoModelForTokenClassification.from_pretrained(str(tiny_model), num_labels=len(task.labels))
    return model.eval(), AutoTokenizer.from_pretrained(str(tiny_model))


def old_evaluation(task, source, todo, model, tokenizer, max_length, batch_size, path: Path, test_limit=None,
                   label_map=None) -> dict:
    """Today's loop before the pipeline (runner._evaluate_targets at 6abc94d), kept as the reference."""
    from benchmark.eval.predict import ids_to_tags, predict_word_tags, score, sentence_counts

    targets = {}
    for lang in todo:
        test = read_sentences(task, source, lang, "test")
        if test_limit is not None:
            test = TaggedSentences(test.tokens[:test_limit], test.tags[:test_limit])
        encoded = encode_split(tokenizer, test.tokens, None, max_length)
        predicted = predict_word_tags(model, encoded, tokenizer.pad_token_id, batch_size, False, label_map=label_map)
        tags = ids_to_tags(predicted, task.labels)
        counts = sentence_counts(test.tags, tags)
        scores = score(test.tags, tags)
        sidecar = predictions_path(path, lang)
        sha = write_predictions(sidecar, {"lang": lang, "labels": list(task.labels),
                                          "tags": ["".join(str(int(i)) for i in row) for row in predicted],
                                          "counts": counts.tolist()})
        targets[lang] = {**scores, "n_sentences": len(test), "n_words": sum(len(w) for w in test.tokens),
                         "unmapped_words": encoded.unmapped_words, "scheme_breaks_gold": count_scheme_breaks(test.tags),
                         "test_limit": test_limit, "test_sha256": content_sha256(test),
                         "predictions": {"file": str(sidecar.relative_to(path.parent)), "sha256": sha}}
    return targets


def new_evaluation(task, source, todo, model, tokenizer, max_length, batch_size, path: Path, test_limit=None,
                   label_map=None, log=None) -> dict:
    result = {"targets": {}}
    eval_pipeline.evaluate_targets(task, source, todo, model, tokenizer, tokenizer.pad_token_id, max_length,
                                   batch_size, False, result, path, test_limit, False, "test", label_map=label_map,
                                   log=log)
    return result["targets"]


def same_outcome(old: dict, new: dict, old_path: Path, new_path: Path) -> None:
    assert set(old) == set(new)
    for lang in old:
        stored = {k: v for k, v in new[lang].items() if k != "seconds"}
        assert stored == old[lang], lang
        assert predictions_path(old_path, lang).read_bytes() == predictions_path(new_path, lang).read_bytes()


@pytest.mark.parametrize("chunk_windows,batch_size,test_limit", [(4096, 128, None), (20, 8, None), (1, 3, 17)])
def test_predictions_are_byte_identical_to_the_old_loop(classifier, task, panx_dir, tmp_path, monkeypatch,
                                                        chunk_windows, batch_size, test_limit):
    """Same model, old path vs new path: every prediction file identical, every score equal. Small
    chunks and batches make batches cross target boundaries and targets span several chunks."""
    model, tokenizer = classifier
    source = resolve_source(panx_dir)
    monkeypatch.setattr(eval_pipeline, "CHUNK_WINDOWS", chunk_windows)
    old = old_evaluation(task, source, TARGETS, model, tokenizer, 24, batch_size, tmp_path / "old" / "seed-1.json",
                         test_limit)
    new = new_evaluation(task, source, TARGETS, model, tokenizer, 24, batch_size, tmp_path / "new" / "seed-1.json",
                         test_limit)
    same_outcome(old, new, tmp_path / "old" / "seed-1.json", tmp_path / "new" / "seed-1.json")
    # A model with labels of its own (xbench evaluate): the label map is applied the same way.
    label_map = np.array([0, 3, 4, 1, 2, 6, 5])
    old = old_evaluation(task, source, ["de"], model, tokenizer, 24, batch_size, tmp_path / "old2" / "seed-1.json",
                         test_limit, label_map)
    new = new_evaluation(task, source, ["de"], model, tokenizer, 24, batch_size, tmp_path / "new2" / "seed-1.json",
                         test_limit, label_map)
    same_outcome(old, new, tmp_path / "old2" / "seed-1.json", tmp_path / "new2" / "seed-1.json")


def test_second_evaluation_reads_the_cache_and_tokenises_nothing(classifier, task, panx_dir, tmp_path, monkeypatch):
    model, tokenizer = classifier
    source = resolve_source(panx_dir)
    first = new_evaluation(task, source, TARGETS, model, tokenizer, 24, 16, tmp_path / "a" / "seed-1.json")
    entries = list_entries()
    assert sorted(e["lang"] for e in entries) == sorted(TARGETS)
    assert all(e["split"] == "test" and e["max_length"] == 24 and e["sentences"] == 50 for e in entries)

    def no_tokenising(*args, **kwargs):
        raise AssertionError("tokenised although the cache holds the split")

    monkeypatch.setattr("benchmark.encoding.align.encode_split", no_tokenising)
    second = new_evaluation(task, source, TARGETS, model, tokenizer, 24, 16, tmp_path / "b" / "seed-1.json")
    same_outcome({k: {x: y for x, y in v.items() if x != "seconds"} for k, v in first.items()}, second,
                  tmp_path / "a" / "seed-1.json", tmp_path / "b" / "seed-1.json")


def test_cache_entry_round_trips_and_keys_on_what_matters(classifier, task, panx_dir):
    _, tokenizer = classifier
    test = read_sentences(task, resolve_source(panx_dir), "de", "test")
    reference = encode_split(tokenizer, test.tokens, None, 24)
    assert unpack(pack(reference)) == reference
    sha = content_sha256(test)
    assert unpack(cached_encoding(tokenizer, test, sha, 24)) == reference  # built
    assert unpack(cached_encoding(tokenizer, test, sha, 24)) == reference  # read back
    cached_encoding(tokenizer, test, sha, 32)  # another window: another entry
    shorter = TaggedSentences(test.tokens[:10], test.tags[:10])
    cached_encoding(tokenizer, shorter, content_sha256(shorter), 24)  # other data: another entry
    labelled = cached_encoding(tokenizer, test, sha, 24, labels=task.labels)  # with training labels: another
    assert labelled.labels is not None and len(list_entries()) == 4
    # The tokenizer's checksum ignores per-call truncation state, and sees options that change encodings.
    before = tokenizer_sha256(tokenizer)
    tokenizer(["a b"], truncation=True, max_length=4)
    assert tokenizer_sha256(tokenizer) == before
    from tokenizers import normalizers

    original = tokenizer.backend_tokenizer.normalizer
    tokenizer.backend_tokenizer.normalizer = normalizers.Lowercase()
    try:
        assert tokenizer_sha256(tokenizer) != before
    finally:
        tokenizer.backend_tokenizer.normalizer = original
    assert tokenizer_sha256(tokenizer) == before


@pytest.mark.parametrize("damage", ["truncate", "flip", "meta", "missing"])
def test_damaged_entry_is_rebuilt_never_trusted(classifier, task, panx_dir, damage):
    _, tokenizer = classifier
    test = read_sentences(task, resolve_source(panx_dir), "ja", "test")
    sha = content_sha256(test)
    reference = encode_split(tokenizer, test.tokens, None, 24)
    cached_encoding(tokenizer, test, sha, 24)
    [entry] = list_entries()
    target = entry["folder"] / "input_ids.npy"
    if damage == "truncate":
        target.write_bytes(target.read_bytes()[:-7])
    elif damage == "flip":
        data = bytearray(target.read_bytes())
        data[-1] ^= 1
        target.write_bytes(bytes(data))
    elif damage == "meta":
        (entry["folder"] / "meta.json").write_text("{not json")
    else:
        target.unlink()
    with pytest.raises((OSError, ValueError)):
        read_entry(entry["folder"])
    messages = []
    assert unpack(cached_encoding(tokenizer, test, sha, 24, log=messages.append)) == reference
    assert messages and "damaged" in messages[0]
    assert unpack(read_entry(entry["folder"])) == reference  # repaired in place
    assert not [p for p in encoded_root().iterdir() if p.name.startswith(".")]  # nothing left aside


def test_two_processes_building_one_entry_at_once_both_succeed(tiny_model, panx_dir, tmp_path):
    script = tmp_path / "build.py"
    script.write_text(f"""
import sys, time
from transformers import AutoTokenizer
from benchmark.data.sources import content_sha256, read_sentences, resolve_source
from benchmark.encoding.cache import cached_encoding
from benchmark.encoding.packed import unpack
from benchmark.encoding.align import encode_split
from benchmark.data.tasks import get_task
task = get_task("wikiann")
test = read_sentences(task, resolve_source({str(panx_dir)!r}), "ja", "test")
tokenizer = AutoTokenizer.from_pretrained({str(tiny_model)!r})
while time.time() < float(sys.argv[1]):
    time.sleep(0.001)
got = unpack(cached_encoding(tokenizer, test, content_sha256(test), 24))
assert got == encode_split(tokenizer, test.tokens, None, 24)
print("ok")
""")
    import os

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]), "OMP_NUM_THREADS": "1"}
    start_at = str(time.time() + 8)  # both import first, then build at the same moment
    processes = [subprocess.Popen([sys.executable, str(script), start_at], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    assert len(list_entries()) == 1
    assert not [p for p in encoded_root().iterdir() if p.name.startswith(".")]


def test_a_failure_in_a_feeding_thread_is_raised_in_the_caller():
    def items():
        yield 1
        raise ValueError("bad line 7")

    stop = threading.Event()
    got = []
    with pytest.raises(ValueError, match="bad line 7"):
        for item in eval_pipeline.in_background(items(), 2, stop, "test"):
            got.append(item)
    assert got == [1]


def test_cache_command_shows_and_clears_with_confirmation(classifier, task, panx_dir):
    _, tokenizer = classifier
    test = read_sentences(task, resolve_source(panx_dir), "de", "test")
    cached_encoding(tokenizer, test, content_sha256(test), 24, description={"lang": "de", "split": "test"})
    shown = CliRunner().invoke(cli, ["cache"])
    assert shown.exit_code == 0 and "encoded splits" in shown.output and " de " in shown.output
    refused = CliRunner().invoke(cli, ["cache", "clear"])
    assert refused.exit_code == 2 and "add --yes" in refused.output and list_entries()
    cleared = CliRunner().invoke(cli, ["cache", "clear", "--yes"])
    assert cleared.exit_code == 0 and not list_entries()
    assert "--yes" in CliRunner().invoke(cli, ["cache", "clear", "--help"]).output


def test_interrupted_evaluation_keeps_every_finished_target_and_stops_its_threads(classifier, task, panx_dir,
                                                                                  tmp_path, monkeypatch):
    model, tokenizer = classifier
    monkeypatch.setattr(eval_pipeline, "CHUNK_WINDOWS", 1)  # one target per chunk
    forward = type(model).forward
    calls = {"n": 0}

    def interrupted(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 10:  # in the second target (the first has 7 batches of 8 windows)
            raise KeyboardInterrupt
        return forward(self, *args, **kwargs)

    monkeypatch.setattr(type(model), "forward", interrupted)
    path = tmp_path / "r" / "seed-1.json"
    result = {"targets": {}}
    with pytest.raises(KeyboardInterrupt):
        eval_pipeline.evaluate_targets(task, resolve_source(panx_dir), TARGETS, model, tokenizer,
                                       tokenizer.pad_token_id, 24, 8, False, result, path, None, False, "t")
    assert list(result["targets"]) == ["en"] and predictions_path(path, "en").exists()
    assert not predictions_path(path, "ja").exists()
    deadline = time.time() + 5
    while any(t.name.startswith("xbench-") for t in threading.enumerate()) and time.time() < deadline:
        time.sleep(0.05)
    assert not [t.name for t in threading.enumerate() if t.name.startswith("xbench-")]
