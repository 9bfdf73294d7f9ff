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


@cli.command()
def models():
    """List the model registry: family, parameters, pretraining languages, availability here.

    Availability: installed (an offline package ships it), cached (in the Hugging Face cache),
    hub-only (needs the Hugging Face Hub). Any other hub id or local folder also works with
    --model, and <name>-random gives a registered architecture with random weights.
    """
    from benchmark.commands.models import models_table

    click.echo(models_table())


def _comma_list(_ctx, _param, value):
    return tuple(v.strip() for v in value.split(",") if v.strip()) if value else value


@cli.command("run")
@task_option
@click.option("--source", default="en", show_default=True, callback=_comma_list,
              help="Source language(s) to fine-tune on; several (en,de) train on their union.")
@click.option("--targets", default="all", show_default=True,
              help="Target languages: codes (de,fr), a set (rahimi41, xtreme40, xtreme-r48) or all "
                   "(every language with data at the source).")
@click.option("--model", "--models", "models", default="me5-small", show_default=True, callback=_comma_list,
              help="Model(s), comma-separated: registered names (xbench models), <name>-random, "
                   "hub ids or local folders.")
@click.option("--recipe", default=None, help="Training recipe from the task file (xtreme, the default, or quick).")
@click.option("--seeds", default="1", show_default=True, help="Seeds, e.g. 1,2,3 or 1-3: one fine-tune each.")
@click.option("--epochs", type=int, default=None, help="Override the recipe's epochs.")
@click.option("--lr", type=float, default=None, help="Override the recipe's learning rate.")
@click.option("--batch-size", type=int, default=None, help="Override the recipe's batch size (sentence windows).")
@click.option("--max-length", type=int, default=None, help="Override the recipe's window in subwords; "
              "longer sentences are split into several windows, never truncated.")
@click.option("--train-limit", type=int, default=None, help="Use the first N training sentences per source.")
@click.option("--dev-limit", type=int, default=None, help="Select the model on the first N dev sentences.")
@click.option("--eval-batch-size", type=int, default=None, help="Windows per evaluation batch.")
@click.option("--test-limit", type=int, default=None,
              help="Evaluate on the first N test sentences of each target (a quick look; recorded).")
@click.option("--bf16", type=click.Choice(["auto", "on", "off"]), default="auto", show_default=True,
              help="bf16 autocast: auto uses it when this CPU runs bf16 matmuls faster than fp32.")
@data_dir_option
@click.option("--results-dir", type=click.Path(file_okay=False), default="results", show_default=True,
              help="Where result files go.")
@click.option("--overwrite", type=click.Choice(["never", "only-missing", "always"]), default="only-missing",
              show_default=True, help="never: keep existing result files; only-missing: compute what is "
              "missing and resume interrupted training; always: recompute everything.")
@click.option("--checkpoint-every", type=float, default=300.0, show_default=True,
              help="Seconds between training checkpoints (also saved at every epoch end).")
@click.option("--dry-run", is_flag=True, help="Print the plan (models x seeds x targets) and stop.")
@click.option("--no-progress", is_flag=True, help="No progress bars (for logs).")
def run_command(task_name, source, targets, models, recipe, seeds, epochs, lr, batch_size, max_length,
                train_limit, dev_limit, eval_batch_size, test_limit, bf16, data_dir, results_dir, overwrite,
                checkpoint_every, dry_run, no_progress):
    """Fine-tune on the source language and evaluate zero-shot on every target language.

    Stores one result per (model, source, seed) with per-sentence predictions; rerunning the
    same command computes only what is missing and resumes interrupted training.
    """
    from pathlib import Path

    from benchmark.runner import RunOptions, parse_seeds, run

    if not source:
        raise XbenchError("--source: give at least one language code")
    if not models:
        raise XbenchError("--model: give at least one model")
    if checkpoint_every < 0:
        raise XbenchError(f"--checkpoint-every must be >= 0, got {checkpoint_every}")
    overrides = {"epochs": epochs, "lr": lr, "batch_size": batch_size, "max_length": max_length,
                 "train_limit": train_limit, "dev_limit": dev_limit, "eval_batch_size": eval_batch_size}
    run(RunOptions(task=task_name, models=models, sources=source, targets=targets, recipe=recipe,
                   recipe_overrides=overrides, seeds=parse_seeds(seeds), data_dir=data_dir,
                   results_dir=Path(results_dir), overwrite=overwrite, bf16=bf16, test_limit=test_limit,
                   checkpoint_every_s=checkpoint_every, dry_run=dry_run, show_progress=not no_progress))


def main():
    cli(prog_name="xbench")


if __name__ == "__main__":
    main()
