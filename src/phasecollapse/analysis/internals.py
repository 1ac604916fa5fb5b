"""What each block of a trained LScat computes, on a set of images, block after block.

For block j with input x_{j−1} (x_0 the images), W x_{j−1} = [x_{j−1}∗φ ; x_{j−1}∗ψ_k] and::

    z_j   = x_{j−1}∗ψ_k            the wavelet coefficients, complex (N, L·C, H_j, W_j)
    ρ_j   = ρ(W x_{j−1}) with skip, ρ(z_j) without: the non-linearity's output (complex, or
            real for ρ = mod)
    parts = the parts of U_j after Std (the input of P_j), in mixed layout, with their names:
            skip: "Wx" (the linear copy) and "ρ(Wx)"; no skip: "x∗φ" and "ρ(x∗ψ)"
    x_j   = N(P_j Std(U_j))        the block output, complex (N, K_j, H_j, W_j)

The model runs in eval mode (Std with its running statistics), in fp32, by batches, through
the paper modules (x_j = N(P_j v) rather than the fused kernel, its tested twin).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import Tensor

from ..layers.block import LScatBlock, u_parts
from ..layers.complex import to_complex
from ..models.lscat import LScat


@dataclass
class BlockInternals:
    """One block's quantities on all images (see the module docstring)."""

    block: int
    z: Tensor
    rho: Tensor
    parts: dict[str, Tensor]
    x: Tensor


def _part_names(block: LScatBlock) -> list[str]:
    """Names of the parts of U in mixed-layout order (:func:`~phasecollapse.layers.block.u_parts`)."""
    return u_parts("x∗φ", "x∗ψ", lambda t: f"ρ({t})", block.skip, block.complex_input, block.rho.complex_output, lambda t: t, lambda ts: "Wx")


@torch.no_grad()
def _block_pass(block: LScatBlock, x: Tensor, names: list[str]) -> tuple[Tensor, Tensor, list[Tensor], Tensor]:
    phi, psi = block.wavelet(x)  # W once: U and x_j = N(P_j v) follow from it (the paper modules)
    parts = block.parts_of(phi, psi)
    v = block.std(torch.cat(parts, 1))
    rho = parts[[i for i, n in enumerate(names) if n.startswith("ρ")][0]]
    return psi, rho, list(v.split([p.shape[1] for p in parts], 1)), block.norm(block.proj(v))


@torch.no_grad()
def lscat_internals(model: LScat, images: Tensor, batch_size: int = 250) -> Iterator[BlockInternals]:
    """Yield :class:`BlockInternals` for blocks 1 … J of ``model`` on ``images`` (N, C, S, S)."""
    if not isinstance(model, LScat):
        raise ValueError(f"block internals are those of an LScat, got {type(model).__name__}")
    model.eval().float()
    model.check_input(images)
    x = images.float()
    for j, block in enumerate(model.blocks, 1):
        names = _part_names(block)
        zs, rhos, outs, parts = [], [], [], [[] for _ in names]
        for start in range(0, len(x), batch_size):
            psi, rho, vs, out = _block_pass(block, x[start : start + batch_size], names)
            zs.append(to_complex(psi))
            rhos.append(to_complex(rho) if block.rho.complex_output else rho)
            outs.append(out)
            for acc, v in zip(parts, vs):
                acc.append(v)
        x = torch.cat(outs)
        yield BlockInternals(j, torch.cat(zs), torch.cat(rhos), {n: torch.cat(p) for n, p in zip(names, parts)}, to_complex(x))
