"""Circular symmetry and zero class means of complex coefficients (poster panel; docs/faithfulness.md, *Analyses*).

The poster's claim: for classes invariant to translations, the wavelet coefficients z = x∗ψ
have a circularly symmetric law (z and e^{iα} z alike), hence zero class means E[z | c] = 0,
and so does every phase-preserving ρ(z) = r(|z|) z/|z| (cst, ms, mc, tanh): a linear classifier
cannot separate their class means. The modulus |z| creates class means: it collapses the phase.

Measured on features v (N, C, H, W), real or complex, with labels:

- **class means, per position**: Σ_c p_c ‖μ_c − μ‖² / E‖v‖², μ_c the class mean of v over the
  N images *at each channel and position* (the quantity a linear head on the flattened map
  sees), against its label-permutation null (:func:`~.separation.permutation_test`). Also
  reported pooled over positions (the mean over H, W first: what an averaging head sees) and
  the global-mean share ‖μ‖² / E‖v‖².
- **pseudo-variance** (complex v): |E z²| / E|z|² per channel over images and positions,
  0 for a circular law (E z² = E|z|² E e^{2i arg z} = 0), 1 for a fixed phase; null: the same
  moduli with independent uniform phases (its finite-sample floor).
- **phase–modulus dependence** (complex v): the plug-in mutual information I(arg z; q(|z|)) in
  bits between the phase in ``phase_bins`` sectors and the modulus quantile class among
  ``modulus_bins``, per channel; 0 when phase and modulus are independent (true of a circular
  law); null: the same statistic with the phases shuffled across samples (independence, same
  marginals: the plug-in bias floor). Exact zeros (cst below its threshold) have no phase and
  get a uniform random one. The phase histograms conditioned on the modulus
  quantiles are returned for plotting.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from ..layers.complex import to_complex
from ..layers.filters import FilterBank
from ..layers.nonlinearities import create_nonlinearity
from ..layers.wavelet import Wavelet
from ..models.lscat import LScat
from .internals import lscat_internals
from .separation import between_class_fraction, flat_features, permutation_test

PHASE_PRESERVING = ("cst", "ms", "mc", "tanh")


def pseudo_variance(z: Tensor) -> Tensor:
    """|E z²| / E|z|² per channel of complex z (N, C, H, W) → (C,) float64."""
    z = z.to(torch.complex128)
    return (z.square().mean((0, 2, 3)).abs() / z.abs().square().mean((0, 2, 3))).real


def random_phases(z: Tensor, seed: int = 0) -> Tensor:
    """|z| e^{iθ} with θ i.i.d. uniform: a circular law with the moduli of z."""
    theta = torch.rand(z.shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * 2 * math.pi
    return z.abs().double() * torch.exp(1j * theta)


def _phase_modulus_codes(z: Tensor, phase_bins: int, modulus_bins: int) -> tuple[Tensor, Tensor]:
    """Per channel (C, M): phase sector in [0, phase_bins) and modulus quantile class in [0, modulus_bins)."""
    flat = z.transpose(0, 1).reshape(z.shape[1], -1)
    phase = ((flat.angle() + math.pi) / (2 * math.pi) * phase_bins).long().clamp(0, phase_bins - 1)
    # z = 0 (e.g. below a soft threshold) has no phase: draw one uniformly, independent of |z|,
    # rather than arg 0 = π, which would tie a phase sector to the smallest moduli.
    sectors = torch.randint(0, phase_bins, phase.shape, generator=torch.Generator().manual_seed(0))
    phase = torch.where(flat == 0, sectors, phase)
    modulus = flat.abs().double()
    edges = torch.quantile(modulus, torch.linspace(0, 1, modulus_bins + 1, dtype=torch.float64)[1:-1], dim=1).T.contiguous()
    return phase, torch.searchsorted(edges, modulus.contiguous(), right=True)


def _mutual_information(phase: Tensor, modulus: Tensor, phase_bins: int, modulus_bins: int) -> Tensor:
    channels = phase.shape[0]
    index = torch.arange(channels)[:, None] * (phase_bins * modulus_bins) + modulus * phase_bins + phase
    joint = torch.bincount(index.flatten(), minlength=channels * phase_bins * modulus_bins).double().reshape(channels, modulus_bins, phase_bins)
    joint = joint / joint.sum((1, 2), keepdim=True)
    outer = joint.sum(2, keepdim=True) * joint.sum(1, keepdim=True)
    terms = torch.where(joint > 0, joint * (joint / outer.clamp_min(1e-300)).log2(), torch.zeros_like(joint))
    return terms.sum((1, 2))


def phase_modulus_information(z: Tensor, phase_bins: int = 16, modulus_bins: int = 4, shuffle_seed: int | None = None) -> Tensor:
    """I(arg z; modulus quantile) in bits per channel of complex z (N, C, H, W) → (C,);
    ``shuffle_seed``: the null, phases permuted across samples first."""
    phase, modulus = _phase_modulus_codes(z, phase_bins, modulus_bins)
    if shuffle_seed is not None:
        phase = phase[:, torch.randperm(phase.shape[1], generator=torch.Generator().manual_seed(shuffle_seed))]
    return _mutual_information(phase, modulus, phase_bins, modulus_bins)


def conditional_phase_histograms(z: Tensor, phase_bins: int = 16, modulus_bins: int = 4) -> Tensor:
    """Frequencies of the phase sector given the modulus quantile class, pooled over channels:
    (modulus_bins, phase_bins), each row summing to 1."""
    phase, modulus = _phase_modulus_codes(z, phase_bins, modulus_bins)
    counts = torch.bincount((modulus * phase_bins + phase).flatten(), minlength=modulus_bins * phase_bins).double().reshape(modulus_bins, phase_bins)
    return counts / counts.sum(1, keepdim=True)


def _pooled(values: Tensor) -> Tensor:
    return values.mean((2, 3)) if values.dim() == 4 else values


def law_figures(values: Tensor, labels: Tensor, permutations: int = 20, seed: int = 0) -> dict[str, Any]:
    """Every figure of the module docstring for one tensor (N, C, H, W) with labels (N,)."""
    flat = flat_features(values)
    mean = flat.mean(0)
    out: dict[str, Any] = {
        "class_means": permutation_test(between_class_fraction, flat, labels, permutations, seed),
        "class_means_pooled": permutation_test(between_class_fraction, flat_features(_pooled(values)), labels, permutations, seed),
        "global_mean_share": float(mean.square().sum() / flat.square().sum(1).mean()),
    }
    if values.is_complex():
        pv = pseudo_variance(values)  # NaN on an all-zero channel (cst can silence one): no phase there
        out["pseudo_variance"] = float(pv.nanmean())
        out["pseudo_variance_null"] = float(pseudo_variance(random_phases(values, seed)).nanmean())
        out["zero_channels"] = int(pv.isnan().sum())
        out["phase_modulus_bits"] = float(phase_modulus_information(values).mean())
        out["phase_modulus_bits_null"] = float(phase_modulus_information(values, shuffle_seed=seed).mean())
    return out


def circular_shifts(images: Tensor, seed: int = 0) -> Tensor:
    """Each image rolled by its own uniform random integer shift (rows, columns): a law
    invariant to circular translations, with the same images."""
    g = torch.Generator().manual_seed(seed)
    shifts = torch.randint(0, min(images.shape[-2:]), (len(images), 2), generator=g)
    return torch.stack([img.roll((int(a), int(b)), (-2, -1)) for img, (a, b) in zip(images, shifts)])


@torch.no_grad()
def wavelet_symmetry(images: Tensor, labels: Tensor, bank: FilterBank, nonlinearities: tuple[str, ...] = PHASE_PRESERVING, permutations: int = 20, seed: int = 0) -> dict[str, Any]:
    """Figures for z = x∗ψ_k of ``images`` (N, C, H, W), for ρ(z) with each phase-preserving ρ,
    for |z|, and for z of the same images randomly circularly shifted (the translation-invariant
    reference); plus the conditional phase histograms of z."""
    wavelet = Wavelet(bank, images.shape[1], False, "fft")
    psi = wavelet(images.float())[1]
    z = to_complex(psi)
    out = {"z": law_figures(z, labels, permutations, seed)}
    for name in nonlinearities:
        out[name] = law_figures(to_complex(create_nonlinearity(name, z.shape[1])(psi)), labels, permutations, seed)
    out["mod"] = law_figures(z.abs(), labels, permutations, seed)
    out["z, shifted images"] = law_figures(to_complex(wavelet(circular_shifts(images.float(), seed))[1]), labels, permutations, seed)
    return {"tensors": out, "phase_given_modulus": conditional_phase_histograms(z).tolist()}


def network_symmetry(model: LScat, images: Tensor, labels: Tensor, permutations: int = 20, seed: int = 0) -> list[dict[str, Any]]:
    """Per block j of a trained LScat: the figures of z_j = x_{j−1}∗ψ, of ρ(z_j) and of the
    block output x_j (:mod:`~.internals`)."""
    return [
        {"block": b.block, "z": law_figures(b.z, labels, permutations, seed), "rho": law_figures(b.rho, labels, permutations, seed), "x": law_figures(b.x, labels, permutations, seed)}
        for b in lscat_internals(model, images)
    ]
