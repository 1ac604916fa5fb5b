"""``phasecollapse analyze …``: run a study, write ``NAME.json`` (numbers, provenance) and ``NAME.png``."""

from __future__ import annotations

import json
import time

from dataclasses import replace
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from ..data import cifar10, textures  # noqa: E402
from ..data.transforms import as_model_input  # noqa: E402
from ..layers.filters import FilterBank, filter_bank  # noqa: E402
from ..models.lscat import LScat  # noqa: E402
from ..models.resnet import ResNet  # noqa: E402
from ..run.provenance import environment  # noqa: E402
from ..run.checkpoint import load_trained  # noqa: E402
from ..run.experiment import in_memory_splits  # noqa: E402
from .operators import effective_rank, rank_survival, singular_values  # noqa: E402
from .relu import dead_zone_abs, relu_energy_shares, soft_threshold  # noqa: E402
from .separation import separation_across_depth  # noqa: E402
from .symmetry import symmetry_study  # noqa: E402
from .translation import bank_translation_study  # noqa: E402


def _write(out: Path, name: str, payload: dict[str, Any], fig: plt.Figure, started: float) -> None:
    """``name``.json (payload, wall time since ``started`` = perf_counter() at the start, provenance) and ``name``.png."""
    out.mkdir(parents=True, exist_ok=True)
    record = {**payload, "wall_s": time.perf_counter() - started, "environment": environment()}
    (out / f"{name}.json").write_text(json.dumps(record, indent=2))
    fig.tight_layout()
    fig.savefig(out / f"{name}.png", dpi=120)
    plt.close(fig)
    print(f"wrote {out / name}.json and {out / name}.png")


def images(data: str, n: int, data_dir: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """n test images (normalised float) and labels of ``textures`` or ``cifar10``."""
    if data == "textures":
        return textures.generate(4, max(1, n // 4), seed=1)
    if data == "cifar10":
        x, y = cifar10.load_split(data_dir, train=False)
        return as_model_input(x[:n]), y[:n]
    raise ValueError(f"unknown data {data!r}; expected 'textures' or 'cifar10'")


def coarser(bank: FilterBank, j: float) -> FilterBank:
    """The bank's wavelets dilated by 2^j: σ·2^j, ξ·2^−j (φ likewise)."""
    return replace(bank, name=f"{bank.name}@2^{j:g}", psi_sigma=bank.psi_sigma * 2**j, psi_xi=bank.psi_xi / 2**j, phi_sigma=bank.phi_sigma * 2**j)


def translation(out: Path, data: str, samples: int = 256, bank: str = "F0", L: int = 4, scale: float = 1.0, data_dir: str | None = None) -> dict[str, Any]:
    """Phase-shift errors of the bank's wavelets at scale 2^``scale`` (F0 at scale 0 wraps around
    ±π: its ψ̂ is not analytic on the grid, and sub-pixel shifts see the mirrored spectrum)."""
    started = time.perf_counter()
    x, _ = images(data, samples, data_dir)
    wavelets = coarser(filter_bank(bank, L), scale)
    gray = x.mean(1)
    norms = torch.linspace(0, 2, 9)
    results = {}
    for axis, direction in (("rows", (1.0, 0.0)), ("columns", (0.0, 1.0))):
        shifts = norms[:, None] * torch.tensor(direction)
        results[axis] = bank_translation_study(gray, wavelets, shifts)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, (axis, study) in zip(axes, results.items()):
        for r in study:
            line = ax.plot(r["shift_norm"], r["error"], "o-", label=f"ψ_{r['k']} (σ = {r['sigma']:.2f})")[0]
            ax.plot(r["shift_norm"], r["bound"], "--", color=line.get_color(), alpha=0.6)
        ax.set(title=f"translation along {axis} ({data}, {wavelets.name})", xlabel="|τ| (pixels)", ylabel="‖x_τ∗ψ − e^{−iξ·τ} x∗ψ‖ / ‖x∗ψ‖", ylim=(0, None))
        ax.legend(fontsize=7)
    _write(out, "translation", {"data": data, "bank": wavelets.name, "L": L, "scale": scale, "images": len(x), "studies": results}, fig, started)
    return results


def symmetry(out: Path, data: str, samples: int = 512, data_dir: str | None = None) -> dict[str, Any]:
    started = time.perf_counter()
    x, y = images(data, samples, data_dir)
    result = symmetry_study(x, y, filter_bank("F0", 4))
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    names = list(result["mean_ratio_average"])
    axes[0].bar(names, [result["mean_ratio_average"][k] for k in names], color=["gray"] + ["tab:blue"] * (len(names) - 2) + ["tab:red"])
    axes[0].set(title=f"|E[ρ(z)]| / E|ρ(z)| per class and channel, mean ({data})", ylabel="mean ratio")
    centres = [(a + b) / 2 for a, b in zip(result["phase_bin_edges"][:-1], result["phase_bin_edges"][1:])]
    for c, h in enumerate(result["phase_histogram"]):
        total = sum(h)
        axes[1].plot(centres, [v / total for v in h], label=f"class {c}")
    axes[1].set(title="phase of z = x∗ψ", xlabel="arg z", ylabel="frequency", ylim=(0, None))
    axes[1].legend(fontsize=7)
    _write(out, "symmetry", {"data": data, "images": len(x), **result}, fig, started)
    return result


def separation(out: Path, checkpoints: list[str], samples: int = 1024, probe: bool = True) -> dict[str, Any]:
    started = time.perf_counter()
    rows = {}
    for path in checkpoints:
        model, config = load_trained(path)
        (xtr, ytr), (xte, yte) = in_memory_splits(config)
        label = f"{config.model.name} ({config.model.options.get('nonlinearity', '')})"
        rows[label] = {"checkpoint": str(path), "blocks": separation_across_depth(model, (as_model_input(xtr[:samples]), ytr[:samples]), (as_model_input(xte[:samples]), yte[:samples]), probe)}
    keys = ["fisher_ratio", "ncm_err"] + (["probe_err"] if probe else [])
    fig, axes = plt.subplots(1, len(keys), figsize=(4.5 * len(keys), 3.8))
    for ax, key in zip(axes, keys):
        for label, r in rows.items():
            ax.plot([b["block"] for b in r["blocks"]], [b[key] for b in r["blocks"]], "o-", label=label)
        ax.set(xlabel="block", ylabel={"fisher_ratio": "Fisher ratio tr Σ_B / tr Σ_W", "ncm_err": "nearest-class-mean error (%)", "probe_err": "linear-probe error (%)"}[key])
        if key == "fisher_ratio":
            ax.set_yscale("log")
        ax.legend(fontsize=7)
    _write(out, "separation", {"samples": samples, "models": rows}, fig, started)
    return rows


def relu(out: Path, checkpoint: str | None = None, samples: int = 512) -> dict[str, Any]:
    started = time.perf_counter()
    y = torch.linspace(-3, 3, 601, dtype=torch.float64)
    b = 1.0
    lhs = torch.relu(y - b)
    rhs = dead_zone_abs(y, b) / 2 + soft_threshold(y, b) / 2
    payload: dict[str, Any] = {"threshold": b, "identity_max_abs_error": float((lhs - rhs).abs().max())}
    fig, axes = plt.subplots(1, 2 if checkpoint else 1, figsize=(10 if checkpoint else 5, 3.8), squeeze=False)
    ax = axes[0, 0]
    ax.plot(y, lhs, "k", lw=3, alpha=0.4, label="ReLU(y − b)")
    ax.plot(y, dead_zone_abs(y, b) / 2, label="½ (|y| − b)₊  (even: collapses the sign)")
    ax.plot(y, soft_threshold(y, b) / 2, label="½ sign(y)(|y| − b)₊  (odd: preserves it)")
    ax.set(title=f"ReLU = even + odd part (b = {b})", xlabel="y")
    ax.legend(fontsize=7)
    if checkpoint:
        model, config = load_trained(checkpoint)
        if not isinstance(model, ResNet):
            raise ValueError(f"analyze relu measures the ReLUs of a ResNet; {checkpoint} holds {config.model.name}")
        (_, _), (xte, _) = in_memory_splits(config)
        x = as_model_input(xte[:samples])
        shares = relu_energy_shares(model, x)
        payload.update({"checkpoint": checkpoint, "layers": shares})
        axes[0, 1].bar(range(len(shares)), [s["even_share"] for s in shares], label="even (|·| with dead zone)")
        axes[0, 1].bar(range(len(shares)), [s["odd_share"] for s in shares], bottom=[s["even_share"] for s in shares], label="odd (soft-thresholding)")
        axes[0, 1].set(title="share of ReLU output energy per layer", xlabel="ReLU layer", ylim=(0, 1))
        axes[0, 1].legend(fontsize=7)
    _write(out, "relu", payload, fig, started)
    return payload


def operators(out: Path, checkpoint: str, samples: int = 256) -> dict[str, Any]:
    started = time.perf_counter()
    model, config = load_trained(checkpoint)
    if not isinstance(model, LScat):
        raise ValueError(f"analyze operators reads the P_j of an LScat; {checkpoint} holds {config.model.name}")
    (_, _), (xte, _) = in_memory_splits(config)
    x = as_model_input(xte[:samples])
    rows, fig = [], plt.figure(figsize=(10, 3.8))
    ax1, ax2 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    with torch.no_grad():
        for j, block in enumerate(model.blocks):
            s = singular_values(block.proj.complex_weight())
            n = len(s)
            ranks = sorted({max(1, round(n * f)) for f in (0.05, 0.1, 0.25, 0.5, 0.75, 1.0)})
            survival = rank_survival(block, x, ranks)
            rows.append({"block": j + 1, "shape": list(block.proj.complex_weight().shape), "singular_values": s.tolist(), "effective_rank": effective_rank(s), "ranks": ranks, "survival": survival})
            ax1.semilogy(range(1, n + 1), (s / s[0]).tolist(), label=f"P_{j + 1} (eff. rank {effective_rank(s):.0f}/{n})")
            ax2.plot([r / n for r in ranks], survival, "o-", label=f"P_{j + 1}")
            x = block(x)
    ax1.set(title="singular values of P_j (normalised)", xlabel="index", ylabel="s_i / s_1")
    ax2.set(title="output energy kept by a rank-r P_j", xlabel="r / full rank", ylabel="kept energy", ylim=(0, 1.02))
    for ax in (ax1, ax2):
        ax.legend(fontsize=6)
    _write(out, "operators", {"checkpoint": checkpoint, "samples": samples, "blocks": rows}, fig, started)
    return {"blocks": rows}


