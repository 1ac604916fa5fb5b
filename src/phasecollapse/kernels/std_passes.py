"""The element-wise passes of the fused Std + P_j (:mod:`.std_projection`).

Rows are pixels, columns the mixed layout's real columns; arithmetic in fp32 (fp64 for fp64
data) over data of any dtype (bf16 under autocast), results rounded once:

    column_stats(X)                = (μ, σ²) per column, biased (two-pass: exact centring)
    standardized([U_p], μ, s)      = Û = [U_p·s_p − μ_p·s_p …] in ``dtype``, U never concatenated
    column_sum(X)                  = Σ X per column
    column_means(D, X)             = (mean(D), mean(D·X)) per column   (Gauss's backward)
    input_gradient(D, X, a, c, k)  = a·D + c·X + k in ``dtype``

Each is written with the ATen ops that measured fastest on the CPU (no norm: the column norm
of ATen ran 9× slower than a product and a sum; no fresh fp32 copy of fp32 data). On bf16
data the plain-torch form needs fp32 copies; there :func:`low_precision_compiled` runs
the reductions and ``input_gradient`` compiled by inductor on the CPU, which
fuses the casts into the loops (measured 1.15–6× faster than the same code eager on bf16 data;
compiled passes on fp32 data, 571de5b, ran 2–4× *slower* than these eager ones: fp32 stays eager).
``standardized`` with bf16 / fp16 data or output runs compiled as one concatenation, which
inductor writes in one pass per part with the casts fused (the eager ``addcmul`` makes an fp32
intermediate, then copied into Û's columns); fp32 in and out stays the eager ``addcmul`` into Û's
columns. All these passes compiled against eager: the width ×0.25 LScat + skip step 1.3× faster
(``phasecollapse bench train --compare passes``, results/bench/train_passes_*).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import torch
from torch import Tensor

F = TypeVar("F", bound=Callable[..., Any])

COMPILED = True
"""Run the bf16 passes compiled on the CPU (False: all as written; the tests compare both)."""

LOW_PRECISION = (torch.bfloat16, torch.float16)


def accumulation(dtype: torch.dtype) -> torch.dtype:
    """The dtype of the passes' arithmetic: fp32, or fp64 for fp64 data."""
    return torch.promote_types(dtype, torch.float32)


def runs_compiled(device: torch.device, *dtypes: torch.dtype) -> bool:
    """Whether a pass over CPU data with any of ``dtypes`` bf16 / fp16 runs compiled (:data:`COMPILED`)."""
    return COMPILED and device.type == "cpu" and any(d in LOW_PRECISION for d in dtypes)


def low_precision_compiled(fn: F) -> F:
    """``fn`` compiled by inductor (dynamic shapes: one graph serves every block) when its first
    tensor :func:`runs_compiled`; ``fn`` itself otherwise."""
    compiled = torch.compile(fn, dynamic=True)

    @functools.wraps(fn)
    def run(*args: Any) -> Any:
        first = args[0][0] if isinstance(args[0], list) else args[0]
        return (compiled if runs_compiled(first.device, first.dtype) else fn)(*args)

    return run  # type: ignore[return-value]


@low_precision_compiled
def column_stats(x: Tensor) -> tuple[Tensor, Tensor]:
    """(μ, σ²) (w,) per column of x (n, w), σ² biased, in :func:`accumulation` of x's dtype:
    μ = Σx/n, then σ² = Σ(x − μ)²/n (two passes, so no cancellation when |μ| ≫ σ)."""
    xf = x.to(accumulation(x.dtype))
    mean = xf.sum(0) / x.shape[0]
    centred = xf - mean
    return mean, centred.mul_(centred).sum(0) / x.shape[0]


def _standardized_cat(parts: list[Tensor], mean: Tensor, scale: Tensor, dtype: torch.dtype) -> Tensor:
    """:func:`standardized` as one concatenation, for inductor (which writes each part's columns
    of the output directly)."""
    out, start = [], 0
    for p in parts:
        cols = slice(start, start + p.shape[1])
        out.append((p.to(mean.dtype) * scale[cols] - mean[cols] * scale[cols]).to(dtype))
        start = cols.stop
    return torch.cat(out, 1)


_standardized_compiled = torch.compile(_standardized_cat, dynamic=True)


def standardized(parts: list[Tensor], mean: Tensor, scale: Tensor, dtype: torch.dtype) -> Tensor:
    """Û (n, Σ w_p) in ``dtype`` = [U_p·s_p − μ_p·s_p …] for parts U_p (n, w_p) and μ, s (Σ w_p,)
    per column, computed in μ's dtype (``addcmul``) and rounded once into Û's columns; on the
    CPU with bf16 / fp16 data or output, the same compiled (:func:`_standardized_cat`)."""
    if runs_compiled(parts[0].device, parts[0].dtype, dtype):
        return _standardized_compiled(parts, mean, scale, dtype)
    x_hat = torch.empty(parts[0].shape[0], mean.shape[0], dtype=dtype, device=parts[0].device)
    start = 0
    for p in parts:
        cols = slice(start, start + p.shape[1])
        m, s = mean[cols], scale[cols]
        if dtype == mean.dtype:
            torch.addcmul(-m * s, p, s, out=x_hat[:, cols])
        else:
            x_hat[:, cols] = torch.addcmul(-m * s, p, s)
        start = cols.stop
    return x_hat


@low_precision_compiled
def column_sum(x: Tensor) -> Tensor:
    """Σ x (w,) over the rows of x (n, w), in :func:`accumulation` of x's dtype."""
    return x.to(accumulation(x.dtype)).sum(0)


@low_precision_compiled
def column_means(d: Tensor, x: Tensor) -> tuple[Tensor, Tensor]:
    """(mean(d), mean(d·x)) (w,) per column of d, x (n, w), in :func:`accumulation` of d's dtype."""
    acc = accumulation(d.dtype)
    df = d.to(acc)
    return df.sum(0) / d.shape[0], (df * x.to(acc)).sum(0) / d.shape[0]


@low_precision_compiled
def input_gradient(d: Tensor, x: Tensor, a: Tensor, c: Tensor, k: Tensor, dtype: torch.dtype) -> Tensor:
    """a·d + c·x + k (n, w) in ``dtype``, for d, x (n, w) and a, c, k (w,) (computed in a's dtype)."""
    return torch.addcmul(k, d, a).addcmul_(x, c).to(dtype)
