import pytest
import torch
from torch import Tensor

from phasecollapse.layers.complex import from_complex, to_complex
from phasecollapse.layers.normalization import Normalization
from phasecollapse.layers.projection import ComplexProjection, unitary_init
from phasecollapse.layers.standardization import Standardization


def mixed(b: int, cc: int, cr: int, h: int = 5) -> torch.Tensor:
    return torch.cat([torch.randn(b, 2 * cc, h, h) * 3 + 1, torch.randn(b, cr, h, h) * 2 - 4], 1)


def test_standardization_train_mode_zero_mean_unit_power() -> None:
    std = Standardization(3, 2)
    y = std(mixed(8, 3, 2))
    torch.testing.assert_close(y.mean(dim=(0, 2, 3)), torch.zeros(8), atol=1e-5, rtol=0)
    power = y.square().mean(dim=(0, 2, 3))
    per_channel = torch.cat([power[:6].view(3, 2).sum(1), power[6:]])
    torch.testing.assert_close(per_channel, torch.ones(5), atol=1e-4, rtol=0)


def test_standardization_running_statistics_follow_the_ema() -> None:
    std = Standardization(2, 1)
    xs = [mixed(4, 2, 1), mixed(4, 2, 1)]
    mean, var = torch.zeros(5), torch.ones(3)
    for x in xs:
        std(x)
        n = 4 * 5 * 5
        m = x.mean(dim=(0, 2, 3))
        c = (x - m.view(1, -1, 1, 1)).square().mean(dim=(0, 2, 3))
        v = torch.cat([c[:4].view(2, 2).sum(1), c[4:]]) * n / (n - 1)
        mean, var = 0.9 * mean + 0.1 * m, 0.9 * var + 0.1 * v
    torch.testing.assert_close(std.running_mean, mean)
    torch.testing.assert_close(std.running_var, var)
    std.eval()
    x = mixed(2, 2, 1)
    scale = torch.cat([var[:2].repeat_interleave(2), var[2:]]).add(1e-5).rsqrt()
    torch.testing.assert_close(std(x), (x - mean.view(1, -1, 1, 1)) * scale.view(1, -1, 1, 1))


def test_standardization_errors() -> None:
    with pytest.raises(ValueError, match="expects 5 channels"):
        Standardization(2, 1)(torch.randn(2, 4, 3, 3))
    with pytest.raises(ValueError, match="more than one value"):
        Standardization(1)(torch.randn(1, 2, 1, 1))


def svd_init(k: int, c: int, draws: int) -> Tensor:
    """The paper's sampler (the reference law): U (K > C) or Vᴴ of the thin SVD of a complex Gaussian."""
    u, _, vh = torch.linalg.svd(torch.complex(torch.randn(draws, k, c), torch.randn(draws, k, c)).to(torch.complex128), full_matrices=False)
    return u if k > c else vh


@pytest.mark.parametrize("k,c", [(4, 9), (9, 4), (6, 6), (64, 640), (640, 64)])
def test_unitary_init_is_an_isometry(k: int, c: int) -> None:
    w = unitary_init(k, c)
    assert w.shape == (k, c) and w.dtype == torch.complex64
    w = w.to(torch.complex128)
    gram = w @ w.mH if k <= c else w.mH @ w
    torch.testing.assert_close(gram, torch.eye(min(k, c), dtype=torch.complex128), atol=1e-5, rtol=0)


@pytest.mark.parametrize("k,c", [(3, 5), (5, 3)])
def test_unitary_init_has_the_haar_law_of_the_svd_init(k: int, c: int) -> None:
    """Entry by entry over 4000 draws, the QR and the SVD samplers against the Haar values:
    |w_ij|² ~ Beta(1, n − 1), n = max(K, C) (mean 1/n, variance (n − 1)/(n²(n + 1))) for both;
    E w_ij = 0 for the QR (what its phase correction secures) and for the SVD's Vᴴ (K < C). The
    SVD's U (K > C) is not mean-zero: LAPACK's sign convention fixes the phases of its columns."""
    draws, n = 4000, max(k, c)
    beta_var = (n - 1) / (n**2 * (n + 1))
    se_mean = (1 / n / draws) ** 0.5
    qr = torch.stack([unitary_init(k, c) for _ in range(draws)]).to(torch.complex128)
    svd = svd_init(k, c, draws)
    for name, w in (("qr", qr), ("svd", svd)):
        energy = w.abs() ** 2
        assert float((energy.mean(0) - 1 / n).abs().max()) < 5 * (beta_var / draws) ** 0.5, name
        assert float((energy.var(0) / beta_var - 1).abs().max()) < 0.15, name
    assert float(qr.mean(0).abs().max()) < 5 * se_mean
    assert (float(svd.mean(0).abs().max()) < 5 * se_mean) == (k < c)


@pytest.mark.parametrize("n,m", [(40, 20), (640, 64), (5120, 512), (30, 20), (9, 9)])
def test_haar_q_is_the_positive_diagonal_qr(n: int, m: int) -> None:
    """Cholesky QR (tall) or Householder QR (nearly square): the same Q as complex128 Householder
    QR with R's diagonal made positive, from the same Gaussian; Q orthonormal to fp32 rounding."""
    from phasecollapse.layers.projection import haar_q

    g = torch.complex(torch.randn(n, m), torch.randn(n, m))
    q = haar_q(g)
    ref, r = torch.linalg.qr(g.to(torch.complex128))
    ref = ref * (r.diagonal() / r.diagonal().abs())
    torch.testing.assert_close(q.to(torch.complex128), ref, atol=2e-5, rtol=0)
    torch.testing.assert_close((q.mH @ q).to(torch.complex128), torch.eye(m, dtype=torch.complex128), atol=2e-5, rtol=0)


def test_projection_equals_complex_matrix_product() -> None:
    p = ComplexProjection(3, 2, 4)
    assert p.weight.shape == (4, 5, 2) and not any("bias" in n for n, _ in p.named_parameters())
    x = mixed(2, 3, 2)
    v = torch.cat([to_complex(x[:, :6]), x[:, 6:].to(torch.complex64)], 1)
    expected = torch.einsum("kc,bchw->bkhw", p.complex_weight(), v)
    torch.testing.assert_close(to_complex(p(x)), expected, atol=1e-5, rtol=1e-5)


def test_complex_round_trip_any_layout_and_empty() -> None:
    z = torch.randn(2, 5, 3, 4, dtype=torch.complex64)
    x = from_complex(z)
    assert torch.equal(x[:, 2], z[:, 1].real) and torch.equal(x[:, 3], z[:, 1].imag)
    assert torch.equal(to_complex(x.contiguous(memory_format=torch.channels_last)), z)
    assert to_complex(x[:, :0]).shape == (2, 0, 3, 4)


def test_normalization_unit_norm_and_safe_at_zero() -> None:
    x = from_complex(torch.randn(2, 7, 4, 4, dtype=torch.complex64))
    x[0, :, 0, 0] = 0
    x.requires_grad_(True)
    y = Normalization()(x)
    norms = y.detach().square().sum(1).sqrt()
    assert norms[0, 0, 0] == 0
    norms[0, 0, 0] = 1
    torch.testing.assert_close(norms, torch.ones_like(norms))
    y.sum().backward()
    assert torch.isfinite(x.grad).all()


@pytest.mark.parametrize("gauss", [False, True])
@pytest.mark.parametrize("training", [True, False])
def test_standardize_project_kernel_equals_the_modules(training: bool, gauss: bool) -> None:
    from phasecollapse.kernels.std_projection import standardize_project

    cc, cr = 3, 4
    parts = [torch.randn(4, 2 * cc, 5, 5, dtype=torch.float64) * 2 + 1, (torch.randn(4, cr, 5, 5, dtype=torch.float64) - 3).contiguous(memory_format=torch.channels_last)]
    std_a, std_b = Standardization(cc, cr).double(), Standardization(cc, cr).double()
    proj = ComplexProjection(cc, cr, 6).double()
    for s in (std_a, std_b):
        s.running_mean.normal_(generator=torch.Generator().manual_seed(0))
        s.running_var.uniform_(0.5, 2, generator=torch.Generator().manual_seed(1))
        s.train(training)
    a = [p.clone().requires_grad_(True) for p in parts]
    b = [p.clone().requires_grad_(True) for p in parts]
    probe = torch.randn(4, 12, 5, 5, dtype=torch.float64)
    expected = proj(std_a(torch.cat(a, 1)))
    ga = torch.autograd.grad((expected * probe).sum(), [*a, proj.weight])
    running = None if training else (std_b.running_mean, std_b.running_var)
    got, mean, var = standardize_project(b, proj.real_weight(), cc, std_b.eps, running, gauss)
    if training:  # the kernel returns the batch statistics; the layer owning them updates its averages
        std_b.update_running(mean, var, got.numel() // got.shape[1])
    gb = torch.autograd.grad((got * probe).sum(), [*b, proj.weight])
    torch.testing.assert_close(got, expected)
    for x, y in zip(ga, gb):
        torch.testing.assert_close(x, y)
    torch.testing.assert_close(std_a.running_mean, std_b.running_mean)
    torch.testing.assert_close(std_a.running_var, std_b.running_var)


def _split_parts(cc: int, cr: int) -> list[Tensor]:
    """U (3, 2·Cc + Cr, 5, 7) in parts of uneven widths, complex ones first (fp32, channels-last)."""
    widths = [2 * w for w in ([cc - 1, 1] if cc > 1 else [cc]) if w] + [w for w in ([1, cr - 1] if cr > 1 else [cr]) if w]
    return [(torch.randn(3, w, 5, 7) * 2 + 1).contiguous(memory_format=torch.channels_last) for w in widths]


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize(("cc", "cr"), [(3, 4), (3, 0), (0, 5), (1, 6)])
def test_gauss_kernel_equals_the_four_product_form(cc: int, cr: int, training: bool) -> None:
    """Gauss's three products = the four-product GEMM in fp32: Y, its gradient w.r.t. the parts
    and P_j's weight, and the no-grad path; parts of uneven widths, odd maps, Cr = 0 and Cc = 0."""
    from phasecollapse.kernels.std_projection import standardize_project

    parts = _split_parts(cc, cr)
    std, proj = Standardization(cc, cr).train(training), ComplexProjection(cc, cr, 5)
    std.running_mean.normal_()
    std.running_var.uniform_(0.5, 2)
    running = None if training else (std.running_mean, std.running_var)
    probe = torch.randn(3, 10, 5, 7)
    results = []
    for gauss in (False, True):
        inputs = [p.clone().requires_grad_(True) for p in parts]
        y, mean, var = standardize_project(inputs, proj.real_weight(), cc, std.eps, running, gauss)
        with torch.no_grad():
            y_eval, _, _ = standardize_project(parts, proj.real_weight(), cc, std.eps, running, gauss)
        assert y.stride(1) == 1  # channels-last
        results.append((y, y_eval, mean, var, *torch.autograd.grad((y * probe).sum(), [*inputs, proj.weight])))
    for four, three in zip(*results):
        torch.testing.assert_close(three, four, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    ("complex_input", "skip", "nonlinearity", "projection"),
    [(False, False, "mod", "dense"), (True, True, "mod", "dense"), (True, True, "cst", "dense"), (True, False, "mod", {"kind": "lowrank", "rank": 1})],
    ids=["Cc=0", "Cc=Cr", "Cr=0", "lowrank"],
)
def test_gauss_block_equals_the_paper_modules(monkeypatch: pytest.MonkeyPatch, complex_input: bool, skip: bool, nonlinearity: str, projection: object) -> None:
    """A block whose fused Std + P_j runs Gauss's products (the module switch ``GAUSS``) = the
    paper's modules (fp64): output, running statistics, gradients (input, parameters), then eval
    mode. Cc = 0 checks that a block without complex columns runs (the four-product form)."""
    from phasecollapse.kernels import std_projection
    from phasecollapse.layers.block import LScatBlock
    from phasecollapse.layers.filters import filter_bank

    monkeypatch.setattr(std_projection, "GAUSS", True)
    blocks = [LScatBlock(2, 4, filter_bank("F0", 4), complex_input, nonlinearity, skip, input_size=9, fast=fast, projection=projection).double() for fast in (True, False)]
    blocks[1].load_state_dict(blocks[0].state_dict())
    if projection != "dense":
        assert blocks[0].proj.factors() is not None  # the factored path: Gauss in its first product
    x = torch.randn(3, 4 if complex_input else 2, 9, 9, dtype=torch.float64, requires_grad=True)
    probe = torch.randn(3, 8, blocks[0].output_size, blocks[0].output_size, dtype=torch.float64)
    results = []
    for block in blocks:
        y = block(x)
        grads = torch.autograd.grad((y * probe).sum(), [x, *block.parameters()])
        results.append((y, block.std.running_mean, block.std.running_var, *grads, block.eval()(x).detach()))
    for fast, paper in zip(*results):
        torch.testing.assert_close(fast, paper)


@pytest.mark.parametrize("fast", [True, False])
def test_normalization_gradient(fast: bool) -> None:
    x = torch.randn(2, 6, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(Normalization(fast), (x,))
    with torch.no_grad():
        x[0, :, 1, 1] = 0
    y = Normalization(fast)(x)
    (g,) = torch.autograd.grad(y, x, torch.randn_like(y))
    assert torch.isfinite(g).all()


def test_normalization_kernel_equals_the_paper_formula() -> None:
    x = torch.randn(3, 8, 5, 5, dtype=torch.float64, requires_grad=True)
    probe = torch.randn(3, 8, 5, 5, dtype=torch.float64)
    outs = [Normalization(fast)(x) for fast in (True, False)]
    grads = [torch.autograd.grad((o * probe).sum(), x)[0] for o in outs]
    torch.testing.assert_close(outs[0], outs[1])
    torch.testing.assert_close(grads[0], grads[1])
