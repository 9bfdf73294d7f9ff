"""Per-language statistics of a data source: sentences, words, entities, IOB2 scheme breaks."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from benchmark.data.conll import count_scheme_breaks
from benchmark.data.sources import TEXT_LAYOUTS, DataSource, tag_strings
from benchmark.data.tasks import Task


@dataclass
class SplitStats:
    sentences: int
    words: int
    entities: Counter = field(default_factory=Counter)
    scheme_breaks: int = 0


def split_stats(tokens: list[list[str]], tags: list[list[str]]) -> SplitStats:
    entities = Counter(tag[2:] for sentence in tags for tag in sentence if tag.startswith("B-"))
    return SplitStats(
        sentences=len(tokens),
        words=sum(len(words) for words in tokens),
        entities=entities,
        scheme_breaks=count_scheme_breaks(tags),
    )


def language_stats(task: Task, source: DataSource, lang: str) -> dict[str, SplitStats]:
    """Statistics of every split of one language; validates every line on the way."""
    if source.kind in TEXT_LAYOUTS:
        out = {}
        for split in ("train", "validation", "test"):
            sents = source.read_split(task, lang, split)
            out[split] = split_stats(sents.tokens, sents.tags)
        return out
    dataset = source.load(task, lang)
    origin = f"{source.describe()}, {lang}"
    return {split: split_stats(ds["tokens"], tag_strings(task, ds["ner_tags"], f"{origin} {split} split"))
            for split, ds in dataset.items()}
