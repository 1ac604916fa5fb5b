"""The learned operators P_j: spectra, effective rank, low-rank truncation (poster's open question).

- Singular values s_1 ≥ … of the complex matrix W_j (K_j × C_j).
- Effective rank (Roy & Vetterli 2007): exp(H(p)), p_i = s_i / Σ s, H the Shannon entropy.
  A matrix with r equal non-zero singular values has effective rank r.
- Rank-r survival of block j on data: 1 − ‖W V − W_r V‖² / ‖W V‖², with V = Std(U) the
  input of P_j and W_r the best rank-r approximation of W (truncated SVD).
- Singular value decay: the energy ranks r_f, the fewest singular values holding a fraction f
  of ‖W‖² = Σ s_i².
- Orientation-shared energy (issue #14): ‖Π(W)‖² / ‖W‖², Π the orthogonal projection onto the
  orientation-shared matrices of :mod:`phasecollapse.layers.structured_projection` (output
  channel o = g·L + θ). Its null value for a unitary-initialised W is dim(subspace) / (K·N):
  the law of such a W is invariant under W → U W V (U, V unitary), so E[vec W vec Wᴴ] ∝ I.
  A dense P_j's output order carries no orientation, so the basis-free version matters there:
  ‖Π_G(WᴴW)‖² / ‖WᴴW‖², Π_G the average over the cyclic group of column permutations that
  rotate U's orientation indices by one step. It is 1 iff W P = Q W for a unitary Q: W is
  orientation-equivariant once its outputs are rotated into the right basis. A dense model's
  channels carry no known orientation, so after block 0 only the wavelet index is rotated there
  (a proxy; at block 0, whose parents are the colours, the test is exact). Its null value is
  taken over i.i.d. complex Gaussian W: a unitary-initialised W with K ≥ N (block 0) has
  WᴴW = I, which commutes with everything.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from ..layers.block import LScatBlock
from ..layers.complex import to_complex
from ..layers.structured_projection import SYMMETRIES, ULayout, orientation_index, shared_entry_coordinates


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


def energy_ranks(s: Tensor, fractions: tuple[float, ...] = (0.5, 0.9, 0.99)) -> list[int]:
    """The fewest singular values holding each fraction of Σ s_i² (s descending)."""
    cumulative = s.double().square().cumsum(0) / s.double().square().sum()
    return [int((cumulative < f - 1e-12).sum()) + 1 for f in fractions]


def shared_fraction(weight: Tensor, index: Tensor) -> float:
    """‖Π(W)‖² / ‖W‖² for the classes of shared entries ``index`` (K, N) of a structure."""
    w = weight.detach().to(torch.complex128)
    return float(shared_entry_coordinates(index, w).abs().square().sum() / w.abs().square().sum())


def shared_fraction_null(index: Tensor) -> float:
    """E ‖Π(W)‖² / ‖W‖² over unitary-initialised W: dim(subspace) / (K·N)."""
    return (int(index.max()) + 1) / index.numel()


def orientation_shift(layout: ULayout, channel_orientation: bool) -> Tensor:
    """The column permutation of U that rotates every orientation index by one step, cyclically:
    psi column c·L + k → c'·L + (k + 1 mod L), with c' = c or, when parents carry an orientation
    (c = g·L + θ), c' = g·L + (θ + 1 mod L); phi column c → c'."""
    L = layout.L
    part, parent, k, _ = layout.columns()
    sizes = torch.tensor([layout.in_channels * (1 if p == "phi" else L) for p in layout.parts])
    start = (sizes.cumsum(0) - sizes)[part]
    if channel_orientation:
        parent = parent - parent % L + (parent % L + 1) % L
    return start + torch.where(k < 0, parent, parent * L + (k + 1) % L)


def gram_shared_fraction(weight: Tensor, shift: Tensor) -> float:
    """‖Π_G(WᴴW)‖² / ‖WᴴW‖², Π_G(M) = mean over r of (Pʳ)ᵀ M Pʳ, P the column permutation ``shift``."""
    w = weight.detach().to(torch.complex128)
    gram = w.mH @ w
    average, perm, steps = torch.zeros_like(gram), torch.arange(len(shift)), 0
    while True:
        average += gram[perm][:, perm]
        steps += 1
        perm = shift[perm]
        if torch.equal(perm, torch.arange(len(shift))):
            break
    return float((average / steps).abs().square().sum() / gram.abs().square().sum())


def gram_shared_fraction_null(shape: tuple[int, int], shift: Tensor, draws: int = 4) -> tuple[float, float]:
    """Mean and standard deviation of :func:`gram_shared_fraction` over i.i.d. complex Gaussian W."""
    values = torch.tensor([gram_shared_fraction(torch.randn(shape, dtype=torch.complex128), shift) for _ in range(draws)])
    return float(values.mean()), float(values.std()) if draws > 1 else 0.0


def orientation_sharing(block: LScatBlock, channel_orientation: str | None = None, draws: int = 4) -> dict[str, Any]:
    """P_j's orientation-shared energy and its null values: literal (per ``symmetry``; when K_j
    is a multiple of L) and basis-free. ``channel_orientation``: the previous P's
    ``output_orientation`` (None: the parents carry no orientation)."""
    w, layout = block.proj.complex_weight(), block.layout
    out: dict[str, Any] = {}
    if w.shape[0] % layout.L == 0:
        for symmetry in SYMMETRIES:
            index, _ = orientation_index(layout, w.shape[0], symmetry, None, channel_orientation)
            out[symmetry] = {"fraction": shared_fraction(w, index), "null": shared_fraction_null(index)}
    shift = orientation_shift(layout, channel_orientation is not None)
    mean, sd = gram_shared_fraction_null((w.shape[0], w.shape[1]), shift, draws)
    out["basis_free"] = {"fraction": gram_shared_fraction(w, shift), "null": mean, "null_sd": sd}
    return out
