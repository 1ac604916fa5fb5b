"""``phasecollapse bench profile``: where the fast training step's time goes (``torch.profiler``).

The ``fast`` side's step of ``bench train`` (:func:`~phasecollapse.bench.speed.step_fixture`:
the training loop's own :func:`~phasecollapse.run.train.train_step`, compiled unless told)
runs ``warmup`` steps, then ``steps`` steps under the profiler, in a child process. Each op's
*self* time is put in one of two groups:

- **matrix products**: the ops of :data:`PRODUCTS` (GEMMs and convolutions, forward and
  backward: the work a faster BLAS would speed up);
- **outside products**: everything else (element-wise passes, reductions, copies, casts, the
  compiled graphs' own loops, the optimiser), = step time − products.

It also reports the fused Std + P_j's inclusive time (forward ``standardize_project``, backward
``_StdProjectBackward``; products inside it included). Seconds are per step. JSON and Markdown go
to ``results/bench/profile/profile_<model>[_w<width>]_b<batch>_<precision>_<device>_<commit>``, so
that profiles of two commits sit side by side; :func:`summary` tables them (the docs' speed page).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from ..run.provenance import environment
from ..run.render import table
from .record import write_record
from .speed import in_child, step_fixture, sync

PRODUCTS = frozenset({"aten::mm", "aten::addmm", "aten::addmm_", "aten::bmm", "aten::baddbmm", "aten::addbmm", "aten::mkldnn_convolution", "aten::convolution_backward", "aten::mkldnn_matmul", "aten::_mkldnn_matmul"})
"""The ops counted as matrix products (by self time)."""

KERNEL = ("standardize_project", "_StdProjectBackward")
"""Name fragments of the fused Std + P_j's forward and backward events (inclusive time)."""

TOP = 20
"""Ops listed by self time in the Markdown table."""


def profile_steps(model_name: str, options: dict[str, Any], batch_size: int, steps: int, warmup: int, device: str, use_compile: bool, precision: str) -> dict[str, Any]:
    """Profile ``steps`` fast training steps after ``warmup`` (runs in a child process)."""
    from torch.profiler import ProfilerActivity, profile

    from ..run.train import train_step

    net, x, y, optimizer, config, dev = step_fixture("fast", model_name, options, batch_size, device, use_compile, "", precision)
    for _ in range(warmup):
        train_step(net, x, y, optimizer, None, config)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if dev.type == "cuda" else [])
    sync(dev)
    with profile(activities=activities) as prof:
        start = time.perf_counter()
        for _ in range(steps):
            train_step(net, x, y, optimizer, None, config)
        sync(dev)
        wall = (time.perf_counter() - start) / steps
    events = prof.key_averages()
    ops = sorted(({"op": e.key, "self_s": e.self_cpu_time_total / 1e6 / steps, "calls": e.count / steps, "product": e.key in PRODUCTS} for e in events if e.self_cpu_time_total > 0), key=lambda o: -o["self_s"])
    kernel = {frag: sum(e.cpu_time_total for e in events if frag in e.key and not e.key.startswith("autograd::engine")) / 1e6 / steps for frag in KERNEL}
    products = sum(o["self_s"] for o in ops if o["product"])
    return {"step_s": wall, "images_per_s": batch_size / wall, "products_s": products, "outside_s": wall - products, "kernel_s": kernel, "ops": ops, "precision": config.train.precision, "compiled": config.train.compile}


def bench_profile(model: str, batch_size: int, steps: int, warmup: int = 2, width_factor: float | None = None, device: str = "cpu", out_dir: str = "results/bench/profile", use_compile: bool = True, precision: str = "bf16") -> dict[str, Any]:
    """Profile the fast step of ``model``; write and return the record."""
    started = time.perf_counter()
    options = {} if width_factor is None else {"width_factor": width_factor}
    result = in_child(profile_steps, model, options, batch_size, steps, warmup, device, use_compile, precision)
    env = environment()
    machine = env["gpu"] or f"{env['cpu']} ({env['cpu_cores']} cores, {env['cpu_capability']}, native bf16: {env['cpu_bf16']})"
    params = {"model": model, "options": options, "batch_size": batch_size, "steps": steps, "warmup": warmup, "device": device, "compile": use_compile, "precision": precision}
    record = {"benchmark": "profile", **params, "result": result, "wall_s": time.perf_counter() - started, "environment": env}
    width = "" if width_factor is None else f"_w{width_factor:g}"
    where = "cuda" if env["gpu"] and device != "cpu" else "cpu"
    stem = Path(out_dir) / f"profile_{model}{width}_b{batch_size}_{precision}_{where}_{env['git_commit'][:7]}"
    r = result
    lines = [
        f"# Profile of the fast training step: {model} {options or ''}, batch {batch_size}, {precision}{', compiled' if use_compile else ''}",
        "",
        f"Machine: {machine}; torch {env['torch']}; commit {env['git_commit']}",
        f"Command: `{env['command']}` (wall time {record['wall_s']:.0f} s); seconds per step, mean of {steps} profiled steps after {warmup}.",
        "",
        table(["step", "matrix products", "outside products", "fused Std + P_j forward", "its backward", "images/s"], [[f"{r['step_s']:.3f}", f"{r['products_s']:.3f}", f"{r['outside_s']:.3f} ({r['outside_s'] / r['step_s']:.0%})", f"{r['kernel_s'][KERNEL[0]]:.3f}", f"{r['kernel_s'][KERNEL[1]]:.3f}", f"{r['images_per_s']:.1f}"]]),
        "",
        f"The {TOP} ops with the most self time:",
        "",
        table(["op", "self s per step", "calls per step", "matrix product"], [[f"`{o['op']}`", f"{o['self_s']:.3f}", f"{o['calls']:g}", "yes" if o["product"] else ""] for o in r["ops"][:TOP]]),
    ]
    write_record(stem, record, lines)
    print("\n".join(lines))
    print(f"wrote {stem}.json and .md")
    return record


def summary(records: list[dict[str, Any]]) -> str:
    """A Markdown table of profile records, one row each, in the order given."""
    rows = []
    for rec in records:
        r, width = rec["result"], rec["options"].get("width_factor")
        network = rec["model"] + ("" if width is None else f" ×{width:g}")
        rows.append([network, rec["precision"], rec["environment"]["git_commit"][:7], f"{r['step_s']:.2f}", f"{r['products_s']:.2f}", f"{r['outside_s']:.2f}", f"{r['kernel_s'][KERNEL[0]]:.2f} / {r['kernel_s'][KERNEL[1]]:.2f}", f"{r['images_per_s']:.1f}"])
    return table(["network", "precision", "commit", "step (s)", "matrix products (s)", "outside products (s)", "fused Std + P_j fwd / bwd (s)", "images/s"], rows) + "\n"
