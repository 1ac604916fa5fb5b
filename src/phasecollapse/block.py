"""One learned-scattering block x_j = N(P_j Std(U)) in its two variants (spec B.2, B.3).

With W x = [x∗φ ; x∗ψ_k] (:class:`~phasecollapse.wavelet.Wavelet`) and ρ a complex non-linearity:

    skip     (``'Fw Std Pc N' --psi-arch mod``):  U = [x∗φ ; ρ(x∗ψ_k)]      (1 + L)·C channels
    no skip  (``'Fw rho Std Pc N'``):             U = [W x ; ρ(W x)]       2(1 + L)·C channels

In the skip variant the low-pass x∗φ bypasses the non-linearity (a linear path, like a ResNet
shortcut). U is stored in the mixed layout of :mod:`phasecollapse.standardization`: complex
channels first, then real ones. For ρ = mod and complex x, U's channel order equals the
authors' ([φ, ρψ] or [φ, ψ, ρφ, ρψ]); otherwise it is a fixed permutation of it (e.g. block 0
of the skip variant with a complex ρ: [ρψ ; φ]), which changes nothing but the column order of
P_j, whose unitary initialisation is invariant in law to it.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .complex import real_to_pairs
from .filters import FilterBank
from .fused import standardize_project
from .nonlinearities import create_nonlinearity
from .normalization import Normalization
from .projection import ComplexProjection
from .standardization import Standardization
from .wavelet import Impl, Wavelet


class LScatBlock(nn.Module):
    """x (B, C or 2C, H, W) → x_j = N(P_j Std(U)) as complex real pairs (B, 2K, H', W').

    Args:
        in_channels: C. complex_input: whether x is complex real pairs (False for block 0).
        out_channels: K_j. bank: the filter bank. nonlinearity: a complex ρ of the registry.
        skip: the variant (True: low-pass bypasses ρ). impl / odd_size_quirk: see Wavelet.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        bank: FilterBank,
        complex_input: bool,
        nonlinearity: str = "mod",
        skip: bool = True,
        impl: Impl = "fast",
        odd_size_quirk: bool = True,
    ) -> None:
        super().__init__()
        self.skip, self.complex_input = skip, complex_input
        self.wavelet = Wavelet(bank, in_channels, complex_input, impl, odd_size_quirk)
        c, lc = in_channels, bank.L * in_channels
        self.rho = create_nonlinearity(nonlinearity, lc if skip else c + lc, "complex")
        rho_out = self.rho.channels
        if skip:
            cc = (c if complex_input else 0) + (rho_out if self.rho.complex_output else 0)
            cr = (0 if complex_input else c) + (0 if self.rho.complex_output else rho_out)
        else:
            cc = c + lc + (rho_out if self.rho.complex_output else 0)
            cr = 0 if self.rho.complex_output else rho_out
        self.std = Standardization(cc, cr)
        self.proj = ComplexProjection(cc, cr, out_channels)
        self.norm = Normalization()

    def parts(self, x: Tensor) -> list[Tensor]:
        """The parts of U in mixed-layout order (complex parts first), before Std."""
        phi, psi = self.wavelet(x)
        if self.skip:
            r = self.rho(psi)
            phi_part, rho_part = ([phi], []) if self.complex_input else ([], [phi])
            complex_parts = phi_part + ([r] if self.rho.complex_output else [])
            real_parts = rho_part + ([] if self.rho.complex_output else [r])
        else:
            wx = torch.cat([phi if self.complex_input else real_to_pairs(phi), psi], 1)
            r = self.rho(wx)
            complex_parts = [wx] + ([r] if self.rho.complex_output else [])
            real_parts = [] if self.rho.complex_output else [r]
        return complex_parts + real_parts

    def mixed_input(self, x: Tensor) -> Tensor:
        """U in the mixed layout (B, 2·Cc + Cr, H', W'), before Std."""
        return torch.cat(self.parts(x), 1)

    def forward(self, x: Tensor) -> Tensor:
        if self.wavelet.impl == "reference":  # the modules one after the other
            return self.norm(self.proj(self.std(self.mixed_input(x))))
        return self.norm(standardize_project(self.std, self.proj, self.parts(x)))
