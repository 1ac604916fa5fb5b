"""Std followed by P_j as one operation (the fast path of a block; same maths as the modules).

With U split into parts U_p (the channels of the mixed layout, complex parts first), batch
statistics μ, v per channel (complex: joint variance), s = (v + ε)^{−1/2} and the real weight
matrix W of P_j (:meth:`ComplexProjection.real_weight`):

    Û_p = (U_p − μ_p) diag(s_p)       (in fp32, rounded once to the compute dtype)
    Y = P_j Std(U) = Û Wᵀ,   Û = [Û_1 … Û_P]

one GEMM; each part is standardised straight into its columns of Û (U itself is never
concatenated). Û is formed in fp32 *before* the bf16 product: the former schedule, a product of
the raw U by W' = W diag(s) minus W'μ afterwards, lost the centred signal to cancellation when
|μ| ≫ σ (its bf16 logits error was 2× the paper path's at init, 4× with a +5 input offset).
Statistics are two-pass in fp32 (mean, then the norm of the centred columns, which Û reuses).
The backward needs Û: it saves U (its ρ part is saved by ρ anyway) and recomputes Û, one element-wise
pass (saving Û as well was measured 4% faster per step for 17% more saved activations). It is
written out (batch-norm style, with the joint complex variance), two GEMMs:

    dW = dYᵀ Û,   dÛ = dY W
    dU = s·(dÛ − mean(dÛ) − Û·g),   g_c = mean(Σ_{parts of c} dÛ·Û)   (training mode)
    dU = s·dÛ                                                         (eval mode)

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
from .mixed import per_channel, per_column


def _as_rows(x: Tensor) -> Tensor:
    """(B, C, H, W) → (B·H·W, C), a view for channels-last tensors."""
    return x.permute(0, 2, 3, 1).reshape(-1, x.shape[1])


def _slices(sizes: list[int]) -> list[slice]:
    """Consecutive column ranges of the given widths."""
    starts = [0]
    for n in sizes:
        starts.append(starts[-1] + n)
    return [slice(a, b) for a, b in zip(starts, starts[1:])]


def _standardized(rows: list[Tensor], mean: Tensor, scale: Tensor, dtype: torch.dtype) -> Tensor:
    """Û (B·H·W, Σ C_p) in ``dtype``: (U_p − μ_p)·s_p computed in μ's dtype, rounded once."""
    x_hat = torch.empty(rows[0].shape[0], mean.shape[0], dtype=dtype, device=rows[0].device)
    for r, sl in zip(rows, _slices([r.shape[1] for r in rows])):
        x_hat[:, sl] = (r - mean[sl]).mul_(scale[sl])
    return x_hat


def _forward(weight: Tensor, running_mean: Tensor | None, running_var: Tensor | None, complex_channels: int, eps: float, parts: tuple[Tensor, ...]) -> tuple[Tensor, Tensor, Tensor, Tensor, list[Tensor]]:
    """(Y rows (B·H·W, 2K), μ, v, s per column, U rows): the forward of the kernel, plain torch."""
    dtype = compute_dtype(parts[0])
    rows = [_as_rows(p) for p in parts]
    n = rows[0].shape[0]
    acc = torch.promote_types(dtype, torch.float32)  # statistics and Û in fp32 (fp64 for fp64 inputs)
    training = running_mean is None or running_var is None
    if training and n < 2:
        raise ValueError("Standardization needs more than one value per channel in training mode (batch × height × width ≥ 2)")
    if not training:
        mean, var = running_mean.to(acc), running_var.to(acc)
        scale = torch.rsqrt(per_column(var, complex_channels) + eps)
        x_hat = _standardized(rows, mean, scale, dtype)
    else:
        means, joint, scales = [], [], []
        x_hat = torch.empty(n, weight.shape[1], dtype=dtype, device=rows[0].device)  # Û, the parts side by side
        for r, sl in zip(rows, _slices([r.shape[1] for r in rows])):  # as _standardized, statistics on the way
            m = r.mean(0, dtype=acc)
            centred = r - m  # in acc (type promotion)
            v = torch.linalg.vector_norm(centred, dim=0).square_().div_(n)  # two-pass variance (var_mean over rows is slower)
            part_cc = max(0, min(v.shape[0], 2 * complex_channels - sl.start)) // 2  # the part's complex channels
            v = per_channel(v, part_cc)  # complex pairs joint
            s = torch.rsqrt(per_column(v, part_cc) + eps)
            x_hat[:, sl] = centred.mul_(s)
            means.append(m)
            joint.append(v)
            scales.append(s)
        mean, var, scale = torch.cat(means), torch.cat(joint), torch.cat(scales)
    return torch.mm(x_hat, weight.to(dtype).t()), mean, var, scale, rows


class _StdProject(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, weight: Tensor, running_mean: Tensor | None, running_var: Tensor | None, complex_channels: int, eps: float, shape: tuple[int, int, int], *parts: Tensor) -> tuple[Tensor, Tensor, Tensor]:  # type: ignore[override]
        out, mean, var, scale, rows = _forward(weight, running_mean, running_var, complex_channels, eps, parts)
        ctx.save_for_backward(weight, mean, scale, *rows)  # U, not Û (ρ saves its part of U anyway)
        ctx.part_dtypes, ctx.dtype = [p.dtype for p in parts], compute_dtype(parts[0])
        ctx.u_cols, ctx.training, ctx.complex_channels, ctx.shape = [p.shape[1] for p in parts], running_mean is None, complex_channels, shape
        ctx.mark_non_differentiable(mean, var)
        b, h, w_ = shape
        return out.view(b, h, w_, -1).permute(0, 3, 1, 2), mean, var

    @staticmethod
    def backward(ctx: Any, grad: Tensor, _mean: Tensor | None, _var: Tensor | None) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        weight, mean, scale, *rows = ctx.saved_tensors
        dtype, acc = ctx.dtype, scale.dtype
        x_hat = _standardized(rows, mean, scale, dtype)  # recomputed: one element-wise pass
        dy = _as_rows(grad).to(dtype)
        g_w = torch.mm(dy.t(), x_hat)  # dW = dYᵀ Û
        d_hat = torch.mm(dy, weight.to(dtype))  # dÛ
        b, h, w_ = ctx.shape
        a = scale.to(dtype)
        if ctx.training:
            mean_d = d_hat.mean(0, dtype=acc)
            g_col = per_column(per_channel((d_hat * x_hat).mean(0, dtype=acc), ctx.complex_channels), ctx.complex_channels)
            coef_hat, const = (-scale * g_col).to(dtype), (-scale * mean_d).to(dtype)  # dU = s·dÛ − s·g·Û − s·mean(dÛ)
        grads_u = []
        for part_dtype, sl in zip(ctx.part_dtypes, _slices(ctx.u_cols)):
            du = d_hat[:, sl] * a[sl]  # contiguous
            if ctx.training:
                du = du.addcmul_(x_hat[:, sl], coef_hat[sl]).add_(const[sl])
            grads_u.append(du.to(part_dtype).view(b, h, w_, -1).permute(0, 3, 1, 2))
        return (g_w.to(weight.dtype), None, None, None, None, None, *grads_u)


# Eager even inside torch.compile: inductor's code for this kernel ran 1.6× slower than eager on
# the CPU (LScat + skip, width 0.25, batch 128, bf16: step 0.418 s fully compiled, 0.293 s with
# this kernel eager, measured side by side).
@torch.compiler.disable
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


def factored_standardize_project(
    parts: list[Tensor], right: Tensor, left: Tensor, complex_channels: int, eps: float, running: tuple[Tensor, Tensor] | None = None
) -> tuple[Tensor, Tensor, Tensor]:
    """(Y, μ, v) with Y = L (R Std(cat(parts))) for a P_j whose real weight factors as L R
    (a low-rank P_j = A B: R (2r, 2·Cc + Cr) of B, L (2K, 2r) of A): the fused kernel with R,
    then one GEMM with L, r·(2·Cc + Cr + 2K)·2 real MACs per pixel instead of 2K·(2·Cc + Cr).

    Paper twin: ``proj(std(cat(parts)))`` with the materialised weight L R (tested, output and gradient).
    """
    z, mean, var = standardize_project(parts, right, complex_channels, eps, running)
    y = torch.matmul(z.permute(0, 2, 3, 1), left.to(z.dtype).t())  # (B, H, W, 2K): channels-last
    return y.permute(0, 3, 1, 2), mean, var
