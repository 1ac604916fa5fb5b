"""Per-pixel normalisation ``N`` (spec B.6): x ↦ x / ‖x‖₂ across channels at each (b, h, w).

For complex real pairs (B, 2K, H, W), ‖x‖² = Σ_k |x_k|² is the sum over all 2K real
channels. Deviation from the authors (who use no ε): the squared norm gets ε = 1e-12 and is
accumulated in fp32, so an all-zero pixel maps to 0 instead of NaN; otherwise the output norm
is 1 to fp32 precision.

``fast=True`` (default) runs :func:`phasecollapse.kernels.normalize.normalize` (the same map
with a written-out backward).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..kernels.normalize import normalize
from .complex import check_feature_map

EPS = 1e-12


class Normalization(nn.Module):
    """N(x) = x / sqrt(Σ_channels x² + ε); no parameters; shape (B, C, H, W) preserved."""

    def __init__(self, fast: bool = True) -> None:
        super().__init__()
        self.fast = fast

    def forward(self, x: Tensor) -> Tensor:
        check_feature_map(x)
        if self.fast:
            return normalize(x, EPS)
        squared = x.to(torch.promote_types(x.dtype, torch.float32)).square().sum(1, keepdim=True)
        return x * torch.rsqrt(squared + EPS).to(x.dtype)
