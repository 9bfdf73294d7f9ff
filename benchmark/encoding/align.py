"""Words to model windows and back: first-subword labels in, one predicted tag per word out.

Every word of every sentence gets exactly one prediction. Sentences longer than the model's
window are split into several windows at word boundaries (never truncated), and a word that
the tokenizer maps to no subword at all is predicted ``O`` and counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

IGNORE_INDEX = -100  # positions the loss skips: special tokens and non-first subwords


@dataclass
class Window:
    """One model input: a slice of a sentence's words, with special tokens added."""

    sentence: int  # index of the sentence in its split
    input_ids: list[int]
    word_index: list[int]  # per position: the sentence-level index of the word it starts, else -1
    labels: list[int] | None  # per position: the word's tag id on first subwords, else -100

    def __len__(self) -> int:
        return len(self.input_ids)


@dataclass
class EncodedSplit:
    windows: list[Window]
    words_per_sentence: list[int]
    unmapped_words: int  # words the tokenizer turned into no subword at all (predicted O)


def special_tokens(tokenizer) -> tuple[list[int], list[int]]:
    """The special-token ids the tokenizer puts before and after a single sequence.

    Read off the tokenizer's own post-processor (one encoded word), so BERT's ``[CLS] .. [SEP]``
    and XLM-R's ``<s> .. </s>`` come out right without naming either.
    """
    encoded = tokenizer(["a"], is_split_into_words=True, add_special_tokens=True)
    word_ids = encoded.word_ids(0)
    inside = [i for i, w in enumerate(word_ids) if w is not None]
    if not inside:
        raise ValueError("the tokenizer maps the word 'a' to nothing; cannot locate special tokens")
    ids = encoded["input_ids"]
    return list(ids[: inside[0]]), list(ids[inside[-1] + 1:])


def pieces_per_word(tokenizer, sentences: Sequence[Sequence[str]]) -> list[list[list[int]]]:
    """Subword ids of every word, grouped by word, from one batched fast-tokenizer call."""
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # long sentences are split into windows below, not truncated
    try:
        encoded = tokenizer([list(s) for s in sentences], is_split_into_words=True, add_special_tokens=False)
    finally:
        hf_logging.set_verbosity(verbosity)
    grouped = []
    for i, words in enumerate(sentences):
        per_word: list[list[int]] = [[] for _ in words]
        for piece, word in zip(encoded["input_ids"][i], encoded.word_ids(i)):
            if word is not None:
                per_word[word].append(piece)
        grouped.append(per_word)
    return grouped


def encode_split(tokenizer, sentences: Sequence[Sequence[str]], tags: Sequence[Sequence[int]] | None,
                 max_length: int) -> EncodedSplit:
    """Split sentences into windows of at most ``max_length`` subwords, special tokens included.

    Words are packed greedily into a window; a single word longer than a window keeps only the
    subwords that fit (its first subword, the one labelled and predicted, always survives).
    """
    prefix, suffix = special_tokens(tokenizer)
    budget = max_length - len(prefix) - len(suffix)
    if budget < 1:
        raise ValueError(f"max_length {max_length} leaves no room beside the special tokens")
    windows: list[Window] = []
    unmapped = 0

    def flush(sentence: int, ids: list[int], starts: list[int], words: list[int]) -> None:
        input_ids = prefix + ids + suffix
        word_index = [-1] * len(input_ids)
        for position, word in zip(starts, words):
            word_index[len(prefix) + position] = word
        labels = None
        if tags is not None:
            labels = [IGNORE_INDEX if w < 0 else int(tags[sentence][w]) for w in word_index]
        windows.append(Window(sentence, input_ids, word_index, labels))

    grouped = pieces_per_word(tokenizer, sentences)
    for s, per_word in enumerate(grouped):
        ids: list[int] = []
        starts: list[int] = []
        words: list[int] = []
        for w, pieces in enumerate(per_word):
            if not pieces:
                unmapped += 1
                continue
            pieces = pieces[:budget]
            if ids and len(ids) + len(pieces) > budget:
                flush(s, ids, starts, words)
                ids, starts, words = [], [], []
            starts.append(len(ids))
            words.append(w)
            ids.extend(pieces)
        if ids or not windows or windows[-1].sentence != s:
            # A sentence whose every word is unmapped still gets an (empty) window: it keeps
            # the one-to-one bookkeeping simple and costs nothing.
            flush(s, ids, starts, words)
    return EncodedSplit(windows, [len(s) for s in sentences], unmapped)


def assemble_word_predictions(encoded: EncodedSplit, window_predictions: Sequence[np.ndarray],
                              outside_id: int = 0) -> list[np.ndarray]:
    """One tag id per word: each word's first-subword prediction; ``outside_id`` for unmapped words.

    ``window_predictions[i]`` holds the argmax tag id at every position of window ``i``.
    """
    out = [np.full(n, outside_id, dtype=np.int8) for n in encoded.words_per_sentence]
    for window, predicted in zip(encoded.windows, window_predictions):
        index = np.asarray(window.word_index)
        positions = np.nonzero(index >= 0)[0]
        out[window.sentence][index[positions]] = np.asarray(predicted)[positions]
    return out
