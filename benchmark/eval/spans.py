"""Entity spans and their scores from arrays: seqeval's default (conlleval) mode without Python loops.

seqeval (the reference, :func:`benchmark.eval.predict.score`) walks every tag of every sentence
in Python; on a 53-target grid that is minutes per run. Here a split is one flat array of tag
ids with its sentence lengths, and a span is found with a handful of array operations:

- a word *continues* the chunk before it when it is ``I-X``, the word before is ``B-X`` or
  ``I-X`` of the same type ``X``, and both are in the same sentence;
- every other non-``O`` word *starts* a chunk (so ``I-X`` after ``O``, at a sentence start or
  after another type starts one, as conlleval counts it);
- a chunk ends at the last word before the next word that does not continue it.

These are exactly seqeval's ``start_of_chunk`` / ``end_of_chunk`` rules restricted to the B-,
I- and O tags of IOB2 label sets (other schemes are refused, not guessed). A predicted span is a
true positive when a gold span has the same first word, last word and type. Precision, recall
and F1 are computed with seqeval's own formulas in the same order, so the floats are identical,
not merely close (``tests/test_spans.py`` checks this against seqeval on random tags and on
every committed prediction file).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

OUTSIDE, BEGIN, INSIDE = 0, 1, 2
_PREFIX_CODE = {"O": OUTSIDE, "B": BEGIN, "I": INSIDE}


@dataclass(frozen=True)
class LabelCodes:
    """Each label id's prefix code (O/B/I) and type index, with the type names."""

    prefix: np.ndarray  # int8, per label id
    type_index: np.ndarray  # int16, per label id (-1 for O)
    type_names: tuple[str, ...]


def label_codes(labels: Sequence[str]) -> LabelCodes:
    """Split labels as seqeval does (first character the prefix, the rest after ``-`` the type).

    >>> label_codes(["O", "B-PER", "I-PER"]).type_names
    ('PER',)
    """
    prefixes, types, names = [], [], []
    for label in labels:
        prefix = label[:1]
        if prefix not in _PREFIX_CODE:
            raise ValueError(f"label {label!r}: vectorised scoring handles IOB2 labels (O, B-X, I-X) only")
        prefixes.append(_PREFIX_CODE[prefix])
        if prefix == "O":
            types.append(-1)
            continue
        name = label[1:].split("-", maxsplit=1)[-1] or "_"
        if name not in names:
            names.append(name)
        types.append(names.index(name))
    return LabelCodes(np.asarray(prefixes, dtype=np.int8), np.asarray(types, dtype=np.int16), tuple(names))


def supports(labels: Sequence[str]) -> bool:
    """Whether a label set can be scored here (IOB2), else seqeval does it."""
    try:
        label_codes(labels)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Spans:
    """The entity spans of a split: first and last word (flat positions), type and sentence."""

    start: np.ndarray  # int64 flat position of the first word
    end: np.ndarray  # int64 flat position of the last word
    type_index: np.ndarray  # int16
    sentence: np.ndarray  # int64


@dataclass(frozen=True)
class FlatTags:
    """A split's tag ids as one array, with where each sentence starts."""

    ids: np.ndarray  # int8/int16 tag ids, all sentences one after the other
    lengths: np.ndarray  # int64 words per sentence

    @property
    def n_sentences(self) -> int:
        return len(self.lengths)


def flatten_ids(rows: Sequence[Sequence[int] | np.ndarray]) -> FlatTags:
    """Per-sentence tag-id rows to one flat array."""
    lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    ids = np.concatenate([np.asarray(r, dtype=np.int16) for r in rows]) if len(rows) else np.zeros(0, np.int16)
    return FlatTags(ids.astype(np.int16, copy=False), lengths)


def flatten_digit_rows(rows: Sequence[str]) -> FlatTags:
    """Prediction files' rows (one digit per word, ``"0012"``) to one flat array of tag ids."""
    lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    ids = np.frombuffer("".join(rows).encode("ascii"), dtype=np.uint8).astype(np.int16) - ord("0")
    return FlatTags(ids, lengths)


def digit_rows(tags: FlatTags) -> list[str]:
    """One tag id per word as a digit string per sentence, the form prediction files store."""
    text = (tags.ids.astype(np.uint8) + ord("0")).tobytes().decode("ascii")
    ends = np.cumsum(tags.lengths).tolist()
    return [text[start:end] for start, end in zip([0, *ends[:-1]], ends)]


def flatten_tags(tags: Sequence[Sequence[str]], labels: Sequence[str]) -> FlatTags:
    """Per-sentence tag strings to one flat array of label ids (a tag outside ``labels`` raises)."""
    label_id = {name: i for i, name in enumerate(labels)}
    lengths = np.fromiter((len(s) for s in tags), dtype=np.int64, count=len(tags))
    try:
        ids = np.fromiter((label_id[t] for s in tags for t in s), dtype=np.int16, count=int(lengths.sum()))
    except KeyError as err:
        raise ValueError(f"tag {err.args[0]!r} is not one of the labels {list(labels)}") from None
    return FlatTags(ids, lengths)


def extract_spans(tags: FlatTags, codes: LabelCodes) -> Spans:
    """Every chunk of every sentence, as seqeval's ``get_entities`` finds them (default mode)."""
    ids = tags.ids.astype(np.int64, copy=False)
    prefix = codes.prefix[ids]
    kind = codes.type_index[ids]
    n = len(ids)
    sentence_start = np.zeros(n, dtype=bool)
    starts_at = np.cumsum(tags.lengths) - tags.lengths
    sentence_start[starts_at[tags.lengths > 0]] = True
    previous_prefix = np.empty(n, dtype=np.int8)
    previous_kind = np.empty(n, dtype=np.int16)
    if n:
        previous_prefix[0], previous_kind[0] = OUTSIDE, -1
        previous_prefix[1:], previous_kind[1:] = prefix[:-1], kind[:-1]
    previous_prefix[sentence_start] = OUTSIDE  # a sentence starts as if after O
    continues = (prefix == INSIDE) & (previous_prefix != OUTSIDE) & (previous_kind == kind)
    inside = prefix != OUTSIDE
    first = np.nonzero(inside & ~continues)[0]
    # A chunk's last word: inside a chunk, and the next word does not continue it.
    next_continues = np.zeros(n, dtype=bool)
    if n:
        next_continues[:-1] = continues[1:]
    last = np.nonzero(inside & ~next_continues)[0]
    sentence_of = np.repeat(np.arange(tags.n_sentences, dtype=np.int64), tags.lengths)
    return Spans(first.astype(np.int64), last.astype(np.int64), kind[first], sentence_of[first])


@dataclass(frozen=True)
class SpanCounts:
    """True positives, predicted and gold spans: per sentence and per type."""

    per_sentence: np.ndarray  # (n_sentences, 3) int32: TP, FP, FN (as stored in prediction files)
    tp: np.ndarray  # per type index
    predicted: np.ndarray
    gold: np.ndarray
    type_names: tuple[str, ...]


def count_spans(gold: Spans, predicted: Spans, n_sentences: int, n_words: int,
                type_names: Sequence[str]) -> SpanCounts:
    """Match predicted spans to gold ones (same first word, last word and type) and count."""
    gold_end = np.full(n_words, -1, dtype=np.int64)
    gold_kind = np.full(n_words, -1, dtype=np.int16)
    gold_end[gold.start], gold_kind[gold.start] = gold.end, gold.type_index
    hit = (gold_end[predicted.start] == predicted.end) & (gold_kind[predicted.start] == predicted.type_index)
    n_types = len(type_names)
    tp = np.bincount(predicted.sentence[hit], minlength=n_sentences)
    n_pred = np.bincount(predicted.sentence, minlength=n_sentences)
    n_gold = np.bincount(gold.sentence, minlength=n_sentences)
    per_sentence = np.stack([tp, n_pred - tp, n_gold - tp], axis=1).astype(np.int32)
    return SpanCounts(per_sentence,
                      np.bincount(predicted.type_index[hit], minlength=n_types)[:n_types],
                      np.bincount(predicted.type_index, minlength=n_types)[:n_types],
                      np.bincount(gold.type_index, minlength=n_types)[:n_types], tuple(type_names))


def _divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """seqeval's ``_prf_divide`` with ``zero_division=0``."""
    mask = denominator == 0.0
    denominator = denominator.copy()
    denominator[mask] = 1
    result = numerator / denominator
    result[mask] = 0.0
    return result


def _precision_recall_f1(tp: np.ndarray, predicted: np.ndarray, gold: np.ndarray):
    """seqeval's formulas, operation by operation (beta = 1), so the floats are the same."""
    precision = _divide(tp, predicted)
    recall = _divide(tp, gold)
    denominator = 1.0 * precision + recall
    denominator[denominator == 0.0] = 1
    f1 = (1 + 1.0) * precision * recall / denominator
    return precision, recall, f1


def scores(counts: SpanCounts) -> dict:
    """Overall (micro) and per-type precision, recall, F1 and support, as ``evaluate.score`` gives them."""
    seen = [i for i in range(len(counts.type_names)) if counts.gold[i] + counts.predicted[i] > 0]
    seen.sort(key=lambda i: counts.type_names[i])  # seqeval lists types in sorted order
    index = np.asarray(seen, dtype=np.int64)
    tp, predicted, gold = counts.tp[index], counts.predicted[index], counts.gold[index]
    precision, recall, f1 = _precision_recall_f1(tp, predicted, gold)
    per_type = {counts.type_names[i]: {"precision": float(precision[k]), "recall": float(recall[k]),
                                       "f1": float(f1[k]), "support": int(gold[k])}
                for k, i in enumerate(seen)}
    micro = _precision_recall_f1(np.array([tp.sum()]), np.array([predicted.sum()]), np.array([gold.sum()]))
    micro_precision, micro_recall, micro_f1 = (float(np.average(x)) for x in micro)
    return {"f1": micro_f1, "precision": micro_precision, "recall": micro_recall, "per_type": per_type}


def score_ids(gold: FlatTags, predicted: FlatTags, labels: Sequence[str],
              gold_spans: Spans | None = None) -> tuple[dict, np.ndarray]:
    """Scores and per-sentence (TP, FP, FN) of predicted tag ids against gold ones.

    ``gold_spans`` may be given when they were extracted before (once per split).
    """
    if not np.array_equal(gold.lengths, predicted.lengths):
        raise ValueError("predicted and gold sentences differ in length")
    codes = label_codes(labels)
    gold_spans = gold_spans if gold_spans is not None else extract_spans(gold, codes)
    counts = count_spans(gold_spans, extract_spans(predicted, codes), gold.n_sentences, len(gold.ids),
                         codes.type_names)
    return scores(counts), counts.per_sentence
