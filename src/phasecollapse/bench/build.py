"""``phasecollapse bench build``: the time ``create_model`` takes, with the P_j initialisation of
:func:`~phasecollapse.layers.projection.haar_q` (Cholesky QR on tall matrices) against LAPACK's
Householder QR for every shape, side by side in one process.

For each model, the median of ``repeats`` builds after ``warmup`` ones, per side. Both sides
draw the same law (the same Q of the same Gaussian, to rounding). JSON and Markdown go to
``results/bench/build_<cpu>.{json,md}`` with the machine.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ..layers import projection
from ..models import create_model
from ..run.provenance import environment
from ..run.render import table
from .record import write_record

MODELS = ("lscat_cifar10", "lscat_skip_cifar10", "lscat_imagenet", "lscat_skip_imagenet")


def householder_q(g: Tensor) -> Tensor:
    """The positive-diagonal Q of G = QR by LAPACK's Householder QR, for every shape (the reference side)."""
    q, r = torch.linalg.qr(g)
    d = r.diagonal()
    return q * (d / d.abs())


def build_seconds(model: str, repeats: int, warmup: int) -> float:
    """Median seconds of ``create_model(model)`` over ``repeats`` builds after ``warmup``."""
    times = []
    for i in range(warmup + repeats):
        start = time.perf_counter()
        create_model(model)
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_build(out: str | Path = "results/bench", models: tuple[str, ...] = MODELS, repeats: int = 3, warmup: int = 1) -> dict[str, Any]:
    """Time the builds of ``models`` with each initialisation; write and return the record."""
    started, ours = time.perf_counter(), projection.haar_q
    rows = []
    try:
        for model in models:
            row: dict[str, Any] = {"model": model, "params": sum(p.numel() for p in create_model(model).parameters())}
            for side, q in (("householder_qr", householder_q), ("cholesky_qr", ours)):
                projection.haar_q = q
                row[side] = build_seconds(model, repeats, warmup)
            rows.append(row)
    finally:
        projection.haar_q = ours
    env = environment()
    record = {"rows": rows, "repeats": repeats, "warmup": warmup, "wall_s": time.perf_counter() - started, "environment": env}
    stem = Path(out) / f"build_{env['cpu'].split()[0].lower()}_{env['cpu_capability'].lower()}"
    lines = [
        f"# Building the LScat presets on {env['cpu']} ({env['cpu_cores']} cores, {env['cpu_capability']})",
        "",
        f"Command `{env['command']}`; median of {repeats} builds after {warmup}, seconds; commit {env['git_commit']}.",
        "",
        table(["model", "parameters", "Householder QR (s)", "Cholesky QR (s)", "speedup"], [[r["model"], f"{r['params']:,}", f"{r['householder_qr']:.2f}", f"{r['cholesky_qr']:.2f}", f"{r['householder_qr'] / r['cholesky_qr']:.2f}×"] for r in rows]),
    ]
    write_record(stem, record, lines)
    print("\n".join(lines))
    return record
