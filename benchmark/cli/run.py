"""``xbench run``: fine-tune and evaluate a grid of units (models x seeds), here, side by side on
this machine's GPUs or as a Slurm job array."""

from __future__ import annotations

from pathlib import Path

import click

from benchmark.cli.group import cli
from benchmark.cli.options import FiniteFloat, grid_options, launch_options, progress_options, to_run_options


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

    options = to_run_options(grid, overwrite=overwrite, bf16=bf16, device=device, checkpoint_every_s=checkpoint_every,
                             dry_run=dry_run, model_alias=model_alias,
                             save_model_dir=Path(save_model) if save_model else None)
    slurm = SlurmOptions(partition=partition, gpus_per_job=gpus_per_job, cpus_per_job=cpus_per_job, mem_gb=mem_gb,
                         time=time_limit, array_parallelism=array_parallelism, account=account, qos=qos,
                         sbatch=tuple(sbatch))
    run(options, LaunchOptions(launcher=launcher, max_parallel=max_parallel,
                               job_dir=Path(job_dir) if job_dir else None, wait=not no_wait, slurm=slurm))
