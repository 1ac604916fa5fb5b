"""``phasecollapse bench matmul``: the matrix-product throughput of this machine, fp32 against
bf16, side by side in one process (what decides whether bf16 autocast pays on a CPU).

For each size (M, K, N) of the LScat's P_j products (batch × pixels by channels) and a square
one, the median over ``repeats`` timed products after a warm-up, in GFLOP/s (2·M·K·N per
product). JSON and Markdown go to ``results/bench/matmul_<cpu>.{json,md}`` with the machine
(CPU model, capability, native bf16 or not).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import torch

from ..run.provenance import environment
from ..run.render import table
from .record import write_record

#: (M, K, N): P_j of a CIFAR-10 LScat block at width ×0.25 (batch 128 × 8² pixels, 640 → 128
#: channels) and a square product; small enough for a CPU that emulates bf16 (seconds each).
SIZES = ((8192, 640, 128), (1024, 1024, 1024))


def gflops(m: int, k: int, n: int, dtype: torch.dtype, repeats: int = 5) -> float:
    """Median GFLOP/s of ``torch.mm`` of an (m, k) by a (k, n) matrix of ``dtype`` on the CPU."""
    a, b = torch.randn(m, k).to(dtype), torch.randn(k, n).to(dtype)
    torch.mm(a, b)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - start)
    return 2 * m * k * n / statistics.median(times) / 1e9


def bench_matmul(out: str | Path = "results/bench", repeats: int = 3) -> dict[str, Any]:
    """Time fp32 and bf16 products of :data:`SIZES`; write and return the record."""
    started = time.perf_counter()
    rows = [{"m": m, "k": k, "n": n, **{name: gflops(m, k, n, dtype, repeats) for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16))}} for m, k, n in SIZES]
    env = environment()
    record = {"rows": rows, "repeats": repeats, "wall_s": time.perf_counter() - started, "environment": env}
    stem = Path(out) / f"matmul_{env['cpu'].split()[0].lower()}_{env['cpu_capability'].lower()}"
    lines = [
        f"# Matrix products on {env['cpu']} ({env['cpu_cores']} cores, {env['cpu_capability']}, native bf16: {env['cpu_bf16']})",
        "",
        f"Command `{env['command']}`; median of {repeats} products; GFLOP/s.",
        "",
        table(["M × K × N", "fp32", "bf16", "bf16 / fp32"], [[f"{r['m']} × {r['k']} × {r['n']}", f"{r['fp32']:.1f}", f"{r['bf16']:.1f}", f"{r['bf16'] / r['fp32']:.3f}"] for r in rows]),
    ]
    write_record(stem, record, lines)
    print("\n".join(lines))
    return record
