"""Shared fixtures: a tiny synthetic WikiANN corpus in every layout, and a tiny model."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from benchmark.data.conll import TaggedSentences, write_tagged_file
from benchmark.data.tasks import get_task

SHARED_WIKIANN = Path(__file__).resolve().parents[2] / "shared" / "wikiann"
LANGS = ("en", "de", "ja")
NAMES = {"PER": [["Anna", "Berg"], ["Tom"], ["Mario", "Rossi"], ["Li", "Wei"]],
         "ORG": [["Acme", "Corp"], ["Nordbank"], ["United", "Nations"]],
         "LOC": [["Paris"], ["New", "York"], ["Berlin"], ["Tokyo"]]}
FILLER = {"en": "the of and in was is a to with from".split(),
          "de": "der die und in war ist ein zu mit von".split(),
          "ja": "の は に を が で と も から まで".split()}
# Split sizes: small enough for a fine-tune in seconds, big enough for the tiny model to learn.
SIZES = {"train": 240, "validation": 40, "test": 50}


def make_sentences(lang: str, n: int, seed: int) -> TaggedSentences:
    """Sentences of filler words and names, with a long one (over any test window) and a word
    that BERT's normaliser maps to nothing (a zero-width space)."""
    rng = random.Random(f"{lang}-{seed}")
    tokens, tags = [], []
    for i in range(n):
        words, labels = [], []
        length = 90 if i == 3 else rng.randint(4, 12)
        while len(words) < length:
            if rng.random() < 0.3:
                kind = rng.choice(sorted(NAMES))
                name = rng.choice(NAMES[kind])
                words += name
                labels += [f"B-{kind}"] + [f"I-{kind}"] * (len(name) - 1)
            else:
                words.append(rng.choice(FILLER[lang]))
                labels.append("O")
        if i == 5:
            words.insert(1, "\u200b")
            labels.insert(1, "O")
        tokens.append(words)
        tags.append(labels)
    return TaggedSentences(tokens, tags)


@pytest.fixture(scope="session")
def task():
    return get_task("wikiann")


@pytest.fixture(scope="session")
def corpus() -> dict[str, dict[str, TaggedSentences]]:
    return {lang: {split: make_sentences(lang, n, seed) for seed, (split, n) in enumerate(SIZES.items())}
            for lang in LANGS}


FILE_SPLIT = {"train": "train", "validation": "dev", "test": "test"}


def write_panx(folder: Path, corpus) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for lang, splits in corpus.items():
        for split, sents in splits.items():
            write_tagged_file(folder / f"{FILE_SPLIT[split]}-{lang}.tsv", sents)
    return folder


def write_rahimi(folder: Path, corpus) -> Path:
    for lang, splits in corpus.items():
        (folder / lang).mkdir(parents=True, exist_ok=True)
        for split, sents in splits.items():
            write_tagged_file(folder / lang / FILE_SPLIT[split], sents, lang_prefix=lang)
    return folder


def write_hub_parquet(folder: Path, corpus, task) -> Path:
    """The hub's layout: tokens, ner_tags (ClassLabel), langs and spans, one folder per config."""
    from datasets import ClassLabel, Dataset, Features, List, Value

    features = Features({"tokens": List(Value("string")), "ner_tags": List(ClassLabel(names=list(task.labels))),
                         "langs": List(Value("string")), "spans": List(Value("string"))})
    label_id = {name: i for i, name in enumerate(task.labels)}
    for lang, splits in corpus.items():
        for split, sents in splits.items():
            rows = {"tokens": sents.tokens, "ner_tags": [[label_id[t] for t in s] for s in sents.tags],
                    "langs": [[lang] * len(s) for s in sents.tokens], "spans": [[] for _ in sents.tokens]}
            out = folder / lang / split
            out.mkdir(parents=True, exist_ok=True)
            Dataset.from_dict(rows, features=features).to_parquet(str(out / "0000.parquet"))
    return folder


@pytest.fixture(scope="session")
def panx_dir(tmp_path_factory, corpus) -> Path:
    return write_panx(tmp_path_factory.mktemp("panx"), corpus)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, corpus) -> Path:
    from benchmark.models.tiny import build_tiny_model

    sentences = [s for splits in corpus.values() for s in splits["train"].tokens]
    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"), sentences, max_positions=64)


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, tmp_path_factory, monkeypatch):
    """Checkpoints and converted models of a test go to its own folder, never the user's cache; and
    each test runs in its own empty working folder, so the checkout's xbench.toml (and any default
    folder such as results/) is not its own: a test that wants project settings writes them."""
    monkeypatch.setenv("XBENCH_CACHE_DIR", str(tmp_path / "xbench-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for name in ("XBENCH_DATA_DIR", "XBENCH_RESULTS_DIR", "XBENCH_REPORTS_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path_factory.mktemp("workdir"))  # beside tmp_path: a test owns all of tmp_path
