import os
from pathlib import Path

import pytest
import torch


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture
def cifar10_dir() -> Path:
    """The CIFAR-10 root (holding cifar-10-batches-py), or skip with the reason."""
    root = os.environ.get("PHASECOLLAPSE_CIFAR10_DIR")
    if not root:
        pytest.skip("CIFAR-10 not configured: set PHASECOLLAPSE_CIFAR10_DIR (make test does when ../shared is present)")
    path = Path(root)
    if not (path / "cifar-10-batches-py").is_dir():
        pytest.skip(f"PHASECOLLAPSE_CIFAR10_DIR={root} holds no cifar-10-batches-py")
    return path
