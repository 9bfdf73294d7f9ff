"""``xbench report`` and ``xbench compare``: leaderboards with confidence intervals, and two models
side by side, both from the results folder alone."""

from __future__ import annotations

from pathlib import Path

import click

from benchmark.cli.group import cli
from benchmark.cli.options import SETTING_DEFAULTS, FiniteFloat, progress_options
from benchmark.config import setting
from benchmark.errors import XbenchError


@cli.command()
@click.option("--results-dir", type=click.Path(file_okay=False), default=None,
              help=f"{SETTING_DEFAULTS['results_dir']} Folder of result files written by xbench run (read only).")
@click.option("--reports-dir", type=click.Path(file_okay=False), default=None,
              help=f"{SETTING_DEFAULTS['reports_dir']} Where reports go: <task>-<recipe>-<source>.md with its "
                   "pictures (PNG and SVG), and csv/json/parquet tables if asked.")
@click.option("--format", "formats", default="md", show_default=True,
              help="Comma-separated outputs: md (markdown with PNG and SVG pictures), csv, json (tables and the "
                   "long per-seed, per-type scores), parquet (the long scores, through pandas).")
@click.option("--resamples", type=click.IntRange(min=100), default=10_000, show_default=True,
              help="Bootstrap resamples for every interval and test.")
@click.option("--alpha", type=FiniteFloat(0, 1, min_open=True, max_open=True), default=0.05,
              show_default=True, help="Significance level, after Holm-Bonferroni correction.")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True,
              help="Seed of the bootstrap draws.")
@click.option("--reference", type=click.Path(dir_okay=False), default=None,
              help="CSV of published English-to-X F1 (lang,en_to_x); default: Rahimi et al. 2019 from "
                   "../shared/reference/rahimi2019.csv or $XBENCH_REFERENCE.")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="Data to check stored scores against: a score whose test data changed since it was "
                   "computed is marked stale (‡). Default: the local folder each result was computed from "
                   "(no check where there is none).")
@progress_options
def report(results_dir, reports_dir, formats, resamples, alpha, seed, reference, data_dir):
    """Write leaderboards with confidence intervals and corrected significance tests.

    Needs only the results folder (and, to mark stale scores, the data if it is at hand). One
    report per (task, recipe, source), named <task>-<recipe>-<source>; models evaluated as given
    form their own (as-given) report. The headline is the zero-shot average (the source language's
    own split is in-language and kept apart), beside the XTREME-style average that includes it.
    Intervals combine the spread over seeds with the sentence bootstrap (docs/statistics.md).
    Progress shows on stderr. A damaged result or predictions file is skipped with one line that
    says how to recompute it; the report goes on with the rest.
    """
    from benchmark.folders import check_writable_folder
    from benchmark.report.reference import read_reference
    from benchmark.report.write import write_reports

    chosen = tuple(f.strip() for f in formats.split(",") if f.strip())
    unknown = [f for f in chosen if f not in ("md", "csv", "json", "parquet")]
    if unknown or not chosen:
        raise XbenchError(f"--format: unknown output {', '.join(unknown) or '(none)'}; "
                          "choose from md, csv, json, parquet")
    reports_dir = setting("reports_dir", reports_dir)
    check_writable_folder(Path(reports_dir), "reports folder", "pass another --reports-dir")
    if reference:
        read_reference(Path(reference), required=True)  # a bad file given by hand stops before any work
    written = write_reports(Path(setting("results_dir", results_dir)), Path(reports_dir), chosen, resamples, seed,
                            alpha, Path(reference) if reference else None,
                            data_dir=Path(data_dir) if data_dir else None, reference_required=bool(reference))
    for path in written:
        click.echo(f"wrote {path}")


@cli.command()
@click.argument("model_a")
@click.argument("model_b")
@click.option("--results-dir", type=click.Path(file_okay=False), default=None,
              help=f"{SETTING_DEFAULTS['results_dir']} Folder of result files.")
@click.option("--task", "task_name", default=None, help="Only this task (default: every task with both models).")
@click.option("--source", default=None, help="Only runs from this source (e.g. en, or de+en).")
@click.option("--resamples", type=click.IntRange(min=100), default=10_000, show_default=True,
              help="Bootstrap resamples.")
@click.option("--alpha", type=FiniteFloat(0, 1, min_open=True, max_open=True), default=0.05,
              show_default=True, help="Significance level, after Holm-Bonferroni correction across languages.")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True,
              help="Seed of the bootstrap draws.")
@progress_options
def compare(model_a, model_b, results_dir, task_name, source, resamples, alpha, seed):
    """Compare two models language by language: difference, CI, raw and Holm-corrected p.

    Ends with the count "A better on K of L languages" at the corrected level.
    """

    from benchmark.report.compare import compare_table

    click.echo(compare_table(Path(setting("results_dir", results_dir)), model_a, model_b, task_name, source,
                             resamples, seed, alpha))
