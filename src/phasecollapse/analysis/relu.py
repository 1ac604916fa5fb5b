"""ReLU = even part (dead-zone absolute value) + odd part (soft-thresholding) (poster panel).

For a threshold b ≥ 0 and every real y:

    ReLU(y − b) = ½ (|y| − b)₊ + ½ sign(y) (|y| − b)₊

The even part collapses the sign (the real phase), the odd part preserves it. For any b, the
even and odd parts of y ↦ ReLU(y − b) are E = ½(ReLU(y − b) + ReLU(−y − b)) and
O = ½(ReLU(y − b) − ReLU(−y − b)), which reduce to the two terms above when b ≥ 0.

In a trained network, each ReLU input t is split per channel as t = y − b with b = −E[t]
(y centred over the data), and the share of the output energy carried by each part is
Σ E² / (Σ E² + Σ O²) and Σ O² / (Σ E² + Σ O²).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def dead_zone_abs(y: Tensor, b: Tensor | float) -> Tensor:
    """(|y| − b)₊."""
    return F.relu(y.abs() - b)


def soft_threshold(y: Tensor, b: Tensor | float) -> Tensor:
    """sign(y)(|y| − b)₊."""
    return torch.sign(y) * F.relu(y.abs() - b)


def even_odd_parts(y: Tensor, b: Tensor | float) -> tuple[Tensor, Tensor]:
    """Even and odd parts in y of ReLU(y − b)."""
    plus, minus = F.relu(y - b), F.relu(-y - b)
    return (plus + minus) / 2, (plus - minus) / 2


@torch.no_grad()
def relu_energy_shares(model: nn.Module, images: Tensor, batch_size: int = 256) -> list[dict[str, object]]:
    """For every ``nn.ReLU`` of ``model``: (name, even share, odd share) of its output energy on ``images``."""
    inputs: dict[str, list[Tensor]] = {}
    hooks = [m.register_forward_hook(lambda mod, args, out, n=name: inputs.setdefault(n, []).append(args[0].detach().double())) for name, m in model.named_modules() if isinstance(m, nn.ReLU) or getattr(m, "name", None) == "relu"]
    model.eval()
    try:
        for start in range(0, len(images), batch_size):
            model(images[start : start + batch_size])
    finally:
        for h in hooks:
            h.remove()
    shares = []
    for name, chunks in inputs.items():
        t = torch.cat(chunks)
        b = -t.mean(dim=(0, 2, 3), keepdim=True) if t.dim() == 4 else -t.mean(0, keepdim=True)
        even, odd = even_odd_parts(t + b, b)
        e, o = float(even.square().sum()), float(odd.square().sum())
        shares.append({"layer": name, "even_share": e / (e + o), "odd_share": o / (e + o), "mean_threshold": float(b.mean())})
    return shares
