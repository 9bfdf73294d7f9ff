"""An encoded split as a few flat arrays: what the cache stores and the evaluation pipeline reads.

:class:`benchmark.encoding.align.EncodedSplit` holds one Python object per window, convenient to build
and to train on; for 300,000 test sentences it is slow to store, load and batch. A
:class:`PackedSplit` holds the same content as flat arrays with window offsets, so a cache
entry is a handful of ``.npy`` files, a batch is one fancy-indexing operation, and word
predictions are gathered without a Python loop. ``pack`` and ``unpack`` convert losslessly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmark.encoding.align import EncodedSplit, Window

ARRAYS = ("input_ids", "word_index", "offsets", "sentence", "words_per_sentence")


@dataclass
class PackedSplit:
    input_ids: np.ndarray  # int32, every window's subword ids one after the other
    word_index: np.ndarray  # int32, per position: the sentence-level word it starts, else -1
    offsets: np.ndarray  # int64, n_windows + 1: where each window starts in the flat arrays
    sentence: np.ndarray  # int32, per window: its sentence
    words_per_sentence: np.ndarray  # int32
    unmapped_words: int
    labels: np.ndarray | None = None  # int16 per position (-100 off first subwords), training splits only

    @property
    def n_windows(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def arrays(self) -> dict[str, np.ndarray]:
        out = {name: getattr(self, name) for name in ARRAYS}
        if self.labels is not None:
            out["labels"] = self.labels
        return out

    def check(self) -> None:
        """Raise ValueError unless the arrays fit together (a damaged cache entry must not be used)."""
        n_tokens = len(self.input_ids)
        if len(self.word_index) != n_tokens or (self.labels is not None and len(self.labels) != n_tokens):
            raise ValueError("per-position arrays differ in length")
        if len(self.offsets) < 1 or self.offsets[0] != 0 or self.offsets[-1] != n_tokens \
                or np.any(np.diff(self.offsets) < 0):
            raise ValueError("window offsets do not cover the positions")
        if len(self.sentence) != self.n_windows:
            raise ValueError("one sentence index per window expected")
        if self.n_windows and (self.sentence.min() < 0 or self.sentence.max() >= len(self.words_per_sentence)):
            raise ValueError("a window points outside the split's sentences")
        sentence_of_position = np.repeat(self.sentence, self.lengths)
        if np.any(self.word_index >= self.words_per_sentence[sentence_of_position]):
            raise ValueError("a word index points past its sentence")

    def word_positions(self) -> tuple[np.ndarray, np.ndarray]:
        """(positions of first subwords, the flat word each one predicts), for gathering word tags."""
        first = np.nonzero(self.word_index >= 0)[0]
        word_start = np.cumsum(self.words_per_sentence, dtype=np.int64) - self.words_per_sentence
        sentence_of_position = np.repeat(self.sentence.astype(np.int64), self.lengths)
        return first, word_start[sentence_of_position[first]] + self.word_index[first]

    def last_windows(self) -> np.ndarray:
        """Per window: whether it is its sentence's last (progress counts sentences by these)."""
        last = np.ones(self.n_windows, dtype=bool)
        if self.n_windows:
            last[:-1] = self.sentence[1:] != self.sentence[:-1]
        return last


def pack(encoded: EncodedSplit) -> PackedSplit:
    windows = encoded.windows
    lengths = np.fromiter((len(w) for w in windows), dtype=np.int64, count=len(windows))
    offsets = np.zeros(len(windows) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])

    def flat(field: str, dtype) -> np.ndarray:
        return np.fromiter((x for w in windows for x in getattr(w, field)), dtype=dtype, count=int(offsets[-1]))

    has_labels = bool(windows) and windows[0].labels is not None
    return PackedSplit(flat("input_ids", np.int32), flat("word_index", np.int32), offsets,
                       np.fromiter((w.sentence for w in windows), dtype=np.int32, count=len(windows)),
                       np.asarray(encoded.words_per_sentence, dtype=np.int32), int(encoded.unmapped_words),
                       flat("labels", np.int16) if has_labels else None)


def unpack(packed: PackedSplit) -> EncodedSplit:
    """Back to one object per window (what training takes)."""
    bounds = packed.offsets.tolist()
    ids, index = packed.input_ids.tolist(), packed.word_index.tolist()
    labels = packed.labels.tolist() if packed.labels is not None else None
    windows = [Window(int(s), ids[a:b], index[a:b], labels[a:b] if labels is not None else None)
               for s, a, b in zip(packed.sentence.tolist(), bounds[:-1], bounds[1:])]
    return EncodedSplit(windows, packed.words_per_sentence.tolist(), packed.unmapped_words)
