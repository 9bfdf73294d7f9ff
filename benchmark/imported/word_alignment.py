"""Carry a prediction file's tags onto the gold test words when the two tokenisations differ.

Real prediction files do not always hold the gold words: a test set revised after the
predictions were made, a quote written as four double quotes by one script and ``‘`` by another, a word split
in two (``l'`` ``Ékòó`` in the gold, ``l'Ékòó`` predicted). A sentence whose words equal the
gold's is scored as it is. Any other sentence is aligned: first the two word lists (a sequence
alignment of whole words), then, inside every stretch where they differ, their characters, so a
gold word takes the tag of the predicted word that shares most of its characters. Tags are then
mended so that the sequence stays valid IOB2 without changing what was predicted: a gold word
that continues the same predicted word continues its entity (``I-``), and an ``I-X`` that no
longer follows an ``X`` begins one (``B-X``, which is how conlleval reads it anyway).

A sentence whose characters mostly do not match (less than half of them, counted over the
longer side) is *unalignable*: the caller counts all its gold entities as missed and all its
predicted ones as spurious, it is never dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

EXACT, REALIGNED, UNALIGNABLE = "exact", "realigned", "unalignable"
MIN_MATCHED_CHARACTERS = 0.5  # below this share of matched characters a sentence is unalignable


@dataclass(frozen=True)
class SentenceAlignment:
    """How a predicted sentence maps onto the gold one.

    ``tags`` holds one tag per gold word (the predicted tags carried over), or None when the
    sentence is unalignable. ``uncovered`` counts gold words no predicted word covers (tagged O);
    ``dropped`` counts predicted words with no gold word (their tags are lost).
    """

    status: str
    tags: list[str] | None
    uncovered: int = 0
    dropped: int = 0


def align_sentence(gold_words: Sequence[str], pred_words: Sequence[str],
                   pred_tags: Sequence[str]) -> SentenceAlignment:
    if list(gold_words) == list(pred_words):
        return SentenceAlignment(EXACT, list(pred_tags))
    source, matched = word_sources(gold_words, pred_words)
    longer = max(sum(map(len, gold_words)), sum(map(len, pred_words)), 1)
    if matched / longer < MIN_MATCHED_CHARACTERS:
        return SentenceAlignment(UNALIGNABLE, None)
    used = {j for j in source if j is not None}
    return SentenceAlignment(REALIGNED, carry_tags(source, pred_tags),
                             uncovered=sum(1 for j in source if j is None),
                             dropped=sum(1 for j in range(len(pred_words)) if j not in used))


def word_sources(gold_words: Sequence[str], pred_words: Sequence[str]) -> tuple[list[int | None], int]:
    """For every gold word, the index of the predicted word it takes its tag from (None: none);
    and the number of characters the alignment matched."""
    source: list[int | None] = [None] * len(gold_words)
    matched = 0
    words = SequenceMatcher(None, list(gold_words), list(pred_words), autojunk=False)
    for op, i1, i2, j1, j2 in words.get_opcodes():
        if op == "equal":
            for k in range(i2 - i1):
                source[i1 + k] = j1 + k
            matched += sum(len(w) for w in gold_words[i1:i2])
        elif op == "replace":
            block, block_matched = _block_sources(gold_words[i1:i2], pred_words[j1:j2])
            for k, j in enumerate(block):
                source[i1 + k] = None if j is None else j1 + j
            matched += block_matched
    return source, matched


def _block_sources(gold: Sequence[str], pred: Sequence[str]) -> tuple[list[int | None], int]:
    """Inside one stretch of differing words: align characters; each gold word takes the
    predicted word sharing most of its characters (the first on a tie). Where no character
    matches and both sides hold as many words, words pair up in order (a quote against four double quotes)."""
    gold_owner = [i for i, w in enumerate(gold) for _ in w]
    pred_owner = [j for j, w in enumerate(pred) for _ in w]
    chars = SequenceMatcher(None, "".join(gold), "".join(pred), autojunk=False)
    shared: list[dict[int, int]] = [{} for _ in gold]
    matched = 0
    for a, b, size in chars.get_matching_blocks():
        matched += size
        for k in range(size):
            votes = shared[gold_owner[a + k]]
            votes[pred_owner[b + k]] = votes.get(pred_owner[b + k], 0) + 1
    sources: list[int | None] = []
    for i, votes in enumerate(shared):
        if votes:
            sources.append(max(sorted(votes), key=lambda j: votes[j]))
        else:
            sources.append(i if len(gold) == len(pred) else None)
    return sources, matched


def carry_tags(source: Sequence[int | None], pred_tags: Sequence[str]) -> list[str]:
    """Predicted tags onto gold words, kept valid IOB2 (see the module's docstring)."""
    tags: list[str] = []
    previous_source = None
    for j in source:
        tag = "O" if j is None else pred_tags[j]
        if tag != "O":
            kind = tag[2:]
            previous = tags[-1] if tags else "O"
            continues = previous != "O" and previous[2:] == kind
            if j == previous_source and continues:
                tag = f"I-{kind}"  # a second gold word inside the same predicted word
            elif tag.startswith("I-") and not continues:
                tag = f"B-{kind}"
        tags.append(tag)
        previous_source = j
    return tags
