import pytest
import torch

from phasecollapse.kernels.banded import BandedOperator, strip_windows, truncate


def cyclic_band(groups: int, row_group: int, col_group: int, reach: int, stride: int = 1) -> torch.Tensor:
    """A random matrix whose row group g reaches column groups stride·g ± reach, cyclically."""
    torch.manual_seed(0)
    m = torch.zeros(groups * row_group, stride * groups * col_group, dtype=torch.float64)
    n_cols = stride * groups
    for g in range(groups):
        for d in range(-reach, reach + 1):
            c = (stride * g + d) % n_cols
            m[g * row_group : (g + 1) * row_group, c * col_group : (c + 1) * col_group] = torch.randn(row_group, col_group, dtype=torch.float64)
    return m


@pytest.mark.parametrize("stride", [1, 2])
def test_exact_windows_keep_every_nonzero(stride: int) -> None:
    m = cyclic_band(groups=12, row_group=5, col_group=3, reach=2, stride=stride)
    strips = strip_windows(m, 5, 3, tolerance=0.0, min_rows=10)
    torch.testing.assert_close(truncate(m, strips), m, rtol=0, atol=0)
    assert [s.row_stop - s.row_start for s in strips] == [10] * 6
    assert all(s.width == 3 * (stride + 2 * 2 + 1) for s in strips)  # the band of 2 row groups, no more
    assert len(strips[0].cols) == 2  # the first strip wraps around to the last columns


def test_tolerance_bounds_the_mass_left_out() -> None:
    m = cyclic_band(groups=8, row_group=4, col_group=2, reach=3)
    m[:, :] *= torch.exp(-torch.arange(m.shape[1], dtype=torch.float64) % 7)  # decaying tails
    tol = 1e-2
    dropped = (m - truncate(m, strip_windows(m, 4, 2, tol, min_rows=4))).abs().sum(1) / m.abs().sum(1)
    assert dropped.max() <= tol
    assert dropped.max() > 0  # something was left out


@pytest.mark.parametrize("stride", [1, 2])
def test_product_and_adjoint_equal_the_dense_matrix(stride: int) -> None:
    m = cyclic_band(groups=16, row_group=64, col_group=4, reach=2, stride=stride)
    op = BandedOperator(m, 64, 4, tolerance=0.0)
    assert op.banded
    x = torch.randn(m.shape[1], 3, dtype=torch.float64, requires_grad=True)
    torch.testing.assert_close(op(x), m @ x)
    g = torch.randn(m.shape[0], 3, dtype=torch.float64)
    (grad,) = torch.autograd.grad(op(x), x, g)
    torch.testing.assert_close(grad, m.t() @ g)
    assert torch.autograd.gradcheck(op, (x,))


def test_dense_when_banding_saves_little() -> None:
    m = torch.randn(64, 32, dtype=torch.float64)
    op = BandedOperator(m, 8, 8, tolerance=0.0)
    assert not op.banded
    x = torch.randn(32, 3, dtype=torch.float64)
    torch.testing.assert_close(op(x), m @ x)


def test_bad_groups() -> None:
    with pytest.raises(ValueError, match="groups of 5 rows"):
        strip_windows(torch.randn(12, 6), 5, 3, 0.0)
