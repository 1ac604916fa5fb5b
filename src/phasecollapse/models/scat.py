"""The "Scat" baseline of the poster's Table 1: fixed order-2 scattering + the linear head (docs/faithfulness.md, *Scat baseline*)."""

from __future__ import annotations

from torch import Tensor, nn

from ..layers.head import LinearHead
from ..layers.scattering import Scattering2D
from .inputs import check_images


class ScatNet(nn.Module):
    """Scat baseline: Scattering2D (fixed) → LinearHead (BN + Linear), docs/faithfulness.md, *Scat baseline*."""

    def __init__(self, input_size: int, J: int, num_classes: int, L: int = 8, in_channels: int = 3, max_order: int = 2) -> None:
        super().__init__()
        self.in_channels, self.input_size, self.check_finite = in_channels, input_size, True
        self.scattering = Scattering2D(J, (input_size, input_size), L, max_order)
        side = input_size // 2**J
        self.head = LinearHead(in_channels * self.scattering.num_paths, side, side, num_classes)

    def features(self, x: Tensor) -> list[Tensor]:
        check_images(x, self.in_channels, self.input_size, self.check_finite)
        return [self.scattering(x)]

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x)[-1])
