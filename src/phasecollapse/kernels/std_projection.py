"""Std followed by P_j as one operation (the fast path of a block; same maths as the modules).

With U split into parts U_p (the channels of the mixed layout, complex parts first), batch
statistics μ, v per channel (complex: joint variance), s = (v + ε)^{−1/2} and the real weight
matrix W of P_j (:meth:`ComplexProjection.real_weight`):

    Û_p = (U_p − μ_p) diag(s_p)       (in fp32, rounded once to the compute dtype)
    Y = P_j Std(U) = Û Wᵀ,   Û = [Û_1 … Û_P]

one GEMM. The element-wise work is a few passes (:mod:`.std_passes`; on bf16 data compiled on
the CPU): the statistics of each part (mean, then the centred sum of squares, fp32 accumulation
over the part's own dtype, bf16 under autocast), then Û written from the parts straight into its
columns in the compute dtype (U is never concatenated). Û is standardised in fp32 *before* the
bf16 product: the former schedule, a product of the raw U by W' = W diag(s) minus W'μ
afterwards, lost the centred signal to cancellation when |μ| ≫ σ (its bf16 logits error was 2×
the paper path's at init, 4× with a +5 input offset). The backward needs Û: it saves U (its ρ
part is saved by ρ anyway) and recomputes Û (saving Û as well was measured 4% faster per step
for 17% more saved activations). It is written out (batch-norm style, with the joint complex
variance): two GEMMs, mean(dÛ) and mean(dÛ·Û) read off them (:func:`_backward_means`: no pass
over dÛ), one pass for dU in each part's dtype:

    dW = dYᵀ Û,   dÛ = dY W
    dU = s·(dÛ − mean(dÛ) − Û·g),   g_c = mean(Σ_{parts of c} dÛ·Û)   (training mode)
    dU = s·dÛ                                                         (eval mode)

**Gauss's three products** (``gauss=True``, or the module default :data:`GAUSS`). With the
complex P_j = A + iB on the complex columns (A_r + iB_r on the real ones) and Û's complex
columns split into real and imaginary parts X, Y (rows = pixels), R its real columns, the
four-product GEMM above costs 2K·(2·Cc + Cr) MACs per pixel. Gauss's trick gives the output's
real and imaginary parts Re, Im (its real pairs) with S = X + Y as

    k = S W₁ᵀ,   Re = k + [Y, R] W₂ᵀ,   Im = k + [R, X] W₃ᵀ,
    W₁ = A,   W₂ = [−(A + B), A_r],   W₃ = [B_r, B − A]                  (:func:`gauss_weights`)

K·(3·Cc + 2·Cr) MACs: 1/6 fewer at Cc = Cr (U = [Wx, ρ(Wx)], ρ = mod), 1/(4 + 2L) at Cr = L·Cc
(U = |W|x; 1/12 for L = 4). Û is written as [S | Y | R | X] (3·Cc + Cr columns; S summed in
fp32 and rounded once like the rest), so that each product reads contiguous columns; Re and
Im are then interleaved into the output's real pairs (one pass). Each output is the rounded
k plus a product the GEMM accumulates onto it (``addmm``, rounded once), not the difference of
three rounded products (the textbook Im = T₃ − T₁ − T₂): in bf16 the former measured 1.2× the
modules' error, the latter 1.5×. The backward, with dRe, dIm the halves of the output's gradient:

    dW₁ = (dRe + dIm)ᵀ S,   dW₂ = dReᵀ [Y, R],   dW₃ = dImᵀ [R, X]
    dS = (dRe + dIm) W₁,   [dY₁, dR₁] = dRe W₂,   [dR₂, dX₁] = dIm W₃
    dX = dX₁ + dS,   dY = dY₁ + dS,   dR = dR₁ + dR₂

six GEMMs, twice the forward's MACs as in the four-product form (every sum but dX₁ + dS
accumulated by a GEMM); autograd carries dW₁, dW₂, dW₃ to A and B. The price is element-wise: writing S, interleaving the output,
de-interleaving dY and summing dRe + dIm. Without complex columns (Cc = 0) both forms cost the
same and the four-product one runs. Its Û and dU are written piece by piece in plain torch
(an fp32 copy per part), not by the single passes of :mod:`.std_passes`.

Paper twin: ``proj(std(cat(parts)))`` with :class:`~phasecollapse.layers.standardization.Standardization`
and :class:`~phasecollapse.layers.projection.ComplexProjection` (tested against it, forward and
gradient, in both forms). The kernel returns the batch statistics; the Std layer that owns the
running averages updates them (:meth:`Standardization.update_running`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from . import std_passes
from .dtype import compute_dtype
from .mixed import per_channel, per_column

GAUSS = False
"""The product form the fused kernel uses when a call does not choose: False, the four-product
GEMM; True, Gauss's three products. Four until the step is measured side by side
(``phasecollapse bench train --compare gauss``)."""


def _as_rows(x: Tensor) -> Tensor:
    """(B, C, H, W) → (B·H·W, C), a view for channels-last tensors."""
    return x.permute(0, 2, 3, 1).reshape(-1, x.shape[1])


def _slices(sizes: list[int]) -> list[slice]:
    """Consecutive column ranges of the given widths."""
    starts = [0]
    for n in sizes:
        starts.append(starts[-1] + n)
    return [slice(a, b) for a, b in zip(starts, starts[1:])]


@dataclass(frozen=True)
class _Layout:
    """Û's columns: the mixed layout (four products), or [S | Y | R | X] (``gauss``). The
    *planar* block is Std(U) itself: all of Û, or its [Y | R | X] (Cc + Cr + Cc columns)."""

    complex_channels: int
    real_channels: int
    gauss: bool

    @property
    def width(self) -> int:
        """Û's number of columns: 2·Cc + Cr, or 3·Cc + Cr with S."""
        return (3 if self.gauss else 2) * self.complex_channels + self.real_channels

    def planar(self, x_hat: Tensor) -> Tensor:
        """The planar block of Û (a view)."""
        return x_hat[:, self.complex_channels :] if self.gauss else x_hat

    def complex_range(self, sl: slice) -> tuple[int, int]:
        """(c0, c1): the complex channels c0 … c1 − 1 among the mixed columns ``sl`` (its first 2·(c1 − c0))."""
        cc2 = 2 * self.complex_channels
        return min(sl.start, cc2) // 2, min(sl.stop, cc2) // 2

    def pieces(self, sl: slice) -> list[tuple[slice, slice]]:
        """(columns of a part, their columns in the planar block) for the part at mixed columns ``sl``:
        one piece, or its real parts X, imaginary parts Y and real channels R."""
        if not self.gauss:
            return [(slice(0, sl.stop - sl.start), sl)]
        cc, cr = self.complex_channels, self.real_channels
        c0, c1 = self.complex_range(sl)
        m, r0 = 2 * (c1 - c0), max(sl.start, 2 * cc) - 2 * cc
        pieces = [(slice(0, m, 2), slice(cc + cr + c0, cc + cr + c1)), (slice(1, m, 2), slice(c0, c1)), (slice(m, sl.stop - sl.start), slice(cc + r0, cc + r0 + sl.stop - sl.start - m))]
        return [(src, dst) for src, dst in pieces if dst.stop > dst.start]

    def order(self) -> Tensor:
        """The mixed column held by each planar column ((2·Cc + Cr,) indices)."""
        columns = torch.arange(2 * self.complex_channels + self.real_channels)
        order = torch.empty_like(columns)
        for src, dst in self.pieces(slice(0, len(columns))):
            order[dst] = columns[src]
        return order

    def write(self, x_hat: Tensor, z: Tensor, sl: slice) -> None:
        """Std(U)'s part z (n, w) at mixed columns ``sl`` into Û, rounded once to Û's dtype
        (with ``gauss``, also its S = X + Y, summed in z's dtype)."""
        planar = self.planar(x_hat)
        for src, dst in self.pieces(sl):
            planar[:, dst] = z[:, src]
        c0, c1 = self.complex_range(sl)
        if self.gauss and c1 > c0:
            torch.add(z[:, 0 : 2 * (c1 - c0) : 2], z[:, 1 : 2 * (c1 - c0) : 2], out=x_hat[:, c0:c1])


def gauss_weights(weight: Tensor, complex_channels: int) -> Tensor:
    """[W₁ | W₂ | W₃] = [A | −(A + B), A_r | B_r, B − A] (K, 3·Cc + 2·Cr), the weights of Gauss's
    products, from the real (2K, 2·Cc + Cr) matrix of A + iB (on the complex columns) and
    A_r + iB_r (on the real ones) on the mixed layout (:func:`~phasecollapse.layers.projection.mixed_real_matrix`):
    A, B are its (Re, Im) rows at the columns of the real parts, A_r, B_r at the real columns.
    Differentiable (autograd)."""
    cc2 = 2 * complex_channels
    a, b = weight[0::2, :cc2:2], weight[1::2, :cc2:2]
    return torch.cat([a, -(a + b), weight[0::2, cc2:], weight[1::2, cc2:], b - a], 1)


def _product(x_hat: Tensor, weight: Tensor, layout: _Layout) -> Tensor:
    """Y rows (n, 2K) = Û Wᵀ: one GEMM, or Gauss's three (see the module docstring)."""
    if not layout.gauss:
        return torch.mm(x_hat, weight.t())
    cc, cr = layout.complex_channels, layout.real_channels
    w1, w2, w3 = weight.split([cc, cc + cr, cr + cc], 1)
    k = torch.mm(x_hat[:, :cc], w1.t())  # S W₁ᵀ
    re = torch.addmm(k, x_hat[:, cc : 2 * cc + cr], w2.t())  # k + [Y, R] W₂ᵀ
    im = k.addmm_(x_hat[:, 2 * cc :], w3.t())  # k + [R, X] W₃ᵀ
    return torch.stack([re, im], 2).view(x_hat.shape[0], -1)


def _product_backward(dy: Tensor, x_hat: Tensor, weight: Tensor, layout: _Layout) -> tuple[Tensor, Tensor]:
    """(dW, dÛ's planar block) of Y = Û Wᵀ for dY rows (n, 2K): two GEMMs, or Gauss's six."""
    if not layout.gauss:
        return torch.mm(dy.t(), x_hat), torch.mm(dy, weight)
    cc, cr = layout.complex_channels, layout.real_channels
    n, out = dy.shape[0], dy.shape[1] // 2
    halves = dy.new_empty(n, 3 * out)  # [dRe | dIm | dRe + dIm]
    halves[:, : 2 * out].view(n, 2, out).copy_(dy.view(n, out, 2).transpose(1, 2))
    d_re, d_im, d_sum = halves.split(out, 1)
    torch.add(d_re, d_im, out=d_sum)
    w1, w2, w3 = weight.split([cc, cc + cr, cr + cc], 1)
    g_w = torch.cat([torch.mm(d_sum.t(), x_hat[:, :cc]), torch.mm(d_re.t(), x_hat[:, cc : 2 * cc + cr]), torch.mm(d_im.t(), x_hat[:, 2 * cc :])], 1)
    d_hat = dy.new_empty(n, 2 * cc + cr)  # [dY | dR | dX]
    torch.mm(d_sum, w1, out=d_hat[:, :cc])  # dS, on Y's columns
    torch.mm(d_im, w3, out=d_hat[:, cc:])  # [dR₂, dX₁]
    d_hat[:, cc + cr :] += d_hat[:, :cc]  # dX = dX₁ + dS
    d_hat[:, : cc + cr].addmm_(d_re, w2)  # [dY, dR] = [dS, dR₂] + [dY₁, dR₁]
    return g_w, d_hat


def _standardized(rows: list[Tensor], mean: Tensor, scale: Tensor, dtype: torch.dtype, layout: _Layout) -> Tensor:
    """Û (B·H·W, ``layout.width``) in ``dtype``: (U_p − μ_p)·s_p computed in μ's dtype, rounded
    once: the mixed layout in one pass (:func:`.std_passes.standardized`), Gauss's part by part."""
    if not layout.gauss:
        return std_passes.standardized(rows, mean, scale, dtype)
    x_hat = torch.empty(rows[0].shape[0], layout.width, dtype=dtype, device=rows[0].device)
    for r, sl in zip(rows, _slices([r.shape[1] for r in rows])):
        layout.write(x_hat, (r - mean[sl]).mul_(scale[sl]), sl)
    return x_hat


def _forward(weight: Tensor, running_mean: Tensor | None, running_var: Tensor | None, layout: _Layout, eps: float, parts: tuple[Tensor, ...]) -> tuple[Tensor, Tensor, Tensor, Tensor, list[Tensor]]:
    """(Y rows (B·H·W, 2K), μ, v, s per column, U rows): the forward of the kernel, plain torch."""
    dtype = compute_dtype(parts[0])
    rows = [_as_rows(p) for p in parts]
    n = rows[0].shape[0]
    training = running_mean is None or running_var is None
    if training and n < 2:
        raise ValueError("Standardization needs more than one value per channel in training mode (batch × height × width ≥ 2)")
    if training:  # per part (fp32 accumulation over the part's dtype), then complex pairs joint
        stats = [std_passes.column_stats(r) for r in rows]
        mean = torch.cat([m for m, _ in stats])
        var = per_channel(torch.cat([v for _, v in stats]), layout.complex_channels)
    else:
        acc = std_passes.accumulation(dtype)
        mean, var = running_mean.to(acc), running_var.to(acc)
    scale = torch.rsqrt(per_column(var, layout.complex_channels) + eps)
    x_hat = _standardized(rows, mean, scale, dtype, layout)
    return _product(x_hat, weight.to(dtype), layout), mean, var, scale, rows


def _backward_means(dy: Tensor, d_hat: Tensor, x_hat: Tensor, g_w: Tensor, weight: Tensor, layout: _Layout) -> tuple[Tensor, Tensor]:
    """(mean(dÛ), mean(dÛ·Û)) per planar column, in fp32 (fp64 for fp64). With four products,
    from what the GEMMs gave, without a pass over dÛ and Û: dÛ = dY W and dW = dYᵀ Û, so

        mean(dÛ) = mean(dY) W,   mean(dÛ·Û)_j = Σ_k W_kj dW_kj / n

    (one column sum of dY, 2K ≤ 2·Cc + Cr columns, and products of (2K, 2·Cc + Cr) matrices).
    Gauss's three products have no single dW: one pass over dÛ and Û (:func:`.std_passes.column_means`)."""
    if layout.gauss:
        return std_passes.column_means(d_hat, layout.planar(x_hat))
    acc = std_passes.accumulation(dy.dtype)
    w = weight.to(acc)
    return std_passes.column_sum(dy) @ w / dy.shape[0], (w * g_w.to(acc)).sum(0) / dy.shape[0]


def _std_backward(means: tuple[Tensor, Tensor] | None, scale: Tensor, layout: _Layout) -> tuple[Tensor, Tensor, Tensor]:
    """(s, −s·g, −s·mean(dÛ)) per planar column (in s's dtype) from ``means`` = (mean(dÛ),
    mean(dÛ·Û)) in training mode: dU = s·dÛ − s·g·Û − s·mean(dÛ); ``means`` None (eval mode):
    s·dÛ, zeros for the other two."""
    order = layout.order().to(scale.device)
    a = scale[order]
    if means is None:
        return a, torch.zeros_like(a), torch.zeros_like(a)
    mean_d, mean_dx = means
    cc = layout.complex_channels
    products = torch.empty_like(a).index_copy_(0, order, mean_dx)  # per mixed column
    g = per_column(per_channel(products, cc), cc)[order]
    return a, -a * g, -a * mean_d


class _StdProject(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, weight: Tensor, running_mean: Tensor | None, running_var: Tensor | None, layout: _Layout, eps: float, shape: tuple[int, int, int], *parts: Tensor) -> tuple[Tensor, Tensor, Tensor]:  # type: ignore[override]
        out, mean, var, scale, rows = _forward(weight, running_mean, running_var, layout, eps, parts)
        ctx.save_for_backward(weight, mean, scale, *rows)  # U, not Û (ρ saves its part of U anyway)
        ctx.part_dtypes, ctx.dtype = [p.dtype for p in parts], compute_dtype(parts[0])
        ctx.u_cols, ctx.training, ctx.layout, ctx.shape = [p.shape[1] for p in parts], running_mean is None, layout, shape
        ctx.mark_non_differentiable(mean, var)
        b, h, w_ = shape
        return out.view(b, h, w_, -1).permute(0, 3, 1, 2), mean, var

    @staticmethod
    def backward(ctx: Any, grad: Tensor, _mean: Tensor | None, _var: Tensor | None) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        weight, mean, scale, *rows = ctx.saved_tensors
        dtype, layout = ctx.dtype, ctx.layout
        x_hat = _standardized(rows, mean, scale, dtype, layout)  # recomputed: one element-wise pass
        dy, w = _as_rows(grad).to(dtype), weight.to(dtype)
        g_w, d_hat = _product_backward(dy, x_hat, w, layout)  # dW = dYᵀ Û, dÛ = dY W
        means = _backward_means(dy, d_hat, x_hat, g_w, w, layout) if ctx.training else None
        coefs = _std_backward(means, scale, layout)
        planar = layout.planar(x_hat)
        b, h, w_ = ctx.shape
        grads_u = []
        for part_dtype, sl in zip(ctx.part_dtypes, _slices(ctx.u_cols)):
            if layout.gauss:  # the part's pieces gathered from [Y | R | X], in the compute dtype
                a, coef_hat, const = (v.to(dtype) for v in coefs)
                du = d_hat.new_empty(d_hat.shape[0], sl.stop - sl.start)
                for src, dst in layout.pieces(sl):
                    torch.mul(d_hat[:, dst], a[dst], out=du[:, src]).addcmul_(planar[:, dst], coef_hat[dst]).add_(const[dst])
                du = du.to(part_dtype)
            else:  # one pass, straight to the part's dtype
                du = std_passes.input_gradient(d_hat[:, sl], planar[:, sl], *(v[sl] for v in coefs), part_dtype)
            grads_u.append(du.view(b, h, w_, -1).permute(0, 3, 1, 2))
        return (g_w.to(weight.dtype), None, None, None, None, None, *grads_u)


# Eager even inside torch.compile: inductor's code for this kernel ran 1.6× slower than eager on
# the CPU (LScat + skip, width 0.25, batch 128, bf16: step 0.418 s fully compiled, 0.293 s with
# this kernel eager, measured side by side).
@torch.compiler.disable
def standardize_project(
    parts: list[Tensor], weight: Tensor, complex_channels: int, eps: float, running: tuple[Tensor, Tensor] | None = None, gauss: bool | None = None
) -> tuple[Tensor, Tensor, Tensor]:
    """(Y, μ, v): Y = P_j Std(cat(parts)) (B, 2K, H, W) channels-last, for parts (B, C_p, H, W)
    in mixed-layout order and the real weight (2K, 2·Cc + Cr) of P_j.

    ``running`` = None: training mode, standardise with the batch statistics μ (per real column,
    (2·Cc + Cr,)) and v (per channel, (Cc + Cr,), biased), which are returned. Otherwise
    ``running`` = (running mean, running variance) standardises, and is returned as (μ, v).
    ``gauss``: Gauss's three products (None: :data:`GAUSS`). They read A and B off ``weight``,
    which must then be the real matrix of a complex one (``real_weight()`` is); its gradient is
    carried by the entries read (zero on their copies −B, A), which gives the complex P_j the
    four-product form's gradient.
    """
    b, _, h, w = parts[0].shape
    running_mean, running_var = (None, None) if running is None else running
    layout = _Layout(complex_channels, weight.shape[1] - 2 * complex_channels, (GAUSS if gauss is None else gauss) and complex_channels > 0)
    if layout.gauss:
        weight = gauss_weights(weight, complex_channels)
    with torch.profiler.record_function("standardize_project"):  # bench profile's label (free when not profiling)
        if not torch.is_grad_enabled():  # inference: no autograd Function (dynamo mis-binds its arguments under no_grad)
            out, mean, var, _, _ = _forward(weight, running_mean, running_var, layout, eps, tuple(parts))
            return out.view(b, h, w, -1).permute(0, 3, 1, 2), mean, var
        return _StdProject.apply(weight, running_mean, running_var, layout, eps, (b, h, w), *parts)


def factored_standardize_project(
    parts: list[Tensor], right: Tensor, left: Tensor, complex_channels: int, eps: float, running: tuple[Tensor, Tensor] | None = None, gauss: bool | None = None
) -> tuple[Tensor, Tensor, Tensor]:
    """(Y, μ, v) with Y = L (R Std(cat(parts))) for a P_j whose real weight factors as L R
    (a low-rank P_j = A B: R (2r, 2·Cc + Cr) of B, L (2K, 2r) of A): the fused kernel with R
    (in the product form ``gauss`` chooses), then one GEMM with L, r·(2·Cc + Cr + 2K)·2 real
    MACs per pixel instead of 2K·(2·Cc + Cr). The product with L stays four-product: it has no
    Std pass to write S in, so Gauss there would add a de-interleaving pass over its input and
    one over its gradient to the output's interleaving, for a quarter of a GEMM whose reduction
    is only 2r long.

    Paper twin: ``proj(std(cat(parts)))`` with the materialised weight L R (tested, output and gradient).
    """
    z, mean, var = standardize_project(parts, right, complex_channels, eps, running, gauss)
    y = torch.matmul(z.permute(0, 2, 3, 1), left.to(z.dtype).t())  # (B, H, W, 2K): channels-last
    return y.permute(0, 3, 1, 2), mean, var
