"""Learned scattering networks, LScat (no skip) and LScat + skip (spec B.2–B.10).

Φ(x) = x_J with x_j = N(P_j Std(U_j)) (:class:`~phasecollapse.block.LScatBlock`), followed by the
linear head (BN + Linear on the whole final map). No biases inside the blocks.

Presets (spec B.8–B.10):
    CIFAR-10: 8 blocks, L = 4, K = 64, 128, 256, 512 ×5, banks F0/F1 from block 0, 32 → 2.
    ImageNet: 11 blocks, L = 8, K = 32, 64, 64, 128, 256, 512 ×5, 256, bank N then F0/F1,
              224 → 3 (the 7 → 6 odd-size quirk; 224 → 4 with ``odd_size_quirk=False``).
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from ..layers.block import LScatBlock
from ..layers.filters import block_banks, filter_bank
from ..layers.structured_projection import ProjectionSpec, projection_spec
from ..layers.wavelet import Algorithm
from .inputs import check_images
from ..layers.head import LinearHead

CIFAR10_WIDTHS = (64, 128, 256, 512, 512, 512, 512, 512)
IMAGENET_WIDTHS = (32, 64, 64, 128, 256, 512, 512, 512, 512, 512, 256)


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
