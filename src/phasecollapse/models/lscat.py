"""Learned scattering networks, LScat (U = |W|x) and LScat + skip (U = [Wx, ρ(Wx)]) (docs/faithfulness.md, *Which variant is LScat + skip*).

Φ(x) = x_J with x_j = N(P_j Std(U_j)) (:class:`~phasecollapse.layers.block.LScatBlock`), followed by the
linear head (BN + Linear on the whole final map). No biases inside the blocks.

Presets (docs/faithfulness.md, *Presets and parameter totals*)::

    CIFAR-10: 8 blocks, L = 4, K = 64, 128, 256, 512 ×5, banks F0/F1 from block 0, 32 → 2.
    ImageNet: 11 blocks, L = 8, K = 32, 64, 64, 128, 256, 512 ×5, 256, bank N then F0/F1,
              224 → 3 (the 7 → 6 odd-size quirk; 224 → 4 with ``odd_size_quirk=False``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..layers.block import LScatBlock
from ..layers.filters import block_banks, filter_bank
from ..layers.structured_projection import ProjectionSpec, projection_spec
from ..layers.wavelet import Algorithm
from .inputs import check_images
from ..layers.head import LinearHead



@dataclass(frozen=True)
class LScatPreset:
    """The paper's LScat of one data set: K_j per block, L, ``--factorize-filters`` (the first
    block that uses the banks F0/F1; block 0 uses N before it)."""

    widths: tuple[int, ...]
    L: int
    factorize_from: int


#: The presets of the docstring, by data set (read by the model registry and the studies).
LSCAT_PRESETS = {
    "cifar10": LScatPreset((64, 128, 256, 512, 512, 512, 512, 512), L=4, factorize_from=0),
    "imagenet": LScatPreset((32, 64, 64, 128, 256, 512, 512, 512, 512, 512, 256), L=8, factorize_from=1),
}


def tie_projections(blocks: Sequence[LScatBlock], groups: Sequence[Sequence[int]]) -> None:
    """Make every block of each group use the P_j of its first block (one set of weights).

    Raise ValueError naming the problem unless the groups are disjoint lists of ≥ 2 block
    indices whose P_j have the same kind, shape and structure (index of shared entries, orientation).
    """
    if isinstance(groups, (str, bytes)) or not isinstance(groups, Sequence):
        raise ValueError(f"tied must be a list of lists of block indices, e.g. [[4, 5, 6, 7]], got {groups!r}")
    seen: set[int] = set()
    for group in groups:
        if isinstance(group, (str, bytes)) or not isinstance(group, Sequence) or len(group) < 2 or any(isinstance(j, bool) or not isinstance(j, int) for j in group):
            raise ValueError(f"each group of tied blocks must be a list of ≥ 2 block indices, got {group!r}")
        bad = [j for j in group if not 0 <= j < len(blocks)]
        if bad:
            raise ValueError(f"tied blocks {bad} out of range: the model has blocks 0 … {len(blocks) - 1}")
        again = sorted(j for j in set(group) if j in seen or list(group).count(j) > 1)
        if again:
            raise ValueError(f"block(s) {again} appear twice in tied {groups!r}")
        seen.update(group)
        first = blocks[group[0]].proj
        for j in group[1:]:
            proj = blocks[j].proj
            a, b = getattr(first, "index", None), getattr(proj, "index", None)
            mismatch = _structure(proj) != _structure(first)
            if mismatch or (a is not None and not torch.equal(a, b)):
                why = f"{_structure(first)} against {_structure(proj)}" if mismatch else "different indices of shared entries"
                raise ValueError(f"blocks {group[0]} and {j} cannot share P_j: {why}")
            blocks[j].proj = first


def _structure(proj: nn.Module) -> tuple[object, ...]:
    """What must agree for two blocks to share a P_j (besides an index of shared entries): kind, sizes, shapes."""
    return type(proj).__name__, proj.extra_repr(), tuple(tuple(p.shape) for p in proj.parameters()), getattr(proj, "output_orientation", None)


class LScat(nn.Module):
    """Learned scattering network with a linear classifier.

    Args:
        widths: K_j per block (its length is the depth).
        L: orientations per bank. factorize_from: ``--factorize-filters`` (0 CIFAR, 1 ImageNet).
        nonlinearity: complex ρ of the registry. skip: the variant.
        input_size: image side (square inputs, 3 channels by default).
        wavelet, odd_size_quirk: W's algorithm and border rule, see :class:`~phasecollapse.layers.wavelet.Wavelet`.
        fast: the fast kernels (fused P_j ∘ Std, modulus, N) or the paper's modules, see
            :mod:`phasecollapse.kernels`.
        projection: the structure of every P_j, ``"dense"`` (the paper's) or a structured one
            (:mod:`phasecollapse.layers.structured_projection`).
        tied: groups of block indices that share one P_j (P_j = P_{j'} within a group: the first
            block's module, used by all; not in the paper, issue #14). Std, ρ and N stay per block.

    forward: (B, in_channels, S, S) real → logits (B, num_classes).
    """

    def __init__(
        self,
        widths: Sequence[int],
        L: int,
        factorize_from: int,
        num_classes: int,
        input_size: int,
        nonlinearity: str = "mod",
        skip: bool = True,
        in_channels: int = 3,
        wavelet: Algorithm = "auto",
        odd_size_quirk: bool = True,
        fast: bool = True,
        projection: ProjectionSpec | str | dict[str, object] = "dense",
        tied: Sequence[Sequence[int]] = (),
    ) -> None:
        super().__init__()
        spec = projection_spec(projection)
        if not widths or min(widths) < 1:
            raise ValueError(f"widths must be a non-empty list of positive ints, got {list(widths)}")
        if isinstance(L, bool) or not isinstance(L, int) or L < 1:
            raise ValueError(f"L (orientations per filter bank) must be a positive integer, got {L!r}")
        self.in_channels, self.input_size, self.check_finite = in_channels, input_size, True
        blocks, c, size, is_complex, orientation = [], in_channels, input_size, False, None
        for j, (k, name) in enumerate(zip(widths, block_banks(len(widths), factorize_from))):
            bank = filter_bank(name, L)
            try:
                blocks.append(LScatBlock(c, k, bank, is_complex, nonlinearity, skip, wavelet, odd_size_quirk, size, fast, spec, orientation))
            except ValueError as err:
                raise ValueError(f"block {j} (K = {k}): {err}") from err
            size, c, is_complex, orientation = blocks[-1].output_size, k, True, blocks[-1].proj.output_orientation
        tie_projections(blocks, tied)
        self.blocks = nn.ModuleList(blocks)
        self.output_size = size
        self.head = LinearHead(2 * c, size, size, num_classes)

    def check_input(self, x: Tensor) -> None:
        """Raise a clear error unless x is a finite (B, in_channels, input_size, input_size) batch."""
        check_images(x, self.in_channels, self.input_size, self.check_finite)

    def features(self, x: Tensor) -> list[Tensor]:
        """Outputs x_1 … x_J of every block (complex real pairs (B, 2K_j, H_j, W_j))."""
        self.check_input(x)
        outs = []
        for block in self.blocks:
            x = block(x)
            outs.append(x)
        return outs

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x)[-1])
