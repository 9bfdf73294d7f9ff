"""How figures read in a report's text: F1 in %, counted nouns, p-values.

One place for the markdown, the findings and ``xbench compare``, so that the same number is
written the same way in a table, in a sentence and on the terminal.
"""

from __future__ import annotations


def pct(x: float) -> str:
    """A fraction as a percentage with one decimal: 0.8123 reads ``81.2``."""
    return f"{100 * x:.1f}"


def counted(n: int, noun: str) -> str:
    """``1 language``, ``3 languages``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def p_phrase(p: float) -> str:
    """A p-value as the words after "p" in a sentence: ``< 0.001``, ``= 0.042``."""
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


def p_text(p: float) -> str:
    """A p-value for a table cell: ``<0.001``, ``0.042``."""
    return "<0.001" if p < 0.001 else f"{p:.3f}"
