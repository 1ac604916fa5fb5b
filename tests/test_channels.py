"""Channel metadata against the filters actually built: W's labels against impulse responses,
U's against W x (linear copies) and ρ of it, and linearity."""

import math

import pytest
import torch
from torch import Tensor

from phasecollapse import LScatBlock, Wavelet, create_model, filter_bank
from phasecollapse.layers.channels import Channel

SIZE = 32


def _key(c: Channel) -> tuple[object, ...]:
    return c.kind, c.input_channel, c.orientation, c.part


def _by_label(channels: list[Channel], y: Tensor) -> dict[tuple[object, ...], Tensor]:
    assert len(channels) == y.shape[1]
    return {_key(c): y[:, i] for i, c in enumerate(channels)}


def _peak_frequency(response: Tensor) -> tuple[int, int]:
    """(row, column) frequency index in −N/2 … N/2 − 1 of the largest |FFT| of a complex map."""
    spectrum = torch.fft.fft2(response.to(torch.complex128)).abs()
    n = spectrum.shape[-1]
    r, c = divmod(int(spectrum.argmax()), n)
    return (r + n // 2) % n - n // 2, (c + n // 2) % n - n // 2


@pytest.mark.parametrize("complex_input", [False, True])
def test_wavelet_labels_match_impulse_responses(complex_input: bool) -> None:
    """The response to an impulse in input channel c (its real part) appears only in the channels
    labelled c; a channel labelled θ peaks at a frequency of angle θ (mod π), ψ's of frequency ξ;
    the low-pass at frequency 0; for a complex input, an impulse in the imaginary part gives i×."""
    bank, C = filter_bank("F0", 4), 3  # F0: no subsampling, so frequencies do not alias
    w = Wavelet(bank, C, complex_input)
    phi_meta, psi_meta = w.meta()
    for c in range(C):
        x = torch.zeros(1, 2 * C if complex_input else C, SIZE, SIZE)
        x[0, 2 * c if complex_input else c, SIZE // 2, SIZE // 2] = 1
        phi, psi = w(x)
        labelled = {**_by_label(phi_meta, phi), **_by_label(psi_meta, psi)}
        for key, y in labelled.items():
            if key[1] != c:
                assert float(y.abs().max()) < 1e-7, key
            else:  # φ is real: Re δ gives Im (δ∗φ) = 0
                assert (float(y.abs().max()) > 1e-3) == (key[0] == "wavelet" or key[3] != "im"), key
        low = labelled["lowpass", c, None, "re" if complex_input else None]
        assert _peak_frequency(low[0]) == (0, 0)
        for k in range(bank.L):
            z = torch.complex(labelled["wavelet", c, k, "re"][0], labelled["wavelet", c, k, "im"][0])
            f1, f2 = _peak_frequency(z)
            theta = next(m.theta for m in psi_meta if m.input_channel == c and m.orientation == k)
            angle = math.atan2(f2, f1)
            assert abs((angle - theta + math.pi / 2) % math.pi - math.pi / 2) < math.radians(8), (k, f1, f2, theta)
            assert abs(math.hypot(f1, f2) * 2 * math.pi / SIZE - bank.psi_xi) < 2 * 2 * math.pi / SIZE
        if complex_input:  # i·δ in channel c: every output of c multiplied by i
            x_im = torch.roll(x, 1, dims=1)
            phi_i, psi_i = w(x_im)
            for out, out_i in ((phi, phi_i), (psi, psi_i)):
                z, z_i = torch.complex(out[:, 0::2], out[:, 1::2]), torch.complex(out_i[:, 0::2], out_i[:, 1::2])
                torch.testing.assert_close(z_i, 1j * z, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("skip", [True, False])
@pytest.mark.parametrize("complex_input", [False, True])
@pytest.mark.parametrize("nonlinearity", ["mod", "cst"])
@torch.no_grad()
def test_u_labels_match_w_and_rho(skip: bool, complex_input: bool, nonlinearity: str) -> None:
    """A channel of U labelled linear is the channel of W x with the same labels (a real x∗φ lifted
    to a pair: Re = x∗φ, Im = 0) and is linear in x; one labelled ρ is the modulus of that channel
    of W x (mod) or a non-negative real multiple of it (cst), and is not linear in x."""
    C, L = 2, 4
    block = LScatBlock(C, 4, filter_bank("F1", L), complex_input, nonlinearity, skip, input_size=8)
    meta = block.meta()
    x1, x2 = (torch.randn(3, 2 * C if complex_input else C, 8, 8) for _ in range(2))
    phi, psi = block.wavelet(x1)
    w = {**_by_label(meta.phi, phi), **_by_label(meta.psi, psi)}
    u = block.mixed_input(x1)
    assert len(meta.u) == u.shape[1] == 2 * block.std.complex_channels + block.std.real_channels
    deviation = (block.mixed_input(x1 + x2) - u - block.mixed_input(x2)).abs().amax((0, 2, 3))
    branches = set()
    for i, ch in enumerate(meta.u):
        branches.add(ch.branch)
        lifted = ch.kind == "lowpass" and not complex_input
        if ch.branch == "linear":
            expected = torch.zeros_like(u[:, i]) if lifted and ch.part == "im" else w[ch.kind, ch.input_channel, ch.orientation, None if lifted else ch.part]
            torch.testing.assert_close(u[:, i], expected, atol=1e-6, rtol=1e-5)
            assert float(deviation[i]) < 1e-4, ch
            continue
        re = w[ch.kind, ch.input_channel, ch.orientation, None if lifted else "re"]
        im = torch.zeros_like(re) if lifted else w[ch.kind, ch.input_channel, ch.orientation, "im"]
        if nonlinearity == "mod":
            assert ch.part is None
            torch.testing.assert_close(u[:, i], torch.hypot(re, im), atol=1e-5, rtol=1e-5)
        else:  # cst keeps the phase: ρ(z) = a z with a ≥ 0
            j = i + (1 if ch.part == "re" else -1)
            rho = torch.complex(u[:, min(i, j)], u[:, max(i, j)])
            z = torch.complex(re, im)
            assert float((rho * z.conj()).imag.abs().max()) < 1e-5 and float((rho * z.conj()).real.min()) > -1e-6
            if lifted and ch.part == "im":  # ρ of a real number stays real: 0, trivially linear
                assert float(u[:, i].abs().max()) == 0
                continue
        assert float(deviation[i]) > 1e-3, ch
    assert branches == ({"linear", "rho"})
    assert [(c.channel, c.part) for c in meta.out] == [(o, p) for o in range(4) for p in ("re", "im")]


def test_orientation_projection_outputs_carry_their_orientation() -> None:
    model = create_model("lscat_cifar10", widths=[8, 8], projection={"kind": "orientation"})
    assert [c.orientation for c in model.blocks[1].meta().out[::2]] == [0, 1, 2, 3, 0, 1, 2, 3]
    assert all(c.orientation is None for c in create_model("lscat_cifar10", widths=[8, 8]).blocks[1].meta().out)
