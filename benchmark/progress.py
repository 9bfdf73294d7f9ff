"""Progress that tells the truth, on a terminal and in a log.

On a terminal: tqdm bars with rates and an ETA. Anywhere else (a redirected log, a Slurm job's
output file, ``--no-progress``): one plain line per finished step and, during long steps, at
most one line every ``LINE_EVERY_S`` seconds, never carriage-return fragments. ``--quiet``
turns both off; warnings, errors and the final tables are printed regardless.
"""

from __future__ import annotations

import sys
import time

LINE_EVERY_S = 30.0
MODES = ("auto", "bars", "lines", "quiet")
_mode = "auto"


def say(message: str = "") -> None:
    """One line for the user on stderr (what was done, kept or refused), whatever the progress
    mode: the results tables go to stdout, everything a person reads along the way here."""
    import click

    click.echo(message, err=True)


def set_mode(mode: str) -> None:
    """``auto`` (bars on a terminal, lines elsewhere), ``bars``, ``lines`` or ``quiet``."""
    global _mode
    if mode not in MODES:
        raise ValueError(mode)
    _mode = mode


def current_mode() -> str:
    if _mode != "auto":
        return _mode
    return "bars" if sys.stderr.isatty() else "lines"


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"


class LineProgress:
    """tqdm's interface, as plain lines: ``desc: 120/500 steps (24%), 2.1 steps/s, ETA 3m01s``."""

    def __init__(self, total: float | None, desc: str, unit: str, initial: float = 0, quiet: bool = False,
                 every_s: float = LINE_EVERY_S, stream=None):
        self.total, self.desc, self.unit, self.n = total, desc, unit, initial
        self.quiet, self.every_s = quiet, every_s
        self.stream = stream or sys.stderr
        self.started = self.last_line = time.perf_counter()
        self.start_n = initial
        self.postfix = ""
        self.closed = False

    def _print(self, text: str) -> None:
        if not self.quiet:
            print(text, file=self.stream, flush=True)

    def status(self) -> str:
        elapsed = time.perf_counter() - self.started
        rate = (self.n - self.start_n) / elapsed if elapsed > 0 else 0.0
        done = f"{self.n:,.0f}" + (f"/{self.total:,.0f} {self.unit}" if self.total else f" {self.unit}")
        if self.total:
            done += f" ({100 * self.n / self.total:.0f}%)"
        text = f"{self.desc}: {done}, {rate:.1f} {self.unit}/s"
        if self.total and rate > 0 and self.n < self.total:
            text += f", ETA {_duration((self.total - self.n) / rate)}"
        return text + (f", {self.postfix}" if self.postfix else "")

    def update(self, n: float = 1) -> None:
        self.n += n
        if time.perf_counter() - self.last_line >= self.every_s and (not self.total or self.n < self.total):
            self._print(self.status())
            self.last_line = time.perf_counter()

    def set_postfix(self, ordered_dict=None, refresh=True, **kwargs) -> None:
        items = {**(ordered_dict or {}), **kwargs}
        self.postfix = ", ".join(f"{k} {v}" for k, v in items.items())

    def set_postfix_str(self, text: str = "", refresh=True) -> None:
        self.postfix = text

    def set_description(self, desc: str, refresh=True) -> None:
        self.desc = desc

    def write(self, text: str, file=None) -> None:
        self._print(text)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._print(f"{self.desc}: done, {self.n:,.0f} {self.unit} in "
                        f"{_duration(time.perf_counter() - self.started)}")

    def __iter__(self):  # pragma: no cover - xbench drives its bars by hand
        raise TypeError("LineProgress is updated by hand")


def progress(total: float | None, desc: str, unit: str, initial: float = 0, enabled: bool = True, leave=True):
    """A bar on a terminal, lines elsewhere, nothing when quiet or ``enabled`` is False."""
    mode = current_mode() if enabled else "quiet"
    if mode == "bars":
        from tqdm import tqdm

        return tqdm(total=total, desc=desc, unit=unit, initial=initial, dynamic_ncols=True, leave=leave)
    return LineProgress(total, desc, unit, initial=initial, quiet=mode == "quiet")
