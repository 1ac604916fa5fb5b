"""The linear classifier head of the scattering networks (authors' ``models/Classifier.py:7–42``).

A complex map (B, 2K, H, W) in real pairs is already interleaved per channel as the authors'
head expects (Re c0, Im c0, Re c1, …). Head: BatchNorm2d over the 2K real channels (affine,
momentum 0.1, eps 1e-5), no pooling, flatten in (channel, h, w) order to 2K·H·W features,
then Linear(2K·H·W → classes) with bias. Also used on real feature maps (Scat).
"""

from __future__ import annotations

from torch import Tensor, nn


class LinearHead(nn.Module):
    """BN + Linear on the whole final map: (B, C, H, W) → logits (B, num_classes)."""

    def __init__(self, channels: int, height: int, width: int, num_classes: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(channels)
        self.fc = nn.Linear(channels * height * width, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.bn(x).flatten(1))
