"""Where a run's time goes: seconds per phase, added up across the threads that do the work.

The evaluation pipeline reads and tokenises, runs forward passes, and scores and writes in
different threads at once, so the phases of one run can add up to more than its wall time;
``xbench bench`` prints both. One process-wide clock, reset by whoever measures.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from contextlib import contextmanager

PHASES = ("training", "tokenising", "forward", "scoring", "writing")
WALL = ("evaluation",)  # wall time of whole stages, beside the per-phase sums


class PhaseClock:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def phase(self, name: str):
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - started)

    def add(self, name: str, seconds: float) -> None:
        with self._lock:
            self._seconds[name] += seconds

    def reset(self) -> None:
        with self._lock:
            self._seconds.clear()

    def snapshot(self) -> dict[str, float]:
        with self._lock:
            return {name: self._seconds.get(name, 0.0) for name in PHASES + WALL}


CLOCK = PhaseClock()
