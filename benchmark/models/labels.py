"""Mapping a token classifier's own labels onto a task's (IOB2 over the task's entity types).

A model fine-tuned elsewhere names its labels as it likes: ``B-PER``, ``PER``, ``S-LOC``
(BIOES), ``U-ORG``/``L-ORG`` (BILOU), ``B-PERSON``, ``I-ORGANIZATION``, ``b_loc``. Each becomes a
task label: a chunk start (``B``, ``S``, ``U``) maps to ``B-``, a continuation or end (``I``,
``E``, ``L``) and a bare type (the IO scheme) to ``I-``; seqeval's default mode, the task's
metric, reads an ``I-`` after ``O`` as a chunk start, exactly as conlleval does. Entity types the
task lacks (MISC, DATE, ...) are predicted as ``O`` and listed, never silently merged into others.
"""

from __future__ import annotations

import re

import numpy as np

from benchmark.errors import XbenchError

# Spellings of the entity types tasks use; a type missing here maps only to itself.
TYPE_SYNONYMS = {
    "PERSON": "PER", "PERS": "PER", "PER": "PER",
    "ORGANIZATION": "ORG", "ORGANISATION": "ORG", "ORG": "ORG",
    "LOCATION": "LOC", "LOC": "LOC",
    "MISCELLANEOUS": "MISC", "MISC": "MISC",
    "DATE": "DATE",
}
OUTSIDE = {"O", "OUTSIDE", "0"}
BEGIN, INSIDE = ("B", "S", "U"), ("I", "E", "L", "M")
_LABEL = re.compile(r"^(?:(?P<prefix>[BIESLUM])[-_])?(?P<type>[A-Z][A-Z0-9_.]*)$")


def parse_label(label: str) -> tuple[str, str] | None:
    """``("B", "PER")`` / ``("I", "LOC")`` / ``("O", "")``; None when it is no NER label at all."""
    text = str(label).strip().upper()
    if text in OUTSIDE:
        return ("O", "")
    match = _LABEL.match(text)
    if not match or re.fullmatch(r"LABEL_?\d+", text):
        return None
    prefix = match.group("prefix") or "I"
    kind = TYPE_SYNONYMS.get(match.group("type"), match.group("type"))
    return ("B" if prefix in BEGIN else "I", kind)


def map_model_labels(id2label: dict, task_labels: tuple[str, ...]) -> tuple[np.ndarray, list[str]]:
    """Per model label id, the task label id; and the model labels predicted as ``O`` for want of
    their type in the task. One clear error when the labels are not NER labels of any kind."""
    task_index = {label: i for i, label in enumerate(task_labels)}
    if "O" not in task_index:
        raise XbenchError(f"the task's labels {list(task_labels)} have no 'O'")
    ids = sorted(int(i) for i in id2label)
    if ids != list(range(len(ids))) or not ids:
        raise XbenchError(f"the model's id2label ids are not 0..{len(ids) - 1}: {ids[:10]}")
    parsed = {i: parse_label(id2label[i] if i in id2label else id2label[str(i)]) for i in ids}
    names = [str(id2label[i] if i in id2label else id2label[str(i)]) for i in ids]
    unparsed = [names[i] for i in ids if parsed[i] is None]
    if unparsed:
        raise XbenchError(f"cannot map the model's labels to the task's: {', '.join(unparsed[:12])} "
                          f"{'(and more) ' if len(unparsed) > 12 else ''}are not NER labels "
                          f"(expected spellings like B-PER, I-LOC, PER, S-ORG, O); the model's labels: "
                          f"{', '.join(names[:20])}")
    mapping = np.zeros(len(ids), dtype=np.int64)
    dropped = []
    for i in ids:
        prefix, kind = parsed[i]
        target = "O" if prefix == "O" else f"{prefix}-{kind}"
        if target not in task_index:
            dropped.append(names[i])
            target = "O"
        mapping[i] = task_index[target]
    if all(task_labels[m] == "O" for m in mapping):
        raise XbenchError(f"none of the model's labels ({', '.join(names[:20])}) is an entity type of the "
                          f"task ({', '.join(sorted({t[2:] for t in task_labels if t != 'O'}))})")
    return mapping, dropped
