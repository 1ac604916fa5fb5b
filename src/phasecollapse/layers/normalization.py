"""Per-pixel normalisation ``N`` (authors' ``models/Standardization.py:8–29``): x ↦ x / ‖x‖₂ across channels at each (b, h, w).

For complex real pairs (B, 2K, H, W), ‖x‖² = Σ_k |x_k|² is the sum over all 2K real
channels. Deviation from the authors (who use no ε): the squared norm gets ε = 1e-12 and is
accumulated in fp32, so an all-zero pixel maps to 0 instead of NaN; otherwise the output norm
is 1 to fp32 precision.

Second deviation, in the gradient only: x/‖x‖ has no derivative at x = 0, and x/sqrt(‖x‖² + ε)
has 1/sqrt(ε) = 1e6 there, which the blocks compound (with Std's 1/sqrt(1e-5)) into inf/NaN
gradients for an all-zero or subnormal batch although the forward is finite. At *degenerate*
pixels, ‖x‖² ≤ ε, the gradient is defined as 0 (the modulus's convention at z = 0); elsewhere
it is the formula's. The forward is unchanged.

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
    """N(x) = x / sqrt(Σ_channels x² + ε); no parameters; shape (B, C, H, W) preserved; gradient
    0 at pixels where Σ_channels x² ≤ ε."""

    def __init__(self, fast: bool = True) -> None:
        super().__init__()
        self.fast = fast

    def forward(self, x: Tensor) -> Tensor:
        check_feature_map(x)
        if self.fast:
            return normalize(x, EPS)
        squared = x.to(torch.promote_types(x.dtype, torch.float32)).square().sum(1, keepdim=True)
        y = x * torch.rsqrt(squared + EPS).to(x.dtype)
        return torch.where(squared <= EPS, y.detach(), y)  # gradient 0 at degenerate pixels
