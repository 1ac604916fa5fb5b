"""Per-pixel normalisation ``N`` (spec B.6): x ↦ x / ‖x‖₂ across channels at each (b, h, w).

For complex real pairs (B, 2K, H, W), ‖x‖² = Σ_k |x_k|² is the sum over all 2K real
channels. Deviation from the authors (who use no ε): the squared norm gets ε = 1e-12 and is
accumulated in fp32 (no fp32 copy of x), so an all-zero pixel maps to 0 instead of NaN; otherwise the output norm
is 1 to fp32 precision.

The backward is written out (one reduction and one element-wise pass instead of autograd's
chain through the norm): with s = (‖x‖² + ε)^{−1/2} and y = s·x,

    dx = s · (g − y ⟨g, y⟩),   ⟨g, y⟩ = Σ_channels g·y per pixel.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from .complex import check_feature_map

EPS = 1e-12


class _Normalize(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:  # type: ignore[override]
        norm = torch.linalg.vector_norm(x, dim=1, keepdim=True, dtype=torch.promote_types(x.dtype, torch.float32))
        scale = torch.rsqrt(norm.square_().add_(EPS))  # (B, 1, H, W), fp32 or fp64
        y = x * scale.to(x.dtype)
        ctx.save_for_backward(y, scale)
        return y

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:  # type: ignore[override]
        y, scale = ctx.saved_tensors
        dot = (grad * y).sum(1, keepdim=True, dtype=scale.dtype)
        return (grad - y * dot.to(y.dtype)) * scale.to(y.dtype)


class Normalization(nn.Module):
    """N(x) = x / sqrt(Σ_channels x² + ε); no parameters; shape (B, C, H, W) preserved."""

    def forward(self, x: Tensor) -> Tensor:
        check_feature_map(x)
        return _Normalize.apply(x)
