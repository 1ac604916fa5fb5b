import numpy as np
import pytest
import torch

from phasecollapse.layers.complex import from_complex, to_complex
from phasecollapse.layers.filters import filter_bank
from phasecollapse.layers.wavelet import Wavelet, axis_plan


def direct_reference(x: np.ndarray, name: str, L: int) -> np.ndarray:
    """Circular convolution of the reflect-padded image with the periodised spatial filters,
    subsampled and cropped by the spec's index maps, by explicit sums (no FFT)."""
    bank = filter_bank(name, L)
    M = x.shape[-1]
    P = 2 * ((M + 2) // 2 + 1)
    top = (P - M) // 2
    xp = np.pad(x, [(0, 0)] * (x.ndim - 2) + [(top, P - M - top)] * 2, mode="reflect")
    filters = bank.spatial_filters(P, P)
    out = []
    for f in filters:
        y = np.zeros(xp.shape, complex)
        for a in range(P):
            for b in range(P):
                y += f[a, b] * np.roll(xp, (a, b), axis=(-2, -1))
        if bank.subsample:
            idx = np.array([2 * k for k in range((M + 1) // 2) if 2 <= 2 * k + top <= P - 4]) + top
        else:
            idx = np.arange(2, P - 2)
        out.append(y[..., idx[:, None], idx[None, :]])
    return np.stack(out, -3)


@pytest.mark.parametrize("name,L,M", [("F0", 4, 12), ("F1", 4, 12), ("N", 8, 10), ("F0", 4, 7), ("F1", 8, 8)])
@pytest.mark.parametrize("complex_input", [False, True])
def test_fft_equals_direct_circular_convolution(name: str, L: int, M: int, complex_input: bool) -> None:
    C = 2
    x = torch.randn(1, 2 * C if complex_input else C, M, M, dtype=torch.float64).float()
    z = to_complex(x).numpy().astype(complex) if complex_input else x.numpy().astype(np.float64)
    expected = direct_reference(z, name, L)  # (1, C, 1 + L, M', M')
    phi, psi = Wavelet(filter_bank(name, L), C, complex_input, "fft")(x)
    got_phi = to_complex(phi).numpy() if complex_input else phi.numpy()
    got_psi = to_complex(psi).numpy().reshape(1, C, L, *psi.shape[-2:])
    assert np.abs(got_phi - (expected[:, :, 0] if complex_input else expected[:, :, 0].real)).max() < 1e-5
    assert np.abs(got_psi - expected[:, :, 1:]).max() < 1e-5


def test_output_index_maps() -> None:
    assert [axis_plan(32, True).input_index(k) for k in range(16)] == [2 * k for k in range(16)]
    assert [axis_plan(32, False).input_index(k) for k in range(32)] == list(range(32))
    assert [axis_plan(7, False).input_index(k) for k in range(axis_plan(7, False).count)] == [1, 2, 3, 4, 5, 6]
    assert axis_plan(7, True).count == 3
    aligned = axis_plan(7, False, odd_size_quirk=False)
    assert [aligned.input_index(k) for k in range(aligned.count)] == list(range(7))
    aligned_sub = axis_plan(7, True, odd_size_quirk=False)
    assert [aligned_sub.input_index(k) for k in range(aligned_sub.count)] == [0, 2, 4, 6]
    assert [axis_plan(m, False).P for m in (32, 16, 8, 4, 224, 7, 6)] == [36, 20, 12, 8, 228, 10, 10]


def test_impulse_lands_on_its_output_pixel() -> None:
    # An impulse at input pixel (10, 10): the φ output peaks at output (10, 10), or (5, 5) subsampled.
    x = torch.zeros(1, 1, 32, 32)
    x[0, 0, 10, 10] = 1
    for name, where in (("F0", (10, 10)), ("F1", (5, 5))):
        phi, _ = Wavelet(filter_bank(name, 4), 1, False, "fft")(x)
        assert np.unravel_index(phi[0, 0].argmax().item(), phi.shape[-2:]) == where


@pytest.mark.parametrize("name,L,M", [("F0", 4, 32), ("F1", 4, 32), ("F1", 4, 4), ("N", 8, 30), ("F1", 8, 14), ("F0", 8, 7)])
@pytest.mark.parametrize("complex_input", [False, True])
@pytest.mark.parametrize("quirk", [True, False])
def test_spatial_equals_fft_everywhere(name: str, L: int, M: int, complex_input: bool, quirk: bool) -> None:
    C = 3
    x = torch.randn(2, 2 * C if complex_input else C, M, M)
    fast = Wavelet(filter_bank(name, L), C, complex_input, "spatial", quirk)(x)
    ref = Wavelet(filter_bank(name, L), C, complex_input, "fft", quirk)(x)
    for a, b in zip(fast, ref):
        assert a.shape == b.shape
        assert ((a - b).norm() / b.norm()).item() < 1e-4  # every pixel, borders included


def test_psi_channel_order_is_channel_major() -> None:
    x = torch.randn(1, 2, 16, 16)
    w = Wavelet(filter_bank("F0", 4), 2, False, "fft")
    _, psi_both = w(x)
    _, psi_second = Wavelet(filter_bank("F0", 4), 1, False, "fft")(x[:, 1:])
    psi = to_complex(psi_both)
    torch.testing.assert_close(from_complex(psi[:, 4:8]), psi_second)  # channel c·L + k


def test_bad_inputs() -> None:
    w = Wavelet(filter_bank("F0", 4), 3, True)
    with pytest.raises(ValueError, match="4 dimensions"):
        w(torch.randn(6, 8, 8))
    with pytest.raises(TypeError, match="complex tensor"):
        w(torch.randn(1, 3, 8, 8, dtype=torch.complex64))
    with pytest.raises(ValueError, match="expects 3 complex"):
        w(torch.randn(1, 3, 8, 8))
    with pytest.raises(ValueError, match="too small"):
        Wavelet(filter_bank("F0", 4), 1, False)(torch.randn(1, 1, 2, 2))
    with pytest.raises(ValueError, match="unknown wavelet algorithm"):
        Wavelet(filter_bank("F0", 4), 1, False, "fast")  # type: ignore[arg-type]


@pytest.mark.parametrize("name,M,complex_input", [("F1", 32, True), ("F0", 16, True), ("F0", 32, False), ("F0", 8, True)])
def test_spatial_gradient_equals_fft(name: str, M: int, complex_input: bool) -> None:
    # The banded fast path has a hand-written adjoint: its input gradient must match autograd
    # through the reference FFT pipeline, borders and wrap-around included.
    C = 2
    x = torch.randn(2, 2 * C if complex_input else C, M, M)
    grads = []
    for algorithm in ("spatial", "fft"):
        xi = x.clone().requires_grad_()
        out = Wavelet(filter_bank(name, 4), C, complex_input, algorithm)(xi)  # type: ignore[arg-type]
        torch.manual_seed(1)
        (g,) = torch.autograd.grad(sum((o * torch.randn(o.shape)).sum() for o in out), xi)
        grads.append(g)
    assert ((grads[0] - grads[1]).norm() / grads[1].norm()).item() < 1e-4
