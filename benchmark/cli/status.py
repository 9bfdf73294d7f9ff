"""``xbench status``: where a grid of units stands (results, checkpoints, jobs); it takes the same
grid options as ``xbench run`` and changes nothing."""

from __future__ import annotations

import click

from benchmark.cli.group import cli
from benchmark.cli.options import grid_options, to_run_options


@cli.command()
@grid_options
def status(**grid):
    """Where a grid stands: per unit (model x seed), targets done of all, the training step of its
    last checkpoint, and its job (queued, running, failed with its log and last error line).

    Takes the same options as xbench run; reads the results folder, xbench's cache and, for units
    submitted with --launcher slurm, the Slurm queue. Changes nothing.
    """
    from benchmark.commands.status import status_table

    click.echo(status_table(to_run_options(grid)))
