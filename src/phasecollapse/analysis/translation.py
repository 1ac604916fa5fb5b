"""Small translations as phase shifts, with an exact per-image bound (poster panel; docs/faithfulness.md, *Analyses*).

Conventions. Images are periodic on an H×W grid; the DFT frequencies are represented in
[−π, π)² (:func:`frequency_grid`, as ``torch.fft.fftfreq``). A translation by τ ∈ ℝ² (pixels,
(rows, columns)), sub-pixel included, is *defined* by band-limited (trigonometric)
interpolation with these representatives:

    x̂_τ(ω) = x̂(ω) e^{−iω·τ},   ω ∈ [−π, π)²,   so   (x_τ ∗ ψ)^(ω) = x̂ψ̂(ω) e^{−iω·τ}.

For integer τ this is ``torch.roll`` (e^{−iω·τ} is 2π-periodic in ω, every representative
agrees); for non-integer τ the representative matters: a frequency just past +π is −π + δ and
moves its phase the other way. ψ̂ is a bank's real Fourier multiplier on the same grid
(:meth:`~phasecollapse.layers.filters.FilterBank.multipliers`, as the Wavelet layer's ``fft``
pipeline uses it).

Filter moments (flat spectrum), with w(ω) = ψ̂(ω)²:

    ξ_d = arg Σ_ω w(ω) e^{iω_d}, d = 1, 2            (circular mean: robust to wrap-around)
    σ   = ( Σ_ω w(ω) |ω − ξ|² / Σ_ω w(ω) )^{1/2}       (rms radius of ψ̂² around ξ)

Data-weighted bandwidth of an image x, with weights |x̂ψ̂|² and the *same* ω ∈ [−π, π)²:

    σ_x = ( Σ_ω |x̂ψ̂(ω)|² |ω − ξ|² / Σ_ω |x̂ψ̂(ω)|² )^{1/2}.

Theorem (exact, every image x with x∗ψ ≠ 0, every ξ, every τ). The relative error of the
model "translation = phase shift" satisfies

    E_x(τ) := ‖x_τ∗ψ − e^{−iξ·τ} x∗ψ‖ / ‖x∗ψ‖ ≤ σ_x |τ|.

Proof. By Plancherel, E_x(τ)² = Σ_ω |x̂ψ̂|² |e^{−iω·τ} − e^{−iξ·τ}|² / Σ_ω |x̂ψ̂|², and
|e^{−iω·τ} − e^{−iξ·τ}| = |e^{−i(ω−ξ)·τ} − 1|. (i) For real θ, |e^{iθ} − 1| = 2|sin(θ/2)| ≤ |θ|.
(ii) Cauchy–Schwarz on the direction: |(ω−ξ)·τ| ≤ |ω−ξ| |τ|. Both steps use the same
representative ω that defines the shift, so |e^{−i(ω−ξ)·τ} − 1|² ≤ |ω−ξ|² |τ|² term by term,
and the weighted mean of the right-hand side is σ_x² |τ|². ∎

Ensemble version: summing the numerators over images x_n before dividing,
E_pool(τ)² = Σ_n ‖x_n∗ψ‖² E_n(τ)² / Σ_n ‖x_n∗ψ‖² ≤ σ_pool² |τ|², with σ_pool² the same
energy-weighted mean of σ_n² (that is, σ_x of the pooled weights Σ_n |x̂_nψ̂|²).

Tightness. (i) is tight as (ω−ξ)·τ → 0 and (ii) when τ ∥ ω − ξ: a single-frequency image
e^{iω0·u} has E = |e^{−i(ω0−ξ)·τ} − 1| and σ_x = |ω0 − ξ|, so E/(σ_x|τ|) → 1 for small τ along
ω0 − ξ.

The flat-spectrum σ|τ| is σ_x for |x̂| constant: a first-order prediction for other images, not
a bound. Natural images put their energy at low |ω|, i.e. for most wavelets on the side of ξ
towards 0, which can make σ_x > σ; an image concentrated at |ω0 − ξ| > σ inside ψ̂'s support
exceeds σ|τ| for small τ along ω0 − ξ.

Wrap-around. Where ψ̂ reaches past ±π (F0 and F1 at dilation 2^0: for θ = 0, ψ̂(−π, 0) ≈ 0.81
and 0.66 on a 32×32 grid, so ψ̂ is not analytic on the grid), the energy beyond π sits at
ω − 2π, about 2π from ξ: sub-pixel shifts rotate its phase the other way, the error is
genuinely larger, and σ_x counts that energy as far from ξ, so the bound stays exact. The flat
σ counts the wrapped part of ψ̂² at full weight, whereas natural images have little energy near
Nyquist: there σ exceeds σ_x. The representative of ω − ξ minimising |ω − ξ| would give a
smaller σ_x that bounds integer shifts only (for them every representative gives the same
error); with it the bound fails for sub-pixel shifts at 2^0 (tested), and using it in the error
too would define a different sub-pixel shift for each filter.

Network scales. A block at input stride 2^j (j subsamplings before it) applies its bank on a
grid of 2^j-pixel cells: in input pixels its wavelets are the bank dilated by 2^j
(:func:`coarser`: σ·2^j, ξ·2^−j), and a shift τ (input pixels) is τ/2^j on its grid, with the
same relative error since (ω−ξ)·τ is invariant. So the study of the bank dilated by 2^j on the
images describes the blocks returned for j by
:func:`block_dilations` (CIFAR-10: F0, F1 at j = 0, 1, 2, 3 for blocks 0…7; ImageNet: N at
j = 0, then F0, F1 at j = 1 … 5), up to the sampling of the filter and aliasing in the block's
input (which is a feature map, not the image).

Measured through the layer. :func:`layer_phase_shift_errors` passes the shifted images through
the network's own :class:`~phasecollapse.layers.wavelet.Wavelet` (reflection padding, the FFT
pipeline's border rule, subsampling for F1 and N) and measures E_x(τ) on its output. The
theorem is for periodic convolution on the full grid; the layer differs at the borders (the
periodic shift wraps content the reflection padding does not) and by subsampling, so its
errors are held against the same bound σ_x|τ| as a measurement, not as a theorem.
"""

from __future__ import annotations

import math
from dataclasses import replace

import torch
from torch import Tensor

from ..layers.complex import from_complex, to_complex
from ..layers.filters import FilterBank, angles, block_banks, filter_bank
from ..layers.wavelet import Wavelet


def frequency_grid(P: int, Q: int) -> Tensor:
    """ω of shape (P, Q, 2) in radians per pixel, in [−π, π)."""
    w1 = torch.fft.fftfreq(P, dtype=torch.float64) * 2 * math.pi
    w2 = torch.fft.fftfreq(Q, dtype=torch.float64) * 2 * math.pi
    return torch.stack(torch.meshgrid(w1, w2, indexing="ij"), -1)


def spectral_moments(multiplier: Tensor) -> tuple[Tensor, float]:
    """(ξ (2,), σ) of a real Fourier multiplier (P, Q): circular energy centroid and rms bandwidth."""
    omega = frequency_grid(*multiplier.shape)
    w = multiplier.double().square()
    xi = torch.angle((torch.exp(1j * omega) * w[..., None]).sum((0, 1)))
    sigma = math.sqrt(float(((omega - xi).square().sum(-1) * w).sum() / w.sum()))
    return xi, sigma


def filtered_energy(images: Tensor, multiplier: Tensor) -> Tensor:
    """|x̂ ψ̂|² (N, H, W) float64 of images (N, H, W) (real or complex, periodic) and ψ̂ (H, W)."""
    return (torch.fft.fft2(images.to(torch.complex128)) * multiplier.double()).abs().square()


def phase_gaps(omega: Tensor, xi: Tensor, shifts: Tensor) -> Tensor:
    """|e^{−i(ω−ξ)·τ} − 1|² (S, H, W) for ω (H, W, 2), ξ (2,), shifts τ (S, 2)."""
    return (torch.exp(-1j * ((omega - xi) @ shifts.double().T)) - 1).abs().square().permute(2, 0, 1)


def phase_shift_errors(images: Tensor, multiplier: Tensor, shifts: Tensor) -> Tensor:
    """Per-image relative errors E_x(τ) = ‖x_τ∗ψ − e^{−iξ·τ} x∗ψ‖/‖x∗ψ‖ (S, N), ξ of ψ̂.

    images (N, H, W) with x∗ψ ≠ 0, multiplier (H, W), shifts (S, 2) in pixels (rows, columns).
    """
    xi, _ = spectral_moments(multiplier)
    energy = filtered_energy(images, multiplier)
    gaps = phase_gaps(frequency_grid(*multiplier.shape), xi, shifts)
    return (torch.einsum("shw,nhw->sn", gaps, energy) / energy.sum((1, 2))).sqrt()


def fourier_shift(images: Tensor, shifts: Tensor) -> Tensor:
    """x_τ (S, N, H, W) complex128 of images (N, H, W) for shifts (S, 2): x̂(ω) e^{−iω·τ}, ω ∈ [−π, π)²."""
    phase = torch.exp(-1j * (frequency_grid(*images.shape[-2:]) @ shifts.double().T)).permute(2, 0, 1)
    return torch.fft.ifft2(torch.fft.fft2(images.to(torch.complex128))[None] * phase[:, None])


@torch.no_grad()
def layer_phase_shift_errors(images: Tensor, bank: FilterBank, shifts: Tensor, crop: int = 0) -> Tensor:
    """E_x(τ) measured on the output of the Wavelet layer of ``bank``: (L, S, N) relative errors
    ‖W(x_τ)_k − e^{−iξ_k·τ} W(x)_k‖ / ‖W(x)_k‖ for images (N, H, W), shifts (S, 2), ξ_k of ψ̂_k
    (:func:`spectral_moments` on the images' grid), the norms over the output map without its
    ``crop`` outer rows and columns. x_τ is complex for sub-pixel shifts (the Nyquist terms), so
    the layer takes complex input; it runs its FFT pipeline in fp32."""
    layer = Wavelet(bank, 1, complex_input=True, algorithm="fft")
    xi = torch.stack([spectral_moments(m)[0] for m in torch.from_numpy(bank.multipliers(*images.shape[-2:]))[1:]])  # (L, 2)

    def psi(z: Tensor) -> Tensor:  # (N, H, W) complex → (N, L, h, w) complex128, cropped
        out = to_complex(layer(from_complex(z[:, None].to(torch.complex64)))[1]).to(torch.complex128)
        return out[..., crop : out.shape[-2] - crop, crop : out.shape[-1] - crop]

    base = psi(images.to(torch.complex128))
    norms = base.abs().square().sum((2, 3)).sqrt()  # (N, L)
    errors = []
    for tau, shifted in zip(shifts.double(), fourier_shift(images, shifts)):
        turn = torch.exp(-1j * (xi @ tau))[None, :, None, None]  # e^{−iξ_k·τ}
        errors.append(((psi(shifted) - turn * base).abs().square().sum((2, 3)).sqrt() / norms).T)
    return torch.stack(errors, 1)


def data_bandwidths(images: Tensor, multiplier: Tensor) -> Tensor:
    """σ_x (N,) = (Σ |x̂ψ̂|² |ω−ξ|² / Σ |x̂ψ̂|²)^½ per image, ω ∈ [−π, π)², ξ of ψ̂."""
    xi, _ = spectral_moments(multiplier)
    energy = filtered_energy(images, multiplier)
    distance = (frequency_grid(*multiplier.shape) - xi).square().sum(-1)
    return ((energy * distance).sum((1, 2)) / energy.sum((1, 2))).sqrt()


def pooled(values: Tensor, weights: Tensor) -> Tensor:
    """(Σ_n w_n v_n² / Σ_n w_n)^½ over the last axis: values (…, N), weights (N,) → (…)."""
    return ((values.square() * weights).sum(-1) / weights.sum()).sqrt()


def wavelet_translation_study(images: Tensor, multiplier: Tensor, shifts: Tensor) -> dict[str, object]:
    """Errors and bounds of one wavelet ψ̂ (H, W) on images (N, H, W) for shifts (S, 2).

    Returns (lists of length S where per shift): ξ, flat σ; σ_x mean / min / max and pooled;
    errors mean / max / pooled over images; bounds mean σ_x|τ|, max σ_x|τ| and σ_pool|τ|; the
    max and median over images of E_x(τ)/(σ_x|τ|) (None at τ = 0; the theorem: max ≤ 1); the
    flat-spectrum prediction σ|τ| and the fraction of images whose error exceeds it.
    """
    xi, sigma = spectral_moments(multiplier)
    errors = phase_shift_errors(images, multiplier, shifts)  # (S, N)
    sigma_x = data_bandwidths(images, multiplier)  # (N,)
    weights = filtered_energy(images, multiplier).sum((1, 2))
    norms = shifts.double().norm(dim=1)
    ratio = errors / (sigma_x * norms[:, None])
    moving = norms > 0
    flat = sigma * norms
    return {
        "xi": xi.tolist(),
        "sigma": sigma,
        "sigma_x": {"mean": float(sigma_x.mean()), "min": float(sigma_x.min()), "max": float(sigma_x.max()), "pooled": float(pooled(sigma_x, weights))},
        "error_mean": errors.mean(1).tolist(),
        "error_max": errors.amax(1).tolist(),
        "error_pooled": pooled(errors, weights).tolist(),
        "bound_mean": (sigma_x.mean() * norms).tolist(),
        "bound_max": (sigma_x.max() * norms).tolist(),
        "bound_pooled": (pooled(sigma_x, weights) * norms).tolist(),
        "ratio_max": [float(r.max()) if m else None for r, m in zip(ratio, moving)],
        "ratio_median": [float(r.median()) if m else None for r, m in zip(ratio, moving)],
        "flat_prediction": flat.tolist(),
        "flat_exceeded_fraction": (errors > flat[:, None] + 1e-12).double().mean(1).tolist(),
    }


def bank_translation_study(images: Tensor, bank: FilterBank, shifts: Tensor) -> list[dict[str, object]]:
    """:func:`wavelet_translation_study` of every ψ_k of ``bank`` (multipliers at the images' size),
    with k and its orientation θ_k."""
    multipliers = torch.from_numpy(bank.multipliers(*images.shape[-2:]))
    thetas = angles(bank.L)
    return [{"k": k, "theta": float(thetas[k]), **wavelet_translation_study(images, m, shifts)} for k, m in enumerate(multipliers[1:])]


def layer_translation_study(images: Tensor, bank: FilterBank, shifts: Tensor, crop: int = 3) -> list[dict[str, object]]:
    """Per ψ_k of ``bank`` (dilation 2^0, as a first block applies it to images): the errors
    measured through the Wavelet layer (:func:`layer_phase_shift_errors`) held against the
    per-image bound σ_x|τ|, on the whole output map (``layer_…``) and without its ``crop`` outer
    rows and columns (``layer_interior_…``, where reflection padding and periodic shift agree):
    mean error per shift, max ratio E/(σ_x|τ|) (None at τ = 0) and the fraction of images above
    the bound."""
    norms = shifts.double().norm(dim=1)
    moving = norms > 0
    bounds = [data_bandwidths(images, m) * norms[:, None] for m in torch.from_numpy(bank.multipliers(*images.shape[-2:]))[1:]]  # (S, N) each
    out: list[dict[str, object]] = [{} for _ in bounds]
    for key, c in (("layer", 0), ("layer_interior", crop)):
        for entry, errors, bound in zip(out, layer_phase_shift_errors(images, bank, shifts, c), bounds):
            entry[f"{key}_error_mean"] = errors.mean(1).tolist()
            entry[f"{key}_ratio_max"] = [float((e / b).max()) if mv else None for e, b, mv in zip(errors, bound, moving)]
            entry[f"{key}_above_bound_fraction"] = [float((e > b + 1e-6).double().mean()) if mv else 0.0 for e, b, mv in zip(errors, bound, moving)]
    return out


def coarser(bank: FilterBank, j: float) -> FilterBank:
    """The bank's wavelets dilated by 2^j: σ·2^j, ξ·2^−j (φ likewise), named ``bank@2^j``."""
    return replace(bank, name=f"{bank.name}@2^{j:g}", psi_sigma=bank.psi_sigma * 2**j, psi_xi=bank.psi_xi / 2**j, phi_sigma=bank.phi_sigma * 2**j)


def block_dilations(num_blocks: int, factorize_from: int, L: int) -> list[tuple[str, int]]:
    """(bank name, j) per block of an LScat: the bank and the number j of subsamplings before the
    block, so that the block filters with the bank dilated by 2^j in input pixels."""
    out, j = [], 0
    for name in block_banks(num_blocks, factorize_from):
        out.append((name, j))
        j += filter_bank(name, L).subsample
    return out
