import math

import pytest
import torch

from phasecollapse.layers.complex import from_complex, to_complex
from phasecollapse.layers.nonlinearities import create_nonlinearity, list_nonlinearities

PRESERVING = ["cst", "ms", "mc", "tanh", "pow"]
ODD_REAL = ["thresh", "thresh_frozen", "tanh", "powfixed"]


def rotate(x: torch.Tensor, alpha: float) -> torch.Tensor:
    return from_complex(to_complex(x) * complex(math.cos(alpha), math.sin(alpha)))


def randomise(rho: torch.nn.Module) -> None:
    """Move learned parameters off their init so the properties are not tested at one point only."""
    with torch.no_grad():
        for p in rho.parameters():
            p.add_(0.3 * torch.rand_like(p))


def test_registry_lists() -> None:
    assert list_nonlinearities("complex") == sorted(["mod", *PRESERVING])
    assert list_nonlinearities("real") == sorted(["relu", "abs", "absdead", "thresh", "thresh_frozen", "tanh", "powfixed"])


def test_modulus_is_phase_invariant() -> None:
    rho = create_nonlinearity("mod", 5)
    assert rho.phase == "collapse" and not rho.complex_output
    x = torch.randn(4, 10, 6, 6)
    for alpha in torch.rand(3) * 2 * math.pi:
        torch.testing.assert_close(rho(rotate(x, alpha.item())), rho(x), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(rho(x), to_complex(x).abs())


@pytest.mark.parametrize("name", PRESERVING)
def test_phase_preserving_are_equivariant(name: str) -> None:
    rho = create_nonlinearity(name, 5)
    randomise(rho)
    assert rho.phase == "preserve" and rho.complex_output
    x = torch.randn(4, 10, 6, 6)
    for alpha in torch.rand(3) * 2 * math.pi:
        a = alpha.item()
        torch.testing.assert_close(rho(rotate(x, a)), rotate(rho(x), a), atol=1e-5, rtol=1e-4)


def test_cst_formula() -> None:
    rho = create_nonlinearity("cst", 1)
    z = torch.tensor([0.05 + 0j, 0.3 + 0.4j, -2.0 + 0j]).view(1, 1, 1, 3)
    out = to_complex(rho(from_complex(z))).flatten()
    expected = torch.tensor([0, (0.5 - 0.1) / 0.5 * (0.3 + 0.4j), -1.9 + 0j])
    torch.testing.assert_close(out, expected.to(out.dtype), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", ODD_REAL)
def test_real_sign_preserving_are_odd(name: str) -> None:
    rho = create_nonlinearity(name, 4, "real")
    randomise(rho)
    x = torch.randn(3, 4, 5, 5)
    torch.testing.assert_close(rho(-x), -rho(x))
    assert rho.phase == "preserve"


def test_abs_and_relu_are_not_odd() -> None:
    x = torch.randn(3, 4, 5, 5)
    for name in ("abs", "relu", "absdead"):
        rho = create_nonlinearity(name, 4, "real")
        assert not torch.allclose(rho(-x), -rho(x))
    torch.testing.assert_close(create_nonlinearity("abs", 4, "real")(-x), x.abs())
    assert create_nonlinearity("abs", 4, "real").phase == "collapse"
    assert create_nonlinearity("relu", 4, "real").phase == "partial"


def test_thresh_learned_or_frozen() -> None:
    assert [n for n, _ in create_nonlinearity("thresh", 4, "real").named_parameters()] == ["threshold"]
    frozen = create_nonlinearity("thresh_frozen", 4, "real")
    assert list(frozen.parameters()) == [] and torch.equal(frozen.threshold, torch.ones(4))


@pytest.mark.parametrize("name", ["mod", *PRESERVING])
def test_complex_gradients_finite_at_zero(name: str) -> None:
    x = torch.zeros(2, 6, 3, 3)
    x[0] = torch.randn(6, 3, 3)
    x.requires_grad_(True)
    rho = create_nonlinearity(name, 3)
    rho(x).square().sum().backward()
    assert torch.isfinite(x.grad).all()
    for p in rho.parameters():
        assert torch.isfinite(p.grad).all()


@pytest.mark.parametrize("name", list_nonlinearities("real"))
def test_real_gradients_finite_at_zero(name: str) -> None:
    x = torch.zeros(2, 3, 3, 3, requires_grad=True)
    create_nonlinearity(name, 3, "real")(x).sum().backward()
    assert torch.isfinite(x.grad).all()


def test_bad_names_and_inputs() -> None:
    with pytest.raises(ValueError, match="unknown non-linearity 'softplus'"):
        create_nonlinearity("softplus", 3)
    with pytest.raises(ValueError, match="acts on complex inputs"):
        create_nonlinearity("cst", 3, "real")
    with pytest.raises(ValueError, match="acts on real inputs"):
        create_nonlinearity("relu", 3, "complex")
    with pytest.raises(ValueError, match="expects 6 channels"):
        create_nonlinearity("mod", 3)(torch.randn(1, 3, 4, 4))
    with pytest.raises(TypeError, match="complex tensor"):
        create_nonlinearity("mod", 3)(torch.randn(1, 3, 4, 4, dtype=torch.complex64))


@pytest.mark.parametrize("fast", [True, False])
def test_modulus_gradient(fast: bool) -> None:
    from phasecollapse.layers.nonlinearities import modulus

    x = torch.randn(2, 6, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: modulus(t, fast), (x,))
    y = torch.randn(2, 6, 3, 3).contiguous(memory_format=torch.channels_last).requires_grad_()
    g = torch.randn(2, 3, 3, 3)
    (dy,) = torch.autograd.grad(modulus(y, fast), y, g)
    pair = y.detach().unflatten(1, (3, 2))
    expected = pair / pair.norm(dim=2, keepdim=True) * g.unsqueeze(2)
    torch.testing.assert_close(dy, expected.flatten(1, 2))
