import pytest
import torch

import phasecollapse as pc
from phasecollapse.layers.block import LScatBlock
from phasecollapse.layers.filters import filter_bank
from phasecollapse.layers.scattering import Scattering2D

TOTALS = {
    "lscat_cifar10": 12_251_018,
    "lscat_skip_cifar10": 24_459_018,
    "lscat_imagenet": 29_052_584,
    "lscat_skip_imagenet": 53_495_144,
    "resnet20_cifar10": 269_722,
    "resnet18_imagenet": 11_689_512,
}


def n_params(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize("name,total", TOTALS.items())
def test_parameter_totals(name: str, total: int) -> None:
    assert n_params(pc.create_model(name)) == total


def test_ablation_parameter_totals() -> None:
    # docs/faithfulness.md, *Presets and parameter totals*: one learned set per channel entering ρ for cst, two for ms.
    assert n_params(pc.create_model("lscat_cifar10", nonlinearity="cst")) == 12_261_014
    assert n_params(pc.create_model("lscat_skip_cifar10", nonlinearity="cst")) == 24_471_513
    assert n_params(pc.create_model("lscat_cifar10", nonlinearity="ms")) == 12_271_010
    assert n_params(pc.create_model("lscat_skip_cifar10", nonlinearity="ms")) == 24_484_008


def test_all_paper_models_registered() -> None:
    names = {"scat_cifar10", "lscat_skip_cifar10", "lscat_cifar10", "resnet20_cifar10", "scat_imagenet", "lscat_skip_imagenet", "lscat_imagenet", "resnet18_imagenet"}
    assert names <= set(pc.list_models())


def block_table(name: str, size: int, **kw: object) -> list[tuple[int, int, int]]:
    model = pc.create_model(name, **kw)
    outs = model.features(torch.randn(2, 3, size, size))
    return [(b.proj.complex_channels + b.proj.real_channels, o.shape[1] // 2, o.shape[-1]) for b, o in zip(model.blocks, outs)]


def test_cifar_shapes_block_by_block() -> None:
    k = [64, 128, 256, 512, 512, 512, 512, 512]
    sizes = [32, 16, 16, 8, 8, 4, 4, 2]
    skip_in = [15, 320, 640, 1280, 2560, 2560, 2560, 2560]
    assert block_table("lscat_cifar10", 32) == list(zip(skip_in, k, sizes))
    assert block_table("lscat_skip_cifar10", 32) == list(zip([2 * c for c in skip_in], k, sizes))


def test_imagenet_shapes_and_odd_size_tail() -> None:
    model = pc.create_model("lscat_imagenet", widths=[4] * 11)
    sizes = [o.shape[-1] for o in model.features(torch.randn(1, 3, 224, 224).expand(2, -1, -1, -1))]
    assert sizes == [112, 112, 56, 56, 28, 28, 14, 14, 7, 6, 3]
    full = pc.create_model("lscat_imagenet")
    assert [b.proj.complex_channels + b.proj.real_channels for b in full.blocks] == [27, 288, 576, 576, 1152, 2304, 4608, 4608, 4608, 4608, 4608]
    assert full.head.fc.in_features == 4608
    aligned = pc.create_model("lscat_imagenet", widths=[4] * 11, odd_size_quirk=False)
    assert aligned.output_size == 4 and aligned.head.fc.in_features == 8 * 16


@pytest.mark.parametrize("name", sorted(set(pc.list_models()) - {"scat_imagenet", "lscat_skip_imagenet", "lscat_imagenet", "resnet18_imagenet"}))
def test_forward_backward_cifar_models(name: str) -> None:
    check_forward_backward(pc.create_model(name), 32, 10)


@pytest.mark.parametrize("name", ["scat_imagenet", "lscat_skip_imagenet", "lscat_imagenet", "resnet18_imagenet"])
def test_forward_backward_imagenet_models(name: str) -> None:
    check_forward_backward(pc.create_model(name), 224, 1000)


def check_forward_backward(model: torch.nn.Module, size: int, classes: int) -> None:
    x = torch.randn(2, 3, size, size)
    logits = model(x)
    assert logits.shape == (2, classes)
    torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1])).backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize("nl", ["cst", "ms", "mc", "tanh", "pow"])
@pytest.mark.parametrize("name", ["lscat_cifar10", "lscat_skip_cifar10"])
def test_ablations_train_step(name: str, nl: str) -> None:
    check_forward_backward(pc.create_model(name, nonlinearity=nl, width_factor=0.125), 32, 10)


@pytest.mark.parametrize("nl", ["relu", "abs", "absdead", "thresh", "thresh_frozen", "tanh", "powfixed"])
def test_resnet_nonlinearities(nl: str) -> None:
    check_forward_backward(pc.create_model("resnet20_cifar10", nonlinearity=nl, bias_free=True), 32, 10)


def test_scat_matches_kymatio() -> None:
    kymatio_torch = pytest.importorskip("kymatio.torch")
    x = torch.rand(3, 3, 32, 32)
    ours = Scattering2D(3, (32, 32), L=8)(x)
    theirs = kymatio_torch.Scattering2D(J=3, shape=(32, 32), L=8)(x).flatten(1, 2)
    assert ours.shape == theirs.shape == (3, 651, 4, 4)
    # Same filters (built from our filter functions, π' = 3.1415 as in Kymatio) and same
    # algorithm: the only differences are float64 vs float32 filter construction.
    assert ((ours - theirs).norm() / theirs.norm()).item() < 1e-5
    order1 = Scattering2D(2, (16, 16), L=4, max_order=1)(x[:, :, :16, :16])
    theirs1 = kymatio_torch.Scattering2D(J=2, shape=(16, 16), L=4, max_order=1)(x[:, :, :16, :16].contiguous()).flatten(1, 2)
    assert ((order1 - theirs1).norm() / theirs1.norm()).item() < 1e-5
    big = torch.rand(1, 1, 224, 224)  # ImageNet's J = 4: the averaging GEMM sums 256² pixels at resolution 0
    theirs4 = kymatio_torch.Scattering2D(J=4, shape=(224, 224), L=8)(big).flatten(1, 2)
    assert ((Scattering2D(4, (224, 224), L=8)(big) - theirs4).norm() / theirs4.norm()).item() < 1e-5


def test_resnet20_bias_free_has_no_bn_affine() -> None:
    model = pc.create_model("resnet20_cifar10", bias_free=True)
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns and all(not bn.affine for bn in bns)
    assert model.fc.bias is not None
    assert n_params(model) == 269_722 - 2 * sum(bn.num_features for bn in bns)


def test_resnet18_loads_torchvision_weights() -> None:
    torchvision = pytest.importorskip("torchvision")  # optional: the extra vision
    reference = torchvision.models.resnet18()
    ours = pc.create_model("resnet18_imagenet", nonlinearity="abs")
    ours.load_state_dict(_from_torchvision(reference.state_dict()))
    reference.eval(), ours.eval()
    x = torch.randn(1, 3, 64, 64)
    ours.relu = torch.nn.ReLU()  # check the architecture itself against torchvision with ReLUs
    for stage in ours.layers:
        for block in stage:
            block.relu1, block.relu2 = torch.nn.ReLU(), torch.nn.ReLU()
    torch.testing.assert_close(ours(x), reference(x))
    assert set(ours.state_dict_torchvision()) == set(reference.state_dict())


def _from_torchvision(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {}
    for k, v in state.items():
        if k.startswith("layer"):
            i, rest = k[len("layer") :].split(".", 1)
            k = f"layers.{int(i) - 1}.{rest}"
        out[k] = v
    return out


def test_resnet18_bias_free_count() -> None:
    assert n_params(pc.create_model("resnet18_imagenet", bias_free=True)) == 11_679_912


def test_no_skip_variant_low_pass_path_is_linear() -> None:
    """U = |W|x = [x∗φ, ρ(x∗ψ)]: the low-pass passes linearly, ρ sees the band-pass only."""
    block = LScatBlock(3, 8, filter_bank("F0", 4), complex_input=True, nonlinearity="mod", skip=False)
    assert block.rho.channels == 4 * 3  # ρ sees only the L·C band-pass channels
    x, y = torch.randn(2, 6, 8, 8), torch.randn(2, 6, 8, 8)
    n_phi = 6  # the first 2·C channels of U are x∗φ
    u = lambda t: block.mixed_input(t)[:, :n_phi]  # noqa: E731
    torch.testing.assert_close(u(x + y), u(x) + u(y), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(u(-2 * x), -2 * u(x), atol=1e-5, rtol=1e-5)
    phi, _ = block.wavelet(x)
    torch.testing.assert_close(u(x), phi)
    rest = lambda t: block.mixed_input(t)[:, n_phi:]  # noqa: E731
    assert not torch.allclose(rest(-x), -rest(x))  # the band-pass path is not linear


@pytest.mark.parametrize("name", ["lscat_cifar10", "lscat_skip_cifar10", "lscat_imagenet"])
def test_no_learned_bias_in_blocks(name: str) -> None:
    model = pc.create_model(name, width_factor=0.125)
    for i, block in enumerate(model.blocks):
        assert [n for n, _ in block.named_parameters()] == ["proj.weight"], f"block {i}"
        for m in block.modules():
            assert getattr(m, "bias", None) is None


def test_registry_errors() -> None:
    with pytest.raises(ValueError, match="unknown model 'lscat_skip_cifar100'"):
        pc.create_model("lscat_skip_cifar100")
    with pytest.raises(ValueError, match="no option"):
        pc.create_model("resnet20_cifar10", width_factor=0.5)
    with pytest.raises(ValueError, match="acts on complex inputs"):
        pc.create_model("resnet20_cifar10", nonlinearity="cst")
    with pytest.raises(ValueError, match="acts on real inputs"):
        pc.create_model("lscat_cifar10", nonlinearity="relu")
    with pytest.raises(ValueError, match="images of shape"):
        pc.create_model("lscat_cifar10", width_factor=0.125)(torch.randn(2, 3, 28, 28))


def test_width_multiplier() -> None:
    model = pc.create_model("lscat_cifar10", width_factor=0.5)
    assert [b.proj.out_channels for b in model.blocks] == [32, 64, 128, 256, 256, 256, 256, 256]


def test_paper_path_and_fast_path_models_agree() -> None:
    # fast: spatial W + fused kernels; paper: the FFT W and the paper's modules one by one.
    torch.manual_seed(1)
    fast = pc.create_model("lscat_cifar10", width_factor=0.125)
    ref = pc.create_model("lscat_cifar10", width_factor=0.125, wavelet="fft", fast=False)
    ref.load_state_dict(fast.state_dict())
    x = torch.randn(4, 3, 32, 32)
    a, b = fast(x), ref(x)
    assert ((a - b).norm() / b.norm()).item() < 1e-3


@pytest.mark.parametrize("name,nl", [("lscat_cifar10", "mod"), ("lscat_skip_cifar10", "mod"), ("lscat_cifar10", "cst"), ("lscat_skip_cifar10", "ms")])
def test_real_pair_model_equals_the_complex_reference(name: str, nl: str) -> None:
    from phasecollapse.bench.torch_complex import TorchComplexLScat

    # wavelet="fft": both sides use the same FFT wavelet transform, so what is compared is the
    # real-pair algebra (ρ, Std, P_j, N, layouts) against torch complex arithmetic, block by
    # block on identical inputs (chained, Std amplifies float rounding in low-variance channels).
    model = pc.create_model(name, nonlinearity=nl, width_factor=0.125, wavelet="fft")
    reference = TorchComplexLScat(model)
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        ours = model.features(x)
        after_ours = [b.std.running_mean.clone() for b in model.blocks]
        inputs = [x, *ours[:-1]]
        for i, (block, xin, a) in enumerate(zip(model.blocks, inputs, ours)):
            b = reference._block(block, pc.to_complex(xin) if i else xin)
            assert ((pc.to_complex(a) - b).norm() / b.norm()).item() < 2e-6, f"block {i}"
            # From μ_run = 0 each path made one EMA step with the same batch mean μ:
            # r1 = 0.1 μ after ours, r2 = 0.9 r1 + 0.1 μ = 1.9 r1 after the reference.
            torch.testing.assert_close(block.std.running_mean, 1.9 * after_ours[i], atol=1e-6, rtol=1e-4)
    model.eval()
    assert ((model(x) - reference(x)).norm() / reference(x).norm()).item() < 1e-3
    model.train()
    for i, (block, xin) in enumerate(zip(model.blocks, inputs)):  # train-mode gradients, block by block
        params = list(block.parameters())
        probe = torch.randn_like(ours[i])
        g = torch.autograd.grad((block(xin) * probe).sum(), params)
        h = torch.autograd.grad((pc.from_complex(reference._block(block, pc.to_complex(xin) if i else xin)) * probe).sum(), params)
        for a, b in zip(g, h):
            assert ((a - b).norm() / b.norm()).item() < 1e-4, f"block {i}"


@pytest.mark.parametrize("nl", ["mod", "cst", "ms", "mc", "tanh", "pow"])
@pytest.mark.parametrize("name", ["lscat_cifar10", "lscat_skip_cifar10"])
def test_bf16_autocast_channels_last_train_step(name: str, nl: str) -> None:
    model = pc.create_model(name, nonlinearity=nl, width_factor=0.0625).to(memory_format=torch.channels_last)
    x = torch.randn(4, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(x)
    torch.nn.functional.cross_entropy(logits.float(), torch.tensor([0, 1, 2, 3])).backward()
    for n, p in model.named_parameters():
        assert p.grad is not None and p.grad.dtype == p.dtype and torch.isfinite(p.grad).all(), n
