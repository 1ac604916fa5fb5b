"""The learned operators P_j: spectra, effective rank, low-rank truncation (poster's open question).

- Singular values s_1 ≥ … of the complex matrix W_j (K_j × C_j).
- Effective rank (Roy & Vetterli 2007): exp(H(p)), p_i = s_i / Σ s, H the Shannon entropy.
  A matrix with r equal non-zero singular values has effective rank r.
- Rank-r survival of block j on data: 1 − ‖W V − W_r V‖² / ‖W V‖², with V = Std(U) the
  input of P_j and W_r the best rank-r approximation of W (truncated SVD).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ..layers.block import LScatBlock
from ..layers.complex import to_complex


def singular_values(weight: Tensor) -> Tensor:
    """Singular values (descending, float64) of a complex or real matrix."""
    return torch.linalg.svdvals(weight.to(torch.complex128 if weight.is_complex() else torch.float64))


def effective_rank(s: Tensor) -> float:
    """exp of the entropy of s / Σ s (zeros ignored)."""
    p = s[s > 0].double() / s.sum()
    return math.exp(float(-(p * p.log()).sum()))


def truncate(weight: Tensor, rank: int) -> Tensor:
    """Best rank-``rank`` approximation (Frobenius) of a complex matrix."""
    u, s, vh = torch.linalg.svd(weight.to(torch.complex128), full_matrices=False)
    return (u[:, :rank] * s[:rank]) @ vh[:rank]


@torch.no_grad()
def rank_survival(block: LScatBlock, x: Tensor, ranks: list[int]) -> list[float]:
    """Share of P_j's output energy kept when W_j is truncated to each rank (block in eval mode)."""
    block.eval()
    v = block.std(block.mixed_input(x))
    cc = block.proj.complex_channels
    vc = torch.cat([to_complex(v[:, : 2 * cc]), v[:, 2 * cc :].to(torch.complex64)], 1).to(torch.complex128)
    w = block.proj.complex_weight().to(torch.complex128)
    y = torch.einsum("kc,bchw->bkhw", w, vc)
    total = y.abs().square().sum()
    return [1 - float((y - torch.einsum("kc,bchw->bkhw", truncate(w, r), vc)).abs().square().sum() / total) for r in ranks]
