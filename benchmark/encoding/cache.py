"""A cache of encoded splits, shared by every run, seed and model that uses the same tokenizer.

A 53-target evaluation tokenises 305,900 test sentences; me5-small and me5-small-random (and
every seed of either) produce exactly the same windows. An entry is keyed by

- the tokenizer's checksum: its ``tokenizer.json`` (the backend's serialisation, without the
  per-call truncation and padding state), its class and the init options that change how
  pre-split words are encoded (``add_prefix_space``, lower-casing, accent stripping);
- the data's checksum (:func:`benchmark.data.sources.content_sha256`, so a ``--test-limit``
  or an edited file is another entry) and, for training splits, the label names;
- the window length and :data:`ENCODING_VERSION` (bumped whenever ``align.encode_split``
  changes what it produces).

An entry is a folder of ``.npy`` arrays (:class:`benchmark.encoding.packed.PackedSplit`) and a
``meta.json`` written last that says what the entry is and holds every array's sha256. It is
built in a temporary folder and renamed into place, so two processes building the same entry
at once both succeed (the second rename fails and that process uses the first one's entry).
An entry that does not verify (missing file, wrong checksum, arrays that do not fit together)
is moved aside and rebuilt, never used.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from benchmark.checksums import file_sha256
from benchmark.data.conll import TaggedSentences
from benchmark.encoding.packed import ARRAYS, PackedSplit, pack

ENCODING_VERSION = 1  # bump when align.encode_split changes its windows
CACHE_FORMAT = 1
META_FILE = "meta.json"
_TOKENIZER_OPTIONS = ("add_prefix_space", "do_lower_case", "strip_accents", "tokenize_chinese_chars", "trim_offsets")


def encoded_root() -> Path:
    from benchmark.config import cache_root

    return cache_root() / "encoded"


def tokenizer_sha256(tokenizer) -> str:
    """What decides how a fast tokenizer encodes pre-split words, hashed."""
    backend = json.loads(tokenizer.backend_tokenizer.to_str())
    backend.pop("truncation", None)  # per-call state that transformers sets and resets
    backend.pop("padding", None)
    options = {name: tokenizer.init_kwargs.get(name, getattr(tokenizer, name, None)) for name in _TOKENIZER_OPTIONS}
    body = {"class": type(tokenizer).__name__, "backend": backend,
            "options": {k: v for k, v in options.items() if isinstance(v, (bool, int, str, type(None)))}}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def entry_key(tokenizer_sha: str, data_sha: str, max_length: int, labels: Sequence[str] | None) -> str:
    body = {"format": CACHE_FORMAT, "encoding": ENCODING_VERSION, "tokenizer": tokenizer_sha, "data": data_sha,
            "max_length": max_length, "labels": list(labels) if labels is not None else None}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode("utf-8")).hexdigest()[:32]


def read_entry(folder: Path) -> PackedSplit:
    """Load and verify one entry; ValueError (or OSError) if anything about it is wrong."""
    meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
    if meta.get("format") != CACHE_FORMAT:
        raise ValueError(f"format {meta.get('format')!r}")
    arrays = {}
    for name, sha in meta["sha256"].items():
        path = folder / f"{name}.npy"
        if file_sha256(path) != sha:
            raise ValueError(f"{path.name}: checksum does not match")
        arrays[name] = np.load(path, allow_pickle=False)
    missing = set(ARRAYS) - set(arrays)
    if missing:
        raise ValueError(f"missing arrays {sorted(missing)}")
    packed = PackedSplit(**{name: arrays[name] for name in ARRAYS}, unmapped_words=int(meta["unmapped_words"]),
                         labels=arrays.get("labels"))
    packed.check()
    return packed


def _write_entry(folder: Path, packed: PackedSplit, description: dict) -> None:
    folder.mkdir(parents=True)
    checksums = {}
    for name, array in packed.arrays().items():
        path = folder / f"{name}.npy"
        with open(path, "wb") as handle:
            np.save(handle, array, allow_pickle=False)
            handle.flush()
            os.fsync(handle.fileno())
        checksums[name] = file_sha256(path)
    meta = {**description, "format": CACHE_FORMAT, "encoding_version": ENCODING_VERSION,
            "unmapped_words": packed.unmapped_words, "windows": packed.n_windows,
            "subwords": int(len(packed.input_ids)), "sentences": int(len(packed.words_per_sentence)),
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "sha256": checksums}
    with open(folder / META_FILE, "w", encoding="utf-8") as handle:
        json.dump(meta, handle, indent=1, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())


def _unique_name(base: Path, tag: str) -> Path:
    return base.with_name(f".{base.name}.{tag}-{os.getpid()}-{time.time_ns()}")


def _move_aside(folder: Path) -> None:
    """Take a damaged entry out of the way (renamed first, so no reader sees it half-deleted)."""
    trash = _unique_name(folder, "damaged")
    try:
        os.rename(folder, trash)
    except OSError:
        return  # another process moved or replaced it already
    shutil.rmtree(trash, ignore_errors=True)


def cached_encoding(tokenizer, sentences: TaggedSentences, data_sha: str, max_length: int, *,
                    labels: Sequence[str] | None = None, description: dict | None = None,
                    tokenizer_sha: str | None = None, log: Callable[[str], None] | None = None) -> PackedSplit:
    """The split's windows from the cache, or encoded now and stored for the next run.

    ``labels`` (the task's label names) stores first-subword labels too, for training splits.
    """
    from benchmark.encoding.align import encode_split

    tokenizer_sha = tokenizer_sha or tokenizer_sha256(tokenizer)
    folder = encoded_root() / entry_key(tokenizer_sha, data_sha, max_length, labels)
    if folder.exists():
        try:
            return read_entry(folder)
        except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError) as err:
            if log is not None:
                log(f"cache entry {folder} is damaged ({err}); rebuilding it")
            _move_aside(folder)
    tag_ids = None
    if labels is not None:
        label_id = {name: i for i, name in enumerate(labels)}
        tag_ids = [[label_id[t] for t in tags] for tags in sentences.tags]
    packed = pack(encode_split(tokenizer, sentences.tokens, tag_ids, max_length))
    try:
        _store(folder, packed, {**(description or {}), "tokenizer_sha256": tokenizer_sha, "data_sha256": data_sha,
                                "max_length": max_length, "labels": list(labels) if labels else None})
    except OSError as err:  # a full or read-only cache costs speed, never a run
        if log is not None:
            log(f"cannot store an encoded split in {folder.parent} ({err.strerror or err}); continuing without")
    return packed


def _store(folder: Path, packed: PackedSplit, description: dict) -> None:
    folder.parent.mkdir(parents=True, exist_ok=True)
    building = _unique_name(folder, "building")
    try:
        _write_entry(building, packed, description)
        try:
            os.rename(building, folder)  # atomic; fails if another process put the entry there first
        except OSError:
            if not folder.exists():
                raise
    finally:
        shutil.rmtree(building, ignore_errors=True)


def list_entries(root: Path | None = None) -> list[dict]:
    """Every entry under the cache: its folder, size and what it is (damaged ones say so)."""
    root = root or encoded_root()
    entries = []
    for folder in sorted(p for p in root.glob("*") if p.is_dir() and not p.name.startswith(".")) \
            if root.is_dir() else []:
        size = sum(f.stat().st_size for f in folder.iterdir() if f.is_file())
        try:
            meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            meta = {"damaged": True}
        entries.append({"folder": folder, "bytes": size, **meta})
    return entries
