"""The learned complex 1×1 operator P_j (authors' ``models/LinearProj.py:7–51``): y[u] = W_j v[u], no bias, no conjugation.

W_j ∈ ℂ^{K×(Cc+Cr)} is stored as a real tensor of shape (K, Cc + Cr, 2) (real, imaginary),
so weight decay acts on |W|². It is applied as one real 1×1 convolution (one matrix product)
on the mixed layout (B, 2·Cc + Cr, H, W) (see :mod:`phasecollapse.layers.standardization`):

    complex input channel c:  [Re y; Im y] += [[Re W, −Im W], [Im W, Re W]] [Re v_c; Im v_c]
    real input channel c:     [Re y; Im y] += [Re W; Im W] v_c          (2 real MACs, not 4)

The output is K complex channels as real pairs (B, 2K, H, W).

Unitary initialisation: a Haar-distributed isometry, the law of the paper's U or Vᴴ (thin SVD
of a K×C complex Gaussian matrix), drawn by a thin QR (:func:`unitary_init`).

:class:`Projection` is the interface every P_j offers; the structured ones with fewer
parameters (low rank, orientation-shared, grouped) are in :mod:`.structured_projection`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .complex import check_feature_map


def unitary_init(out_channels: int, in_channels: int) -> Tensor:
    """Complex64 (K, C) isometry, Haar-distributed: Wᴴ W = I if K ≥ C, else W Wᴴ = I (authors' ``utils.py:53–66``).

    G = Q R, the thin QR of an n×m matrix of i.i.d. standard complex Gaussians (n = max(K, C),
    m = min(K, C)), R with a positive real diagonal; this Q is Haar on the n×m isometries (the
    positive diagonal makes the factorisation unique and the law invariant under unitaries;
    LAPACK's Q alone is not). W is that matrix (K ≥ C) or its transpose (K < C). For K < C this
    is the law of the paper's Vᴴ (thin SVD of a complex Gaussian); for K > C the paper's U has the
    same |w_ij| law but LAPACK's convention fixes its column phases, which are uniform here.
    Q is computed by :func:`haar_q`.
    """
    n, m = max(out_channels, in_channels), min(out_channels, in_channels)
    q = haar_q(torch.complex(torch.randn(n, m), torch.randn(n, m)))
    return q if out_channels >= in_channels else q.mT


def haar_q(g: Tensor) -> Tensor:
    """Q of G = Q R (thin, R upper triangular with a positive real diagonal) for a complex (n, m), n ≥ m.

    Tall G (n ≥ 2m): Cholesky QR, R = chol(GᴴG)ᴴ (upper, positive real diagonal), Q = G R⁻¹: two
    matrix products, 4× faster than LAPACK's QR at 5120×512. A Gaussian this tall has condition
    number κ < 6, so one pass is orthonormal to fp32 rounding (loss ∝ ε·κ²; measured 5e-7 at
    n = 2m … 10m). Otherwise Householder QR with the phases of R's diagonal moved into Q.
    """
    n, m = g.shape
    if n < 2 * m:
        q, r = torch.linalg.qr(g)
        d = r.diagonal()
        return q * (d / d.abs())
    lower = torch.linalg.cholesky(g.mH @ g)
    return torch.linalg.solve_triangular(lower.mH, g, upper=True, left=False)


def mixed_real_matrix(re: Tensor, im: Tensor, complex_channels: int) -> Tensor:
    """The real (2K, 2·Cc + Cr) matrix of the complex (K, Cc + Cr) matrix re + i·im on the mixed layout."""
    cc = complex_channels
    on_complex = torch.stack([torch.stack([re[:, :cc], -im[:, :cc]], -1), torch.stack([im[:, :cc], re[:, :cc]], -1)], 1)
    on_real = torch.stack([re[:, cc:], im[:, cc:]], 1)
    return torch.cat([on_complex.flatten(2), on_real], 2).flatten(0, 1)


class Projection(nn.Module):
    """What every P_j offers (dense here, structured in :mod:`.structured_projection`).

    A subclass stores its parameters as it likes and defines :meth:`pairs`, the dense complex
    matrix W (K, Cc + Cr) it represents, as real pairs (K, Cc + Cr, 2); the rest follows:
    ``complex_weight()``, ``real_weight()`` (what the fused Std + P_j kernel multiplies by),
    ``forward``. ``factors()`` is None, or a cheaper product R then L of two real matrices with
    L R = ``real_weight()`` (see :meth:`.structured_projection.LowRankProjection.factors`).
    ``output_orientation`` tells the next block how its input channels carry an orientation
    index (None: they do not; see :mod:`.structured_projection`).
    """

    output_orientation: str | None = None

    def __init__(self, complex_channels: int, real_channels: int, out_channels: int) -> None:
        super().__init__()
        self.complex_channels, self.real_channels, self.out_channels = complex_channels, real_channels, out_channels

    def extra_repr(self) -> str:
        return f"complex_channels={self.complex_channels}, real_channels={self.real_channels}, out_channels={self.out_channels}"

    def pairs(self) -> Tensor:
        """W as real pairs (K, Cc + Cr, 2)."""
        raise NotImplementedError(f"{type(self).__name__} must define pairs()")

    def complex_weight(self) -> Tensor:
        """W_j as a torch complex (K, Cc + Cr) matrix (a view for analysis)."""
        return torch.view_as_complex(self.pairs())

    def real_weight(self) -> Tensor:
        """The real (2K, 2·Cc + Cr) matrix acting on the mixed layout."""
        w = self.pairs()
        return mixed_real_matrix(w[..., 0], w[..., 1], self.complex_channels)

    def factors(self) -> tuple[Tensor, Tensor] | None:
        """(R, L) real matrices with L R = ``real_weight()`` and fewer MACs, or None."""
        return None

    def forward(self, x: Tensor) -> Tensor:
        check_feature_map(x)
        expected = 2 * self.complex_channels + self.real_channels
        if x.shape[1] != expected:
            raise ValueError(f"P_j expects {expected} channels (2×{self.complex_channels} + {self.real_channels}), got {x.shape[1]}")
        return F.conv2d(x, self.real_weight()[:, :, None, None])


class ComplexProjection(Projection):
    """Dense P_j: mixed (B, 2·Cc + Cr, H, W) → complex real pairs (B, 2K, H, W)."""

    def __init__(self, complex_channels: int, real_channels: int, out_channels: int) -> None:
        super().__init__(complex_channels, real_channels, out_channels)
        w = unitary_init(out_channels, complex_channels + real_channels)
        self.weight = nn.Parameter(torch.view_as_real(w).contiguous())

    def pairs(self) -> Tensor:
        return self.weight
