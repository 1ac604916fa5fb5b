"""Point-wise non-linearities ρ: phase collapse and its phase-preserving alternatives (docs/faithfulness.md, *Non-linearities*).

Complex non-linearities act on real pairs (B, 2C, H, W) (see :mod:`phasecollapse.layers.complex`);
real ones on real maps (B, C, H, W). Per-channel parameters have shape (C,) and broadcast
over (B, H, W). Every ρ has finite gradients at 0: the modulus :func:`modulus` has gradient
z/|z|, and 0 at z = 0, and z/|z| is computed as z/(|z| + ε) with the authors' ε = 1e-6
(``phase_scattering2d_torch.py:465``), whose gradient at 0 is finite (1/ε). Built with ``fast=True`` (default), |z|
runs as the kernel :func:`phasecollapse.kernels.modulus.modulus`.

| name       | domain  | ρ                                            | phase (sign, real)  |
|------------|---------|----------------------------------------------|---------------------|
| mod        | complex | |z|                                          | collapse            |
| cst        | complex | max(0, 1 − λ/(|z| + ε)) z        (λ₀ = 0.1)  | preserve            |
| ms         | complex | sigmoid(g|z| + b) z/(|z| + ε)   (g₀=1, b₀=0) | preserve            |
| mc         | complex | z/(|z| + ε)                                  | preserve            |
| tanh       | complex | tanh(|z|) z/(|z| + ε)                        | preserve            |
| pow        | complex | t/(1 + t) z/(|z| + ε), t = e^b (|z|+ε)^g     | preserve            |
| relu       | real    | max(x, 0) = (x + |x|)/2                      | partial             |
| abs        | real    | |x|                                          | collapse            |
| absdead    | real    | (|x| − λ)₊                       (λ₀ = 1)    | collapse            |
| thresh     | real    | sign(x)(|x| − λ)₊, λ learned     (λ₀ = 1)    | preserve            |
| thresh_frozen | real | same, λ frozen at 1 (the released code, ``standard_arch.py:49``) | preserve           |
| tanh       | real    | tanh(x)                                      | preserve            |
| powfixed   | real    | x/(1 + |x|)                                  | preserve            |

``tanh`` exists in both domains; :func:`create_nonlinearity` picks by ``domain``.
"""

from __future__ import annotations

from typing import Callable, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..kernels.modulus import modulus as modulus_kernel
from .complex import check_feature_map, pairs

Domain = Literal["complex", "real"]
Phase = Literal["collapse", "preserve", "partial"]

#: ε in z/(|z| + ε) (the authors' value, ``phase_scattering2d_torch.py:465``).
EPS = 1e-6


def modulus(x: Tensor, fast: bool = True) -> Tensor:
    """|z| of real pairs (B, 2C, H, W) → (B, C, H, W) = sqrt(Re² + Im²), gradient z/|z| and 0 at
    z = 0 (``torch.linalg.vector_norm``'s; ``fast``: the one-pass kernel, same values)."""
    return modulus_kernel(x) if fast else torch.linalg.vector_norm(pairs(x), dim=2)


def scale_pairs(x: Tensor, factor: Tensor) -> Tensor:
    """Multiply each complex coefficient of x (B, 2C, H, W) by a real factor (B, C, H, W)."""
    return (pairs(x) * factor.unsqueeze(2)).flatten(1, 2)


def _per_channel(value: float, channels: int) -> nn.Parameter:
    return nn.Parameter(torch.full((channels,), float(value)))


def _bcast(p: Tensor, like: Tensor) -> Tensor:
    """A per-channel parameter (C,) as (1, C, 1, 1) in the dtype of ``like`` (bf16 under autocast)."""
    return p.view(1, -1, 1, 1).to(like.dtype)


class NonLinearity(nn.Module):
    """Base class: ``domain`` (input kind), ``phase`` (what ρ does to the phase or sign),
    ``complex_output`` (whether the output is real pairs)."""

    name: str = ""
    domain: Domain = "complex"
    phase: Phase = "preserve"
    complex_output: bool = True

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels
        self.fast = True  # |z| through the kernel (set by create_nonlinearity)

    def extra_repr(self) -> str:
        return f"channels={self.channels}"

    def forward(self, x: Tensor) -> Tensor:
        check_feature_map(x)
        expected = self.channels * (2 if self.domain == "complex" else 1)
        if x.shape[1] != expected:
            raise ValueError(f"{self.name} expects {expected} channels ({self.channels} {self.domain}), got {x.shape[1]}")
        return self.rho(x)

    def rho(self, x: Tensor) -> Tensor:
        raise NotImplementedError


class _PhasePreserving(NonLinearity):
    """ρ(z) = f(|z|) · z/(|z| + ε): equivariant, ρ(e^{iα}z) = e^{iα}ρ(z)."""

    def gain_of_modulus(self, r: Tensor) -> Tensor:
        """f(r) for r = |z| of shape (B, C, H, W)."""
        raise NotImplementedError

    def rho(self, x: Tensor) -> Tensor:
        r = modulus(x, self.fast)
        return scale_pairs(x, self.gain_of_modulus(r) / (r + EPS))


class Modulus(NonLinearity):
    """Phase collapse ρ(z) = |z| (invariant: ρ(e^{iα}z) = ρ(z)). Output real (B, C, H, W)."""

    name, phase, complex_output = "mod", "collapse", False

    def rho(self, x: Tensor) -> Tensor:
        return modulus(x, self.fast)


class ComplexSoftThreshold(_PhasePreserving):
    """cst: ρ(z) = max(0, 1 − λ/(|z| + ε)) · z = (|z| + ε − λ)₊ · z/(|z| + ε).

    λ per channel, init 0.1, learned and unconstrained (docs/faithfulness.md, *Non-linearities*).
    """

    name = "cst"

    def __init__(self, channels: int, threshold: float = 0.1) -> None:
        super().__init__(channels)
        self.threshold = _per_channel(threshold, channels)

    def gain_of_modulus(self, r: Tensor) -> Tensor:
        return F.relu(r + EPS - _bcast(self.threshold, r))


class ModulusSigmoid(_PhasePreserving):
    """ms: ρ(z) = sigmoid(g|z| + b) · z/(|z| + ε), g (init 1) and b (init 0) per channel, learned."""

    name = "ms"

    def __init__(self, channels: int, gain: float = 1.0, bias: float = 0.0) -> None:
        super().__init__(channels)
        self.gain, self.bias = _per_channel(gain, channels), _per_channel(bias, channels)

    def gain_of_modulus(self, r: Tensor) -> Tensor:
        return torch.sigmoid(_bcast(self.gain, r) * r + _bcast(self.bias, r))


class ModulusCollapse(_PhasePreserving):
    """mc: ρ(z) = z/(|z| + ε) ≈ e^{i arg z}: keeps the phase, discards the amplitude."""

    name = "mc"

    def gain_of_modulus(self, r: Tensor) -> Tensor:
        return torch.ones_like(r)


class ComplexTanh(_PhasePreserving):
    """Complex tanh: ρ(z) = tanh(|z|) · z/(|z| + ε) (saturating)."""

    name = "tanh"

    def gain_of_modulus(self, r: Tensor) -> Tensor:
        return torch.tanh(r)


class ComplexPow(_PhasePreserving):
    """pow: ρ(z) = t/(1 + t) · z/(|z| + ε), t = e^b (|z| + ε)^g; g (init 1), b (init 0) learned.

    t/(1 + t) is computed as sigmoid(b + g·log(|z| + ε)), finite at z = 0.
    """

    name = "pow"

    def __init__(self, channels: int, gain: float = 1.0, bias: float = 0.0) -> None:
        super().__init__(channels)
        self.gain, self.bias = _per_channel(gain, channels), _per_channel(bias, channels)

    def gain_of_modulus(self, r: Tensor) -> Tensor:
        return torch.sigmoid(_bcast(self.bias, r) + _bcast(self.gain, r) * torch.log(r + EPS))


class _Real(NonLinearity):
    domain, complex_output = "real", False


class ReLU(_Real):
    """ρ(x) = max(x, 0) = (x + |x|)/2: half sign-collapsing (even part |x|/2), half linear."""

    name, phase = "relu", "partial"

    def rho(self, x: Tensor) -> Tensor:
        return F.relu(x)


class Abs(_Real):
    """ρ(x) = |x|: sign collapse, the real analogue of the modulus (gradient sign(x), 0 at 0)."""

    name, phase = "abs", "collapse"

    def rho(self, x: Tensor) -> Tensor:
        return x.abs()


class AbsDeadZone(_Real):
    """absdead: ρ(x) = (|x| − λ)₊, λ per channel (init 1, learned): sign collapse with a dead zone."""

    name, phase = "absdead", "collapse"

    def __init__(self, channels: int, threshold: float = 1.0) -> None:
        super().__init__(channels)
        self.threshold = _per_channel(threshold, channels)

    def rho(self, x: Tensor) -> Tensor:
        return F.relu(x.abs() - _bcast(self.threshold, x))


class SoftThreshold(_Real):
    """thresh: ρ(x) = sign(x)(|x| − λ)₊ = max(x − λ, 0) − max(−x − λ, 0), λ per channel (init 1).

    Odd, so sign-preserving. ``learned=False`` freezes λ (a buffer), as the released code
    does by accident (authors' ``standard_arch.py:49``); the registry calls that variant ``thresh_frozen``.
    """

    name, phase = "thresh", "preserve"

    def __init__(self, channels: int, threshold: float = 1.0, learned: bool = True) -> None:
        super().__init__(channels)
        value = torch.full((channels,), float(threshold))
        if learned:
            self.threshold = nn.Parameter(value)
        else:
            self.register_buffer("threshold", value)

    def rho(self, x: Tensor) -> Tensor:
        lam = _bcast(self.threshold, x)
        return F.relu(x - lam) - F.relu(-x - lam)


class RealTanh(_Real):
    """ρ(x) = tanh(x): odd, sign-preserving, saturating."""

    name, phase = "tanh", "preserve"

    def rho(self, x: Tensor) -> Tensor:
        return torch.tanh(x)


class PowFixed(_Real):
    """powfixed: ρ(x) = x/(1 + |x|): odd, sign-preserving, saturating."""

    name, phase = "powfixed", "preserve"

    def rho(self, x: Tensor) -> Tensor:
        return x / (1 + x.abs())


def _frozen_thresh(channels: int) -> NonLinearity:
    return SoftThreshold(channels, learned=False)


_REGISTRY: dict[Domain, dict[str, Callable[[int], NonLinearity]]] = {
    "complex": {c.name: c for c in (Modulus, ComplexSoftThreshold, ModulusSigmoid, ModulusCollapse, ComplexTanh, ComplexPow)},
    "real": {
        **{c.name: c for c in (ReLU, Abs, AbsDeadZone, SoftThreshold, RealTanh, PowFixed)},
        "thresh_frozen": _frozen_thresh,
    },
}


def list_nonlinearities(domain: Domain) -> list[str]:
    """Names of the registered non-linearities for ``"complex"`` or ``"real"`` inputs."""
    if domain not in _REGISTRY:
        raise ValueError(f"unknown domain {domain!r}; expected 'complex' or 'real'")
    return sorted(_REGISTRY[domain])


def create_nonlinearity(name: str, channels: int, domain: Domain = "complex", fast: bool = True) -> NonLinearity:
    """Build the non-linearity ``name`` for ``channels`` channels of the given domain
    (``fast``: |z| through the kernel).

    Raises ValueError naming the known choices for an unknown name, or naming the other domain
    when the name exists only there (e.g. ``cst`` in a real network).
    """
    names = list_nonlinearities(domain)
    if name not in _REGISTRY[domain]:
        other = "real" if domain == "complex" else "complex"
        if name in _REGISTRY[other]:
            raise ValueError(f"non-linearity {name!r} acts on {other} inputs, not {domain} ones; {domain} choices: {names}")
        raise ValueError(f"unknown non-linearity {name!r}; {domain} choices: {names}")
    rho = _REGISTRY[domain][name](channels)
    rho.fast = fast
    return rho
