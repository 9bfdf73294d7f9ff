"""Where xbench computes (CPU or a CUDA GPU) and whether bf16 autocast pays off there.

CPUs with native bf16 (AVX512-BF16, AMX) run bf16 matrix products several times faster than
fp32; on CPUs without it PyTorch emulates bf16 and it is many times *slower*. So on a CPU
``auto`` measures instead of guessing from flags. GPUs that support bf16 (Ampere and later)
always run it faster, so there ``auto`` asks the driver.
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


def resolve_device(setting: str):
    """``auto`` (the first CUDA GPU if there is one, else the CPU), ``cpu``, ``cuda`` or ``cuda:N``."""
    import torch

    from benchmark.errors import XbenchError

    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(setting)
    except RuntimeError:
        raise XbenchError(f"--device: {setting!r} is not a device; give auto, cpu, cuda or cuda:N") from None
    if device.type not in ("cpu", "cuda"):
        raise XbenchError(f"--device: {setting!r} is not supported; give auto, cpu, cuda or cuda:N")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise XbenchError(f"--device {setting}: this PyTorch ({torch.__version__}) sees no CUDA GPU; "
                              "use --device cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise XbenchError(f"--device {setting}: there are only {torch.cuda.device_count()} CUDA GPU(s)")
    return device


def describe_device(device) -> str:
    """One line for result files: what computed the numbers."""
    import platform

    import torch

    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)}, torch {torch.__version__})"
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def resolve_bf16(setting: str, device=None) -> tuple[bool, str]:
    """``on``, ``off`` or ``auto``: on a GPU, bf16 when it supports it; on a CPU, bf16 when a
    measured matmul is at least 1.5x faster than in fp32."""
    if setting == "on":
        return True, "on (asked for)"
    if setting == "off":
        return False, "off (asked for)"
    if device is not None and device.type == "cuda":
        import torch

        use = torch.cuda.is_bf16_supported()
        return use, f"{'on' if use else 'off'} (auto: this GPU {'supports' if use else 'lacks'} bf16)"
    speedup = bf16_speedup()
    use = speedup >= 1.5
    return use, f"{'on' if use else 'off'} (auto: bf16 matmul measured {speedup:.2f}x fp32 here)"
