"""The command line split over benchmark/cli/: every command module registers its commands on the
one ``cli`` group (a module app.py forgot to import would silently drop its commands), and
loading the command line imports no heavy library, so that ``xbench --help`` answers at once."""

import os
import subprocess
import sys
from pathlib import Path

from benchmark.cli import cli

CLI_FOLDER = Path(__file__).resolve().parents[1] / "benchmark" / "cli"
# The modules of benchmark/cli/ that hold no command.
NOT_COMMANDS = {"__init__", "__main__", "app", "group", "options"}


def test_every_command_module_registers_on_the_one_group():
    command_modules = {f"benchmark.cli.{p.stem}" for p in CLI_FOLDER.glob("*.py") if p.stem not in NOT_COMMANDS}
    registered = {command.callback.__module__ for command in cli.commands.values()}
    assert registered == command_modules


def test_loading_the_command_line_imports_no_heavy_library():
    code = "import sys, benchmark.cli; print(sorted({'torch', 'transformers', 'datasets', 'numpy'} & set(sys.modules)))"
    env = dict(os.environ, PYTHONPATH=str(CLI_FOLDER.parents[1]))
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert loaded.stdout.strip() == "[]"
