"""The model registry: short names declared in ``registry.yaml``, resolved to a ModelSpec.

A registered name, ``<registered>-random``, a local folder, or any other hub id is accepted; a
bare word close to a registered name is a typo and gets "did you mean".

A local folder gets one canonical name whatever the spelling of its path: the alias given with
``--name``, else the folder's own name plus a short checksum of its weights. The full sha256 of
the weights is part of the run identity, so retrained weights in the same folder never resume
or extend a result of the old ones.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from benchmark.checksums import update_with_file
from benchmark.data.tasks import did_you_mean
from benchmark.errors import XbenchError

REGISTRY_FILE = Path(__file__).with_name("registry.yaml")
RANDOM_SUFFIX = "-random"


@dataclass(frozen=True)
class ModelSpec:
    """What xbench knows about an encoder before loading it."""

    name: str  # as the user wrote it
    hub_id: str | None  # None for a local folder
    local_path: Path | None = None
    family: str = "unknown"
    parameters: str = "?"
    languages: frozenset[str] | None = None  # None: unknown; empty: no pretraining at all
    tokenizer_kwargs: dict = field(default_factory=dict, hash=False)
    offline_builder: str | None = None
    offline_packages: tuple[str, ...] = ()
    random_init: bool = False
    registered: bool = False
    weights_sha256: str | None = None  # local folders: sha256 over their safetensors files

    @property
    def key(self) -> str:
        """A file-name-safe, collision-free key for results paths.

        Registered names are safe as they are; anything else (hub ids with ``/``, paths with
        ``..``, spaces or other scripts) is reduced to safe characters plus a hash of the
        exact name, so two names never share a key and none escapes the results folder.
        """
        if self.registered or self.local_path is not None:
            return self.name  # both are checked to be file-name safe
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", self.name).strip("._-")[:48] or "model"
        digest = hashlib.sha256(self.name.encode("utf-8")).hexdigest()[:10]
        return f"{safe}-{digest}"


@lru_cache(maxsize=1)
def registry() -> tuple[dict[str, dict], dict[str, list[str]]]:
    raw = yaml.safe_load(REGISTRY_FILE.read_text(encoding="utf-8"))
    return raw["models"], raw["language_sets"]


def registered_names() -> list[str]:
    return list(registry()[0])


def _spec_from_entry(name: str, entry: dict, random_init: bool = False) -> ModelSpec:
    _, sets = registry()
    langs = entry["languages"]
    languages = frozenset(sets[langs] if isinstance(langs, str) else langs)
    offline = entry.get("offline") or {}
    return ModelSpec(
        name=name,
        hub_id=entry["hub_id"],
        family=entry["family"],
        parameters=entry["parameters"],
        languages=frozenset() if random_init else languages,
        tokenizer_kwargs=dict(entry.get("tokenizer") or {}),
        offline_builder=offline.get("builder"),
        offline_packages=tuple(offline.get("packages", ())),
        random_init=random_init,
        registered=True,
    )


SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def weights_sha256(folder: Path) -> str:
    """sha256 over a folder's safetensors files (names and bytes, in name order)."""
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.safetensors")):
        digest.update(path.name.encode("utf-8") + b"\0")
        update_with_file(digest, path)
    return digest.hexdigest()


def check_alias(alias: str) -> str:
    """A ``--name`` for a local model: file-name safe and not a registered name."""
    models, _ = registry()
    if not SAFE_NAME.match(alias):
        raise XbenchError(f"--name {alias!r}: use letters, digits, '.', '_' and '-' (at most 64, starting "
                          "with a letter or digit)")
    if alias in models or (alias.endswith(RANDOM_SUFFIX) and alias[: -len(RANDOM_SUFFIX)] in models):
        raise XbenchError(f"--name {alias!r} is a registered model; choose another name for a local folder")
    return alias


def _local_spec(folder: Path, alias: str | None) -> ModelSpec:
    folder = folder.resolve()
    checksum = weights_sha256(folder)
    if alias is None:
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", folder.name).strip("._-")[:48] or "model"
        alias = f"{stem}-{checksum[:8]}"
    return ModelSpec(name=alias, hub_id=None, local_path=folder, weights_sha256=checksum)


def resolve_model(name: str, alias: str | None = None) -> ModelSpec:
    """Turn what the user typed into a ModelSpec, or stop with one clear line.

    ``alias`` (``--name``) names a local folder; registered and hub models keep their names.
    """
    models, _ = registry()
    name = name.strip()
    if not name:
        raise XbenchError("empty model name")
    if alias is not None:
        check_alias(alias)
    path = Path(name).expanduser()
    base = name[: -len(RANDOM_SUFFIX)] if name.endswith(RANDOM_SUFFIX) else None
    registered = name in models or base in models
    # A registered name wins over a folder of the same name unless the path is spelt as a path.
    is_folder = path.is_dir() and (not registered or name.startswith((".", "/", "~")))
    if alias is not None and not is_folder:
        raise XbenchError(f"--name names a local model folder; {name!r} is not one")
    if registered and not is_folder:
        return _spec_from_entry(name, models[name]) if name in models else \
            _spec_from_entry(name, models[base], random_init=True)
    if path.exists():
        if not path.is_dir():
            raise XbenchError(f"model {name!r} is a file; a local model is a folder with config.json, "
                              "safetensors weights and tokenizer files")
        return _local_spec(path, alias)
    hint = did_you_mean(name, list(models) + [f"{m}{RANDOM_SUFFIX}" for m in models])
    if "/" not in name and hint:
        raise XbenchError(f"unknown model {name!r}{hint} (`xbench models` lists the registry)")
    if name.startswith((".", "/", "~")) or name.count("/") > 1:
        raise XbenchError(f"model folder {name!r} does not exist")
    return ModelSpec(name=name, hub_id=name)
