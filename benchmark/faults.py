"""Named points where a test can kill or stop xbench, to prove that a rerun loses nothing.

``XBENCH_FAULT=<point>[@<n>][:<signal>]`` makes the process send itself a signal the n-th time
(default: first) it reaches ``<point>``. The default, ``KILL``, is SIGKILL: no cleanup, no
``finally``, as when a machine dies. ``TERM`` or ``INT`` is what ``timeout``, Slurm or Ctrl-C
send: xbench then stops at its next safe point and says what it kept. Unset (always, outside
tests), a fault point costs one dictionary look-up.

Points: ``tokenise`` (before encoding the training data), ``train-step`` (after an optimizer
step), ``checkpoint-write`` (checkpoint written to its temporary file, not yet renamed),
``evaluate`` (a target predicted, nothing of it written), ``result-write`` (a result file
written to its temporary file, not yet renamed), ``replace`` (a replacement result complete
beside the old one, not yet swapped in).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter

ENV = "XBENCH_FAULT"
POINTS = ("tokenise", "train-step", "checkpoint-write", "evaluate", "result-write", "replace")
_reached: Counter = Counter()


def fault_point(name: str) -> None:
    spec = os.environ.get(ENV)
    if not spec:
        return
    spec, _, signal_name = spec.partition(":")
    point, _, nth = spec.partition("@")
    if point != name:
        return
    _reached[name] += 1
    if _reached[name] == int(nth or 1):
        os.kill(os.getpid(), getattr(signal, f"SIG{signal_name or 'KILL'}"))
        if threading.current_thread() is not threading.main_thread():
            # Python runs the handler in the main thread, a little later: wait for it, so that the
            # signal has arrived at exactly this point, as the fault point promises.
            from benchmark.signals import stop_requested

            deadline = time.monotonic() + 10
            while not stop_requested() and time.monotonic() < deadline:
                time.sleep(0.005)
