"""The complex modulus of real pairs in one pass, with a written-out backward.

Paper twin: ``ρ(z) = |z|`` (:func:`phasecollapse.layers.nonlinearities.modulus` with
``fast=False``). For x (B, 2C, H, W) holding (Re, Im) pairs,

    r = hypot(a, b),    ∂r/∂(a, b) = (a, b)/r,  0 where r < TINY

The forward is one ``hypot`` pass on the strided Re and Im views; the backward writes the Re
and Im halves of the gradient directly (a broadcast over the pair axis would loop over an
innermost axis of 2). The gradient is set to 0 below ``TINY`` = 1e-30 rather than at r = 0
only: for subnormal |z| (< 1.2e-38 in fp32), 1/r overflows to inf.

While ``torch.export`` traces (``torch.export.export``, ``torch.onnx.export``), the modulus is the
formula ‖(Re, Im)‖₂ (``torch.linalg.vector_norm``, the paper twin's): ONNX has no ``hypot``,
and an exported graph is for inference, where the written-out backward plays no part.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

#: Below this modulus the gradient is 0 (1/r would overflow for subnormal r).
TINY = 1e-30


def _pairs(x: Tensor) -> Tensor:
    return x.unflatten(1, (x.shape[1] // 2, 2))


class _Modulus(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:  # type: ignore[override]
        z = _pairs(x)
        r = torch.hypot(z[:, :, 0], z[:, :, 1])
        ctx.save_for_backward(x, r)
        return r

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:  # type: ignore[override]
        x, r = ctx.saved_tensors
        inv = torch.where(r > TINY, grad / r.clamp_min(TINY), 0.0)
        if torch.compiler.is_compiling():  # inductor fuses the broadcast; out= views would break the graph
            return (_pairs(x) * inv.unsqueeze(2)).flatten(1, 2)
        z, out = _pairs(x), torch.empty_like(x)
        dz = _pairs(out)
        torch.mul(z[:, :, 0], inv, out=dz[:, :, 0])
        torch.mul(z[:, :, 1], inv, out=dz[:, :, 1])
        return out


def modulus(x: Tensor) -> Tensor:
    """|z| of real pairs (B, 2C, H, W) → (B, C, H, W); gradient (a, b)/|z|, 0 for |z| < TINY."""
    if torch.compiler.is_exporting():
        return torch.linalg.vector_norm(_pairs(x), dim=2)
    return _Modulus.apply(x)
