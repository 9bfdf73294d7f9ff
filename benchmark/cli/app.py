"""The ``xbench`` command line: a thin layer, each command calls one library function.

This module assembles it: the root group (benchmark/cli/group.py) gets its commands by the
import of each command module, one per command or family, over the options they share
(benchmark/cli/options.py). Heavy libraries (torch, transformers, datasets) are imported inside
commands so that ``xbench --help`` answers at once.
"""

from __future__ import annotations

# Importing a command module registers its commands on cli.
from benchmark.cli import bench, cache, catalogue, errors, evaluate, import_, report, run, status  # noqa: F401
from benchmark.cli.group import cli


def main():
    cli(prog_name="xbench")


if __name__ == "__main__":
    main()
