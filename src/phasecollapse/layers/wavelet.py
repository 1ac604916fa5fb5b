"""The wavelet transform W of one learned-scattering block (the authors' ``Fw``; docs/faithfulness.md, *Borders and subsampling*).

For an input x with C channels (real, or complex as real pairs), W returns two branches

    phi = x ∗ φ                       (C channels, real iff x is real)
    psi = x ∗ ψ_k, k = 0 … L−1        (L·C complex channels, index c·L + k)

optionally subsampled by 2. Two algorithms compute the same linear map, and ``auto`` picks
between them (the model option ``wavelet``; independent of the ``fast`` switch of the other
layers):

``fft``
    The authors' pipeline (``phase_scattering2d_torch.py:312–421``) on torch complex tensors: reflection padding to
    P×Q, FFT, multiplication by the real Fourier multipliers, spectral folding (average of the
    four quadrants) when subsampling, inverse FFT, crop.
``spatial``
    W's spatial operator T (the ``fft`` pipeline applied to impulses), applied the way that
    runs fastest here, chosen by map size (measured on the CIFAR-10 LScat, see
    ``results/bench``):

    - small maps (operator ≤ ``DENSE_LIMIT`` entries, e.g. every CIFAR block): the matrix
      product T @ X with the spatial operator T of the ``fft`` pipeline (the pipeline applied to
      impulses: borders, subsampling and quirks included), X the input with pixels and
      (Re, Im) in the reduction dimension and batch × channels in the other. Large GEMMs run
      near the machine's matmul peak, where a grouped convolution with 2 input channels per
      group does not. Where that saves at least a third of the FLOPs (CIFAR: the 32×32 maps
      and the 16×16 ones without subsampling), T is applied strip by strip, each output row
      reading only the band of input rows its filters reach (:mod:`phasecollapse.kernels.banded`;
      entries carrying ≤ ``tolerance`` of a row's L1 mass, Gaussian tails, are dropped);
      otherwise it is one dense GEMM, exact;
    - large maps (ImageNet's first blocks): one gather followed by a grouped spatial
      convolution with compact kernels. The gather composes the ``fft`` pipeline's reflection padding
      with its periodic wrap-around, so this path uses *the same border rule* as the ``fft`` pipeline:
      circular convolution of the reflect-padded image. It differs only by the truncation of the
      kernels (discarded L1 mass ≤ ``tolerance``, 1e-5 by default), on every pixel.

    Outputs are channels-last. The product runs in the input's dtype, autocast or not
    (:func:`phasecollapse.kernels.dtype.operator_dtype`).
``auto`` (default)
    ``spatial`` on small maps on every device; on large maps ``spatial`` on the CPU and ``fft``
    on CUDA, where the grouped convolution with 2 channels per group is slow (measured on an
    H200, ImageNet LScat + skip, batch 64, bf16: 81 img/s with the convolution, 330 with the
    FFT; ``results/bench/imagenet_wavelet_cuda.json``).

Output alignment (per axis, input size M, padded size P, docs/faithfulness.md, *Borders and subsampling*):
    subsampled: output k ↔ input pixel 2k;  not subsampled: output k ↔ input pixel k;
    with ``odd_size_quirk`` (the authors' behaviour, default) an odd M is padded 1 / 2 and
    the non-subsampled output drops pixel 0 (7 → 6, output k ↔ input k + 1). With
    ``odd_size_quirk=False`` odd sizes are padded 2 / 3 and every pixel is kept (7 → 7, 7 → 4).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..kernels.dtype import autocast_off, operator_dtype
from ..kernels.banded import BandedOperator
from .channels import Channel, wavelet_channels
from .complex import check_feature_map, from_complex
from .filters import FilterBank

Algorithm = Literal["auto", "spatial", "fft"]


@dataclass(frozen=True)
class AxisPlan:
    """Border plan for one axis: padded size ``P``, reflection pads, kept padded positions.

    Output n sits at padded position ``first + stride·n``, n = 0 … count − 1.
    """

    M: int
    P: int
    pad_before: int
    pad_after: int
    first: int
    stride: int
    count: int

    def input_index(self, n: int) -> int:
        """Input pixel that output n is centred on."""
        return self.first + self.stride * n - self.pad_before


def axis_plan(M: int, subsample: bool, odd_size_quirk: bool = True) -> AxisPlan:
    """Padding and cropping along one axis of size M (authors' ``phase_scattering2d_torch.py:159–177, 292–293, 321–325``).

    Faithful rule: P = 2(⌊(M + 2)/2⌋ + 1), pads ⌊(P−M)/2⌋ / ⌈(P−M)/2⌉; keep padded positions
    2 … P−3 (no subsampling) or 2m, m = 1 … P/2 − 2 (subsampling). Even M: P = M + 4, pads 2/2.
    """
    if odd_size_quirk or M % 2 == 0:
        P = 2 * ((M + 2) // 2 + 1)
        before = (P - M) // 2
        count = P // 2 - 2 if subsample else P - 4
    else:
        P, before = M + 5, 2
        count = (M + 1) // 2 if subsample else M
    first = 2
    after = P - M - before
    if max(before, after) >= M:
        raise ValueError(f"spatial size {M} is too small for the wavelet transform (reflection pad {max(before, after)})")
    return AxisPlan(M, P, before, after, first, 2 if subsample else 1, count)


#: Largest dense spatial operator (entries) used by the spatial algorithm; larger maps use convolutions.
DENSE_LIMIT = 32 * 2**20


@lru_cache(maxsize=64)
def _multipliers(bank: FilterBank, P: int, Q: int) -> Tensor:
    return torch.from_numpy(bank.multipliers(P, Q))


def dense_operator_size(bank: FilterBank, M: int, N: int, complex_input: bool, odd_size_quirk: bool = True) -> int:
    """Entries of :func:`spatial_operator` for an M×N input."""
    count = axis_plan(M, bank.subsample, odd_size_quirk).count * axis_plan(N, bank.subsample, odd_size_quirk).count
    return count * (2 + 2 * bank.L if complex_input else 1 + 2 * bank.L) * M * N * (2 if complex_input else 1)


@lru_cache(maxsize=64)
def spatial_operator(bank: FilterBank, M: int, N: int, complex_input: bool, odd_size_quirk: bool = True) -> Tensor:
    """The exact linear map of W (``fft`` pipeline) on M×N inputs, as a real matrix (float32).

    Rows: (output pixel p, n) with n = [Re φ, Im φ, Re ψ_0, Im ψ_0, …] (complex input) or
    [φ, Re ψ_0, Im ψ_0, …] (real input). Columns: (input pixel j, Re/Im) or j. Built by applying
    :func:`fft_wavelet_transform` to the M·N impulses in float64.
    """
    impulses = torch.eye(M * N, dtype=torch.complex128).view(M * N, 1, M, N)
    h = fft_wavelet_transform(impulses, bank, odd_size_quirk)[:, 0]  # (j, 1 + L, M', N')
    h = h.flatten(2).permute(2, 1, 0)  # (p, f, j) complex
    hr, hi = h.real, h.imag
    if complex_input:  # Re out = hr·a − hi·b, Im out = hi·a + hr·b for input a + ib
        rows = torch.stack([torch.stack([hr, -hi], -1), torch.stack([hi, hr], -1)], 2)  # (p, f, out part, j, in part)
        return rows.flatten(1, 2).flatten(2).flatten(0, 1).float()
    rows = torch.cat([hr[:, :1], torch.stack([hr[:, 1:], hi[:, 1:]], 2).flatten(1, 2)], 1)  # (p, 1 + 2L, j)
    return rows.flatten(0, 1).float()


@lru_cache(maxsize=64)
def banded_operator(bank: FilterBank, M: int, N: int, complex_input: bool, odd_size_quirk: bool = True, tolerance: float = 1e-5) -> BandedOperator:
    """:func:`spatial_operator` as a :class:`~phasecollapse.kernels.banded.BandedOperator`.

    Row groups are output image rows (W'·n_out rows), column groups input image rows (N or 2N
    columns); entries whose strip loses at most ``tolerance`` of each row's L1 mass are dropped.
    """
    n_out = (2 if complex_input else 1) + 2 * bank.L
    row_group = axis_plan(N, bank.subsample, odd_size_quirk).count * n_out
    col_group = N * (2 if complex_input else 1)
    return BandedOperator(spatial_operator(bank, M, N, complex_input, odd_size_quirk), row_group, col_group, tolerance)


def _reflect(i: np.ndarray, M: int) -> np.ndarray:
    """NumPy 'reflect' (edge not repeated) for indices in [−(M−1), 2(M−1)]."""
    i = np.abs(i)
    return np.where(i > M - 1, 2 * (M - 1) - i, i)


def gather_index(plan: AxisPlan, radius: int) -> Tensor:
    """Input indices feeding a valid convolution of radius ``radius`` at the kept positions.

    Position t of the periodic, reflect-padded signal reads input pixel
    reflect((t mod P) − pad_before). The span covers first − radius … last + radius.
    """
    last = plan.first + plan.stride * (plan.count - 1)
    t = np.arange(plan.first - radius, last + radius + 1)
    return torch.from_numpy(_reflect(np.mod(t, plan.P) - plan.pad_before, plan.M).astype(np.int64))


def fft_wavelet_transform(z: Tensor, bank: FilterBank, odd_size_quirk: bool = True) -> Tensor:
    """The authors' FFT pipeline (``phase_scattering2d_torch.py:312–421``) on a torch complex tensor.

    Args:
        z: complex (B, C, M, N).
    Returns:
        complex (B, C, 1 + L, M', N'): index 0 is z∗φ, index 1 + k is z∗ψ_k.
    """
    ph = axis_plan(z.shape[-2], bank.subsample, odd_size_quirk)
    pw = axis_plan(z.shape[-1], bank.subsample, odd_size_quirk)
    zp = F.pad(z, (pw.pad_before, pw.pad_after, ph.pad_before, ph.pad_after), mode="reflect")
    mult = _multipliers(bank, ph.P, pw.P).to(device=z.device, dtype=z.real.dtype)
    spectrum = torch.fft.fft2(zp).unsqueeze(2) * mult
    if bank.subsample:
        spectrum = spectrum.unflatten(-1, (2, pw.P // 2)).unflatten(-3, (2, ph.P // 2)).mean(dim=(-4, -2))
    out = torch.fft.ifft2(spectrum)
    s = 2 if bank.subsample else 1
    h0, w0 = ph.first // s, pw.first // s
    return out[..., h0 : h0 + ph.count, w0 : w0 + pw.count]


class Wavelet(nn.Module):
    """W: x ↦ (x∗φ, x∗ψ_0, …, x∗ψ_{L−1}), with one filter bank, optionally subsampled by 2.

    Args:
        bank: the filter bank (:func:`phasecollapse.layers.filters.filter_bank`).
        in_channels: C, the number of (real or complex) input channels.
        complex_input: whether x holds complex real pairs (B, 2C, H, W) or real maps (B, C, H, W).
        algorithm: ``"spatial"`` (the spatial operator: banded or dense matrix product on small
            maps, compact-kernel convolution on large ones), ``"fft"`` (the authors' FFT
            pipeline, docs/faithfulness.md, *Borders and subsampling*) or ``"auto"`` (spatial, except FFT for large maps on CUDA).
        odd_size_quirk: reproduce the authors' odd-size cropping (7 → 6); see module docstring.
        tolerance: relative L1 mass the spatial algorithm may drop (compact kernels, banded operator).

    Shapes: forward(x) returns ``(phi, psi)`` with
        phi: (B, C, H', W') for real x, (B, 2C, H', W') real pairs for complex x;
        psi: (B, 2·L·C, H', W') real pairs, complex channel c·L + k = x_c ∗ ψ_k.
    """

    def __init__(
        self,
        bank: FilterBank,
        in_channels: int,
        complex_input: bool,
        algorithm: Algorithm = "auto",
        odd_size_quirk: bool = True,
        tolerance: float = 1e-5,
    ) -> None:
        super().__init__()
        if algorithm not in ("auto", "spatial", "fft"):
            raise ValueError(f"unknown wavelet algorithm {algorithm!r}; expected 'auto', 'spatial' or 'fft'")
        self.bank, self.in_channels, self.complex_input = bank, in_channels, complex_input
        self.algorithm, self.odd_size_quirk = algorithm, odd_size_quirk
        self.tolerance = tolerance
        self._operators: dict[tuple[int, int], BandedOperator] = {}
        kernels = bank.compact_kernels(tolerance)[:, ::-1, ::-1]  # correlation weights w(d) = h(−d)
        self.radius = kernels.shape[-1] // 2
        re, im = torch.from_numpy(kernels.real.copy()), torch.from_numpy(kernels.imag.copy())
        if complex_input:  # per group inputs (a, b) = (Re x, Im x); outputs Re, Im of each filter
            weight = torch.stack([torch.stack((re, -im), 1), torch.stack((im, re), 1)], 1).flatten(0, 1)
        else:  # per group input a; outputs φ (real), then Re ψ_k, Im ψ_k
            weight = torch.cat([re[:1], torch.stack((re[1:], im[1:]), 1).flatten(0, 1)]).unsqueeze(1)
        self.register_buffer("weight", weight.float().repeat(in_channels, 1, 1, 1), persistent=False)

    @property
    def out_channels(self) -> int:
        """Number of complex channels of psi (L·C)."""
        return self.bank.L * self.in_channels

    def meta(self) -> tuple[list[Channel], list[Channel]]:
        """What each channel of ``(phi, psi)`` holds, in tensor order (low-pass or wavelet, input
        channel c, orientation k and θ_k, Re or Im; :mod:`~phasecollapse.layers.channels`)."""
        return wavelet_channels(self.bank, self.in_channels, self.complex_input)

    def extra_repr(self) -> str:
        kind = "complex" if self.complex_input else "real"
        return f"bank={self.bank.name}, L={self.bank.L}, in_channels={self.in_channels} ({kind}), algorithm={self.algorithm}"

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        check_feature_map(x)
        expected = self.in_channels * (2 if self.complex_input else 1)
        if x.shape[1] != expected:
            kind = "complex (2 real channels each)" if self.complex_input else "real"
            raise ValueError(f"Wavelet expects {self.in_channels} {kind} channels = {expected}, got {x.shape[1]}")
        if self.algorithm == "fft":
            return self._fft(x)
        self.prepare(x.shape[-2], x.shape[-1])
        op = self._operators.get((x.shape[-2], x.shape[-1]))
        if op is not None:
            return self._dense(x, op)
        return self._fft(x) if self.algorithm == "auto" and x.is_cuda else self._conv(x)

    def prepare(self, height: int, width: int) -> None:
        """Build the spatial operator for (height, width) inputs now.

        The first forward at a new size builds it otherwise; under ``torch.compile`` that would
        be traced, so models that know their input size call this at construction.
        """
        if self.algorithm == "fft" or (height, width) in self._operators:
            return
        if dense_operator_size(self.bank, height, width, self.complex_input, self.odd_size_quirk) <= DENSE_LIMIT:
            self._operators[(height, width)] = banded_operator(self.bank, height, width, self.complex_input, self.odd_size_quirk, self.tolerance)

    def _dense(self, x: Tensor, op: BandedOperator) -> tuple[Tensor, Tensor]:
        b, _, m, n = x.shape
        c, L = self.in_channels, self.bank.L
        if self.complex_input:  # X: (pixel, Re/Im) × (batch, channel)
            cols = x.view(b, c, 2, m, n).permute(3, 4, 2, 0, 1).reshape(2 * m * n, b * c)
        else:
            cols = x.permute(2, 3, 0, 1).reshape(m * n, b * c)
        with autocast_off(x):  # in x's dtype: an fp32 image stays fp32 under autocast (kernels.dtype)
            out = op(cols.to(operator_dtype(x)))  # (p · n_out, b · c)
        ph = axis_plan(m, self.bank.subsample, self.odd_size_quirk)
        pw = axis_plan(n, self.bank.subsample, self.odd_size_quirk)
        n_phi = 2 if self.complex_input else 1
        out = out.view(ph.count * pw.count, n_phi + 2 * L, b, c)
        phi, psi = out.split([n_phi, 2 * L], 1)
        phi = phi.permute(2, 0, 3, 1).reshape(b, ph.count, pw.count, n_phi * c)  # (B, H', W', C·n_phi)
        psi = psi.unflatten(1, (L, 2)).permute(3, 0, 4, 1, 2).reshape(b, ph.count, pw.count, 2 * L * c)
        return phi.permute(0, 3, 1, 2), psi.permute(0, 3, 1, 2)

    def _conv(self, x: Tensor) -> tuple[Tensor, Tensor]:
        ph = axis_plan(x.shape[-2], self.bank.subsample, self.odd_size_quirk)
        pw = axis_plan(x.shape[-1], self.bank.subsample, self.odd_size_quirk)
        ih = gather_index(ph, self.radius).to(x.device)
        iw = gather_index(pw, self.radius).to(x.device)
        xg = x[:, :, ih[:, None], iw[None, :]]
        with autocast_off(xg):  # in x's dtype, as _dense
            out = F.conv2d(xg, self.weight.to(operator_dtype(xg)), stride=ph.stride, groups=self.in_channels)
        b, _, h, w = out.shape
        out = out.view(b, self.in_channels, -1, h, w)
        n_phi = 2 if self.complex_input else 1
        return out[:, :, :n_phi].flatten(1, 2), out[:, :, n_phi:].flatten(1, 2)

    @torch.compiler.disable  # inductor has no complex64 kernels (seen on CUDA: KeyError 'complex64'); eager here
    def _fft(self, x: Tensor) -> tuple[Tensor, Tensor]:
        x = x.float()
        z = torch.view_as_complex(x.unflatten(1, (-1, 2)).movedim(2, -1).contiguous()) if self.complex_input else x.to(torch.complex64)
        y = fft_wavelet_transform(z, self.bank, self.odd_size_quirk)  # (B, C, 1+L, H', W')
        phi = from_complex(y[:, :, 0]) if self.complex_input else y[:, :, 0].real.contiguous()
        return phi, from_complex(y[:, :, 1:].flatten(1, 2))
