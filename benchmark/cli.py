"""The ``xbench`` command line: a thin layer, each command calls one library function.

Heavy libraries (torch, transformers, datasets) are imported inside commands so that
``xbench --help`` answers at once.
"""

from __future__ import annotations

import sys

import click

from benchmark import __version__
from benchmark.errors import XbenchError

DATA_DIR_HELP = ("Folder of WikiANN files (panx, Rahimi or hub-parquet layout, detected). "
                 "Default: $XBENCH_DATA_DIR, else the Hugging Face Hub.")


class XbenchGroup(click.Group):
    """Turns XbenchError into one line on stderr and exit status 2, without a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except XbenchError as err:
            click.echo(f"xbench: error: {err}", err=True)
            sys.exit(err.exit_code)
        except KeyboardInterrupt:
            click.echo("xbench: interrupted; finished work is saved, run the same command again to resume",
                       err=True)
            sys.exit(130)


@click.group(cls=XbenchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="xbench")
def cli():
    """xbench: cross-lingual transfer evaluation for named-entity recognition.

    Fine-tune encoders on a source language's WikiANN training data, evaluate them zero-shot
    on every target language, and compare them with confidence intervals and significance
    tests corrected for testing many languages.
    """


task_option = click.option("--task", "task_name", default="wikiann", show_default=True,
                           help="Task defined in tasks/*.yaml.")
data_dir_option = click.option("--data-dir", type=click.Path(file_okay=False), default=None,
                               help=DATA_DIR_HELP)


@cli.command()
@task_option
@click.option("--set", "language_set", default="all", show_default=True,
              help="Language set (rahimi41, xtreme40, xtreme-r48, all) or comma-separated codes.")
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


def main():
    cli(prog_name="xbench")


if __name__ == "__main__":
    main()
