"""What this machine's CPU does fast: whether bf16 autocast pays off here.

CPUs with native bf16 (AVX512-BF16, AMX) run bf16 matrix products several times faster than
fp32; on CPUs without it PyTorch emulates bf16 and it is many times *slower*. So ``auto``
measures instead of guessing from flags.
"""

from __future__ import annotations

import time
from functools import lru_cache


def matmul_throughput(dtype_name: str, size: int = 512, repeats: int = 4) -> float:
    """Measured FLOP/s of a square matrix product in ``dtype_name`` (``float32`` or ``bfloat16``)."""
    import torch

    dtype = getattr(torch, dtype_name)
    a = torch.randn(size, size).to(dtype)
    b = torch.randn(size, size).to(dtype)
    a @ b  # the first call pays for kernel selection
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best


@lru_cache(maxsize=1)
def bf16_speedup() -> float:
    """How many times faster a bf16 matrix product is than fp32 here (below 1: slower)."""
    return matmul_throughput("bfloat16", size=256, repeats=2) / matmul_throughput("float32", size=256, repeats=2)


def resolve_bf16(setting: str) -> tuple[bool, str]:
    """``on``, ``off`` or ``auto`` (bf16 when a measured matmul is at least 1.5x faster)."""
    if setting == "on":
        return True, "on (asked for)"
    if setting == "off":
        return False, "off (asked for)"
    speedup = bf16_speedup()
    use = speedup >= 1.5
    return use, f"{'on' if use else 'off'} (auto: bf16 matmul measured {speedup:.2f}x fp32 here)"
