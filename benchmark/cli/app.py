"""The ``xbench`` command line: a thin layer, each command calls one library function.

Heavy libraries (torch, transformers, datasets) are imported inside commands so that
``xbench --help`` answers at once.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from benchmark import __version__
from benchmark.config import setting
from benchmark.errors import XbenchError

DATA_DIR_HELP = ("Folder of the task's data: panx ({train,dev,test}-<lang>.tsv), Rahimi (<lang>/{train,dev,test}), "
                 "conll (<lang>/{train,dev,test}.txt, space or tab) or hub-parquet layout, detected. Default: "
                 "$XBENCH_DATA_DIR, else data_dir in xbench.toml / [tool.xbench], else the Hugging Face Hub "
                 "(see xbench config).")
# Help text opening for the folder options that xbench config also resolves.
SETTING_DEFAULTS = {
    "results_dir": "[default: results, or $XBENCH_RESULTS_DIR, or results_dir in xbench.toml]",
    "reports_dir": "[default: reports, or $XBENCH_REPORTS_DIR, or reports_dir in xbench.toml]",
}


INTERRUPTED_HINT = "run the same command again to resume"


def interrupted_line(err: KeyboardInterrupt) -> str:
    """``xbench: interrupted (SIGTERM); <what was kept>; run the same command again to resume``."""
    from benchmark.signals import Stopped

    name = err.signal_name if isinstance(err, Stopped) else "SIGINT"
    kept = (err.kept if isinstance(err, Stopped) else None) or "finished work is saved"
    return f"xbench: interrupted ({name}); {kept}; {INTERRUPTED_HINT}"


def _exit_interrupted(err: KeyboardInterrupt):
    from benchmark.signals import ignore_stop_signals

    click.echo(interrupted_line(err), err=True)
    ignore_stop_signals()  # a second Ctrl-C during shutdown would print an atexit traceback
    sys.exit(130)


def write_crash_log(text: str) -> Path:
    """Save a traceback under the cache's ``logs`` folder (else the temp folder); returns the file."""
    import tempfile
    import time

    from benchmark.config import cache_root

    name = f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.txt"
    for folder in (cache_root() / "logs", Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text, encoding="utf-8")
            return folder / name
        except OSError:
            continue
    raise OSError("no folder to write the traceback to")


def _exit_unexpected(err: Exception):
    """The last guard: an error xbench did not foresee is one line and a saved traceback, status 1."""
    import traceback

    what = f"{type(err).__name__}: {str(err).strip().splitlines()[0][:300] if str(err).strip() else ''}".rstrip(": ")
    try:
        where = f"full traceback in {write_crash_log(traceback.format_exc())}"
    except OSError:
        where = "the traceback could not be saved"
    click.echo(f"xbench: unexpected error: {what} ({where}); please report it with that file", err=True)
    sys.exit(1)


class XbenchGroup(click.Group):
    """Turns XbenchError, and click's own usage errors, into one line on stderr and exit status 2;
    a stop signal into one line saying what was kept (status 130); anything else into one line
    naming the error and the file holding its traceback (status 1)."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        from benchmark.signals import stop_on_signals

        stop_on_signals()  # SIGTERM (timeout, kill, Slurm) stops as Ctrl-C does
        try:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.Abort:
            _exit_interrupted(KeyboardInterrupt())
        except click.ClickException as err:
            hint = f" (see: xbench {err.ctx.command_path.partition(' ')[2]} --help)".replace("  ", " ") \
                if getattr(err, "ctx", None) is not None else ""
            click.echo(f"xbench: error: {err.format_message()}{hint}", err=True)
            sys.exit(err.exit_code)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except XbenchError as err:
            click.echo(f"xbench: error: {err}", err=True)
            sys.exit(err.exit_code)
        except KeyboardInterrupt as err:
            _exit_interrupted(err)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as err:  # noqa: BLE001 - the last guard: no user sees a raw traceback
            _exit_unexpected(err)


@click.group(cls=XbenchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="xbench")
def cli():
    """xbench: cross-lingual transfer evaluation for named-entity recognition.

    Fine-tune encoders on a source language's training data (WikiANN, MasakhaNER 2.0, or any
    task in tasks/*.yaml), evaluate them zero-shot on every target language, import other
    systems' predictions, and compare them all with confidence intervals and significance tests
    corrected for testing many languages.
    """


class FiniteFloat(click.FloatRange):
    """A float option that refuses nan and infinities (click's FloatRange lets nan through)."""

    name = "finite float"

    def convert(self, value, param, ctx):
        import math

        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


task_option = click.option("--task", "task_name", default="wikiann", show_default=True,
                           help="Task defined in tasks/*.yaml.")
data_dir_option = click.option("--data-dir", type=click.Path(file_okay=False), default=None,
                               help=DATA_DIR_HELP)


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


def _set_progress(ctx, _param, value):
    """--no-progress: plain step lines even on a terminal; --quiet: neither bars nor lines."""
    from benchmark.progress import set_mode

    if value:
        set_mode("quiet" if _param.name == "quiet" else "lines")
    elif _param.name == "quiet" and not ctx.params.get("no_progress"):
        set_mode("auto")
    return value


def progress_options(command):
    """Progress on a terminal is bars; in a log (or with --no-progress) one line per finished step."""
    command = click.option("--quiet", "-q", is_flag=True, expose_value=False, callback=_set_progress,
                           help="No progress at all: only warnings, errors and the final table.")(command)
    return click.option("--no-progress", is_flag=True, expose_value=False, callback=_set_progress, is_eager=True,
                        help="Plain progress lines (one per finished step, and one every 30 s during long "
                             "steps) instead of bars; what a log or a cluster job's output gets anyway.")(command)


def _comma_list(_ctx, _param, value):
    return tuple(v.strip() for v in value.split(",") if v.strip()) if value else value


def grid_options(command):
    """The options that name a grid of units (models x seeds, sources, targets, recipe, folders):
    shared by ``run`` and ``status``, so the same words select the same grid."""
    options = [
        task_option,
        click.option("--source", default="en", show_default=True, callback=_comma_list,
                     help="Source language(s) to fine-tune on; several (en,de) train on their union."),
        click.option("--targets", default="all", show_default=True,
                     help="Target languages: codes (de,fr), a set (rahimi41, xtreme40, xtreme-r48, wikiann-all) "
                          "or all (every language with data at the source)."),
        click.option("--model", "--models", "models", default="me5-small", show_default=True,
                     callback=_comma_list,
                     help="Model(s), comma-separated: registered names (xbench models), <name>-random, "
                          "hub ids or local folders."),
        click.option("--recipe", default=None,
                     help="Training recipe from the task file (xtreme, the default, or quick)."),
        click.option("--seeds", default="1", show_default=True,
                     help="Seeds, e.g. 1,2,3 or 1-3: one fine-tune each (seeds 0 to 4294967295, at most 1000 per "
                          "command)."),
        click.option("--epochs", type=int, default=None, help="Override the recipe's epochs."),
        click.option("--lr", type=FiniteFloat(), default=None, help="Override the recipe's learning rate."),
        click.option("--batch-size", type=int, default=None,
                     help="Override the recipe's batch size (sentence windows)."),
        click.option("--max-length", type=int, default=None, help="Override the recipe's window in subwords; "
                     "longer sentences are split into several windows, never truncated."),
        click.option("--train-limit", type=int, default=None, help="Use the first N training sentences per source."),
        click.option("--dev-limit", type=int, default=None, help="Select the model on the first N dev sentences."),
        click.option("--eval-batch-size", type=int, default=None, help="Windows per evaluation batch."),
        click.option("--batching", type=click.Choice(["random", "length-grouped"]), default=None,
                     help="Override the recipe's training batches: random, or length-grouped (similar lengths "
                          "together, far less padding)."),
        click.option("--test-limit", type=int, default=None,
                     help="Evaluate on the first N test sentences of each target (a quick look; recorded)."),
        data_dir_option,
        click.option("--results-dir", type=click.Path(file_okay=False), default=None,
                     help=f"{SETTING_DEFAULTS['results_dir']} Where result files go."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _run_options(opts: dict, **more):
    """RunOptions from the grid options (and run's own), checked."""
    from pathlib import Path

    from benchmark.run.plan import RunOptions, parse_seeds

    if not opts["source"]:
        raise XbenchError("--source: give at least one language code")
    if not opts["models"]:
        raise XbenchError("--model: give at least one model")
    overrides = {k: opts[k] for k in ("epochs", "lr", "batch_size", "max_length", "train_limit", "dev_limit",
                                      "eval_batch_size", "batching")}
    return RunOptions(task=opts["task_name"], models=opts["models"], sources=opts["source"],
                      targets=opts["targets"], recipe=opts["recipe"], recipe_overrides=overrides,
                      seeds=parse_seeds(opts["seeds"]), data_dir=opts["data_dir"],
                      results_dir=Path(setting("results_dir", opts["results_dir"])), test_limit=opts["test_limit"],
                      **more)


def launch_options(command):
    """Where the units run: this process, this machine's GPUs side by side, or a Slurm job array."""
    options = [
        click.option("--launcher", type=click.Choice(["in-process", "local", "slurm"]), default="in-process",
                     show_default=True,
                     help="in-process: one unit (model x seed) after another here; local: --max-parallel units "
                          "at once on this machine, one GPU each; slurm: one Slurm job array, one job per unit "
                          "(see docs/cluster.md)."),
        click.option("--max-parallel", type=int, default=None,
                     help="local: units at once (default: the number of GPUs, else 1); each gets its own GPU "
                          "through CUDA_VISIBLE_DEVICES."),
        click.option("--job-dir", type=click.Path(file_okay=False), default=None,
                     help="local/slurm: folder for job logs and submission files (default: <results-dir>/jobs); "
                          "on a cluster it must be on storage the nodes share."),
        click.option("--no-wait", is_flag=True,
                     help="slurm: submit, print the job id and return; the same command later waits for the "
                          "jobs still queued and reruns only what failed."),
        click.option("--partition", default=None, help="slurm: partition (default: the cluster's default one)."),
        click.option("--gpus-per-job", type=click.IntRange(min=0), default=0, show_default=True,
                     help="slurm: GPUs per unit."),
        click.option("--cpus-per-job", type=click.IntRange(min=1), default=None,
                     help="slurm: CPUs per unit (default: the partition's)."),
        click.option("--mem", "mem_gb", type=click.FloatRange(min=0, min_open=True), default=None,
                     help="slurm: memory per unit in GB (default: the partition's)."),
        click.option("--time", "time_limit", default=None,
                     help="slurm: time limit per unit, minutes or [D-]HH:MM:SS (default: the partition's "
                          "default, else its maximum, else 3 days). A unit that reaches it saves a checkpoint "
                          "and is requeued."),
        click.option("--array-parallelism", type=int, default=None,
                     help="slurm: at most N units of the array running at once (sbatch --array=...%N)."),
        click.option("--account", default=None, help="slurm: account to charge."),
        click.option("--qos", default=None, help="slurm: quality of service."),
        click.option("--sbatch", "sbatch", multiple=True, metavar="KEY=VALUE",
                     help="slurm: any other sbatch option, repeatable: --sbatch constraint=a100 "
                          "--sbatch exclusive."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@cli.command("run")
@grid_options
@click.option("--bf16", type=click.Choice(["auto", "on", "off"]), default="auto", show_default=True,
              help="bf16 autocast: auto uses it on a GPU that supports it, and on a CPU when a measured "
                   "bf16 matmul is faster than fp32.")
@click.option("--device", default="auto", show_default=True,
              help="Where to train and evaluate: auto (a CUDA GPU if PyTorch sees one, else the CPU), "
                   "cpu, cuda or cuda:N.")
@click.option("--overwrite", type=click.Choice(["never", "only-missing", "always"]), default="only-missing",
              show_default=True, help="never: keep existing result files (and say which scores are stale); "
              "only-missing: compute what is missing, scores whose test data changed or whose predictions "
              "file is damaged, and resume interrupted training; always: recompute the result files, built "
              "beside the old ones and swapped in when complete (interrupted, the old result stays whole; "
              "the targets the old result holds beyond --targets are recomputed too, never dropped).")
@click.option("--checkpoint-every", type=FiniteFloat(min=0), default=300.0, show_default=True,
              help="Seconds between training checkpoints (also saved at every epoch end).")
@click.option("--name", "model_alias", default=None,
              help="Name of a local model folder on leaderboards and in result paths (default: the folder's "
                   "name plus the first 8 hex digits of its weights' sha256). Only with one --model.")
@click.option("--save-model", type=click.Path(file_okay=False), default=None,
              help="Keep each fine-tuned token classifier in this folder (Hugging Face format, loadable with "
                   "AutoModelForTokenClassification and pipeline), at <task>/<recipe>/<model>/<source>/seed-<n>; "
                   "its path and checksum go into the result. A finished run without a kept model is retrained "
                   "to keep it.")
@click.option("--dry-run", is_flag=True,
              help="Print what each (model, seed) will do, including a refusal it would meet, and stop.")
@progress_options
@launch_options
def run_command(bf16, device, overwrite, checkpoint_every, model_alias, save_model, dry_run, launcher,
                max_parallel, job_dir, no_wait, partition, gpus_per_job, cpus_per_job, mem_gb, time_limit,
                array_parallelism, account, qos, sbatch, **grid):
    """Fine-tune on the source language and evaluate zero-shot on every target language.

    Stores one result per (model, source, seed) with per-sentence predictions; rerunning the
    same command computes only what is missing and resumes interrupted training. Each
    (model, seed) is one unit of work: run here one after another, side by side on this
    machine's GPUs (--launcher local), or as a Slurm job array (--launcher slurm).
    """

    from benchmark.run.launch import LaunchOptions, run
    from benchmark.run.slurm import SlurmOptions

    options = _run_options(grid, overwrite=overwrite, bf16=bf16, device=device, checkpoint_every_s=checkpoint_every,
                           dry_run=dry_run, model_alias=model_alias,
                           save_model_dir=Path(save_model) if save_model else None)
    slurm = SlurmOptions(partition=partition, gpus_per_job=gpus_per_job, cpus_per_job=cpus_per_job, mem_gb=mem_gb,
                         time=time_limit, array_parallelism=array_parallelism, account=account, qos=qos,
                         sbatch=tuple(sbatch))
    run(options, LaunchOptions(launcher=launcher, max_parallel=max_parallel,
                               job_dir=Path(job_dir) if job_dir else None, wait=not no_wait, slurm=slurm))


@cli.command("evaluate")
@task_option
@click.option("--model", "model", required=True,
              help="A model that is already a token classifier: a local folder (e.g. one kept with "
                   "`xbench run --save-model`) or a Hugging Face Hub id.")
@click.option("--name", "model_alias", default=None,
              help="Name of a local model folder on leaderboards (default: the folder's name plus the first 8 hex "
                   "digits of its weights' sha256).")
@click.option("--source", default=None, callback=_comma_list,
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


@cli.command("import")
@click.option("--task", "task_name", required=True, help="Task whose gold test data the predictions are for "
              "(e.g. masakhaner2).")
@click.option("--system", required=True, help="Name of the system in reports (letters, digits, . _ + -).")
@click.option("--predictions", "pattern", default=None,
              help="Path pattern of the prediction files with {lang} and {seed}, e.g. "
                   "'out/{lang}_xlmr/test_predictions{seed}.txt.gz'. CoNLL 'word tag' lines (space or tab), "
                   "a blank line between sentences, plain or gzip.")
@click.option("--file", "explicit", type=(str, str, click.Path(dir_okay=False)), multiple=True,
              metavar="LANG SEED PATH", help="One prediction file, instead of --predictions (repeatable).")
@click.option("--languages", "languages_spec", default=None,
              help="Languages to expand {lang} over: codes or a set of the task (e.g. african20).")
@click.option("--seeds", default=None, help="Seeds to expand {seed} over, e.g. 1-5 or 1,3,4.")
@click.option("--published", "published_pattern", default=None,
              help="Optional pattern of the authors' printed scores per file (a line 'f1 = 0.86'), e.g. "
                   "'out/{lang}_xlmr/test_result{seed}.txt'; stored beside xbench's F1 and compared in reports.")
@click.option("--source", default="in-language", show_default=True,
              help="What the system was trained on: in-language (each language on its own training split) or "
                   "a source language code for zero-shot systems.")
@click.option("--pretrained-in", default=None,
              help="Pretraining corpus of the system as the task file names it (xlmr, mbert): marks languages "
                   "outside it in reports.")
@data_dir_option
@click.option("--results-dir", type=click.Path(file_okay=False), default=None,
              help=f"{SETTING_DEFAULTS['results_dir']} Files go to <task>/imported/<system>/<source>/seed-N.json.")
@click.option("--overwrite", is_flag=True, help="Replace an earlier import of other files for the same system "
              "and seed (the same files are always kept as they are).")
def import_command(task_name, system, pattern, explicit, languages_spec, seeds, published_pattern, source,
                   pretrained_in, data_dir, results_dir, overwrite):
    """Import another pipeline's test-set predictions as a system in the results store.

    Every file is checked against the task's gold test split before anything is written: the
    same number of sentences, tags among the task's labels. Sentences whose words equal the
    gold's are scored as they are; others are aligned word to word (characters where words are
    split or merged) and the predicted tags carried to the gold words; a sentence that cannot be
    aligned counts its gold entities as missed and its predicted ones as spurious. Prints, per
    file, how many sentences were exact, re-aligned and unalignable.
    """
    from pathlib import Path

    from benchmark.imported.importer import import_predictions
    from benchmark.run.plan import parse_seeds

    written = import_predictions(task_name, system, pattern, explicit, languages_spec,
                                 parse_seeds(seeds) if seeds else (), data_dir,
                                 Path(setting("results_dir", results_dir)), source=source,
                                 published_pattern=published_pattern, pretrained_in=pretrained_in,
                                 overwrite=overwrite, log=click.echo)
    for path in written:
        click.echo(f"wrote {path}")


@cli.command()
@grid_options
def status(**grid):
    """Where a grid stands: per unit (model x seed), targets done of all, the training step of its
    last checkpoint, and its job (queued, running, failed with its log and last error line).

    Takes the same options as xbench run; reads the results folder, xbench's cache and, for units
    submitted with --launcher slurm, the Slurm queue. Changes nothing.
    """
    from benchmark.commands.status import status_table

    click.echo(status_table(_run_options(grid)))


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


@cli.group("cache", invoke_without_command=True)
@click.pass_context
def cache_group(ctx):
    """Show what xbench's cache folder holds ($XBENCH_CACHE_DIR, else ~/.cache/xbench).

    Encoded test splits (tokenised once, read by every later run, seed and model that shares
    the tokenizer), converted offline models and checkpoints of unfinished trainings. With no
    subcommand: the same as `xbench cache show`.
    """
    if ctx.invoked_subcommand is None:
        from benchmark.commands.cache import cache_table

        click.echo(cache_table())


@cache_group.command("show")
def cache_show():
    """List the cache's parts with sizes, and every encoded split: language, split, window, size."""
    from benchmark.commands.cache import cache_table

    click.echo(cache_table())


@cache_group.command("clear")
@click.option("--what", "parts", type=click.Choice(["encoded", "models", "checkpoints", "all"]), multiple=True,
              default=("encoded",), show_default=True,
              help="What to remove (repeatable): encoded splits (rebuilt when next needed), converted models "
                   "(converted again when next needed), checkpoints (unfinished trainings start over), or all.")
@click.option("--yes", is_flag=True, help="Really remove it; without it, say what would be removed and stop.")
def cache_clear(parts, yes):
    """Remove parts of the cache. Do not clear models or checkpoints while a run is using them."""
    from benchmark.commands.cache import PARTS, clear_cache

    chosen = tuple(PARTS) if "all" in parts else tuple(dict.fromkeys(parts))
    click.echo(clear_cache(chosen, yes))


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


@cli.command()
@data_dir_option
@click.option("--model", "model_name", default="me5-small", show_default=True, help="Model to train and evaluate.")
@click.option("--train-sentences", type=click.IntRange(min=32), default=2000, show_default=True,
              help="English training sentences for both training loops.")
@click.option("--eval-sentences", type=click.IntRange(min=10), default=5000, show_default=True,
              help="German test sentences for both evaluations.")
@click.option("--epochs", type=click.IntRange(min=1), default=2, show_default=True, help="Training epochs.")
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True, help="Training batch size.")
@click.option("--lr", type=FiniteFloat(min=0, min_open=True), default=5e-5, show_default=True,
              help="Learning rate for both loops.")
@click.option("--resamples", type=click.IntRange(min=100), default=10_000, show_default=True,
              help="Bootstrap resamples in the statistics benchmark.")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of both training runs.")
@click.option("--parts", default="hardware,training,evaluation,statistics,scoring,grid", show_default=True,
              help="Which measurements, comma-separated: hardware, training, evaluation, statistics, scoring, grid.")
@click.option("--results-dir", type=click.Path(file_okay=False), default="results", show_default=True,
              help="Committed results whose prediction files the scoring part rescores.")
@click.option("--grid-targets", type=click.IntRange(min=1), default=53, show_default=True,
              help="Grid: targets of the unit (the first N languages with data).")
@click.option("--grid-train-limit", type=click.IntRange(min=32), default=None,
              help="Grid: training sentences (default: the quick recipe's 8,000).")
@click.option("--grid-dev-limit", type=click.IntRange(min=10), default=None,
              help="Grid: dev sentences for model selection (default: the quick recipe's 2,000).")
@click.option("--grid-test-limit", type=click.IntRange(min=1), default=None,
              help="Grid: test sentences per target (default: all).")
@click.option("--grid-second-model", default=None,
              help="Grid: the model evaluated with the cache warm (default: <model>-random, same tokenizer).")
@click.option("--grid-baseline", type=click.Path(file_okay=False, exists=True), default=None,
              help="Grid: a checkout of other xbench code (e.g. `git worktree add ../base main`) to run the same "
                   "unit with, for an end-to-end ratio and a byte-for-byte check of its prediction files.")
def bench(data_dir, model_name, train_sentences, eval_sentences, epochs, batch_size, lr, resamples, seed, parts,
          results_dir, grid_targets, grid_train_limit, grid_dev_limit, grid_test_limit, grid_second_model,
          grid_baseline):
    """Measure xbench against transformers' Trainer, seqeval, a naive bootstrap and older code, side by side.

    Needs `pip install accelerate` (Trainer's dependency) for the training and evaluation parts.
    Not part of the test suite: the first four parts take about 15 minutes on 2 CPU cores; the
    grid runs two or three whole units (with --grid-* limits, minutes; without, hours on a CPU).
    """
    import tempfile

    from benchmark.bench.parts import PARTS, GridSettings, run_bench

    chosen = tuple(p.strip() for p in parts.split(",") if p.strip())
    unknown = [p for p in chosen if p not in PARTS]
    if unknown or not chosen:
        raise XbenchError(f"--parts: unknown part {', '.join(unknown) or '(none)'}; choose from {', '.join(PARTS)}")
    grid = GridSettings(grid_targets, grid_train_limit, grid_dev_limit, grid_test_limit, grid_second_model,
                        Path(grid_baseline) if grid_baseline else None)
    with tempfile.TemporaryDirectory(prefix="xbench-bench-") as work:
        click.echo(run_bench(data_dir, model_name, train_sentences, eval_sentences, epochs, batch_size, lr, seed,
                             resamples, Path(work), log=lambda m: click.echo(m, err=True), parts=chosen,
                             results_dir=Path(results_dir), grid=grid))


def main():
    cli(prog_name="xbench")


if __name__ == "__main__":
    main()
