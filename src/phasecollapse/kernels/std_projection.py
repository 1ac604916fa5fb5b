"""Std followed by P_j as one operation (the fast path of a block; same maths as the modules).

With U split into parts U_p (the channels of the mixed layout, complex parts first), batch
statistics μ, v per channel (complex: joint variance), s = (v + ε)^{−1/2} and the real weight
matrix W of P_j (:meth:`ComplexProjection.real_weight`):

    Y = P_j Std(U) = Σ_p (U_p − μ_p) diag(s_p) W_pᵀ = Σ_p U_p W'_pᵀ − W' μ,   W' = W diag(s)

so the standardised tensor is never materialised and U is never concatenated: one GEMM per
part. The backward is written out (batch-norm style, with the joint complex variance):

    dÛ = dY W,   dW = (dYᵀ U − (dYᵀ 1) μᵀ) diag(s)
    dU = s·dÛ − s·mean(dÛ) − s²·(U − μ)·g,   g_c = mean(Σ_{parts of c} dÛ·Û)   (training mode)
    dU = s·dÛ                                                                 (eval mode)

Paper twin: ``proj(std(cat(parts)))`` with :class:`~phasecollapse.layers.standardization.Standardization`
and :class:`~phasecollapse.layers.projection.ComplexProjection` (tested against it, forward and
gradient). The kernel returns the batch statistics; the Std layer that owns the running
averages updates them (:meth:`Standardization.update_running`).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from .dtype import compute_dtype


def _as_rows(x: Tensor) -> Tensor:
    """(B, C, H, W) → (B·H·W, C), a view for channels-last tensors."""
    return x.permute(0, 2, 3, 1).reshape(-1, x.shape[1])


def _pair_sum(v: Tensor, complex_channels: int) -> Tensor:
    """Per real column → per channel: complex pairs summed."""
    cc = 2 * complex_channels
    return torch.cat([v[:cc].view(-1, 2).sum(1), v[cc:]])


def _per_column(v: Tensor, complex_channels: int) -> Tensor:
    return torch.cat([v[:complex_channels].repeat_interleave(2), v[complex_channels:]])


def _forward(weight: Tensor, running_mean: Tensor | None, running_var: Tensor | None, complex_channels: int, eps: float, parts: tuple[Tensor, ...]) -> tuple[Tensor, Tensor, Tensor, Tensor, list[Tensor]]:
    """(Y rows (B·H·W, 2K), μ, v, s per column, U rows): the forward of the kernel, plain torch."""
    dtype = compute_dtype(parts[0])
    rows = [_as_rows(p).to(dtype) for p in parts]
    n = rows[0].shape[0]
    acc = torch.promote_types(dtype, torch.float32)  # statistics in fp32 (fp64 for fp64 inputs)
    if running_mean is None or running_var is None:
        if n < 2:
            raise ValueError("Standardization needs more than one value per channel in training mode (batch × height × width ≥ 2)")
        stats = [torch.var_mean(r, dim=0, correction=0) for r in rows]
        mean = torch.cat([m.to(acc) for _, m in stats])
        var = _pair_sum(torch.cat([v.to(acc) for v, _ in stats]), complex_channels)
    else:
        mean, var = running_mean.to(acc), running_var.to(acc)
    scale = torch.rsqrt(_per_column(var, complex_channels) + eps)
    w_scaled = weight.to(acc) * scale
    bias = w_scaled @ mean
    out = None
    for r, w in zip(rows, w_scaled.split([r.shape[1] for r in rows], 1)):
        term = torch.mm(r, w.t().to(dtype))
        out = term if out is None else out.add_(term)
    assert out is not None
    return out.sub_(bias.to(dtype)), mean, var, scale, rows


class _StdProject(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, weight: Tensor, running_mean: Tensor | None, running_var: Tensor | None, complex_channels: int, eps: float, shape: tuple[int, int, int], *parts: Tensor) -> tuple[Tensor, Tensor, Tensor]:  # type: ignore[override]
        out, mean, var, scale, rows = _forward(weight, running_mean, running_var, complex_channels, eps, parts)
        ctx.save_for_backward(weight, mean, scale, *rows)
        ctx.part_dtypes = [p.dtype for p in parts]
        ctx.u_cols, ctx.training, ctx.complex_channels, ctx.shape = [r.shape[1] for r in rows], running_mean is None, complex_channels, shape
        ctx.mark_non_differentiable(mean, var)
        b, h, w_ = shape
        return out.view(b, h, w_, -1).permute(0, 3, 1, 2), mean, var

    @staticmethod
    def backward(ctx: Any, grad: Tensor, _mean: Tensor | None, _var: Tensor | None) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        weight, mean, scale, *rows = ctx.saved_tensors
        dtype, acc = rows[0].dtype, mean.dtype
        dy = _as_rows(grad).to(dtype)
        g_w = torch.cat([torch.mm(dy.t(), r).to(acc) for r in rows], 1)  # dYᵀ U
        g_w = (g_w - dy.to(acc).sum(0)[:, None] * mean[None, :]) * scale  # dW
        d_hat = [torch.mm(dy, w.to(dtype)) for w in weight.split(ctx.u_cols, 1)]  # dÛ per part
        b, h, w_ = ctx.shape
        grads_u = []
        if ctx.training:
            mean_d = torch.cat([d.mean(0, dtype=acc) for d in d_hat])
            mean_du = torch.cat([(d * r).mean(0, dtype=acc) for d, r in zip(d_hat, rows)])
            g_col = _per_column(_pair_sum(scale * (mean_du - mean_d * mean), ctx.complex_channels), ctx.complex_channels)
            a, coef_u, const = scale, -scale * scale * g_col, -scale * mean_d + scale * scale * g_col * mean
        else:
            a, coef_u, const = scale, torch.zeros_like(scale), torch.zeros_like(scale)
        start = 0
        for d, r, part_dtype in zip(d_hat, rows, ctx.part_dtypes):
            sl = slice(start, start + r.shape[1])
            start += r.shape[1]
            du = d.mul_(a[sl].to(dtype))
            if ctx.training:
                du = du.addcmul_(r, coef_u[sl].to(dtype)).add_(const[sl].to(dtype))
            grads_u.append(du.to(part_dtype).view(b, h, w_, -1).permute(0, 3, 1, 2))
        return (g_w.to(weight.dtype), None, None, None, None, None, *grads_u)


def standardize_project(
    parts: list[Tensor], weight: Tensor, complex_channels: int, eps: float, running: tuple[Tensor, Tensor] | None = None
) -> tuple[Tensor, Tensor, Tensor]:
    """(Y, μ, v): Y = P_j Std(cat(parts)) (B, 2K, H, W) channels-last, for parts (B, C_p, H, W)
    in mixed-layout order and the real weight (2K, 2·Cc + Cr) of P_j.

    ``running`` = None: training mode, standardise with the batch statistics μ (per real column,
    (2·Cc + Cr,)) and v (per channel, (Cc + Cr,), biased), which are returned. Otherwise
    ``running`` = (running mean, running variance) standardises, and is returned as (μ, v).
    """
    b, _, h, w = parts[0].shape
    running_mean, running_var = (None, None) if running is None else running
    if not torch.is_grad_enabled():  # inference: no autograd Function (dynamo mis-binds its arguments under no_grad)
        out, mean, var, _, _ = _forward(weight, running_mean, running_var, complex_channels, eps, tuple(parts))
        return out.view(b, h, w, -1).permute(0, 3, 1, 2), mean, var
    return _StdProject.apply(weight, running_mean, running_var, complex_channels, eps, (b, h, w), *parts)
