"""The model registry: short names declared in ``registry.yaml``, resolved to a ModelSpec.

A registered name, ``<registered>-random``, a local folder, or any other hub id is accepted; a
bare word close to a registered name is a typo and gets "did you mean".
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from benchmark.errors import XbenchError
from benchmark.tasks import did_you_mean

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

    @property
    def key(self) -> str:
        """A file-name-safe, collision-free key for results paths.

        Registered names are safe as they are; anything else (hub ids with ``/``, paths with
        ``..``, spaces or other scripts) is reduced to safe characters plus a hash of the
        exact name, so two names never share a key and none escapes the results folder.
        """
        if self.registered:
            return self.name
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


def resolve_model(name: str) -> ModelSpec:
    """Turn what the user typed into a ModelSpec, or stop with one clear line."""
    models, _ = registry()
    name = name.strip()
    if not name:
        raise XbenchError("empty model name")
    if name in models:
        return _spec_from_entry(name, models[name])
    if name.endswith(RANDOM_SUFFIX) and name[: -len(RANDOM_SUFFIX)] in models:
        return _spec_from_entry(name, models[name[: -len(RANDOM_SUFFIX)]], random_init=True)
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir():
            raise XbenchError(f"model {name!r} is a file; a local model is a folder with config.json, "
                              "safetensors weights and tokenizer files")
        return ModelSpec(name=name, hub_id=None, local_path=path.resolve())
    hint = did_you_mean(name, list(models) + [f"{m}{RANDOM_SUFFIX}" for m in models])
    if "/" not in name and hint:
        raise XbenchError(f"unknown model {name!r}{hint} (`xbench models` lists the registry)")
    if name.startswith((".", "/", "~")) or name.count("/") > 1:
        raise XbenchError(f"model folder {name!r} does not exist")
    return ModelSpec(name=name, hub_id=name)
