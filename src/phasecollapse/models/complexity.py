"""Parameters and multiply-accumulates per image of an LScat, as its code runs (issue #14).

All counts are real scalars and real MACs for one image:

- P_j parameters: the scalars of P_j's parameters (a complex weight counts 2, as in the authors' ``main_block.py:1050–1060``); a P_j
  shared by several blocks (``tied``) counts once, at its first block (``tied_to`` at the others).
- P_j MACs: H'·W' × the entries of the real matrix (2K, 2·Cc + Cr) that the fused kernel (or
  the paper path's 1×1 convolution) multiplies by: 4 real MACs per complex entry on a complex
  column, 2 on a real one (the authors' real form, ``utils.py:45–50``). Structured P_j are materialised, so they cost as much as
  the dense one, except a low-rank P_j on the fast path (``fast=True``), whose two factors are
  counted instead (:meth:`~phasecollapse.layers.structured_projection.LowRankProjection.factors`).
- W MACs, for the spatial algorithm as it runs on the CPU: the entries of the banded (or
  dense) spatial operator per input channel, or the compact kernels' taps for the convolution
  of large maps. The ``fft`` algorithm is not a matrix product and is not counted (None).
- Head: the Linear's weights. Element-wise work (ρ, Std, N, the head's BN) is not counted.
"""

from __future__ import annotations

from typing import Any

import torch

from ..layers.wavelet import Wavelet, axis_plan
from .lscat import LScat


def wavelet_macs(wavelet: Wavelet, height: int, width: int) -> int | None:
    """Real MACs per image of W on a height×width input (None for the ``fft`` algorithm)."""
    if wavelet.algorithm == "fft":
        return None
    wavelet.prepare(height, width)
    op = wavelet._operators.get((height, width))
    if op is not None:
        return wavelet.in_channels * sum((s.row_stop - s.row_start) * s.width for s in op.strips)
    h = axis_plan(height, wavelet.bank.subsample, wavelet.odd_size_quirk).count
    w = axis_plan(width, wavelet.bank.subsample, wavelet.odd_size_quirk).count
    return wavelet.weight.numel() * h * w


@torch.no_grad()
def complexity(model: LScat) -> dict[str, Any]:
    """Per block and in total: P_j parameters, P_j / W / head MACs per image; all parameters."""
    rows, size, owner = [], model.input_size, {}
    for j, block in enumerate(model.blocks):
        proj, out = block.proj, block.output_size
        first = owner.setdefault(id(proj), j)
        factors = proj.factors() if block.fast else None
        entries = proj.real_weight().numel() if factors is None else sum(f.numel() for f in factors)
        rows.append({
            "block": j,
            "kind": type(proj).__name__,
            "shape": [proj.out_channels, proj.complex_channels + proj.real_channels],
            "projection_params": sum(p.numel() for p in proj.parameters()) if first == j else 0,
            "tied_to": None if first == j else first,
            "dense_projection_params": 2 * proj.out_channels * (proj.complex_channels + proj.real_channels),
            "projection_macs": entries * out * out,
            "wavelet_macs": wavelet_macs(block.wavelet, size, size),
        })
        size = out
    wavelet = [r["wavelet_macs"] for r in rows]
    head = model.head.fc.weight.numel()
    total = {k: sum(r[k] for r in rows) for k in ("projection_params", "dense_projection_params", "projection_macs")}
    macs = None if None in wavelet else total["projection_macs"] + sum(wavelet) + head
    return {
        "blocks": rows,
        **total,
        "params": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "wavelet_macs": None if None in wavelet else sum(wavelet),
        "head_macs": head,
        "macs": macs,
    }
