"""ResNet baselines with a swappable real non-linearity (docs/faithfulness.md, *Bias-free ResNet*).

- ResNet-20 for CIFAR-10 (He et al. 2016): 3×3 stem (16), three stages of three BasicBlocks
  (16, 32, 64), parameter-free "option A" shortcuts (subsample + zero channel padding),
  global average pooling, FC → 0.27 M parameters (269,722).
- ResNet-18 for ImageNet, with torchvision's layout and parameter names (7×7 stride-2 stem,
  max-pool, BasicBlock [2, 2, 2, 2], 1×1 projection shortcuts, FC 1000): its state dict loads
  torchvision's ``resnet18`` weights when ``nonlinearity`` has no parameters.

``nonlinearity`` replaces every ReLU (after the stem BN, after BN1 of each block, after each
residual addition) by a fresh per-channel instance of a real non-linearity of the registry.
``bias_free=True`` removes every BN affine (γ, β) — BN still centres and scales with batch
statistics — while the final FC keeps its bias (authors' ``models/resnet.py:35, 117``). Convolutions never have biases.
Init: Kaiming normal (fan_out, ReLU gain) for convolutions, PyTorch default for the FC.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import torch.nn.functional as F
from torch import Tensor, nn

from ..layers.nonlinearities import create_nonlinearity
from .inputs import check_images


class ZeroPadShortcut(nn.Module):
    """Option A shortcut: x[:, :, ::s, ::s] with (out − in)/2 zero channels on each side."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.stride, self.pad = stride, (out_channels - in_channels) // 2

    def forward(self, x: Tensor) -> Tensor:
        return F.pad(x[:, :, :: self.stride, :: self.stride], (0, 0, 0, 0, self.pad, self.pad))


class BasicBlock(nn.Module):
    """y = ρ(BN(conv(ρ(BN(conv(x))))) + shortcut(x)), two 3×3 convolutions."""

    def __init__(self, inplanes: int, planes: int, stride: int, nonlinearity: str, norm: type[nn.Module] | partial, shortcut: str) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = norm(planes)
        self.relu1 = create_nonlinearity(nonlinearity, planes, "real")
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = norm(planes)
        self.relu2 = create_nonlinearity(nonlinearity, planes, "real")
        self.downsample: nn.Module | None = None
        if stride != 1 or inplanes != planes:
            if shortcut == "A":
                self.downsample = ZeroPadShortcut(inplanes, planes, stride)
            else:
                self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False), norm(planes))

    def forward(self, x: Tensor) -> Tensor:
        out = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        return self.relu2(out + (x if self.downsample is None else self.downsample(x)))


class ResNet(nn.Module):
    """BasicBlock ResNet. ``stem="imagenet"``: 7×7/2 conv + 3×3/2 max-pool; ``"cifar"``: 3×3 conv."""

    def __init__(
        self,
        layers: Sequence[int],
        widths: Sequence[int],
        num_classes: int,
        stem: str,
        shortcut: str,
        nonlinearity: str = "relu",
        bias_free: bool = False,
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        norm = partial(nn.BatchNorm2d, affine=not bias_free)
        self.in_channels, self.check_finite = in_channels, True
        if stem == "imagenet":
            self.conv1 = nn.Conv2d(in_channels, widths[0], 7, 2, 3, bias=False)
            self.maxpool: nn.Module = nn.MaxPool2d(3, 2, 1)
        else:
            self.conv1 = nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False)
            self.maxpool = nn.Identity()
        self.bn1 = norm(widths[0])
        self.relu = create_nonlinearity(nonlinearity, widths[0], "real")
        inplanes, stages = widths[0], []
        for i, (n, planes) in enumerate(zip(layers, widths)):
            blocks = [BasicBlock(inplanes if b == 0 else planes, planes, (1 if i == 0 else 2) if b == 0 else 1, nonlinearity, norm, shortcut) for b in range(n)]
            stages.append(nn.Sequential(*blocks))
            inplanes = planes
        self.layers = nn.ModuleList(stages)
        self.fc = nn.Linear(inplanes, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def features(self, x: Tensor) -> list[Tensor]:
        """Outputs of the stem and of every residual block."""
        check_images(x, self.in_channels, None, self.check_finite)
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        outs = [x]
        for stage in self.layers:
            for block in stage:
                x = block(x)
                outs.append(x)
        return outs

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.features(x)[-1].mean(dim=(2, 3)))

    def state_dict_torchvision(self) -> dict[str, Tensor]:
        """State dict with torchvision's names (``layer1.0.conv1.weight`` …)."""
        return {_to_torchvision(k): v for k, v in self.state_dict().items()}


def _to_torchvision(key: str) -> str:
    if key.startswith("layers."):
        i, rest = key[len("layers.") :].split(".", 1)
        return f"layer{int(i) + 1}.{rest}"
    return key
