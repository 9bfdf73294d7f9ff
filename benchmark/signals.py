"""Stop signals (Ctrl-C, SIGTERM) turned into one exception, held back where stopping would harm.

``timeout``, ``kill``, systemd and Slurm stop a process with SIGTERM; a terminal sends SIGINT.
Both are handled alike: outside a protected block they raise :class:`Stopped` (a
``KeyboardInterrupt``) at once; inside :func:`deferred_stop_signals` the first one is only noted,
so that a training step, a checkpoint or a result write completes, and a second one stops at once.
A launcher that needs another signal handled the same way (submitit's checkpoint signal, say)
calls ``stop_on_signals((SIGINT, SIGTERM, SIGUSR2))`` once; deferred blocks then hold it too.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stopped(KeyboardInterrupt):
    """A stop signal arrived; ``kept`` says what a rerun finds (the CLI prints it in one line)."""

    def __init__(self, signal_name: str = "SIGINT", kept: str | None = None):
        super().__init__(signal_name)
        self.signal_name = signal_name
        self.kept = kept


@dataclass
class StopRequest:
    """Set by a stop signal that arrived inside a deferred block."""

    requested: bool = False
    signal_name: str | None = None

    def stopped(self, kept: str | None = None) -> Stopped:
        return Stopped(self.signal_name or "SIGINT", kept)


_active: list[StopRequest] = []  # the deferred blocks now open, outermost first
_handled: list[int] = list(STOP_SIGNALS)  # what stop_on_signals installed: deferred blocks hold these


def _name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


# Set by every stop signal, for the threads that are not the main thread (where Python runs
# handlers): an evaluation's writer thread checks it before it writes another target.
_stop_seen = threading.Event()


def stop_requested() -> bool:
    """Whether a stop signal has arrived since this command (or evaluation) started."""
    return _stop_seen.is_set()


def forget_stop() -> None:
    """Start a new piece of work with no stop noted (a stop before it has already raised)."""
    _stop_seen.clear()


def _raise_stopped(signum, _frame):
    _stop_seen.set()
    raise Stopped(_name(signum))


def stop_on_signals(signals=STOP_SIGNALS) -> None:
    """Make each signal stop the process as Ctrl-C does (raise :class:`Stopped`); call once at start.

    Without this, SIGTERM ends Python with no cleanup and no message.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    _stop_seen.clear()  # a new command (in-process tests run several)
    _handled[:] = list(signals)
    for sig in signals:
        signal.signal(sig, _raise_stopped)


def ignore_stop_signals(signals=None) -> None:
    """Once the process has said it was interrupted and is exiting: a second Ctrl-C during the
    interpreter's shutdown would otherwise print an "Exception ignored in atexit" traceback."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in signals or tuple(_handled):
        signal.signal(sig, signal.SIG_IGN)


@contextmanager
def deferred_stop_signals(signals=None) -> Iterator[StopRequest]:
    """Hold stop signals back during a block that must not be cut in the middle.

    ``signals``: default, those :func:`stop_on_signals` made stop signals (SIGINT and SIGTERM
    unless a launcher added its own).

    The first signal sets ``request.requested``; code that can stop early (a training loop)
    polls it at safe points and raises ``request.stopped(kept=...)`` itself. A second signal
    raises :class:`Stopped` at once. A block that ends with a stop noted raises
    :class:`Stopped` on the way out, unless it is nested in another deferred block, which then
    owns the request (a checkpoint write inside training stops at the training's next safe point).
    """
    nested = bool(_active)
    request = _active[0] if nested else StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return
    signals = signals or tuple(_handled)
    previous = {sig: signal.getsignal(sig) for sig in signals}

    def note(signum, _frame):
        _stop_seen.set()
        if request.requested:
            raise Stopped(_name(signum))
        request.requested, request.signal_name = True, _name(signum)

    for sig in signals:
        signal.signal(sig, note)
    _active.append(request)
    try:
        yield request
    finally:
        _active.pop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if request.requested and not nested:
        raise request.stopped()
