"""The README's leaderboard is a copy of the generated report's: they must not drift apart."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _table_after(text: str, heading: str) -> list[str]:
    lines = text[text.index(heading):].splitlines()[1:]
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return lines[start:end]


def test_readme_leaderboard_is_the_reports():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    report = (ROOT / "reports" / "wikiann-quick-en.md").read_text(encoding="utf-8")
    copied = _table_after(readme, "<!-- leaderboard:")
    generated = _table_after(report, "## Leaderboard")
    assert len(generated) >= 3
    assert copied == generated, "README.md's leaderboard differs from reports/wikiann-quick-en.md: copy it again"
