"""The authors' computational strategy for LScat, on torch complex tensors (authors' ``phase_scattering2d_torch.py:312–421``).

:class:`TorchComplexLScat` runs the forward pass of an :class:`~phasecollapse.models.lscat.LScat`
with *its* parameters and buffers, but the way the authors' code computes it: complex64
tensors, the FFT wavelet transform (pad, fft2, multiply, fold, ifft2, crop), complex
standardisation and normalisation, P_j as a real convolution on [Re; Im]-stacked channels with
the block weight [[Re W, −Im W], [Im W, Re W]], and the modulus through ``torch.abs`` with a
hook that zeroes NaN gradients. It serves two purposes: an independent oracle for the real-pair
implementation (same parameters → same outputs), and the ``authors`` side of
``phasecollapse bench``. fp32 only.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..layers.block import LScatBlock, u_parts
from ..layers.complex import from_complex, to_complex
from ..layers.nonlinearities import Modulus
from ..layers.wavelet import fft_wavelet_transform
from ..models.lscat import LScat


def _zero_nan_grad(t: Tensor) -> Tensor:
    if t.requires_grad:
        t.register_hook(lambda g: torch.nan_to_num(g, nan=0.0, posinf=0.0, neginf=0.0))
    return t


class TorchComplexLScat(nn.Module):
    """Forward an LScat the authors' way; shares (does not copy) the model's parameters."""

    def __init__(self, model: LScat) -> None:
        super().__init__()
        self.model = model

    def _rho(self, block: LScatBlock, z: Tensor) -> Tensor:
        if isinstance(block.rho, Modulus):
            return _zero_nan_grad(z).abs()
        out = block.rho(from_complex(z))
        return to_complex(out) if block.rho.complex_output else out

    def _std(self, block: LScatBlock, u: Tensor) -> Tensor:
        std, cc = block.std, block.std.complex_channels
        if std.training:
            mean = u.mean(dim=(0, 2, 3))
            var = (u - mean.view(1, -1, 1, 1)).abs().square().mean(dim=(0, 2, 3))
            flat = torch.cat([torch.view_as_real(mean[:cc]).flatten(), mean[cc:].real])
            std.update_running(flat.detach(), var.detach(), u.numel() // u.shape[1])
        else:
            pairs = std.running_mean[: 2 * cc].view(-1, 2)
            mean = torch.cat([torch.complex(pairs[:, 0], pairs[:, 1]), std.running_mean[2 * cc :].to(torch.complex64)])
            var = std.running_var
        return (u - mean.view(1, -1, 1, 1)) / torch.sqrt(var + std.eps).view(1, -1, 1, 1)

    def _block(self, block: LScatBlock, x: Tensor) -> Tensor:
        y = fft_wavelet_transform(x.to(torch.complex64), block.wavelet.bank, block.wavelet.odd_size_quirk)
        phi, psi = y[:, :, 0], y[:, :, 1:].flatten(1, 2)
        phi = phi if block.complex_input else phi.real
        parts = u_parts(phi, psi, lambda z: self._rho(block, z), block.skip, block.complex_input, block.rho.complex_output, lambda t: t.to(torch.complex64), lambda ts: torch.cat(ts, 1))
        u = torch.cat([p.to(torch.complex64) for p in parts], 1)
        v = self._std(block, u)
        w = block.proj.pairs()
        re, im = w[..., 0], w[..., 1]
        stacked_weight = torch.cat([torch.cat([re, -im], 1), torch.cat([im, re], 1)], 0)[:, :, None, None]
        out = F.conv2d(torch.cat([v.real, v.imag], 1), stacked_weight)
        k = block.proj.out_channels
        z = torch.complex(out[:, :k], out[:, k:])
        return z / torch.sqrt(z.abs().square().sum(1, keepdim=True))

    def features(self, x: Tensor) -> list[Tensor]:
        self.model.check_input(x)
        outs = []
        for block in self.model.blocks:
            x = self._block(block, x)
            outs.append(x)
        return outs

    def forward(self, x: Tensor) -> Tensor:
        return self.model.head(from_complex(self.features(x)[-1]))
