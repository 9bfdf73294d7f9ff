"""sha256 of files, read in blocks so that a multi-gigabyte weights file never sits in memory."""

from __future__ import annotations

import hashlib
from pathlib import Path

BLOCK = 1 << 22


def update_with_file(digest, path: Path) -> None:
    """Feed a file's bytes into ``digest`` (a hashlib object), block by block."""
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(BLOCK), b""):
            digest.update(block)


def file_sha256(path: Path) -> str:
    """The hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    update_with_file(digest, path)
    return digest.hexdigest()
