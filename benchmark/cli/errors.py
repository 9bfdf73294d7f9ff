"""``xbench errors``: what a model gets wrong on one language, read from its stored predictions
and the gold test split."""

from __future__ import annotations

import click

from benchmark.cli.group import cli
from benchmark.cli.options import SETTING_DEFAULTS, data_dir_option
from benchmark.config import setting


@cli.command()
@click.option("--model", "model_name", required=True, help="Model whose stored predictions to analyse.")
@click.option("--target", required=True, help="Target language code.")
@click.option("--results-dir", type=click.Path(file_okay=False), default=None,
              help=f"{SETTING_DEFAULTS['results_dir']} Folder of result files.")
@data_dir_option
@click.option("--task", "task_name", default=None, help="Only results of this task (when the model has several).")
@click.option("--recipe", default=None, help="Only results under this recipe key (quick, xtreme, as-given, ...).")
@click.option("--source", default=None, help="Only runs from this source (e.g. en, or de+en).")
@click.option("--seed", type=int, default=None, help="Which seed's predictions (default: the lowest seed).")
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True,
              help="Entries per list of frequent errors.")
@click.option("--examples", type=click.IntRange(min=0), default=3, show_default=True,
              help="Example sentences to show, most errors first.")
def errors(model_name, target, results_dir, data_dir, task_name, recipe, source, seed, top, examples):
    """What a model gets wrong on one language: missed, spurious, mis-typed and mis-bounded entities.

    Reads the stored per-word predictions of a result and the test split's gold tags from the
    data (checked against the checksum the result recorded); lists the most frequent errors with
    their words and a few example sentences with gold and predicted entities in brackets.
    """
    from pathlib import Path

    from benchmark.report.error_analysis import error_report

    click.echo(error_report(Path(setting("results_dir", results_dir)), model_name, target, data_dir, task_name,
                            recipe, source, seed, top, examples))
