"""The "Scat" baseline: order-2 wavelet scattering with fixed Morlet filters + the linear head
(spec E.1; the poster's Table 1 column "Scat").

    S x = { x∗φ_J ,  |x∗ψ_{j1,θ1}|∗φ_J ,  ||x∗ψ_{j1,θ1}|∗ψ_{j2,θ2}|∗φ_J  (j2 > j1) } ↓2^J

with ψ_{j,θ} the Morlet of σ = 0.8·2^j, ξ = 3π/4·2^{−j}, slant 4/L, and the averaging
low-pass φ_J a Gaussian of σ = 0.8·2^{J−1}. Per input channel: 1 + JL + L²J(J−1)/2 paths
(217 for J = 3, L = 8; 417 for J = 4).

Algorithm and filters follow the conventions of Kymatio's Scattering2D, our test oracle,
computed from our own filter functions (:mod:`phasecollapse.filters`) and the spectral
folding of the reference wavelet transform: reflection padding to
P = (⌊(M + 2^J)/2^J⌋ + 1)·2^J, FFTs, filtering at decreasing resolutions (filters at
resolution r are the low-frequency crop of the full-resolution multiplier to P/2^r), and a
final crop of one (subsampled) pixel per side. Output channel order: S0, S1 by (j1, θ1),
S2 by (j1, θ1, j2, θ2), as in Kymatio.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..complex import check_feature_map
from ..filters import PI_AUTHORS, angles, gabor_2d, morlet_2d
from .head import LinearHead


def scattering_padding(M: int, J: int) -> int:
    """Padded size (⌊(M + 2^J)/2^J⌋ + 1)·2^J along one axis."""
    return ((M + 2**J) // 2**J + 1) * 2**J


def lowpass_crop(multiplier: np.ndarray, res: int) -> np.ndarray:
    """Restrict a Fourier multiplier (…, P, Q) to the frequencies of resolution P/2^res, Q/2^res."""
    P, Q = multiplier.shape[-2:]
    p, q = P >> res, Q >> res
    rows = np.r_[0 : p // 2, P - p + p // 2 : P]
    cols = np.r_[0 : q // 2, Q - q + q // 2 : Q]
    return multiplier[..., rows[:, None], cols[None, :]]


def fold(spectrum: Tensor, k: int) -> Tensor:
    """Spectral folding: subsample by k in space ⇔ average the k×k blocks of the spectrum.

    Summed block by block (slices), which is several times faster on CPU than a strided
    complex reduction over the reshaped block dimensions."""
    if k == 1:
        return spectrum
    P, Q = spectrum.shape[-2:]
    p, q = P // k, Q // k
    rows = spectrum[..., :p, :]
    for a in range(1, k):
        rows = rows + spectrum[..., a * p : (a + 1) * p, :]
    out = rows[..., :q]
    for b in range(1, k):
        out = out + rows[..., b * q : (b + 1) * q]
    return out / (k * k)


def num_paths(J: int, L: int, max_order: int = 2) -> int:
    """1 + JL (+ L²J(J−1)/2 for order 2)."""
    return 1 + J * L + (L * L * J * (J - 1) // 2 if max_order == 2 else 0)


class Scattering2D(nn.Module):
    """Order-1 or 2 scattering of real images (B, C, M, N) → (B, C·K, M/2^J, N/2^J), K paths."""

    def __init__(self, J: int, shape: tuple[int, int], L: int = 8, max_order: int = 2) -> None:
        super().__init__()
        if max_order not in (1, 2):
            raise ValueError(f"max_order must be 1 or 2, got {max_order}")
        M, N = shape
        if M % 2**J or N % 2**J:
            raise ValueError(f"input size {shape} must be divisible by 2^J = {2**J}")
        self.J, self.L, self.max_order, self.shape = J, L, max_order, (M, N)
        P, Q = scattering_padding(M, J), scattering_padding(N, J)
        self.pads = ((P - M) // 2, (P - M + 1) // 2, (Q - N) // 2, (Q - N + 1) // 2)
        thetas = angles(L)
        psi = [
            np.stack([morlet_2d(P, Q, 0.8 * 2**j, t, 3 * math.pi / 4 / 2**j, 4.0 / L, PI_AUTHORS) for t in thetas])
            for j in range(J)
        ]
        psi_hat = [np.fft.fft2(p).real for p in psi]
        phi_hat = np.fft.fft2(gabor_2d(P, Q, 0.8 * 2 ** (J - 1), 0.0, 0.0, 1.0, PI_AUTHORS)).real
        for j in range(J):  # ψ_j at resolutions 0 … j (order 2 reads resolution j1 < j)
            for res in range(j + 1):
                self.register_buffer(f"psi_{j}_{res}", torch.from_numpy(lowpass_crop(psi_hat[j], res)).float(), persistent=False)
        for res in range(J):
            self.register_buffer(f"phi_{res}", torch.from_numpy(lowpass_crop(phi_hat, res)).float(), persistent=False)

    @property
    def num_paths(self) -> int:
        return num_paths(self.J, self.L, self.max_order)

    def _psi(self, j: int, res: int) -> Tensor:
        return getattr(self, f"psi_{j}_{res}")

    def _average(self, u_hat: Tensor, j: int) -> Tensor:
        """|…|∗φ_J subsampled to 2^J and cropped: u_hat at resolution j → real (…, M/2^J, N/2^J)."""
        s = torch.fft.ifft2(fold(u_hat * getattr(self, f"phi_{j}"), 2 ** (self.J - j))).real
        return s[..., 1:-1, 1:-1]

    def forward(self, x: Tensor) -> Tensor:
        check_feature_map(x, "image batch")
        if tuple(x.shape[-2:]) != self.shape:
            raise ValueError(f"this scattering was built for {self.shape} images, got {tuple(x.shape[-2:])}")
        b, c = x.shape[:2]
        top, bottom, left, right = self.pads
        u0 = torch.fft.fft2(F.pad(x.float(), (left, right, top, bottom), mode="reflect").to(torch.complex64))
        out = [self._average(u0, 0).unsqueeze(2)]
        first: list[Tensor] = []
        second: list[Tensor] = []
        for j1 in range(self.J):
            u1 = torch.fft.ifft2(fold(u0.unsqueeze(2) * self._psi(j1, 0), 2**j1)).abs()
            u1_hat = torch.fft.fft2(u1)  # (B, C, L, ·, ·) at resolution j1
            first.append(self._average(u1_hat, j1))
            if self.max_order < 2:
                continue
            per_theta1 = []
            for u1_theta in u1_hat.unbind(2):  # one θ1 at a time: small intermediates stay in cache
                per_j2 = []
                for j2 in range(j1 + 1, self.J):
                    u2 = torch.fft.ifft2(fold(u1_theta.unsqueeze(2) * self._psi(j2, j1), 2 ** (j2 - j1))).abs()
                    per_j2.append(self._average(torch.fft.fft2(u2), j2))  # (B, C, L2, ·, ·)
                if per_j2:
                    per_theta1.append(torch.cat(per_j2, 2))  # order (j2, θ2)
            if per_theta1:
                second.append(torch.cat(per_theta1, 2))  # order (θ1, j2, θ2)
        out += first + second
        return torch.cat(out, 2).flatten(1, 2).view(b, c * self.num_paths, *out[0].shape[-2:])


class ScatNet(nn.Module):
    """Scat baseline: Scattering2D (fixed) → LinearHead (BN + Linear), spec E.1 + C.1."""

    def __init__(self, input_size: int, J: int, num_classes: int, L: int = 8, in_channels: int = 3, max_order: int = 2) -> None:
        super().__init__()
        self.in_channels, self.input_size = in_channels, input_size
        self.scattering = Scattering2D(J, (input_size, input_size), L, max_order)
        side = input_size // 2**J
        self.head = LinearHead(in_channels * self.scattering.num_paths, side, side, num_classes)

    def features(self, x: Tensor) -> list[Tensor]:
        return [self.scattering(x)]

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.scattering(x))
