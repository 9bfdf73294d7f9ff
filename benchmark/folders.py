"""Checking, before any work, that a folder xbench will write into can be written, without
creating it: a run that fails after an hour because its cache or reports folder is read-only
(or is a file) has wasted the hour."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from benchmark.errors import XbenchError


def check_writable_folder(path: Path, what: str, hint: str) -> None:
    """Raise one clear line unless ``path`` is, or can be made as, a writable folder.

    Writability is probed with a temporary file in the nearest existing folder (removed at once):
    permission bits say nothing about read-only file systems, nor for root.
    """
    path = Path(path).expanduser()
    existing = path
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        where = "is a file, not a folder" if existing == path else f"cannot be made: {existing} is a file"
        raise XbenchError(f"{what} {path} {where}; {hint}")
    try:
        handle, name = tempfile.mkstemp(prefix=".xbench-write-probe-", dir=existing)
        os.close(handle)
        os.unlink(name)
    except OSError as err:
        raise XbenchError(f"{what} {path} is not writable ({err.strerror or err}); {hint}") from None
