"""Options and option types that several commands share, so that the same words mean the same
thing everywhere: the data folder, the folder defaults, the grid of units (run, status), where
units run, progress, and a float that refuses nan."""

from __future__ import annotations

import click

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


def comma_list(_ctx, _param, value):
    """Click callback for a comma-separated option: "en, de" gives ("en", "de")."""
    return tuple(v.strip() for v in value.split(",") if v.strip()) if value else value


def grid_options(command):
    """The options that name a grid of units (models x seeds, sources, targets, recipe, folders):
    shared by ``run`` and ``status``, so the same words select the same grid."""
    options = [
        task_option,
        click.option("--source", default="en", show_default=True, callback=comma_list,
                     help="Source language(s) to fine-tune on; several (en,de) train on their union."),
        click.option("--targets", default="all", show_default=True,
                     help="Target languages: codes (de,fr), a set (rahimi41, xtreme40, xtreme-r48, wikiann-all) "
                          "or all (every language with data at the source)."),
        click.option("--model", "--models", "models", default="me5-small", show_default=True,
                     callback=comma_list,
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


def to_run_options(opts: dict, **more):
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
