"""Per-pixel normalisation ``N`` (spec B.6): x ↦ x / ‖x‖₂ across channels at each (b, h, w).

For complex real pairs (B, 2K, H, W), ‖x‖² = Σ_k |x_k|² is the sum over all 2K real
channels. Deviation from the authors (who use no ε): the squared norm gets ε = 1e-12 and is
accumulated in fp32 (no fp32 copy of x), so an all-zero pixel maps to 0 instead of NaN; otherwise the output norm
is 1 to fp32 precision.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .complex import check_feature_map

EPS = 1e-12


class Normalization(nn.Module):
    """N(x) = x / sqrt(Σ_channels x² + ε); no parameters; shape (B, C, H, W) preserved."""

    def forward(self, x: Tensor) -> Tensor:
        check_feature_map(x)
        norm = torch.linalg.vector_norm(x, dim=1, keepdim=True, dtype=torch.float32)
        return x * torch.rsqrt(norm.square() + EPS).to(x.dtype)
