"""PyTorch DDP under ``torchrun``: process group set-up, rank helpers, metric reduction.

``torchrun --nproc_per_node N -m phasecollapse train CONFIG`` sets RANK / WORLD_SIZE /
LOCAL_RANK; we initialise NCCL when CUDA is used, else gloo. Without those variables the run
is a single process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Context:
    rank: int
    world: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup(device: str = "auto") -> Context:
    """Initialise the process group when launched by torchrun; choose the device."""
    use_cuda = torch.cuda.is_available() if device == "auto" else device == "cuda"
    if use_cuda and not torch.cuda.is_available():
        raise RuntimeError("train.device = 'cuda' but no CUDA device is available")
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if use_cuda:
        torch.cuda.set_device(local)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
    return Context(rank, world, torch.device("cuda", local) if use_cuda else torch.device("cpu"))


def teardown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def all_sum(values: list[float], device: torch.device) -> list[float]:
    """Sum a list of numbers over ranks (identity in a single process)."""
    if not dist.is_initialized():
        return values
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


@torch.no_grad()
def weight_divergence(model: torch.nn.Module) -> float:
    """Max |w_rank − w_rank0| over all parameters and buffers and all ranks (0.0 when in sync)."""
    if not dist.is_initialized():
        return 0.0
    worst = torch.zeros((), dtype=torch.float64, device=next(model.parameters()).device)
    for t in list(model.parameters()) + list(model.buffers()):
        ref = t.detach().clone()
        dist.broadcast(ref, 0)
        if t.is_floating_point():
            worst = torch.maximum(worst, (t.detach() - ref).abs().max().double())
        elif not torch.equal(t, ref):
            worst.fill_(float("inf"))
    dist.all_reduce(worst, op=dist.ReduceOp.MAX)
    return worst.item()
