"""``xbench cache``: what xbench keeps in its cache folder, and clearing it."""

from __future__ import annotations

import shutil
from pathlib import Path

from tabulate import tabulate

from benchmark.errors import XbenchError

# What may be cleared, and what each part of the cache is.
PARTS = {
    "encoded": "encoded test splits (windows, word maps, lengths), shared by runs with the same tokenizer",
    "models": "models converted once from offline packages",
    "checkpoints": "training checkpoints of unfinished runs (clearing them restarts those trainings)",
}
_FOLDERS = {"encoded": "encoded", "models": "models", "checkpoints": "runs"}


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() else 0


def _megabytes(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


def cache_table() -> str:
    from benchmark.config import cache_root
    from benchmark.encoding.cache import list_entries

    root = cache_root()
    lines = [f"xbench cache: {root}", ""]
    summary = []
    for part, what in PARTS.items():
        folder = root / _FOLDERS[part]
        items = [p for p in folder.iterdir() if not p.name.startswith(".")] if folder.is_dir() else []
        summary.append([part, len(items), _megabytes(_size(folder)), what])
    lines.append(tabulate(summary, headers=["part", "entries", "size", "what"]))
    entries = list_entries()
    if entries:
        rows = [[e["folder"].name[:12], e.get("lang", "?"), e.get("split", "?"), e.get("task", "?"),
                 e.get("max_length", "?"), f"{e.get('sentences', 0):,}", f"{e.get('windows', 0):,}",
                 _megabytes(e["bytes"]), "DAMAGED (rebuilt when next needed)" if e.get("damaged")
                 else Path(str(e.get("tokenizer", ""))).name or "?"] for e in entries]
        lines += ["", "encoded splits", tabulate(rows, headers=["entry", "lang", "split", "task", "window",
                                                                 "sentences", "windows", "size", "tokenizer"])]
    return "\n".join(lines)


def clear_cache(parts: tuple[str, ...], yes: bool) -> str:
    from benchmark.config import cache_root

    root = cache_root()
    folders = [root / _FOLDERS[p] for p in parts]
    size = sum(_size(f) for f in folders)
    if not yes:
        raise XbenchError(f"would remove {', '.join(parts)} ({_megabytes(size)}) from {root}; "
                          "nothing removed: add --yes to remove it")
    for folder in folders:
        if folder.is_dir():
            # Renamed first: a run starting now sees either the whole folder or none of it.
            doomed = folder.with_name(f".{folder.name}.clearing")
            shutil.rmtree(doomed, ignore_errors=True)
            folder.rename(doomed)
            shutil.rmtree(doomed, ignore_errors=True)
    return f"removed {', '.join(parts)} ({_megabytes(size)}) from {root}"
