"""``xbench evaluate``: score a model that is already a token classifier, as given, on every target
language; nothing is trained."""

from __future__ import annotations

import click

from benchmark.cli.group import cli
from benchmark.cli.options import SETTING_DEFAULTS, comma_list, data_dir_option, progress_options, task_option
from benchmark.config import setting


@cli.command("evaluate")
@task_option
@click.option("--model", "model", required=True,
              help="A model that is already a token classifier: a local folder (e.g. one kept with "
                   "`xbench run --save-model`) or a Hugging Face Hub id.")
@click.option("--name", "model_alias", default=None,
              help="Name of a local model folder on leaderboards (default: the folder's name plus the first 8 hex "
                   "digits of its weights' sha256).")
@click.option("--source", default=None, callback=comma_list,
              help="Language(s) the model was fine-tuned on (default: what a model kept by xbench records; "
                   "required otherwise). Only labels the result: nothing is trained.")
@click.option("--targets", default="all", show_default=True,
              help="Target languages: codes (de,fr), a set (xbench languages) or all.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Which fine-tune of the model this is, when you evaluate several (seed-N in the result path).")
@click.option("--max-length", type=int, default=None,
              help="Window in subwords (default: the kept model's recipe, else 128); longer sentences are split "
                   "into several windows, never truncated.")
@click.option("--eval-batch-size", type=int, default=None,
              help="Windows per batch (default: the kept model's recipe, else 128).")
@click.option("--test-limit", type=int, default=None,
              help="Evaluate on the first N test sentences of each target (a quick look; recorded).")
@click.option("--bf16", type=click.Choice(["auto", "on", "off"]), default="auto", show_default=True,
              help="bf16 autocast, as for xbench run.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@data_dir_option
@click.option("--results-dir", type=click.Path(file_okay=False), default=None,
              help=f"{SETTING_DEFAULTS['results_dir']} Where result files go (under <task>/as-given/).")
@click.option("--overwrite", type=click.Choice(["never", "only-missing", "always"]), default="only-missing",
              show_default=True, help="As for xbench run.")
@progress_options
def evaluate_command(task_name, model, model_alias, source, targets, seed, max_length, eval_batch_size, test_limit,
                     bf16, device, data_dir, results_dir, overwrite):
    """Evaluate a fine-tuned token classifier as given, zero-shot on every target; no training.

    Its labels are mapped onto the task's (B-PER, PER, S-LOC, B-PERSON, ... ; types the task lacks
    are predicted as O and listed). Results go into the same store and leaderboards, under the
    recipe key as-given.
    """
    from pathlib import Path

    from benchmark.run.given import EvaluateOptions, evaluate_as_given

    evaluate_as_given(EvaluateOptions(
        model=model, task=task_name, sources=source or None, targets=targets, seed=seed, model_alias=model_alias,
        data_dir=data_dir, results_dir=Path(setting("results_dir", results_dir)), overwrite=overwrite,
        max_length=max_length,
        eval_batch_size=eval_batch_size, test_limit=test_limit, bf16=bf16, device=device))
