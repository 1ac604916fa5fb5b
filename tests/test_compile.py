import pytest
import torch

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
