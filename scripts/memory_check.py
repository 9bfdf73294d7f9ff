"""Memory over a long run: evaluate many targets in a row and sample the process's memory.

Runs `xbench run` as a child process and reads its resident set size from /proc while it
works; prints the RSS after each finished target and the peak (VmHWM). Usage:

    python scripts/memory_check.py --model me5-small --targets all --data-dir ../shared/wikiann \
        [--test-limit 2000] [any other xbench run option]

A tiny model built on the fly is used when --model is `tiny`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


def rss_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in KiB."""
    values = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":")
                values[key] = int(value.split()[0])
    return values.get("VmRSS", 0), values.get("VmHWM", 0)


def build_tiny(data_dir: str, folder: Path) -> Path:
    from benchmark.data.sources import read_sentences, resolve_source
    from benchmark.data.tasks import get_task
    from benchmark.models.tiny import build_tiny_model

    sentences = read_sentences(get_task("wikiann"), resolve_source(data_dir), "en", "train").tokens[:5000]
    return build_tiny_model(folder, sentences, vocab_size=2000, hidden_size=64, max_positions=128)


def main(argv: list[str]) -> int:
    args = list(argv)
    work = Path(tempfile.mkdtemp(prefix="xbench-memory-"))
    if "--model" in args and args[args.index("--model") + 1] == "tiny":
        data_dir = args[args.index("--data-dir") + 1]
        args[args.index("--model") + 1] = str(build_tiny(data_dir, work / "tiny"))
    if "--results-dir" not in args:
        args += ["--results-dir", str(work / "results")]
    env = {**os.environ, "XBENCH_CACHE_DIR": os.environ.get("XBENCH_CACHE_DIR", str(work / "cache"))}
    child = subprocess.Popen([sys.executable, "-m", "benchmark.cli", "run", "--no-progress", *args], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    samples: list[tuple[float, int, int]] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            try:
                samples.append((time.time(), *rss_kib(child.pid)))
            except (FileNotFoundError, ProcessLookupError):
                return
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    per_target = []
    for line in child.stdout:
        sys.stderr.write(line)
        if ": F1 " in line and samples:
            per_target.append((line.split(":")[0].split()[-1], samples[-1][1]))
    child.wait()
    done.set()
    peak = max((s[2] for s in samples), default=0)
    print("\ntarget  RSS after (MiB)")
    for i, (lang, rss) in enumerate(per_target, 1):
        print(f"{i:>3} {lang:<4} {rss / 1024:8.0f}")
    if per_target:
        first, last = per_target[0][1], per_target[-1][1]
        print(f"\n{len(per_target)} targets; RSS after the first {first / 1024:.0f} MiB, after the last "
              f"{last / 1024:.0f} MiB; peak (VmHWM) {peak / 1024:.0f} MiB; exit {child.returncode}")
    return child.returncode


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
