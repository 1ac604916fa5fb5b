"""Where a result came from: command, git commit, machine (CPU model, cores, GPU), versions."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import torch


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_commit() -> str:
    """HEAD (``-dirty`` when tracked files outside results/ differ), or, in a copy of the tree
    without its ``.git`` (a GPU machine's copy, say), ``$PHASECOLLAPSE_GIT_COMMIT`` + ``" (copied tree)"``
    when set by whoever copied it, else ``"unknown"``."""
    copied = os.environ.get("PHASECOLLAPSE_GIT_COMMIT")
    fallback = f"{copied} (copied tree)" if copied else "unknown"
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=Path(__file__).parent, timeout=5)
        # "-dirty": tracked files differ from the commit, results/ excepted (commands write there).
        status = ["git", "status", "--porcelain", "--untracked-files=no", "--", ":/", ":(top,exclude)results"]
        dirty = subprocess.run(status, capture_output=True, text=True, cwd=Path(__file__).parent, timeout=5)
        return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "") if out.returncode == 0 else fallback
    except (OSError, subprocess.SubprocessError):
        return fallback


def command() -> str:
    """The command line, with ``python -m phasecollapse`` (argv[0] = .../phasecollapse/__main__.py)
    written as the ``phasecollapse`` it stands for."""
    program = Path(sys.argv[0])
    name = "phasecollapse" if program.name == "__main__.py" and program.parent.name == "phasecollapse" else program.name
    return " ".join([name, *sys.argv[1:]])


def bf16_native() -> bool:
    """Whether this CPU multiplies bf16 matrices natively (AVX-512 BF16 or AMX). Without it (an
    AVX2-only CPU) bf16 matrix products are emulated: measured 0.3 GFLOP/s against 35 for fp32
    on a 2-core AMD EPYC without AVX-512 (``phasecollapse bench matmul``)."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def environment() -> dict[str, Any]:
    """Command line, commit, machine and library versions, for results files."""
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "command": command(),
        "git_commit": git_commit(),
        "cpu": cpu_model(),
        "cpu_cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),  # AVX2, AVX512, …
        "cpu_bf16": bf16_native(),
        "gpu": gpu,
        "python": platform.python_version(),
        "torch": str(torch.__version__),  # a plain str: TorchVersion would not load with weights_only=True
    }


def machine(env: dict[str, Any] | None, precision: str | None) -> str:
    """``CPU (N cores)[, GPU][, precision]`` of an :func:`environment` (None: not recorded)."""
    where = "not recorded" if env is None else f"{env['cpu']} ({env['cpu_cores']} cores)" + (f", {env['gpu']}" if env.get("gpu") else "")
    return where + (f", {precision}" if precision else "")


def finished_run(run_dir: Path) -> dict[str, Any]:
    """A finished run's ``results.json``, each stretch of epochs with its precision (runs made
    before precision was recorded per stretch ran all of it at their ``config.json``'s; None
    where that is missing too)."""
    run = json.loads((run_dir / "results.json").read_text())
    config = run_dir / "config.json"
    precision = json.loads(config.read_text())["train"]["precision"] if config.is_file() else None
    segments = run.get("segments") or [{"from_epoch": 1, "environment": run["environment"]}]
    return {**run, "segments": [{"precision": precision, **s} for s in segments]}


def machines_of(run: dict[str, Any]) -> str:
    """The machine and precision of a run, or of each stretch of epochs where it was resumed
    elsewhere or otherwise (a run of :func:`finished_run`)."""
    stretches: list[tuple[int, str]] = []  # (first epoch, machine), successive stretches on one machine merged
    for s in run["segments"]:
        label = machine(s["environment"], s["precision"])
        if not stretches or stretches[-1][1] != label:
            stretches.append((s["from_epoch"], label))
    if len(stretches) == 1:
        return stretches[0][1]
    ends = [first - 1 for first, _ in stretches[1:]] + [run["epochs_completed"]]
    return "; ".join(f"epochs {first}–{end}: {label}" for (first, label), end in zip(stretches, ends))
