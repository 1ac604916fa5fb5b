"""Wavelet filters and the three filter banks of the learned scattering (docs/faithfulness.md, *Filter banks*).

Pure functions of numpy arrays (float64 / complex128); callers cast to torch.

Conventions (as in the authors' ``phase_scattering2d_torch.py:139–151``): u = (u1, u2) with u1 the row and u2 the column; frequencies
ω ∈ [−π, π)², DFT index k ↔ ω = 2πk/P. Filters are periodised on a P×Q grid and centred at
index (0, 0) (no fftshift). A bank's Fourier multipliers are real arrays of shape
(1 + L, P, Q): index 0 is the low-pass φ, index 1 + k the Morlet ψ_k.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

#: The authors' value of π in the Gabor normalisation (authors' ``phase_scattering2d_torch.py:153``).
PI_AUTHORS = 3.1415


def gabor_2d(
    P: int,
    Q: int,
    sigma: float,
    theta: float,
    xi: float,
    slant: float = 1.0,
    pi_norm: float = PI_AUTHORS,
) -> np.ndarray:
    """Periodised Gabor atom on a P×Q grid, centred at (0, 0) (authors' ``phase_scattering2d_torch.py:110–156``).

        R_θ = rotation by θ,   Q_θ = R_θ diag(1, s²) R_θᵀ / (2σ²)
        g(u) = s / (2π'σ²) · exp(−uᵀ Q_θ u) · exp(i ξ (cos θ u1 + sin θ u2))

    summed over the 5×5 periodic copies u + (aP, bQ), a, b ∈ {−2, …, 2}.
    ``pi_norm`` is π' (the authors use 3.1415; Kymatio uses π).

    Returns a complex128 array of shape (P, Q).
    """
    c, s_ = math.cos(theta), math.sin(theta)
    rot = np.array([[c, -s_], [s_, c]])
    curv = rot @ np.diag([1.0, slant**2]) @ rot.T / (2.0 * sigma**2)
    u1 = np.arange(P, dtype=np.float64)[:, None, None, None] + P * np.arange(-2, 3)[None, None, :, None]
    u2 = np.arange(Q, dtype=np.float64)[None, :, None, None] + Q * np.arange(-2, 3)[None, None, None, :]
    quad = curv[0, 0] * u1**2 + (curv[0, 1] + curv[1, 0]) * u1 * u2 + curv[1, 1] * u2**2
    atom = np.exp(-quad + 1j * xi * (c * u1 + s_ * u2))
    return atom.sum(axis=(2, 3)) * slant / (2.0 * pi_norm * sigma**2)


def morlet_2d(
    P: int,
    Q: int,
    sigma: float,
    theta: float,
    xi: float,
    slant: float = 1.0,
    pi_norm: float = PI_AUTHORS,
) -> np.ndarray:
    """Periodised Morlet wavelet (authors' ``phase_scattering2d_torch.py:70–107``): ψ = g_{σ,θ,ξ,s} − K g_{σ,θ,0,s}, K = Σg_ξ / Σg_0.

    K makes Σ_u ψ(u) = 0, i.e. ψ̂(0) = 0. Returns complex128 (P, Q).
    """
    wave = gabor_2d(P, Q, sigma, theta, xi, slant, pi_norm)
    envelope = gabor_2d(P, Q, sigma, theta, 0.0, slant, pi_norm)
    return wave - (wave.sum() / envelope.sum()) * envelope


def lowpass_2d(P: int, Q: int, sigma: float, pi_norm: float = PI_AUTHORS) -> np.ndarray:
    """Low-pass φ (authors' ``phase_scattering2d_torch.py:59, 65``): isotropic Gabor with ξ = 0, θ = 0, s = 1; φ̂(0) ≈ 1. Real (P, Q)."""
    return gabor_2d(P, Q, sigma, 0.0, 0.0, 1.0, pi_norm).real


def angles(L: int) -> np.ndarray:
    """Half-plane orientations θ_k = (L/2 − 1 − k)·π/L, k = 0 … L−1, in decreasing order (authors' ``phase_scattering2d_torch.py:40–47, 53``).

    L = 4: π/4, 0, −π/4, −π/2. L = 8: 3π/8 … −π/2.
    """
    if L < 1:
        raise ValueError(f"the number of orientations L must be ≥ 1, got {L}")
    return (L / 2 - 1 - np.arange(L)) * math.pi / L


def fourier_multiplier(spatial: np.ndarray) -> np.ndarray:
    """Real Fourier multiplier of a periodised spatial filter: Re(DFT(filter)) (authors' ``phase_scattering2d_torch.py:37``)."""
    return np.fft.fft2(spatial).real


@dataclass(frozen=True)
class FilterBank:
    """One scale of wavelets: L Morlets ψ_k (σ, ξ, slant) and a low-pass φ (σ_φ) (docs/faithfulness.md, *Filter banks*).

    ``subsample`` tells whether a block using this bank subsamples its output by 2.
    """

    name: str
    L: int
    psi_sigma: float
    psi_xi: float
    psi_slant: float
    phi_sigma: float
    subsample: bool

    def multipliers(self, P: int, Q: int, pi_norm: float = PI_AUTHORS) -> np.ndarray:
        """Fourier multipliers at padded size P×Q: real (1 + L, P, Q), index 0 = φ̂, 1 + k = ψ̂_k."""
        return np.stack([fourier_multiplier(f) for f in self.spatial_filters(P, Q, pi_norm)])

    def spatial_filters(self, P: int, Q: int, pi_norm: float = PI_AUTHORS) -> list[np.ndarray]:
        """Periodised spatial filters on a P×Q grid, centred at (0, 0): [φ, ψ_0, …, ψ_{L−1}]."""
        phi = lowpass_2d(P, Q, self.phi_sigma, pi_norm).astype(np.complex128)
        psis = [morlet_2d(P, Q, self.psi_sigma, t, self.psi_xi, self.psi_slant, pi_norm) for t in angles(self.L)]
        return [phi, *psis]

    @lru_cache(maxsize=16)
    def compact_kernels(self, tolerance: float = 1e-5, grid: int = 96) -> np.ndarray:
        """Compact spatial kernels h_f (complex128, (1 + L, k, k), k odd, centred at k//2), read-only
        (computed once per bank, tolerance and grid).

        The kernels are the inverse DFT of the *real* multipliers on a ``grid``×``grid`` grid
        (large enough for the periodic copies to be negligible), so they are the exact spatial
        counterpart of the reference's Fourier filtering; they are truncated to the smallest odd
        k whose discarded L1 mass is ≤ ``tolerance`` × the L1 mass of every filter.
        ``h[f, r + d1, r + d2]`` is the filter at offset (d1, d2) (convolution, not correlation).
        """
        full = np.fft.ifft2(self.multipliers(grid, grid), axes=(-2, -1))
        centred = np.fft.fftshift(full, axes=(-2, -1))
        c = grid // 2
        mass = np.abs(centred).sum(axis=(-2, -1))
        for r in range(1, c):
            window = np.abs(centred[:, c - r : c + r + 1, c - r : c + r + 1]).sum(axis=(-2, -1))
            if np.all(mass - window <= tolerance * mass):
                kernels = centred[:, c - r : c + r + 1, c - r : c + r + 1].copy()
                kernels.flags.writeable = False
                return kernels
        raise ValueError(f"filter bank {self.name} does not fit a {grid}×{grid} grid at tolerance {tolerance}")


def filter_bank(name: str, L: int) -> FilterBank:
    """The banks of the authors' ``filter_bank`` (``phase_scattering2d_torch.py:49–65``), by name: ``"N"``, ``"F0"`` or ``"F1"``, with L orientations.

    | bank | ψ σ        | ψ ξ     | ψ slant              | φ σ    | subsample |
    | N    | 0.8        | 3π/4    | s = 4/L              | 0.8    | yes       |
    | F0   | 0.8        | 3π/4    | s                    | 0.8/√2 | no        |
    | F1   | 0.8·√(3/2) | π/√2    | √(3s²/(4 − s²))      | 0.8/√2 | yes       |
    """
    s = 4.0 / L
    if name == "N":
        return FilterBank("N", L, 0.8, 3 * math.pi / 4, s, 0.8, True)
    if name == "F0":
        return FilterBank("F0", L, 0.8, 3 * math.pi / 4, s, 0.8 / math.sqrt(2), False)
    if name == "F1":
        s1 = math.sqrt(3 * s**2 / (4 - s**2))
        return FilterBank("F1", L, 0.8 * math.sqrt(1.5), math.pi / math.sqrt(2), s1, 0.8 / math.sqrt(2), True)
    raise ValueError(f"unknown filter bank {name!r}; expected one of 'N', 'F0', 'F1'")


def block_banks(num_blocks: int, factorize_from: int) -> list[str]:
    """Bank names per block for ``--factorize-filters f`` (authors' ``main_block.py:287–291``).

    Block i < f uses N; block i ≥ f uses F0 if (i − f) is even, else F1.
    CIFAR: f = 0 → F0, F1, F0, … ; ImageNet: f = 1 → N, F0, F1, F0, …
    """
    return ["N" if i < factorize_from else ("F0" if (i - factorize_from) % 2 == 0 else "F1") for i in range(num_blocks)]
