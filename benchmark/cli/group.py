"""The root ``xbench`` click group, and what it makes of failures: an XbenchError or a usage
error is one line and status 2, a stop signal one line saying what was kept (130), anything else
one line naming the error and the file holding its traceback (1). The commands register on
``cli`` from their own modules (benchmark/cli/app.py imports them all)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from benchmark import __version__
from benchmark.errors import XbenchError

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
