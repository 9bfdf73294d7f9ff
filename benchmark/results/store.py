"""The results store: one JSON file per (task, recipe, model, source, seed), predictions beside it.

Layout under the results folder::

    <task>/<recipe key>/<model key>/<source key>/seed-<n>.json
    <task>/<recipe key>/<model key>/<source key>/seed-<n>.predictions/<lang>.json.gz (or <lang>.alt.json.gz)

The recipe key is the recipe's name when it is used as the task declares it, and
``<name>-custom-<hash>`` when any field was overridden, so a smoke run never lands beside (or on
the leaderboard of) the real ones. Models evaluated as given (no training) live under the key
``as-given``.

A result file carries a ``schema_version`` and a checksum of its own content; every write goes
to a temporary file that is fsynced and renamed into place, so a reader sees either the old
file or the new one, never a half-written one. A new score of a stored target goes to the
predictions name the stored result does not refer to, and ``--overwrite always`` builds its
result beside the stored one (``.seed-<n>.json.replacing``) and renames it into place at the end,
so a result and the predictions it refers to are always whole together. Nothing is ever
unpickled from this folder.
"""

from __future__ import annotations

import contextlib
import copy
import gzip
import hashlib
import json
import os
from pathlib import Path

from benchmark.errors import XbenchError
from benchmark.faults import fault_point

SCHEMA_VERSION = 1
RESULT_SUFFIX = ".json"
PREDICTIONS_SUFFIX = ".predictions"


def source_key(sources: tuple[str, ...]) -> str:
    """``en``, or ``de+en`` for a multi-source run (sorted, so the order typed does not matter)."""
    return "+".join(sorted(sources))


AS_GIVEN = "as-given"  # the recipe key of models evaluated without training
IMPORTED = "imported"  # the recipe key of predictions made elsewhere and imported (xbench import)
IN_LANGUAGE = "in-language"  # the source key of systems trained on each target's own training split


def recipe_key(recipe_fields: dict, declared_fields: dict | None) -> str:
    """``quick`` for the task's own quick recipe; ``quick-custom-1a2b3c4d`` once a field differs.

    Both arguments are recipe dicts (``Recipe.as_dict()``); descriptions do not count.
    """
    def body(fields: dict) -> dict:
        return {k: v for k, v in fields.items() if k != "description"}

    name = recipe_fields["name"]
    if declared_fields is not None and body(recipe_fields) == body(declared_fields):
        return name
    digest = hashlib.sha256(json.dumps(body(recipe_fields), sort_keys=True).encode("utf-8")).hexdigest()[:8]
    return f"{name}-custom-{digest}"


def result_path(results_dir: Path, task: str, recipe: str, model_key: str, sources: tuple[str, ...],
                seed: int) -> Path:
    return Path(results_dir) / task / recipe / model_key / source_key(sources) / f"seed-{seed}{RESULT_SUFFIX}"


def recipe_key_of(results_dir: Path, result_file: Path) -> str:
    """The recipe key of a stored result, read from where it lives."""
    parts = Path(result_file).relative_to(results_dir).parts
    if len(parts) != 5:
        raise XbenchError(f"{result_file}: not at <task>/<recipe>/<model>/<source>/seed-<n>.json under "
                          f"{results_dir} (a result of an older xbench? move it under its recipe's folder)")
    return parts[1]


def predictions_path(result_file: Path, lang: str, alternate: bool = False) -> Path:
    """``seed-1.predictions/de.json.gz``; the alternate name ``de.alt.json.gz`` is where a new score
    of a target goes while the stored result still refers to the first (see :func:`new_sidecar`)."""
    return result_file.with_suffix(PREDICTIONS_SUFFIX) / f"{lang}{'.alt' if alternate else ''}.json.gz"


def referenced_sidecars(result_file: Path, result: dict | None) -> set[Path]:
    """The predictions files a result refers to."""
    if not result:
        return set()
    return {result_file.parent / t["predictions"]["file"] for t in result.get("targets", {}).values()
            if isinstance(t, dict) and "predictions" in t}


def new_sidecar(result_file: Path, lang: str, in_use: set[Path]) -> Path:
    """Where a new score's predictions go: never onto a file a stored result still refers to.

    A stored result and the predictions it refers to are replaced by writing the new
    predictions under the other of two names and then the result file in one rename, so a
    reader (or a rerun after a crash) always finds a result whose predictions are all there.
    """
    first = predictions_path(result_file, lang)
    return first if first not in in_use else predictions_path(result_file, lang, alternate=True)


def remove_unreferenced_sidecars(result_file: Path, *results: dict | None) -> None:
    """Remove predictions files none of ``results`` refers to (left by a replacement or a crash)."""
    folder = result_file.with_suffix(PREDICTIONS_SUFFIX)
    if not folder.is_dir():
        return
    keep = set().union(*(referenced_sidecars(result_file, r) for r in results))
    for sidecar in folder.glob("*.json.gz"):
        if sidecar not in keep:
            sidecar.unlink(missing_ok=True)


def staging_path(result_file: Path) -> Path:
    """Where ``--overwrite always`` builds a replacement beside the stored result (hidden, so
    reports never read it): ``.seed-1.json.replacing``."""
    return result_file.with_name(f".{result_file.name}.replacing")


def swap_in_replacement(result_file: Path) -> None:
    """Put the staged replacement in place of the stored result: one rename, so an interruption
    leaves either the whole old result or the whole new one (a stop signal waits for it)."""
    from benchmark.signals import deferred_stop_signals

    with deferred_stop_signals():
        fault_point("replace")
        os.replace(staging_path(result_file), result_file)


def sidecar_problem(result_file: Path, target: dict) -> str | None:
    """Why a stored target's predictions file is unusable (missing, damaged), or None."""
    sidecar = result_file.parent / target["predictions"]["file"]
    try:
        data = sidecar.read_bytes()
    except FileNotFoundError:
        return f"predictions file {sidecar} is missing"
    except OSError as err:
        return f"predictions file {sidecar} cannot be read ({err.strerror})"
    if hashlib.sha256(data).hexdigest() != target["predictions"]["sha256"]:
        return f"predictions file {sidecar} is damaged (checksum differs from its result)"
    return None


def content_checksum(result: dict) -> str:
    """sha256 of the canonical JSON of a result without its own ``checksum`` field."""
    body = {k: v for k, v in result.items() if k != "checksum"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def atomic_write_bytes(path: Path, data: bytes, fault: str | None = None) -> None:
    """Write ``data`` to ``path`` so that the file is either the old one or the whole new one.

    On any error (a full disk, say) the temporary file is removed and the previous file stays;
    a stop signal (Ctrl-C, SIGTERM) waits until the file is in place.
    """
    from benchmark.signals import deferred_stop_signals

    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with deferred_stop_signals():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            if fault:
                fault_point(fault)
            os.replace(tmp, path)
        except OSError as err:
            tmp.unlink(missing_ok=True)
            raise XbenchError(f"cannot write {path}: {err.strerror or err}; the previous version, if any, "
                              "is intact") from None
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)


def write_result(path: Path, result: dict) -> None:
    result = copy.deepcopy(result)
    result["schema_version"] = SCHEMA_VERSION
    result["checksum"] = content_checksum(result)
    text = json.dumps(result, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    atomic_write_bytes(path, text.encode("utf-8"), fault="result-write")


def read_result(path: Path) -> dict:
    """Read and verify one result file; any damage is one clear line."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise XbenchError(f"{path}: cannot read result ({err.strerror})") from None
    try:
        result = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        # xbench writes whole objects only; one that does not end with "}" was cut off.
        what = "is truncated" if raw.lstrip().startswith(b"{") and not raw.rstrip().endswith(b"}") \
            else "is not valid JSON"
        raise XbenchError(f"{path}: result file {what} ({err}); delete it or rerun with "
                          "--overwrite always") from None
    if not isinstance(result, dict):
        raise XbenchError(f"{path}: result file is not a JSON object")
    version = result.get("schema_version")
    if version != SCHEMA_VERSION:
        raise XbenchError(f"{path}: result schema_version {version!r}, this xbench reads "
                          f"{SCHEMA_VERSION}; rerun the run or use a matching xbench")
    if result.get("checksum") != content_checksum(result):
        raise XbenchError(f"{path}: checksum does not match the content (edited or damaged); "
                          "rerun with --overwrite always")
    return result


def write_predictions(path: Path, predictions: dict) -> str:
    """Write a target's per-sentence predictions and counts; returns the file's sha256."""
    data = gzip.compress(json.dumps(predictions, separators=(",", ":")).encode("utf-8"), mtime=0)
    atomic_write_bytes(path, data)
    return hashlib.sha256(data).hexdigest()


def read_predictions(path: Path, expected_sha256: str | None = None) -> dict:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise XbenchError(f"{path}: cannot read predictions ({err.strerror})") from None
    if expected_sha256 is not None and hashlib.sha256(data).hexdigest() != expected_sha256:
        raise XbenchError(f"{path}: predictions checksum does not match its result file")
    try:
        return json.loads(gzip.decompress(data).decode("utf-8"))
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise XbenchError(f"{path}: predictions file is damaged ({err})") from None


def iter_result_files(results_dir: Path):
    """Every result file under a results folder, in a stable order (temporary files skipped)."""
    return sorted(p for p in Path(results_dir).rglob(f"seed-*{RESULT_SUFFIX}") if not p.name.startswith("."))
