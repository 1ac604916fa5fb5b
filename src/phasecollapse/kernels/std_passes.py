"""The element-wise passes of the fused Std + P_j (:mod:`.std_projection`), one loop each.

Rows are pixels, columns the mixed layout's real columns; arithmetic in fp32 (fp64 for fp64
data) over data of any dtype (bf16 under autocast), results rounded once:

    column_stats(X)                = (μ, σ²) per column, biased              one pass over X
    standardized([U_p], μ, s)      = Û = [(U_p − μ_p)·s_p …] in ``dtype``     one pass over U, Û written once
    column_means(D, X)             = (mean(D), mean(D·X)) per column          one pass over D and X
    input_gradient(D, X, a, c, k)  = a·D + c·X + k in ``dtype``               one pass

On the CPU each runs compiled by inductor (:func:`cpu_compiled`), which fuses the casts into
the loop: no fp32 copy of U, of Û or of the gradient is ever written. Written in plain torch
each would cost several passes over fp32 copies (a cast, a subtraction, a norm, a product and
a rounding copy for Û alone); elsewhere (CUDA) they run as written.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import torch
from torch import Tensor

F = TypeVar("F", bound=Callable[..., Any])

COMPILED = True
"""Run the passes compiled on the CPU (False: as written, the paper twin's arithmetic order)."""


def accumulation(dtype: torch.dtype) -> torch.dtype:
    """The dtype of the passes' arithmetic: fp32, or fp64 for fp64 data."""
    return torch.promote_types(dtype, torch.float32)


def cpu_compiled(fn: F) -> F:
    """``fn`` compiled by inductor (dynamic shapes, so one graph serves every block) when its
    first tensor is on the CPU and :data:`COMPILED` is set; ``fn`` itself otherwise."""
    compiled = torch.compile(fn, dynamic=True)

    @functools.wraps(fn)
    def run(*args: Any) -> Any:
        first = args[0][0] if isinstance(args[0], list) else args[0]
        return (compiled if COMPILED and first.device.type == "cpu" else fn)(*args)

    return run  # type: ignore[return-value]


@cpu_compiled
def column_stats(x: Tensor) -> tuple[Tensor, Tensor]:
    """(μ, σ²) (w,) per column of x (n, w), σ² biased, in :func:`accumulation` of x's dtype."""
    var, mean = torch.var_mean(x.to(accumulation(x.dtype)), 0, correction=0)
    return mean, var


@cpu_compiled
def standardized(parts: list[Tensor], mean: Tensor, scale: Tensor, dtype: torch.dtype) -> Tensor:
    """Û (n, Σ w_p) in ``dtype`` = [(U_p − μ_p)·s_p …] for parts U_p (n, w_p) and μ, s (Σ w_p,)
    per column, computed in μ's dtype and rounded once."""
    widths = [p.shape[1] for p in parts]
    return torch.cat([(p.to(m.dtype) - m) * s for p, m, s in zip(parts, mean.split(widths), scale.split(widths))], 1).to(dtype)


@cpu_compiled
def column_means(d: Tensor, x: Tensor) -> tuple[Tensor, Tensor]:
    """(mean(d), mean(d·x)) (w,) per column of d, x (n, w), in :func:`accumulation` of d's dtype."""
    acc = accumulation(d.dtype)
    df = d.to(acc)
    return df.mean(0), (df * x.to(acc)).mean(0)


@cpu_compiled
def input_gradient(d: Tensor, x: Tensor, a: Tensor, c: Tensor, k: Tensor, dtype: torch.dtype) -> Tensor:
    """a·d + c·x + k (n, w) in ``dtype``, for d, x (n, w) and a, c, k (w,) (computed in a's dtype)."""
    return (d.to(a.dtype) * a + x.to(a.dtype) * c + k).to(dtype)
