"""Named points where a test can kill xbench, to prove that a rerun loses nothing.

``XBENCH_FAULT=<point>[@<n>]`` makes the process SIGKILL itself the n-th time (default: first)
it reaches ``<point>``: no cleanup, no ``finally``, as when a machine dies. Unset (always, outside
tests), a fault point costs one dictionary look-up.

Points: ``tokenise`` (before encoding the training data), ``train-step`` (after an optimizer
step), ``checkpoint-write`` (checkpoint written to its temporary file, not yet renamed),
``evaluate`` (a target predicted, nothing of it written), ``result-write`` (a result file
written to its temporary file, not yet renamed).
"""

from __future__ import annotations

import os
import signal
from collections import Counter

ENV = "XBENCH_FAULT"
_reached: Counter = Counter()


def fault_point(name: str) -> None:
    spec = os.environ.get(ENV)
    if not spec:
        return
    point, _, nth = spec.partition("@")
    if point != name:
        return
    _reached[name] += 1
    if _reached[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
