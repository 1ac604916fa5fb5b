"""Translation variability along the network: how much phase collapse removes (poster panel).

A translation τ moves the phase of x∗ψ by about ξ·τ and leaves |x∗ψ| nearly unchanged
(:mod:`~.translation`). A network that collapses phases should therefore vary less with τ than
one that keeps them. For representations Φ_s (one per stage s: ρ(z_j) and x_j of every block),
images x and circular translations x_τ (integer τ, the image rolled with wrap-around):

    relative change  Δ_s(τ) = E_x ‖Φ_s(x_τ) − Φ_s(x)‖ / E_x ‖Φ_s(x)‖                (0 at τ = 0)
    reference        Δ_s(other image) = E ‖Φ_s(x') − Φ_s(x)‖ / E ‖Φ_s(x)‖, x' another image
    variance ratio   E_x mean_τ ‖Φ_s(x_τ) − Φ̄_s(x)‖² / E_x ‖Φ̄_s(x) − E_x Φ̄_s(x)‖²,  Φ̄_s(x) = mean_τ Φ_s(x_τ)

The variance ratio compares the variability within an image's translates (τ ∈ the shift set,
0 included) to the variability across images; 0 for a translation-invariant Φ.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from ..models.lscat import LScat
from .internals import lscat_internals

Stages = Callable[[Tensor], list[tuple[str, Tensor]]]


def lscat_stages(model: LScat) -> Stages:
    """images → [("ρ(z_1)", …), ("x_1", …), …] for every block of ``model``."""

    def stages(images: Tensor) -> list[tuple[str, Tensor]]:
        out = []
        for b in lscat_internals(model, images):
            out += [(f"ρ(z_{b.block})", b.rho), (f"x_{b.block}", b.x)]
        return out

    return stages


@torch.no_grad()
def translation_variability(stages: Stages, images: Tensor, shifts: list[tuple[int, int]]) -> list[dict[str, Any]]:
    """Per stage: Δ(τ) for every shift, the other-image reference and the variance ratio over
    {0} ∪ shifts. images (N, C, H, W), N ≥ 2; shifts (rows, columns) in pixels."""
    taus = [(0, 0)] + [s for s in shifts if tuple(s) != (0, 0)]
    rolled = torch.cat([images.roll(tuple(t), (-2, -1)) for t in taus])
    n = len(images)
    rows = []
    for name, phi in stages(rolled):
        per_shift = phi.reshape(len(taus), n, -1)
        per_shift = torch.view_as_real(per_shift).flatten(2) if per_shift.is_complex() else per_shift
        per_shift = per_shift.double()
        base = per_shift[0]
        scale = float(base.norm(dim=1).mean())
        change = [float((p - base).norm(dim=1).mean()) / scale for p in per_shift[1:]]
        other = float((base.roll(1, 0) - base).norm(dim=1).mean()) / scale
        centre = per_shift.mean(0)
        within = float((per_shift - centre).square().sum(2).mean())
        across = float((centre - centre.mean(0)).square().sum(1).mean())
        rows.append({"stage": name, "shifts": [list(t) for t in taus[1:]], "relative_change": change, "other_image": other, "variance_ratio": within / across})
    return rows
