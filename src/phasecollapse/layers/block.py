"""One learned-scattering block x_j = N(P_j Std(U)) in its two variants (docs/faithfulness.md, *Which variant is LScat + skip*).

With W x = [x∗φ ; x∗ψ_k] (:class:`~phasecollapse.layers.wavelet.Wavelet`) and ρ a complex non-linearity:

    skip     (``'Fw rho Std Pc N'``, ``SkipModulus``):  U = [W x ; ρ(W x)]       2(1 + L)·C channels
    no skip  (``'Fw Std Pc N' --psi-arch mod``):        U = |W| x = [x∗φ ; ρ(x∗ψ_k)]   (1 + L)·C channels

The skip is the linear copy W x beside its phase collapse ρ(W x) (the authors' only named skip
module, ``ScatNonLinearityAndSkip``: z ↦ (z, |z|)); without it the block iterates the fixed phase
collapse |W| (ρ on the wavelet channels, the low-pass passing through). The authors' run.py
labels the two the other way round (see CHANGELOG.md, 0.2.0). U is stored in the mixed layout of
:mod:`phasecollapse.layers.standardization`: complex channels first, then real ones. For ρ = mod
and complex x, U's channel order equals the authors' ([φ, ψ, ρφ, ρψ] or [φ, ρψ]); otherwise it is
a fixed permutation of it (e.g. block 0 without skip and a complex ρ: [ρψ ; φ]), which changes
nothing but the column order of P_j, whose unitary initialisation is invariant in law to it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import torch
from torch import Tensor, nn

from ..kernels.std_projection import factored_standardize_project, standardize_project
from .channels import BlockChannels, output_channels, u_channels
from .complex import real_to_pairs
from .filters import FilterBank
from .nonlinearities import create_nonlinearity
from .normalization import Normalization
from .standardization import Standardization
from .structured_projection import ProjectionSpec, ULayout, create_projection
from .wavelet import Algorithm, Wavelet, axis_plan

T = TypeVar("T")


def u_parts(phi: T, psi: T, rho: Callable[[T], T], skip: bool, complex_input: bool, rho_complex: bool, lift: Callable[[T], T], cat: Callable[[list[T]], T]) -> list[T]:
    """The parts of U in mixed-layout order (complex parts first), before Std.

    skip: U = [W x ; ρ(W x)]; no skip: U = |W| x = [x∗φ ; ρ(x∗ψ)]. ``lift`` turns a real x∗φ into the
    complex representation (for W x of a real input), ``cat`` concatenates along channels;
    both depend on the representation (real pairs here, torch complex in
    :mod:`phasecollapse.bench.torch_complex`, lists of part names in :func:`u_layout`).
    """
    if skip:
        wx = cat([phi if complex_input else lift(phi), psi])
        r = rho(wx)
        complex_parts = [wx] + ([r] if rho_complex else [])
        real_parts = [] if rho_complex else [r]
    else:
        r = rho(psi)
        complex_parts = ([phi] if complex_input else []) + ([r] if rho_complex else [])
        real_parts = ([] if complex_input else [phi]) + ([] if rho_complex else [r])
    return complex_parts + real_parts


def u_formula(skip: bool) -> str:
    """U of the variant, for labels: ``"U = [Wx, ρ(Wx)]"`` with skip, ``"U = |W|x = [x∗φ, ρ(x∗ψ)]"`` without."""
    return "U = [Wx, ρ(Wx)]" if skip else "U = |W|x = [x∗φ, ρ(x∗ψ)]"


def u_layout(in_channels: int, L: int, skip: bool, complex_input: bool, rho_complex: bool, complex_columns: int) -> ULayout:
    """What each column of U holds (:func:`u_parts` applied to the part names, tagged by ρ)."""
    tagged = u_parts([("phi", False)], [("psi", False)], lambda t: [(n, True) for n, _ in t], skip, complex_input, rho_complex, lambda t: t, lambda ts: [n for t in ts for n in t])
    names = [n for part in tagged for n in part]
    return ULayout(in_channels, L, complex_input, tuple(n for n, _ in names), complex_columns, tuple(r for _, r in names))


class LScatBlock(nn.Module):
    """x (B, C or 2C, S, S) → x_j = N(P_j Std(U)) as complex real pairs (B, 2K, S', S').

    Args:
        in_channels: C. complex_input: whether x is complex real pairs (False for block 0).
        out_channels: K_j. bank: the filter bank. nonlinearity: a complex ρ of the registry.
        skip: the variant (True: U = [W x ; ρ(W x)], the linear copy W x beside ρ; False: U = |W| x). wavelet / odd_size_quirk: see Wavelet.
        input_size: S, when known: W's operator is built now and ``output_size`` = S' is set.
        fast: run P_j ∘ Std as the fused kernel :func:`~phasecollapse.kernels.std_projection.standardize_project`
            (and the modulus and N kernels); False: the paper's modules one after the other.
        projection: P_j's structure (:func:`~phasecollapse.layers.structured_projection.projection_spec`;
            ``"dense"``: the paper's). input_orientation: the previous P's ``output_orientation``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        bank: FilterBank,
        complex_input: bool,
        nonlinearity: str = "mod",
        skip: bool = True,
        wavelet: Algorithm = "auto",
        odd_size_quirk: bool = True,
        input_size: int | None = None,
        fast: bool = True,
        projection: ProjectionSpec | str | dict[str, object] = "dense",
        input_orientation: str | None = None,
    ) -> None:
        super().__init__()
        self.skip, self.complex_input, self.fast = skip, complex_input, fast
        self.wavelet = Wavelet(bank, in_channels, complex_input, wavelet, odd_size_quirk)
        self.output_size = None
        if input_size is not None:
            self.wavelet.prepare(input_size, input_size)
            self.output_size = axis_plan(input_size, bank.subsample, odd_size_quirk).count
        c, lc = in_channels, bank.L * in_channels
        self.rho = create_nonlinearity(nonlinearity, c + lc if skip else lc, "complex", fast=fast)
        rho_out = self.rho.channels
        if skip:
            cc = c + lc + (rho_out if self.rho.complex_output else 0)
            cr = 0 if self.rho.complex_output else rho_out
        else:
            cc = (c if complex_input else 0) + (rho_out if self.rho.complex_output else 0)
            cr = (0 if complex_input else c) + (0 if self.rho.complex_output else rho_out)
        self.std = Standardization(cc, cr)
        self.layout = u_layout(in_channels, bank.L, skip, complex_input, self.rho.complex_output, cc)
        self.proj = create_projection(projection, cc, cr, out_channels, self.layout, input_orientation)
        self.norm = Normalization(fast=fast)

    def meta(self) -> BlockChannels:
        """What each channel of W x, of U (:meth:`mixed_input`) and of the output holds, in tensor
        order (:mod:`~phasecollapse.layers.channels`)."""
        phi, psi = self.wavelet.meta()
        bank = self.wavelet.bank
        return BlockChannels(phi, psi, u_channels(self.layout, bank), output_channels(bank, self.proj.out_channels, self.proj.output_orientation is not None))

    def parts(self, x: Tensor) -> list[Tensor]:
        """The parts of U in mixed-layout order (complex parts first), before Std."""
        return self.parts_of(*self.wavelet(x))

    def parts_of(self, phi: Tensor, psi: Tensor) -> list[Tensor]:
        """:meth:`parts` from W x = (x∗φ, x∗ψ) already computed."""
        return u_parts(phi, psi, self.rho, self.skip, self.complex_input, self.rho.complex_output, real_to_pairs, lambda ts: torch.cat(ts, 1))

    def mixed_input(self, x: Tensor) -> Tensor:
        """U in the mixed layout (B, 2·Cc + Cr, H', W'), before Std."""
        return torch.cat(self.parts(x), 1)

    def forward(self, x: Tensor) -> Tensor:
        """x_j = N(P_j Std(U)); with ``fast``, P_j ∘ Std runs as one fused kernel (two GEMMs
        when P_j offers cheaper ``factors()``)."""
        if not self.fast:
            return self.norm(self.proj(self.std(self.mixed_input(x))))
        parts, std = self.parts(x), self.std
        running = None if std.training else (std.running_mean, std.running_var)
        factors = self.proj.factors()
        if factors is None:
            y, mean, var = standardize_project(parts, self.proj.real_weight(), std.complex_channels, std.eps, running)
        else:
            y, mean, var = factored_standardize_project(parts, *factors, std.complex_channels, std.eps, running)
        if std.training:
            std.update_running(mean, var, y.numel() // y.shape[1])
        return self.norm(y)
