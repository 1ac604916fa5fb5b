"""Circular symmetry and zero class means of wavelet coefficients (spec F.4.2).

For each class c and channel k, with z the wavelet coefficients x ∗ ψ_k (all positions):

    mean ratio = |E[ρ(z)]| / E[|ρ(z)|]   ∈ [0, 1]

≈ 0 when the law of ρ(z) is circularly symmetric (as for z itself, and every phase-preserving
ρ(z) = r(|z|) z/|z|: cst, ms, mc, tanh), and = 1 for the modulus, whose class means are
positive and class-dependent. Phase histograms show the uniform law of arg z.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ..layers.complex import to_complex
from ..layers.filters import FilterBank
from ..layers.nonlinearities import create_nonlinearity
from ..layers.wavelet import Wavelet

PHASE_PRESERVING = ("cst", "ms", "mc", "tanh")


def mean_ratio(values: Tensor, labels: Tensor) -> Tensor:
    """|E[v]| / E|v| per (class, channel) for v (N, C, H, W), real or complex → (classes, C)."""
    classes = int(labels.max()) + 1
    out = torch.zeros(classes, values.shape[1], dtype=torch.float64)
    for c in range(classes):
        v = values[labels == c].to(torch.complex128 if values.is_complex() else torch.float64)
        out[c] = v.mean(dim=(0, 2, 3)).abs() / v.abs().mean(dim=(0, 2, 3))
    return out


@torch.no_grad()
def symmetry_study(images: Tensor, labels: Tensor, bank: FilterBank, nonlinearities: tuple[str, ...] = PHASE_PRESERVING, bins: int = 36) -> dict[str, object]:
    """Mean ratios of z, ρ(z) for each ρ, and |z|; phase histograms of z per class.

    images (N, C, H, W) real. Returns plain lists (JSON-ready).
    """
    channels = images.shape[1]
    _, psi = Wavelet(bank, channels, False, "fft")(images.float())
    z = to_complex(psi)
    ratios = {"z": mean_ratio(z, labels)}
    for name in nonlinearities:
        rho = create_nonlinearity(name, z.shape[1])
        ratios[name] = mean_ratio(to_complex(rho(psi)), labels)
    ratios["mod"] = mean_ratio(z.abs(), labels)
    edges = torch.linspace(-math.pi, math.pi, bins + 1)
    hist = [torch.histc(z[labels == c].angle().flatten().float(), bins, -math.pi, math.pi).tolist() for c in range(int(labels.max()) + 1)]
    return {
        "mean_ratio": {k: v.tolist() for k, v in ratios.items()},
        "mean_ratio_average": {k: float(v.mean()) for k, v in ratios.items()},
        "phase_histogram": hist,
        "phase_bin_edges": edges.tolist(),
    }
