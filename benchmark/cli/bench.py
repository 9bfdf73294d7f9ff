"""``xbench bench``: measure xbench against transformers' Trainer, seqeval, a naive bootstrap and
older code; not part of the test suite."""

from __future__ import annotations

from pathlib import Path

import click

from benchmark.cli.group import cli
from benchmark.cli.options import FiniteFloat, data_dir_option
from benchmark.errors import XbenchError


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
