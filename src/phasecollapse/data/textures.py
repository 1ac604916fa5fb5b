"""Stationary random textures: an embedded, deterministic data set for the poster's setting.

Class k draws white Gaussian noise w (3 channels, independent) and shapes its spectrum with a
class-specific envelope, a pair of Gaussian bumps at ±ω_k (orientation θ_k, radius r_k,
bandwidth b):

    x = F⁻¹( ŵ(ω) · [G_b(ω − ω_k) + G_b(ω + ω_k)] ),    then optionally x ← s(x) = x·|x|^{p−1}

and each image is standardised to zero spatial mean and unit variance.

Why its wavelet coefficients are circularly symmetric with zero class means. The law of
every class is invariant to translations (the noise is stationary and filtering commutes with
translations; circular boundary conditions make this exact). A translation τ multiplies x∗ψ
by e^{−iξ·τ} (approximately, with error σ|τ|: the poster's "small translations as phase
shifts"), so the phase of x∗ψ(u) is uniform over the circle: its law is circularly symmetric
and E[x∗ψ(u)] = 0 for every class. Exactly so, in fact: E[x∗ψ] = E[x]·ψ̂(0) = 0 because ψ has
zero mean. Moreover the law is symmetric under x → −x (Gaussian noise, the odd point-wise s,
and the odd standardisation), so every odd function of x has zero class means: every
phase-preserving network (complex soft-thresholding, ms, mc, tanh, all of them odd) feeds a
linear classifier zero-mean features, for every class. The classes differ only in *where*
their energy lies, E|x∗ψ_k|², which the modulus |x∗ψ_k| (a phase collapse) turns into
class-dependent means that a linear classifier separates.

Classes: K orientations θ_k = π·(k mod 4)/4, radius r_k alternating between 1.2 and 2.2
rad/pixel every 4 classes; b = 0.35. Classes k ≥ 4 also take the non-Gaussian point-wise
s with p = 2 (up to 8 classes).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

MAX_CLASSES = 8


def class_envelope(k: int, size: int, bandwidth: float = 0.35) -> Tensor:
    """Spectral envelope (size, size) of class k: Gaussian bumps at ±ω_k."""
    theta = math.pi * (k % 4) / 4
    radius = 1.2 if k < 4 else 2.2
    w = torch.fft.fftfreq(size, dtype=torch.float64) * 2 * math.pi
    w1, w2 = torch.meshgrid(w, w, indexing="ij")
    c1, c2 = radius * math.cos(theta), radius * math.sin(theta)
    bump = lambda s: torch.exp(-((w1 - s * c1) ** 2 + (w2 - s * c2) ** 2) / (2 * bandwidth**2))  # noqa: E731
    return bump(1) + bump(-1)


def generate(classes: int, per_class: int, size: int = 32, seed: int = 0, channels: int = 3) -> tuple[Tensor, Tensor]:
    """``per_class`` textures of each of ``classes`` classes: float32 (N, channels, size, size), labels (N,).

    Deterministic in ``seed``; samples are ordered class by class.
    """
    if not 2 <= classes <= MAX_CLASSES:
        raise ValueError(f"textures supports 2 … {MAX_CLASSES} classes, got {classes}")
    if per_class < 1:
        raise ValueError(f"per_class must be ≥ 1, got {per_class}")
    g = torch.Generator().manual_seed(seed)
    images = []
    for k in range(classes):
        noise = torch.randn(per_class, channels, size, size, generator=g, dtype=torch.float64)
        x = torch.fft.ifft2(torch.fft.fft2(noise) * class_envelope(k, size)).real
        if k >= 4:
            x = x * x.abs()
        x = x - x.mean(dim=(-2, -1), keepdim=True)
        images.append(x / x.std(dim=(-2, -1), keepdim=True))
    labels = torch.arange(classes).repeat_interleave(per_class)
    return torch.cat(images).float(), labels


def splits(classes: int, train_per_class: int, test_per_class: int, seed: int = 0) -> tuple[tuple[Tensor, Tensor], tuple[Tensor, Tensor]]:
    """Independent train and test sets (different seeds)."""
    return generate(classes, train_per_class, seed=2 * seed), generate(classes, test_per_class, seed=2 * seed + 1)
