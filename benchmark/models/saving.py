"""Keeping a fine-tuned token classifier (``xbench run --save-model``) in the Hugging Face format.

The folder loads with ``AutoModelForTokenClassification.from_pretrained`` and works in
``pipeline("token-classification")``: config with the task's id2label/label2id, safetensors
weights, the tokenizer. ``xbench.json`` beside them says which run made it, so ``xbench evaluate``
can use the run's source language, window and batch size, and a rerun can tell its own model from
another's. The folder is written under a temporary name and renamed into place when whole.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from benchmark.errors import XbenchError

METADATA_FILE = "xbench.json"


def save_token_classifier(model, tokenizer, dest: Path, metadata: dict) -> Path:
    """Write ``model`` and ``tokenizer`` to ``dest`` (which must not exist yet); returns ``dest``."""
    from transformers.utils import logging as hf_logging

    dest = Path(dest)
    tmp = dest.with_name(f".{dest.name}.tmp{os.getpid()}")
    hf_logging.disable_progress_bar()  # its bar would be fragments in a log
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir(parents=True)
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        (tmp / METADATA_FILE).write_text(json.dumps(metadata, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, dest)
    except OSError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        raise XbenchError(f"cannot keep the fine-tuned model in {dest}: {err.strerror or err}") from None
    return dest


def read_metadata(folder: Path) -> dict | None:
    """The ``xbench.json`` of a kept model, or None for a model xbench did not save."""
    path = Path(folder) / METADATA_FILE
    if not path.is_file():
        return None
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise XbenchError(f"{path}: cannot read ({err})") from None
    if not isinstance(metadata, dict):
        raise XbenchError(f"{path}: not a JSON object")
    return metadata


def check_saved_identity(folder: Path, identity: dict) -> None:
    """A kept model in the way must be this very run's, never silently replaced by another's."""
    metadata = read_metadata(folder)
    if metadata is None or metadata.get("identity") != identity:
        raise XbenchError(f"--save-model: {folder} already holds another model; move it away or pass "
                          "another --save-model folder")
