"""Order-2 wavelet scattering S with fixed Morlet filters (docs/faithfulness.md, *Scat baseline*), the transform of the
poster's Table 1 column "Scat" (the model is :class:`phasecollapse.models.scat.ScatNet`).

    S x = { x∗φ_J ,  |x∗ψ_{j1,θ1}|∗φ_J ,  ||x∗ψ_{j1,θ1}|∗ψ_{j2,θ2}|∗φ_J  (j2 > j1) } ↓2^J

with ψ_{j,θ} the Morlet of σ = 0.8·2^j, ξ = 3π/4·2^{−j}, slant 4/L, and the averaging
low-pass φ_J a Gaussian of σ = 0.8·2^{J−1}. Per input channel: 1 + JL + L²J(J−1)/2 paths
(217 for J = 3, L = 8; 417 for J = 4).

Algorithm and filters follow the conventions of Kymatio's Scattering2D, our test oracle,
computed from our own filter functions (:mod:`phasecollapse.layers.filters`) and the spectral
folding of the reference wavelet transform: reflection padding to
P = (⌊(M + 2^J)/2^J⌋ + 1)·2^J, FFTs, filtering at decreasing resolutions (filters at
resolution r are the low-frequency crop of the full-resolution multiplier to P/2^r), and a
final crop of one (subsampled) pixel per side. The final averaging (∗φ_J, subsampling, crop)
is the same linear map applied as a matrix product (:func:`averaging_operator`; 4 matrices of
≈ 0.2 MB for 32×32 inputs, ≈ 68 MB for 224×224). Output channel order: S0, S1 by (j1, θ1),
S2 by (j1, θ1, j2, θ2), as in Kymatio.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .complex import check_feature_map
from .filters import PI_AUTHORS, angles, gabor_2d, morlet_2d


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


def folded_product(u: Tensor, multiplier: Tensor, k: int) -> Tensor:
    """Spectral folding of a filtered spectrum: Σ over the k×k blocks of u·ψ̂, (…, P, Q, 2) →
    (…, P/k, Q/k, 2), on real views of complex spectra.

    Subsampling by k in space ⇔ the *mean* of the blocks: the 1/k² is folded into the
    multiplier (:func:`folded_multiplier`). Accumulated block by block in place
    (``addcmul_``), so the full-size product is never written."""
    P, Q = u.shape[-3:-1]
    p, q = P // k, Q // k
    out: Tensor | None = None
    for a in range(k):
        for b in range(k):
            block = (..., slice(a * p, (a + 1) * p), slice(b * q, (b + 1) * q), slice(None))
            out = u[block] * multiplier[block] if out is None else out.addcmul_(u[block], multiplier[block])
    assert out is not None
    return out


def folded_multiplier(multiplier: np.ndarray, res: int, k: int) -> Tensor:
    """The multiplier at resolution ``res``, divided by k² for :func:`folded_product` by k,
    repeated on a last axis of 2 to multiply the real view (…, p, q, 2) of a spectrum."""
    return torch.from_numpy(lowpass_crop(multiplier, res) / k**2).float().unsqueeze(-1).repeat(*[1] * multiplier.ndim, 2)


def averaging_operator(phi_hat: np.ndarray, res: int, J: int) -> Tensor:
    """|…|∗φ_J, subsampled to 2^J and cropped by one pixel per side, as a real matrix.

    For u at resolution ``res`` (maps p×q = P/2^res × Q/2^res) the map is a periodic
    convolution with h = ifft2(φ̂ at resolution res) followed by subsampling by s = 2^{J−res}:

        S[a, b] = Σ_{m,n} h[(s(a+1) − m) mod p, (s(b+1) − n) mod q] · u[m, n]

    Returns (p·q, (P/2^J − 2)·(Q/2^J − 2)) float32, so that S = u.flatten(-2) @ A.
    """
    h = np.fft.ifft2(lowpass_crop(phi_hat, res)).real
    p, q = h.shape
    s = 2 ** (J - res)
    a = s * np.arange(1, p // s - 1)
    b = s * np.arange(1, q // s - 1)
    m, n = np.arange(p), np.arange(q)
    rows = (a[:, None, None, None] - m[None, None, :, None]) % p
    cols = (b[None, :, None, None] - n[None, None, None, :]) % q
    A = h[rows, cols]  # (a, b, m, n)
    return torch.from_numpy(A.reshape(len(a) * len(b), p * q).T.copy()).float()


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
        for j in range(J):  # ψ_j at resolutions 0 … j (order 2 reads resolution j1 < j), folded by 2^{j−res}
            for res in range(j + 1):
                self.register_buffer(f"psi_{j}_{res}", folded_multiplier(psi_hat[j], res, 2 ** (j - res)), persistent=False)
        for res in range(J):
            self.register_buffer(f"average_{res}", averaging_operator(phi_hat, res, J), persistent=False)

    @property
    def num_paths(self) -> int:
        return num_paths(self.J, self.L, self.max_order)

    def _wavelet_modulus(self, u_hat: Tensor, j: int, res: int) -> Tensor:
        """|x∗ψ_{j,θ}| for all θ at resolution j: spectrum û (…, p, q) at resolution ``res`` →
        real (…, L, p/2^{j−res}, q/2^{j−res}). The product with the real multipliers runs on the
        real view (two real products per coefficient, not a complex product); the modulus is
        ``hypot`` of the real view (same value as ``abs``, about twice as fast on CPU), and the
        norm of the pair while ``torch.export`` traces (ONNX has no ``hypot``)."""
        psi = getattr(self, f"psi_{j}_{res}")  # (L, p, q, 2), divided by 4^{j−res}
        folded = folded_product(torch.view_as_real(u_hat).unsqueeze(-4), psi, 2 ** (j - res))
        z = torch.view_as_real(torch.fft.ifft2(torch.view_as_complex(folded)))
        if torch.compiler.is_exporting():
            return torch.linalg.vector_norm(z, dim=-1)
        return torch.hypot(z[..., 0], z[..., 1])

    def _average(self, u: Tensor, res: int) -> Tensor:
        """|…|∗φ_J subsampled to 2^J and cropped: real u (…, p, q) at resolution ``res`` →
        (…, M/2^J, N/2^J), one GEMM with :func:`averaging_operator` (in place of an FFT, a
        product, a fold and an inverse FFT)."""
        out = u.flatten(-2) @ getattr(self, f"average_{res}")
        return out.unflatten(-1, (self.shape[0] // 2**self.J, self.shape[1] // 2**self.J))

    def forward(self, x: Tensor) -> Tensor:
        check_feature_map(x, "image batch")
        if tuple(x.shape[-2:]) != self.shape:
            raise ValueError(f"this scattering was built for {self.shape} images, got {tuple(x.shape[-2:])}")
        b, c = x.shape[:2]
        top, bottom, left, right = self.pads
        padded = F.pad(x.float(), (left, right, top, bottom), mode="reflect")
        u0 = torch.fft.fft2(padded.to(torch.complex64))
        out = [self._average(padded, 0).unsqueeze(2)]
        first: list[Tensor] = []
        second: list[Tensor] = []
        for j1 in range(self.J):
            u1 = self._wavelet_modulus(u0, j1, 0)  # (B, C, L, ·, ·) at resolution j1
            first.append(self._average(u1, j1))
            if self.max_order < 2 or j1 == self.J - 1:
                continue
            per_theta1 = []
            for u1_theta in map(torch.fft.fft2, u1.unbind(2)):  # one θ1 at a time: small intermediates stay in cache
                per_j2 = [
                    self._average(self._wavelet_modulus(u1_theta, j2, j1), j2)
                    for j2 in range(j1 + 1, self.J)
                ]
                per_theta1.append(torch.cat(per_j2, 2))  # order (j2, θ2)
            second.append(torch.cat(per_theta1, 2))  # order (θ1, j2, θ2)
        out += first + second
        return torch.cat(out, 2).flatten(1, 2).view(b, c * self.num_paths, *out[0].shape[-2:])
