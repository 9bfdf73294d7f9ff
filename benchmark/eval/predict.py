"""Zero-shot evaluation: predict a tag for every word, score spans with seqeval.

Scores use seqeval's default mode, which counts entities as the conlleval script does (the
mode XTREME reports); the mode is written into every result. Per-sentence true positives,
false positives and false negatives are kept so that statistics need no model.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext

import numpy as np

from benchmark.encoding.align import EncodedSplit, assemble_word_predictions

SEQEVAL_MODE = "conlleval"  # seqeval's default (lenient) mode, as conlleval and XTREME


def batches_by_length(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices grouped into batches of similar length (longest first), so little is padding."""
    order = np.argsort(-np.asarray(lengths), kind="stable")
    return [order[i: i + batch_size].tolist() for i in range(0, len(order), batch_size)]


def model_device(model):
    """The device a model's weights are on (xbench keeps a model on one device)."""
    return next(model.parameters()).device


def collate(input_ids: Sequence[Sequence[int]], pad_id: int, labels: Sequence[Sequence[int]] | None = None,
            device=None):
    """Pad to the batch's longest sequence; labels padded with -100; tensors moved to ``device``."""
    import torch

    width = max(len(ids) for ids in input_ids)
    ids = torch.full((len(input_ids), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(input_ids), width), dtype=torch.long)
    for row, seq in enumerate(input_ids):
        ids[row, : len(seq)] = torch.as_tensor(seq)
        mask[row, : len(seq)] = 1
    batch = {"input_ids": ids, "attention_mask": mask}
    if labels is not None:
        lab = torch.full((len(labels), width), -100, dtype=torch.long)
        for row, seq in enumerate(labels):
            lab[row, : len(seq)] = torch.as_tensor(seq)
        batch["labels"] = lab
    if device is not None and device.type != "cpu":
        batch = {name: tensor.to(device, non_blocking=True) for name, tensor in batch.items()}
    return batch


def predict_windows(model, encoded: EncodedSplit, pad_id: int, batch_size: int, bf16: bool,
                    progress=None) -> list[np.ndarray]:
    """Argmax tag id at every position of every window, in the windows' order."""
    import torch

    model.eval()
    device = model_device(model)
    windows = encoded.windows
    predictions: list[np.ndarray | None] = [None] * len(windows)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else nullcontext()
    with torch.inference_mode(), autocast:
        for batch_indices in batches_by_length([len(w) for w in windows], batch_size):
            batch = collate([windows[i].input_ids for i in batch_indices], pad_id, device=device)
            logits = model(**batch).logits
            best = logits.argmax(-1).cpu().numpy()
            for row, i in enumerate(batch_indices):
                predictions[i] = best[row, : len(windows[i])]
            if progress is not None:
                progress.update(len(batch_indices))
    return predictions


def predict_word_tags(model, encoded: EncodedSplit, pad_id: int, batch_size: int, bf16: bool,
                      progress=None, label_map: np.ndarray | None = None) -> list[np.ndarray]:
    """One task label id per word. ``label_map`` turns the model's label ids into the task's first
    (a model with labels of its own); unmapped words get the task's id 0, ``O``."""
    windows = predict_windows(model, encoded, pad_id, batch_size, bf16, progress)
    if label_map is not None:
        windows = [label_map[w] for w in windows]
    return assemble_word_predictions(encoded, windows)


def sentence_counts(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> np.ndarray:
    """Per-sentence (TP, FP, FN) of entity spans, as seqeval's default mode counts them."""
    from seqeval.metrics.sequence_labeling import get_entities

    counts = np.zeros((len(gold), 3), dtype=np.int32)
    for i, (g, p) in enumerate(zip(gold, predicted)):
        true_spans, pred_spans = set(get_entities(list(g))), set(get_entities(list(p)))
        hits = len(true_spans & pred_spans)
        counts[i] = (hits, len(pred_spans) - hits, len(true_spans) - hits)
    return counts


def score(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> dict:
    """Span precision, recall and F1 overall and per entity type, with seqeval (conlleval mode).

    One ``classification_report`` gives both: its micro average is what ``f1_score``,
    ``precision_score`` and ``recall_score`` return (the same function computes them), and
    calling those as well would extract every entity three more times.
    """
    import warnings

    from seqeval.metrics import classification_report

    gold, predicted = [list(s) for s in gold], [list(s) for s in predicted]
    with warnings.catch_warnings():  # the macro average of no entity types is nan; it is not used
        warnings.simplefilter("ignore", RuntimeWarning)
        report = classification_report(gold, predicted, output_dict=True, zero_division=0)
    per_type = {
        name: {"precision": float(v["precision"]), "recall": float(v["recall"]),
               "f1": float(v["f1-score"]), "support": int(v["support"])}
        for name, v in report.items() if not name.endswith(" avg")
    }
    micro = report["micro avg"]
    return {"f1": float(micro["f1-score"]), "precision": float(micro["precision"]),
            "recall": float(micro["recall"]), "per_type": per_type}


def ids_to_tags(rows: Sequence[np.ndarray | Sequence[int]], labels: Sequence[str]) -> list[list[str]]:
    return [[labels[i] for i in row] for row in rows]
