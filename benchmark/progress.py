"""Progress of an evaluation, in test sentences across every pending target, with an ETA.

Counting sentences, not languages, keeps the ETA honest: targets range from 100 to 10,000
sentences. The totals come from the files without parsing them (text layouts) or from the
parquet footers; from the hub they are not known before reading, and the bar shows no ETA.
"""

from __future__ import annotations

from benchmark.data.sources import DataSource
from benchmark.tasks import Task


def test_sentences(task: Task, source: DataSource, lang: str) -> int | None:
    """Sentences in a target's test split, read cheaply; None when that needs the whole dataset."""
    if source.kind in ("panx", "rahimi"):
        from benchmark.data.conll import count_sentences

        path = source.split_path(lang, "test")
        return count_sentences(path) if path.exists() else None
    if source.kind == "parquet":
        import pyarrow.parquet as pq

        from benchmark.data.sources import _parquet_files

        shards = _parquet_files(source.root / lang, "test")
        return sum(pq.ParquetFile(p).metadata.num_rows for p in shards) if shards else None
    return None


def pending_sentences(task: Task, source: DataSource, langs, limit: int | None) -> int | None:
    """Test sentences still to evaluate across ``langs`` (None if some count is not known)."""
    total = 0
    for lang in langs:
        n = test_sentences(task, source, lang)
        if n is None:
            return None
        total += min(n, limit) if limit is not None else n
    return total


def sentence_bar(total: int | None, label: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=f"evaluating {label}", unit="sent", disable=not enabled, dynamic_ncols=True,
                smoothing=0.1)
