"""``xbench report``'s files: for each report group the markdown with its pictures, and the tables
as csv, json or parquet when asked.

The only module of the report that writes: it runs the analysis once per group and hands the same
rows to every format.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from benchmark.data.tasks import get_task
from benchmark.errors import XbenchError
from benchmark.report.analysis import analyse
from benchmark.report.groups import load_groups, mark_stale
from benchmark.report.markdown import render_markdown
from benchmark.report.reference import default_reference, read_reference
from benchmark.report.tables import LONG_FIELDS, PAIR_FIELDS, language_rows, leaderboard_rows, long_rows, pair_rows
from benchmark.stats.intervals import METHOD


def write_reports(results_dir: Path, reports_dir: Path, formats: tuple[str, ...], n_resamples: int, seed: int,
                  alpha: float, reference_path: Path | None = None, data_dir: Path | None = None,
                  reference_required: bool = False) -> list[Path]:
    """``reference_path`` (a CSV given on the command line) is shown beside every report; without it
    a report shows the reference its task file names, if any."""
    from benchmark.report.charts import render_pictures

    given = read_reference(reference_path, required=reference_required) if reference_path else None
    written = []
    for group in load_groups(results_dir):
        mark_stale(group, data_dir)
        declared = get_task(group.task).reference
        reference = given if given is not None else (
            read_reference(default_reference(declared)) if declared else {})
        an = analyse(group, n_resamples, seed, alpha)
        stem = f"{group.task}-{group.recipe}-{group.source}" if group.source else f"{group.task}-{group.recipe}"
        reports_dir.mkdir(parents=True, exist_ok=True)
        # Rows hold full precision, so that the markdown rounds once (as the findings do); the
        # files round F1 figures to 2 decimals.
        tables = {"leaderboard": _rounded(leaderboard_rows(an)), "languages": _rounded(language_rows(an, reference)),
                  "pairs": _rounded(pair_rows(an))}
        if "md" in formats:
            pictures = render_pictures(an, reports_dir, stem)
            for name in pictures.values():
                written += [reports_dir / f"{name}.png", reports_dir / f"{name}.svg"]
            (reports_dir / f"{stem}.md").write_text(render_markdown(an, reference, pictures), encoding="utf-8")
            written.insert(0, reports_dir / f"{stem}.md")
        long = long_rows(group)
        if "json" in formats:
            payload = {"task": group.task, "recipe": group.recipe, "source": group.source, "languages": an.languages,
                       "zero_shot": an.zero_shot, "in_language": an.in_language, "missing": an.missing,
                       "interval_method": METHOD, **tables}
            if group.stale:
                payload["stale"] = {f"{m} seed {seed}": langs for (m, seed), langs in sorted(group.stale.items())}
            (reports_dir / f"{stem}.json").write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n",
                                                      encoding="utf-8")
            (reports_dir / f"{stem}-scores.json").write_text(json.dumps(long, indent=0, ensure_ascii=False) + "\n",
                                                             encoding="utf-8")
            written += [reports_dir / f"{stem}.json", reports_dir / f"{stem}-scores.json"]
        if "csv" in formats:
            fields = {"pairs": PAIR_FIELDS}
            for name, rows in tables.items():
                path = reports_dir / f"{stem}-{name}.csv"
                path.write_text(_csv(rows, fields.get(name)), encoding="utf-8")
                written.append(path)
            (reports_dir / f"{stem}-scores.csv").write_text(_csv(long, LONG_FIELDS), encoding="utf-8")
            written.append(reports_dir / f"{stem}-scores.csv")
        if "parquet" in formats:
            written.append(_write_parquet(long, reports_dir / f"{stem}-scores.parquet"))
    return written


def _write_parquet(rows: list[dict], path: Path) -> Path:
    try:
        import pandas as pd
    except ImportError:
        raise XbenchError("--format parquet needs pandas and pyarrow (pip install pandas pyarrow)") from None
    frame = pd.DataFrame(rows, columns=LONG_FIELDS)
    try:
        frame.to_parquet(path, index=False)
    except ImportError as err:
        raise XbenchError(f"--format parquet: {err}") from None
    return path


def _rounded(rows: list[dict]) -> list[dict]:
    """F1 figures (in %) to 2 decimals for the csv/json files; p-values and counts as they are."""
    keep = ("p", "p_holm", "wilcoxon_p", "aso_eps_min")
    return [{k: round(v, 2) if isinstance(v, float) and k not in keep else v for k, v in row.items()}
            for row in rows]


def _csv(rows: list[dict], fieldnames: list[str] | None = None) -> str:
    """CSV with a header line, also when there are no rows (pandas reads it as an empty table)."""
    fieldnames = fieldnames or (list(rows[0]) if rows else [])
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fieldnames, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
