"""The commands that show what xbench knows and has at hand, and change nothing: the languages of a
task, a check of its data files, the settings in force and the model registry."""

from __future__ import annotations

import click

from benchmark.cli.group import cli
from benchmark.cli.options import data_dir_option, task_option
from benchmark.errors import XbenchError


@cli.command()
@task_option
@click.option("--set", "language_set", default="all", show_default=True,
              help="Language set of the task (wikiann: rahimi41, xtreme40, xtreme-r48, wikiann-all; masakhaner2: "
                   "african20; masakhaner2-transfer: african20, transfer40; all: every language with data at the "
                   "source) or comma-separated codes.")
@data_dir_option
def languages(task_name, language_set, data_dir):
    """List a language set: name, script, sentences per split, and whether data is present."""
    from benchmark.commands.languages import languages_table

    click.echo(languages_table(task_name, language_set, data_dir))


@cli.group()
def data():
    """Inspect and validate task data."""


@data.command("check")
@task_option
@click.option("--languages", "language_spec", default="all", show_default=True,
              help="Languages to check: codes, a set name, or all.")
@data_dir_option
def data_check(task_name, language_spec, data_dir):
    """Validate every file of a source; print sentences, words, entities per type and scheme breaks.

    Stops at the first malformed line with its file, line number and value (exit status 2).
    """
    from benchmark.commands.languages import data_check_table

    click.echo(data_check_table(task_name, language_spec, data_dir))


@cli.command("config")
def config_command():
    """Show the settings in force (data, results, reports and cache folders) and where each comes from.

    Precedence: command-line flag > environment variable > project file (xbench.toml, or
    [tool.xbench] in pyproject.toml, the nearest from the working folder upward) > default.
    Relative paths in a project file are relative to its folder.
    """
    from benchmark.config import config_table

    click.echo(config_table())


@cli.command()
@click.option("--download", is_flag=True,
              help="Fetch the NAMEd models into the Hugging Face cache now (hub models; offline ones are built "
                   "into xbench's cache), for machines or cluster nodes that have no internet later.")
@click.argument("names", nargs=-1)
def models(download, names):
    """List the model registry: family, parameters, pretraining languages, availability here.

    Availability: installed (an offline package ships it), cached (in the Hugging Face cache),
    hub-only (needs the Hugging Face Hub). Any other hub id or local folder also works with
    --model, and <name>-random gives a registered architecture with random weights.

    With --download NAME...: fetch those models once (registered names or hub ids), so that
    jobs load them from the cache only (xbench's Slurm and local jobs never reach the Hub).
    """
    if names and not download:
        raise XbenchError(f"xbench models takes model names only with --download (got {' '.join(names)})")
    if download and not names:
        raise XbenchError("--download: name the models to fetch, e.g. xbench models --download xlmr-base mbert")
    if download:
        from benchmark.commands.models import download_models

        for line in download_models(names):
            click.echo(line)
        return
    from benchmark.commands.models import models_table

    click.echo(models_table())
