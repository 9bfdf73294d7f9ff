"""Whether a stored score still belongs to the test data: each target of a result records the
checksum of the test sentences it was computed on (``test_sha256``); a score whose data has
changed since is stale. ``xbench run`` recomputes stale scores, ``xbench report`` marks them."""

from __future__ import annotations

from pathlib import Path

from benchmark.data.conll import TaggedSentences
from benchmark.data.sources import DataSource, content_sha256, read_sentences, resolve_source
from benchmark.errors import XbenchError

_checksums: dict = {}  # (task, source, lang, limit) -> sha256: each test file is read once per process


def test_checksum(task, source: DataSource, lang: str, limit: int | None) -> str:
    key = (task.name, source, lang, limit)
    if key not in _checksums:
        sentences = read_sentences(task, source, lang, "test")
        if limit is not None:
            sentences = TaggedSentences(sentences.tokens[:limit], sentences.tags[:limit])
        _checksums[key] = content_sha256(sentences)
    return _checksums[key]


def is_stale(task, source: DataSource, stored_target: dict, lang: str) -> bool:
    """True when the test data of ``lang`` at ``source`` is not what the stored score was computed on."""
    stored = stored_target.get("test_sha256")
    return stored is not None and stored != test_checksum(task, source, lang, stored_target.get("test_limit"))


def stale_targets(result: dict, data_dir: str | Path | None = None) -> list[str]:
    """Targets of a stored result whose test data changed, checked against ``data_dir`` or else
    the local folder the result was computed from; [] when no local data can be found."""
    from benchmark.data.tasks import get_task

    folder = data_dir or result.get("config", {}).get("data_dir")
    if not folder or not Path(folder).is_dir():
        return []
    try:
        task = get_task(result["task"])
        source = resolve_source(folder)
        return [lang for lang, target in sorted(result["targets"].items())
                if source.has_language(lang) and is_stale(task, source, target, lang)]
    except XbenchError:  # the data cannot be read now: nothing to compare with
        return []
