"""Standardisation ``Std`` (authors' ``models/Standardization.py:32–122``): per-channel complex centring and scaling, no affine.

Input layout ("mixed"): (B, 2·Cc + Cr, H, W) = Cc complex channels as real pairs
(:mod:`phasecollapse.layers.complex`) followed by Cr real channels. For each channel c, over (b, h, w):

    μ_c = E[U_c]                      (complex: real and imaginary means)
    v_c = E|U_c − μ_c|²               (a real scalar: Var Re + Var Im, no 2×2 whitening)
    Std(U)_c = (U_c − μ_c) / sqrt(v_c + 1e-5)

Running statistics (eval mode): μ ← 0.1·μ + 0.9·μ_run, v ← 0.1·v·n/(n−1) + 0.9·v_run,
n = B·H·W, initialised to μ = 0, v = 1. Statistics are computed in fp32 under autocast.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..kernels.mixed import per_channel, per_column
from .complex import check_feature_map


class Standardization(nn.Module):
    """Std over Cc complex + Cr real channels; output has the input's shape and dtype."""

    def __init__(self, complex_channels: int, real_channels: int = 0, momentum: float = 0.1, eps: float = 1e-5) -> None:
        super().__init__()
        self.complex_channels, self.real_channels = complex_channels, real_channels
        self.momentum, self.eps = momentum, eps
        self.register_buffer("running_mean", torch.zeros(2 * complex_channels + real_channels))
        self.register_buffer("running_var", torch.ones(complex_channels + real_channels))

    def extra_repr(self) -> str:
        return f"complex_channels={self.complex_channels}, real_channels={self.real_channels}"

    @torch.no_grad()
    def update_running(self, mean: Tensor, var: Tensor, n: int) -> None:
        """Running averages from batch statistics over n values per channel: mean (2·Cc + Cr,)
        per real column, biased variance (Cc + Cr,) per channel (unbiased by n/(n − 1))."""
        self.running_mean.lerp_(mean.to(self.running_mean.dtype), self.momentum)
        self.running_var.lerp_((var * (n / (n - 1))).to(self.running_var.dtype), self.momentum)

    def forward(self, x: Tensor) -> Tensor:
        check_feature_map(x)
        expected = 2 * self.complex_channels + self.real_channels
        if x.shape[1] != expected:
            raise ValueError(f"Standardization expects {expected} channels (2×{self.complex_channels} + {self.real_channels}), got {x.shape[1]}")
        xf = x.to(torch.promote_types(x.dtype, torch.float32))
        if self.training:
            n = x.numel() // x.shape[1]
            if n < 2:
                raise ValueError("Standardization needs more than one value per channel in training mode (batch × height × width ≥ 2)")
            real_var, mean = torch.var_mean(xf, dim=(0, 2, 3), correction=0)
            var = per_channel(real_var, self.complex_channels)
            self.update_running(mean, var, n)
        else:
            mean, var = self.running_mean.to(xf.dtype), self.running_var.to(xf.dtype)
        scale = torch.rsqrt(per_column(var, self.complex_channels) + self.eps)
        return ((xf - mean.view(1, -1, 1, 1)) * scale.view(1, -1, 1, 1)).to(x.dtype)
