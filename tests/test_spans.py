"""Vectorised span scoring against seqeval, the reference: random tags and every committed prediction file."""

from __future__ import annotations

import random
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from benchmark.data.tasks import get_task
from benchmark.eval.predict import score, sentence_counts
from benchmark.eval.spans import (
    digit_rows,
    flatten_digit_rows,
    flatten_ids,
    flatten_tags,
    label_codes,
    score_ids,
    supports,
)

WIKIANN_LABELS = get_task("wikiann").labels
RESULTS = Path(__file__).resolve().parents[1] / "results"
SHARED_WIKIANN = Path(__file__).resolve().parents[2] / "shared" / "wikiann"
#: Where each task's committed quick-recipe runs read their test splits.
SHARED_DATA = {"wikiann": SHARED_WIKIANN,
               "masakhaner2-transfer": Path(__file__).resolve().parents[2] / "shared" / "masakhaner" / "transfer"}


def both(gold: list[list[str]], predicted: list[list[str]], labels):
    fast, counts = score_ids(flatten_tags(gold, labels), flatten_tags(predicted, labels), labels)
    return fast, counts, score(gold, predicted), sentence_counts(gold, predicted)


def random_sentences(rng: random.Random, labels, n: int, max_len: int) -> list[list[str]]:
    # Mostly O, so chunks of every shape occur (I- after O, type changes, runs, sentence edges).
    weights = [6] + [1] * (len(labels) - 1)
    return [rng.choices(labels, weights, k=rng.randint(0, max_len)) for _ in range(n)]


@pytest.mark.parametrize("seed", range(200))
def test_random_tags_score_exactly_as_seqeval(seed):
    rng = random.Random(seed)
    labels = WIKIANN_LABELS if seed % 2 else ("O", "B-A", "I-A", "B-B-X", "I-B-X", "B", "I")
    gold = random_sentences(rng, labels, rng.randint(1, 40), rng.choice((1, 3, 12)))
    # Predictions: gold with some tags replaced, so many spans match and many do not.
    predicted = [[t if rng.random() < 0.7 else rng.choice(labels) for t in s] for s in gold]
    fast, counts, reference, reference_counts = both(gold, predicted, labels)
    assert fast == reference  # floats identical, not close
    assert np.array_equal(counts, reference_counts) and counts.dtype == reference_counts.dtype


@pytest.mark.parametrize("gold,predicted", [
    ([["I-PER", "I-PER", "O", "I-LOC"]], [["B-PER", "I-PER", "O", "B-LOC"]]),  # I- after O / at start
    ([["B-PER", "I-LOC", "I-LOC"]], [["B-PER", "B-LOC", "I-LOC"]]),  # a type change starts a chunk
    ([["B-PER"], ["I-PER"]], [["B-PER"], ["B-PER"]]),  # a chunk never crosses sentences
    ([[], ["O"]], [[], ["B-ORG"]]),  # empty sentences; a type only predicted
    ([["O", "O"]], [["O", "O"]]),  # no entity anywhere
])
def test_conlleval_corner_cases(gold, predicted):
    fast, counts, reference, reference_counts = both(gold, predicted, WIKIANN_LABELS)
    assert fast == reference and np.array_equal(counts, reference_counts)


def test_other_schemes_are_refused_not_guessed():
    assert supports(WIKIANN_LABELS)
    assert not supports(("O", "S-PER", "E-PER"))
    with pytest.raises(ValueError, match="IOB2"):
        label_codes(("O", "S-PER"))
    with pytest.raises(ValueError, match="differ in length"):
        score_ids(flatten_ids([[0, 1]]), flatten_ids([[0]]), WIKIANN_LABELS)


def test_digit_rows_round_trip():
    rows = ["0123", "", "65", "0"]
    flat = flatten_digit_rows(rows)
    assert flat.ids.tolist() == [0, 1, 2, 3, 6, 5, 0] and flat.lengths.tolist() == [4, 0, 2, 1]
    assert digit_rows(flat) == rows


@cache
def _gold(task: str, lang: str, limit: int | None):
    """A target's gold test tags, read and flattened once for every result that scored it."""
    from benchmark.data.sources import read_sentences, resolve_source

    gold = read_sentences(get_task(task), resolve_source(SHARED_DATA[task]), lang, "test")
    tags = gold.tags[:limit] if limit else gold.tags
    return tags, flatten_tags(tags, get_task(task).labels)


@pytest.mark.realdata
@pytest.mark.skipif(not SHARED_WIKIANN.exists() or not RESULTS.exists(), reason="needs ../shared/wikiann")
def test_every_committed_prediction_file_scores_as_stored():
    """Every committed quick-recipe prediction file: scores and per-sentence counts equal the stored
    ones, which seqeval computed when the run wrote them (and the result's checksum vouches for).
    seqeval itself is run again on two targets per result to show the stored numbers are its own."""
    from benchmark.results.store import iter_result_files, read_predictions, read_result

    files = [p for p in iter_result_files(RESULTS) if "/quick/" in p.as_posix()]
    assert files, "no committed results found"
    checked = {}
    for path in files:
        result = read_result(path)
        task = result["task"]
        if not SHARED_DATA[task].exists():
            continue
        labels = get_task(task).labels
        smallest = sorted(result["targets"], key=lambda lang: result["targets"][lang]["n_sentences"])[:2]
        for lang, target in sorted(result["targets"].items()):
            gold_tags, gold_flat = _gold(task, lang, target.get("test_limit"))
            stored = read_predictions(path.parent / target["predictions"]["file"], target["predictions"]["sha256"])
            predicted = flatten_digit_rows(stored["tags"])
            fast, counts = score_ids(gold_flat, predicted, labels)
            expected = {key: target[key] for key in ("f1", "precision", "recall", "per_type")}
            assert fast == expected, f"{path} {lang}"
            assert np.array_equal(counts, np.array(stored["counts"], dtype=np.int32).reshape(-1, 3)), f"{path} {lang}"
            if lang in smallest:  # seqeval itself, on the two smallest targets of each result
                as_tags = [[labels[int(c)] for c in row] for row in stored["tags"]]
                assert score(gold_tags, as_tags) == fast
            checked[task] = checked.get(task, 0) + 1
    # 9 WikiANN runs x 53 targets; 6 transfer runs x 20 African targets where that data is at hand.
    assert checked["wikiann"] == 53 * 9
    assert checked.get("masakhaner2-transfer", 0) == (6 * 20 if SHARED_DATA["masakhaner2-transfer"].exists() else 0)
