"""CoNLL-style text files: one word per line, blank lines between sentences.

XTREME's panx files and Rahimi's WikiANN release are ``word<TAB>tag`` (Rahimi's prefixes every
word with ``<lang>:``); the MasakhaNER release and prediction files are ``word<SPACE>tag``. The
separator is detected per file from its first line. In space-separated files the tag is the
last field and the word everything before it (a few transfer-corpus words hold a space).
Parsing is strict: a malformed line stops with the file, line number and offending value,
because a silently skipped line shifts every later prediction.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmark.errors import DataError


@dataclass
class TaggedSentences:
    """Sentences of one split: parallel lists of words and of tag strings."""

    tokens: list[list[str]]
    tags: list[list[str]]

    def __len__(self) -> int:
        return len(self.tokens)


def read_tagged_file(path: Path, labels: Sequence[str], lang_prefix: str | None = None) -> TaggedSentences:
    """Parse one split file; ``lang_prefix`` (e.g. ``"de"``) expects Rahimi's ``de:word`` form."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":  # gzip, whatever the file is called
            raw = gzip.decompress(raw)
    except OSError as err:
        raise DataError(path, None, f"cannot read file ({err.strerror or err})") from None
    except EOFError:
        raise DataError(path, None, "gzip file is truncated") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        line_start = raw.rfind(b"\n", 0, err.start) + 1
        line_end = raw.find(b"\n", err.start)
        shown = raw[line_start: line_end if line_end >= 0 else len(raw)]
        raise DataError(path, line, "bytes that are not UTF-8", shown.decode("utf-8", "backslashreplace")) from None
    if text.startswith("\ufeff"):  # a byte-order mark is not part of the first word
        text = text[1:]
    if not text.strip():
        raise DataError(path, None, "file is empty")
    return parse_tagged_lines(text.split("\n"), path, frozenset(labels), lang_prefix)


def detect_separator(lines: Sequence[str]) -> str:
    """A tab if the first non-blank line holds one, else a space."""
    first = next((line for line in lines if line.strip()), "")
    return "\t" if "\t" in first else " "


def parse_tagged_lines(lines: Sequence[str], path: Path, labels: frozenset[str],
                       lang_prefix: str | None) -> TaggedSentences:
    prefix = f"{lang_prefix}:" if lang_prefix else None
    separator = detect_separator(lines)
    tokens: list[list[str]] = []
    tags: list[list[str]] = []
    words: list[str] = []
    word_tags: list[str] = []
    for number, line in enumerate(lines, start=1):
        line = line.rstrip("\r")
        if not line.strip():
            if words:
                tokens.append(words)
                tags.append(word_tags)
                words, word_tags = [], []
            continue
        if separator == "\t":
            fields = line.split("\t")
            if len(fields) != 2:
                what = "no tab between word and tag" if len(fields) == 1 else "more than one tab"
                raise DataError(path, number, f"{what} (expected word<TAB>tag)", line)
        else:
            fields = line.rsplit(" ", 1)
            if len(fields) != 2 or "\t" in line:
                what = "no space between word and tag" if len(fields) == 1 else "a tab in a space-separated file"
                raise DataError(path, number, f"{what} (expected word<SPACE>tag)", line)
        word, tag = fields
        if prefix is not None:
            if not word.startswith(prefix):
                raise DataError(path, number, f"word without the language prefix {prefix!r}", word)
            word = word[len(prefix):]
        if not word.strip():
            raise DataError(path, number, "empty word", line)
        if tag not in labels:
            raise DataError(path, number, f"unknown tag (expected one of {' '.join(sorted(labels))})", tag)
        words.append(word)
        word_tags.append(tag)
    if words:
        tokens.append(words)
        tags.append(word_tags)
    return TaggedSentences(tokens, tags)


def write_tagged_file(path: Path, sentences: TaggedSentences, lang_prefix: str | None = None) -> None:
    """Write sentences in the panx layout, or Rahimi's with ``lang_prefix``."""
    prefix = f"{lang_prefix}:" if lang_prefix else ""
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        for words, word_tags in zip(sentences.tokens, sentences.tags):
            out.writelines(f"{prefix}{w}\t{t}\n" for w, t in zip(words, word_tags))
            out.write("\n")


def count_scheme_breaks(tags: Iterable[Sequence[str]]) -> int:
    """IOB2 violations: an ``I-X`` that follows ``O``, the sentence start, or another type.

    They are counted and reported, never repaired: the data is evaluated as given.
    """
    breaks = 0
    for sentence in tags:
        previous = "O"
        for tag in sentence:
            if tag.startswith("I-") and (previous == "O" or previous[2:] != tag[2:]):
                breaks += 1
            previous = tag
    return breaks


def count_sentences(path: Path) -> int:
    """Sentences in a text-layout file without parsing it: runs of non-blank lines."""
    count, in_sentence = 0, False
    with open(path, "rb") as handle:
        for line in handle:
            blank = not line.strip()
            if not blank and not in_sentence:
                count += 1
            in_sentence = not blank
    return count
