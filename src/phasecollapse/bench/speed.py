"""``phasecollapse bench``: measured speed of the real code paths, side by side.

``bench train``: full training steps (forward, backward, SGD step) of a registry model at a
batch size, for

- ``authors``: the authors' strategy, fp32 — for LScat, :class:`TorchComplexLScat` (torch
  complex tensors, FFT wavelet transform); for other models the model itself in fp32, NCHW;
- ``fast``: our fastest path — real pairs, W as banded GEMMs (small maps), the fast kernels
  (Std folded into P_j, modulus, N), bf16 autocast, channels-last, and ``torch.compile`` (its
  compilation falls in the warm-up steps; ``use_compile=False`` for quick runs).

Both sides time the training loop's own step (:func:`phasecollapse.run.train.train_step`)
under a :class:`~phasecollapse.run.config.Config` (precision, channels-last, compile), so what
is timed is what ``phasecollapse train`` runs.

``bench train --compare NAME``: the ``fast`` step twice instead, in two variants of the fast path
(:data:`VARIANTS`, a module switch set in that side's process); the speedup is the second's over
the first. ``gauss``: the fused Std + P_j with four real products (``fast``) and with Gauss's
three (``fast+gauss``); ``passes``: its element-wise passes as written (``fast+written``) and
compiled (``fast``). Files ``train_<NAME>_*``.

``bench scat``: the order-2 scattering (J = 3, L = 8, 32×32) against Kymatio's torch backend.

Each side runs in its own spawned process (so peak memory is its own), both with the same
allocator setting (:func:`~phasecollapse.run.allocator.keep_freed_memory`): images/s is the median
over the timed steps after warm-up. JSON and Markdown go to ``results/bench/`` with the
machine description, both or neither (:func:`.record.write_record`); the
last line printed is ``speedup: X.Xx``.
"""

from __future__ import annotations

import importlib
import multiprocessing as mp
import resource
import statistics
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from ..run.allocator import keep_freed_memory
from ..run.config import Config, load_config
from ..run.provenance import environment
from ..run.render import table
from ..run.train import memory_format
from .record import write_record


def _peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def side_config(side: str, use_compile: bool, precision: str = "bf16") -> Config:
    """The training config each side runs: ``fast`` is the budget recipes' (``precision``, bf16
    unless told, channels-last, compiled unless ``use_compile`` is False), ``authors`` the
    authors' (fp32, NCHW, eager)."""
    fast = side == "fast"
    return load_config(None, [f"train.precision={precision if fast else 'fp32'}", f"train.channels_last={str(fast).lower()}", f"train.compile={str(fast and use_compile).lower()}"])


VARIANTS = {"": {}, "gauss": {"std_projection.GAUSS": True}, "written": {"std_passes.COMPILED": False}}
"""Variants of the fast path: the module switches (``kernel module.NAME``: value) each sets."""

COMPARISONS = {"gauss": ("", "gauss", "fused Std + P_j in four real products (fast) vs Gauss's three (fast+gauss)"), "passes": ("written", "", "fused Std + P_j's element-wise passes as written (fast+written) vs compiled (fast)")}
"""What ``bench train --compare`` can time side by side instead of authors vs fast: (first
variant, second variant, title)."""


def step_fixture(side: str, model_name: str, options: dict[str, Any], batch_size: int, device: str, use_compile: bool, variant: str = "", precision: str = "bf16") -> tuple[Any, ...]:
    """(net, x, y, optimizer, config, device) of one side's training step, as
    :func:`train_steps` times it. The ``authors`` side of an LScat runs its parameters through
    :class:`~phasecollapse.bench.torch_complex.TorchComplexLScat`. ``variant``: a key of
    :data:`VARIANTS`, whose switches it sets in this process."""
    from ..models import create_model
    from ..models.lscat import LScat
    from ..run.train import maybe_compile, place
    from .torch_complex import TorchComplexLScat

    dev = torch.device(device)
    for switch, value in VARIANTS[variant].items():
        module, name = switch.split(".")
        setattr(importlib.import_module(f"phasecollapse.kernels.{module}"), name, value)
    torch.manual_seed(0)
    config = side_config(side, use_compile, precision)
    model = create_model(model_name, **options)
    size = getattr(model, "input_size", 224 if "imagenet" in model_name else 32)
    classes = model.head.fc.out_features if hasattr(model, "head") else model.fc.out_features
    model = place(model, config, dev)
    net = TorchComplexLScat(model) if side == "authors" and isinstance(model, LScat) else model
    net = maybe_compile(net, config)
    x = torch.randn(batch_size, 3, size, size, device=dev).contiguous(memory_format=memory_format(config))
    y = torch.randint(0, classes, (batch_size,), device=dev)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    return net, x, y, optimizer, config, dev


def train_steps(side: str, model_name: str, options: dict[str, Any], batch_size: int, steps: int, warmup: int, device: str, use_compile: bool, variant: str = "", precision: str = "bf16") -> dict[str, Any]:
    """Time ``steps`` calls of the training loop's :func:`~phasecollapse.run.train.train_step`
    after ``warmup`` ones (runs in a child process; the step of :func:`step_fixture`)."""
    from ..run.train import train_step

    net, x, y, optimizer, config, dev = step_fixture(side, model_name, options, batch_size, device, use_compile, variant, precision)
    times = []
    for i in range(warmup + steps):
        sync(dev)
        start = time.perf_counter()
        train_step(net, x, y, optimizer, None, config)
        sync(dev)
        if i >= warmup:
            times.append(time.perf_counter() - start)
    median = statistics.median(times)
    return {"side": f"{side}+{variant}" if variant else side, "images_per_s": batch_size / median, "step_s_median": median, "step_s": times, "peak_memory_mb": _peak_memory_mb(dev), "precision": config.train.precision, "compiled": config.train.compile, "variant": variant}


def scat_throughput(side: str, batch_size: int, steps: int, warmup: int, device: str) -> dict[str, Any]:
    """Forward images/s of order-2 scattering J = 3, L = 8 on 32×32 RGB (runs in a child process)."""
    dev = torch.device(device)
    if side == "fast":
        from ..layers.scattering import Scattering2D

        op = Scattering2D(3, (32, 32), 8).to(dev)
    else:
        from kymatio.torch import Scattering2D as KymatioScattering2D

        op = KymatioScattering2D(J=3, shape=(32, 32), L=8).to(dev)
    x = torch.rand(batch_size, 3, 32, 32, device=dev)
    times = []
    with torch.no_grad():
        for i in range(warmup + steps):
            sync(dev)
            start = time.perf_counter()
            op(x)
            sync(dev)
            if i >= warmup:
                times.append(time.perf_counter() - start)
    median = statistics.median(times)
    return {"side": side, "images_per_s": batch_size / median, "step_s_median": median, "step_s": times, "peak_memory_mb": _peak_memory_mb(dev)}


def with_allocator(fn: Any, *args: Any) -> dict[str, Any]:
    allocator = keep_freed_memory()
    return {**fn(*args), "keep_freed_memory": allocator}


def in_child(fn: Any, *args: Any) -> dict[str, Any]:
    """fn(*args) in a fresh spawned process, with the allocator setting of every side."""
    with mp.get_context("spawn").Pool(1) as pool:
        return pool.apply(with_allocator, (fn, *args))


def _report(kind: str, title: str, params: dict[str, Any], results: list[dict[str, Any]], out_dir: Path, started: float) -> float:
    ref, fast = results
    speedup = fast["images_per_s"] / ref["images_per_s"]
    env = environment()
    machine = env["gpu"] or f"{env['cpu']} ({env['cpu_cores']} cores)"
    wall = time.perf_counter() - started
    record = {"benchmark": kind, **params, "results": results, "speedup": speedup, "wall_s": wall, "environment": env}
    width = params.get("options", {}).get("width_factor")
    stem = f"{kind}_{params.get('model', 'scat')}{'' if width is None else f'_w{width:g}'}_b{params['batch_size']}_{'cuda' if env['gpu'] and params['device'] != 'cpu' else 'cpu'}"
    lines = [
        f"# {title}",
        "",
        f"Machine: {machine}; torch {env['torch']}; commit {env['git_commit']}",
        f"Command: `{env['command']}` (wall time {wall:.0f} s)",
        "",
        table(["side", "images/s (median)", "s/step (median)", "peak memory (MiB)"], [[r["side"], f"{r['images_per_s']:.1f}", f"{r['step_s_median']:.3f}", f"{r['peak_memory_mb']:.0f}"] for r in results]),
        "",
        f"Speedup: {speedup:.1f}x",
    ]
    write_record(out_dir / stem, record, lines)
    print("\n".join(lines[5:-2]))
    print(f"wrote {out_dir / stem}.json and .md")
    print(f"speedup: {speedup:.1f}x")
    return speedup


def bench_train(model: str, batch_size: int, steps: int, warmup: int = 2, width_factor: float | None = None, device: str = "cpu", out_dir: str = "results/bench", use_compile: bool = True, compare: str | None = None, precision: str = "bf16") -> float:
    """Time the training step of ``model``: authors vs fast, or (``compare``, a key of
    :data:`COMPARISONS`) two variants of the fast side. ``precision``: the fast side's (bf16, or
    fp32 for CPUs that emulate bf16; files then end in ``_fp32``). Returns the second side's speedup."""
    if compare is not None and compare not in COMPARISONS:
        raise ValueError(f"unknown comparison {compare!r}; expected one of {sorted(COMPARISONS)}")
    started = time.perf_counter()
    options = {} if width_factor is None else {"width_factor": width_factor}
    sides = [("authors", ""), ("fast", "")] if compare is None else [("fast", v) for v in COMPARISONS[compare][:2]]
    results = [in_child(train_steps, side, model, options, batch_size, steps, warmup, device, use_compile, variant, precision) for side, variant in sides]
    params = {"model": model, "options": options, "batch_size": batch_size, "steps": steps, "warmup": warmup, "device": device, "compile": use_compile, "compare": compare, "precision": precision}
    title = f"Training steps: {model} {options or ''}, batch {batch_size}"
    if compare is not None:
        title += f": {COMPARISONS[compare][2]}"
    if precision != "bf16":
        title += f", fast side in {precision}"
    kind = ("train" if compare is None else f"train_{compare}") + ("" if precision == "bf16" else f"_{precision}")
    return _report(kind, title, params, results, Path(out_dir), started)


def bench_scat(batch_size: int, steps: int, warmup: int = 1, device: str = "cpu", out_dir: str = "results/bench") -> float:
    started = time.perf_counter()
    results = [in_child(scat_throughput, side, batch_size, steps, warmup, device) for side in ("kymatio", "fast")]
    params = {"batch_size": batch_size, "steps": steps, "warmup": warmup, "device": device, "J": 3, "L": 8, "size": 32}
    return _report("scat", f"Scattering J = 3, L = 8, order 2, 32×32 RGB, batch {batch_size}: Kymatio vs phasecollapse", params, results, Path(out_dir), started)
