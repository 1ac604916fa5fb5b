"""Small translations as phase shifts (poster panel; spec F.4.1).

For a wavelet ψ with Fourier multiplier ψ̂ on a P×Q grid (ω ∈ [−π, π)²), energy weights
w(ω) = ψ̂(ω)²:

    centre frequency   ξ_d = arg Σ_ω w(ω) e^{iω_d}, d = 1, 2     (circular mean: the spectrum of a
                       Morlet near Nyquist wraps around ±π, which would bias a plain average)
    spectral bandwidth σ = ( Σ |ω − ξ|² w(ω) / Σ w(ω) )^{1/2}     (rms radius around ξ, with ω the
                       grid frequency in [−π, π): wrapped energy counts as far from ξ, as it is for
                       sub-pixel shifts)

and for an image x and a translation τ (sub-pixel allowed; periodic images, x̂_τ = x̂ e^{−iω·τ}):

    relative error(τ) = ‖x_τ ∗ ψ − e^{−iξ·τ} (x ∗ ψ)‖ / ‖x ∗ ψ‖
                      = ( Σ |x̂ ψ̂|² |e^{−i(ω−ξ)·τ} − 1|² / Σ |x̂ ψ̂|² )^{1/2} ≤ sup_{x̂ψ̂ ≠ 0} |ω − ξ| · |τ|.

With a flat input spectrum the weights are w and the bound is σ|τ| (|e^{iθ} − 1| ≤ |θ| and
Cauchy–Schwarz); for inputs band-limited to |ω − ξ| ≤ r it is r|τ|. Computed exactly in Fourier.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ..layers.filters import FilterBank


def frequency_grid(P: int, Q: int) -> Tensor:
    """ω of shape (P, Q, 2) in radians per pixel, in [−π, π)."""
    w1 = torch.fft.fftfreq(P, dtype=torch.float64) * 2 * math.pi
    w2 = torch.fft.fftfreq(Q, dtype=torch.float64) * 2 * math.pi
    return torch.stack(torch.meshgrid(w1, w2, indexing="ij"), -1)


def spectral_moments(multiplier: Tensor) -> tuple[Tensor, float]:
    """(ξ (2,), σ) of a real Fourier multiplier (P, Q): energy centroid and rms bandwidth."""
    omega = frequency_grid(*multiplier.shape)
    w = multiplier.double().square()
    xi = torch.angle((torch.exp(1j * omega) * w[..., None]).sum((0, 1)))
    sigma = math.sqrt(float(((omega - xi).square().sum(-1) * w).sum() / w.sum()))
    return xi, sigma


def phase_shift_errors(images: Tensor, multiplier: Tensor, shifts: Tensor) -> Tensor:
    """Relative error of the phase-shift model for each shift: images (N, H, W) real (periodic),
    multiplier (H, W), shifts (S, 2) in pixels (rows, columns) → errors (S,) over all images."""
    xi, _ = spectral_moments(multiplier)
    omega = frequency_grid(*multiplier.shape)
    energy = (torch.fft.fft2(images.double()).abs().square() * multiplier.double().square()).sum(0)
    errors = []
    for tau in shifts.double():
        gap = (torch.exp(-1j * (omega @ tau)) - torch.exp(-1j * (xi @ tau))).abs().square()
        errors.append(math.sqrt(float((energy * gap).sum() / energy.sum())))
    return torch.tensor(errors)


def bank_translation_study(images: Tensor, bank: FilterBank, shifts: Tensor) -> list[dict[str, object]]:
    """For every ψ_k of ``bank`` (multipliers at the images' size): ξ, σ, errors and bounds σ|τ|."""
    h, w = images.shape[-2:]
    multipliers = torch.from_numpy(bank.multipliers(h, w))
    norms = shifts.double().norm(dim=1)
    out = []
    for k, m in enumerate(multipliers[1:]):
        xi, sigma = spectral_moments(m)
        out.append({"k": k, "xi": xi.tolist(), "sigma": sigma, "shift_norm": norms.tolist(), "error": phase_shift_errors(images, m, shifts).tolist(), "bound": (sigma * norms).tolist()})
    return out
