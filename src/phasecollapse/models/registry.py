"""Model registry: ``create_model(name, **options)`` and ``list_models()`` (timm style).

Every model of the poster's Tables 1–3:

| name                 | model                                              | options                               |
|----------------------|----------------------------------------------------|---------------------------------------|
| scat_cifar10         | order-2 scattering J = 3, L = 8 + BN + Linear       | J, L, max_order                       |
| lscat_cifar10        | LScat, U = |W|x = [x∗φ, ρ(x∗ψ)], 8 blocks, L = 4    | nonlinearity, width_factor, widths, L, wavelet, fast, projection, tied |
| lscat_skip_cifar10   | LScat + skip, U = [Wx, ρ(Wx)], 8 blocks, L = 4      | same                                     |
| resnet20_cifar10     | ResNet-20                                           | nonlinearity, bias_free               |
| scat_imagenet        | order-2 scattering J = 4, L = 8 + BN + Linear       | J, L, max_order                       |
| lscat_imagenet       | LScat, U = |W|x, 11 blocks, L = 8                   | + odd_size_quirk                      |
| lscat_skip_imagenet  | LScat + skip, U = [Wx, ρ(Wx)], 11 blocks, L = 8     | + odd_size_quirk                      |
| resnet18_imagenet    | ResNet-18 (torchvision layout)                      | nonlinearity, bias_free               |

All take ``num_classes``. ``widths`` sets the list of K_j (its length is the depth; default the
paper's), ``width_factor`` multiplies every K_j of it (rounded, at least 1). ``projection``
sets the structure of the LScat P_j: ``"dense"`` (default, the paper's), or e.g.
``{ kind = "lowrank", rank = 0.25 }``, ``{ kind = "orientation", symmetry = "cyclic" }``,
``{ kind = "grouped", groups = 4 }`` (:mod:`phasecollapse.layers.structured_projection`).
``tied`` lists groups of blocks that share one P_j, e.g. ``[[4, 5, 6, 7]]`` (not in the paper).

Names of the LScat presets (:data:`NAMING`): since 0.2.0 they follow the poster, "LScat + skip" is
U = [Wx, ρ(Wx)] (the linear copy Wx beside its modulus) and "LScat" is U = |W|x = [x∗φ, ρ(x∗ψ)];
before (naming 1, checkpoints of format v2, results without ``model_naming``) they followed the
authors' run.py, which labels the two the other way round. :func:`migrate_name` maps an old name
to the network it denotes now.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence

from torch import nn

from ..data import DATASETS
from ..layers.wavelet import Algorithm
from .lscat import LSCAT_PRESETS, LScat
from .pretrained import Pretrained, WeightsError, load_pretrained
from .resnet import ResNet
from .scat import ScatNet

_MODELS: dict[str, Callable[..., nn.Module]] = {}

#: The version of the LScat preset names (see the module docstring): 1 run.py's, 2 the poster's.
NAMING = 2


def migrate_name(name: str, naming: int) -> str:
    """The name today of the model called ``name`` under preset naming ``naming``: under naming 1,
    ``lscat_skip_*`` (U = [x∗φ, ρ(x∗ψ)]) is today's ``lscat_*`` and ``lscat_*`` today's ``lscat_skip_*``."""
    if naming not in (1, NAMING):
        raise ValueError(f"unknown model naming {naming!r}; known: 1, {NAMING}")
    if naming == NAMING or not name.startswith("lscat_"):
        return name
    return name.replace("lscat_skip_", "lscat_", 1) if name.startswith("lscat_skip_") else name.replace("lscat_", "lscat_skip_", 1)


def register(name: str) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    def add(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        _MODELS[name] = fn
        return fn

    return add


def list_models() -> list[str]:
    """Registered model names, sorted."""
    return sorted(_MODELS)


def check_options(name: str, options: dict[str, object]) -> None:
    """Raise ValueError for an unknown model name or option names it does not take."""
    if name not in _MODELS:
        raise ValueError(f"unknown model {name!r}; available: {', '.join(list_models())}")
    allowed = list(inspect.signature(_MODELS[name]).parameters)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(f"model {name!r} has no option(s) {unknown}; its options: {allowed}")


def full_options(name: str, options: dict[str, object]) -> dict[str, object]:
    """``options`` with the defaults of the options it leaves out (tuples as lists, as TOML
    gives them), so that an option set to its default compares equal to one left out."""
    defaults = {k: list(p.default) if isinstance(p.default, tuple) else p.default for k, p in inspect.signature(_MODELS[name]).parameters.items() if p.default is not p.empty}
    return {**defaults, **options}


#: Options that change how a model computes, not what: free to differ from trained weights'.
COMPUTE_OPTIONS = ("fast", "wavelet")


def create_model(name: str, pretrained: Pretrained | None = None, **options: object) -> nn.Module:
    """Build a registered model; unknown names or options raise ValueError naming the choices.

    ``pretrained`` (True or a published entry's name, a local weights file, a URL; see
    :mod:`.pretrained`) loads trained weights into the model their file's options build;
    ``options`` may only repeat those, or set :data:`COMPUTE_OPTIONS`.
    """
    check_options(name, options)
    if not pretrained:
        return _MODELS[name](**options)
    weights = load_pretrained(name, pretrained)
    try:
        check_options(name, weights.options)
    except ValueError as err:  # weights of an older registry
        raise WeightsError(f"weights {weights.path}: {err}") from err
    trained, asked = full_options(name, weights.options), full_options(name, options)
    conflict = sorted(k for k in options if k not in COMPUTE_OPTIONS and asked[k] != trained[k])
    if conflict:
        raise WeightsError(f"weights {weights.path} were trained with {', '.join(f'{k}={trained[k]!r}' for k in conflict)}; create_model got {', '.join(f'{k}={asked[k]!r}' for k in conflict)}")
    model = _MODELS[name](**{**weights.options, **options})
    weights.load_into(model)
    return model


def _scaled(widths: Sequence[int], factor: float) -> list[int]:
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not math.isfinite(factor) or factor <= 0:
        raise ValueError(f"width_factor must be a positive finite number, got {factor!r}")
    if isinstance(widths, (str, bytes)) or not isinstance(widths, Sequence) or not widths or any(isinstance(k, bool) or not isinstance(k, int) or k < 1 for k in widths):
        raise ValueError(f"widths must be a non-empty list of positive integers, got {widths!r}")
    return [max(1, round(k * factor)) for k in widths]


def _lscat(dataset: str, skip: bool) -> Callable[..., nn.Module]:
    preset = LSCAT_PRESETS[dataset]
    size, classes = DATASETS[dataset]

    def build(
        nonlinearity: str = "mod",
        width_factor: float = 1.0,
        widths: Sequence[int] | None = None,
        L: int = preset.L,
        num_classes: int = classes,
        wavelet: Algorithm = "auto",
        odd_size_quirk: bool = True,
        fast: bool = True,
        projection: str | dict[str, object] = "dense",
        tied: Sequence[Sequence[int]] = (),
    ) -> nn.Module:
        ks = _scaled(widths if widths is not None else preset.widths, width_factor)
        return LScat(ks, L, preset.factorize_from, num_classes, size, nonlinearity, skip, wavelet=wavelet, odd_size_quirk=odd_size_quirk, fast=fast, projection=projection, tied=tied)

    return build


def _scat(dataset: str) -> Callable[..., nn.Module]:
    size, classes = DATASETS[dataset]
    J0 = 3 if dataset == "cifar10" else 4

    def build(J: int = J0, L: int = 8, max_order: int = 2, num_classes: int = classes) -> nn.Module:
        return ScatNet(size, J, num_classes, L, max_order=max_order)

    return build


for _ds in ("cifar10", "imagenet"):
    register(f"scat_{_ds}")(_scat(_ds))
    register(f"lscat_{_ds}")(_lscat(_ds, skip=False))
    register(f"lscat_skip_{_ds}")(_lscat(_ds, skip=True))


@register("resnet20_cifar10")
def resnet20_cifar10(nonlinearity: str = "relu", bias_free: bool = False, num_classes: int = 10) -> nn.Module:
    return ResNet([3, 3, 3], [16, 32, 64], num_classes, "cifar", "A", nonlinearity, bias_free)


@register("resnet18_imagenet")
def resnet18_imagenet(nonlinearity: str = "relu", bias_free: bool = False, num_classes: int = 1000) -> nn.Module:
    return ResNet([2, 2, 2, 2], [64, 128, 256, 512], num_classes, "imagenet", "B", nonlinearity, bias_free)
