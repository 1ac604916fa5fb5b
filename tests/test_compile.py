import pytest
import torch

import phasecollapse as pc
from phasecollapse.layers.block import LScatBlock
from phasecollapse.layers.filters import filter_bank


@pytest.mark.parametrize("skip", [True, False])
def test_compiled_block_equals_eager(skip: bool) -> None:
    # The kernels have branches taken only under torch.compile (the modulus backward's
    # broadcast; the fused Std + P_j kept eager); the benchmark's figures depend on them.
    torch.manual_seed(0)
    block = LScatBlock(3, 8, filter_bank("F0", 4), complex_input=True, skip=skip, input_size=8)
    x = torch.randn(4, 6, 8, 8, dtype=torch.float64).float().contiguous(memory_format=torch.channels_last)
    probe = torch.randn(4, 16, 8, 8)
    outs, grads = [], []
    for fn in (block, torch.compile(block)):
        xi = x.clone().requires_grad_()
        y = fn(xi)
        (g,) = torch.autograd.grad((y * probe).sum(), xi)
        outs.append(y.detach())
        grads.append(g)
    torch.testing.assert_close(outs[1], outs[0], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(grads[1], grads[0], rtol=1e-4, atol=1e-4)


def test_evaluation_compiles_its_own_graphs_past_the_default_recompile_limit() -> None:
    """Training and evaluation of every block each get a graph of the one ``LScatBlock.forward``
    code object: with a limit below blocks × modes, evaluation would fall back to eager."""
    import torch._dynamo

    from phasecollapse.layers.block import LScatBlock
    from phasecollapse.run.config import load_config
    from phasecollapse.run.train import autocast, maybe_compile, train_step

    torch._dynamo.reset()
    with torch._dynamo.config.patch(recompile_limit=2):  # 2 blocks × 2 modes need 4
        config = load_config(None, ["train.precision=bf16", "train.compile=true"])
        model = pc.create_model("lscat_skip_cifar10", widths=[4, 4])
        net = maybe_compile(model, config)
        x, y = torch.randn(4, 3, 32, 32), torch.randint(0, 10, (4,))
        train_step(net, x, y, torch.optim.SGD(model.parameters(), lr=0.01), None, config)
        model.eval()
        with torch.no_grad(), autocast(config, x.device):
            net(x)
        entries = torch._dynamo.eval_frame._debug_get_cache_entry_list(LScatBlock.forward.__code__)
    assert len(entries) == 4
    torch._dynamo.reset()
