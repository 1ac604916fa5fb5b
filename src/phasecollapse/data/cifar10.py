"""CIFAR-10 read into memory as uint8 tensors (the training loader is :class:`phasecollapse.data.loader.TensorLoader`).

Train batches get random crop 32 from the image zero-padded by 4 and a random horizontal flip
(spec C.4), then normalisation with the ImageNet mean/std (the authors' choice for both data
sets, G.15); test batches normalisation only (:mod:`phasecollapse.data.transforms`).

The data directory is the torchvision root holding ``cifar-10-batches-py``: the ``root``
argument, else the ``PHASECOLLAPSE_CIFAR10_DIR`` environment variable, else
``~/.cache/phasecollapse/cifar10``. When the files are absent, ``download=True`` fetches them
with torchvision (online only); otherwise a ``FileNotFoundError`` names the path and the fix.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

ENV_VAR = "PHASECOLLAPSE_CIFAR10_DIR"
FOLDER = "cifar-10-batches-py"
TRAIN_FILES = [f"data_batch_{i}" for i in range(1, 6)]


def resolve_root(root: str | os.PathLike[str] | None) -> Path:
    """The CIFAR-10 root: argument, else $PHASECOLLAPSE_CIFAR10_DIR, else ~/.cache/phasecollapse/cifar10."""
    if root:
        return Path(root).expanduser()
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    return Path.home() / ".cache" / "phasecollapse" / "cifar10"


def _ensure(root: Path, download: bool) -> Path:
    folder = root / FOLDER
    if folder.is_dir():
        return folder
    if download:
        from torchvision.datasets import CIFAR10

        try:
            CIFAR10(str(root), download=True)
        except Exception as err:  # no network, or a refused download
            raise FileNotFoundError(f"CIFAR-10 is not in {folder} and downloading it failed ({err}); copy the python-pickle data set there or set {ENV_VAR}") from err
        return folder
    raise FileNotFoundError(
        f"CIFAR-10 data directory not found: {folder} (expected data_batch_1..5 and test_batch). "
        f"Pass the root holding {FOLDER} (data.root / --data-dir), set {ENV_VAR}, or allow download"
    )


def load_split(root: str | os.PathLike[str] | None, train: bool, download: bool = False) -> tuple[Tensor, Tensor]:
    """Images uint8 (N, 3, 32, 32) and labels int64 (N,) of one split, read from the pickles."""
    folder = _ensure(resolve_root(root), download)
    images, labels = [], []
    for name in TRAIN_FILES if train else ["test_batch"]:
        path = folder / name
        if not path.is_file():
            raise FileNotFoundError(f"CIFAR-10 file missing: {path}")
        with path.open("rb") as f:
            entry = pickle.load(f, encoding="latin1")
        images.append(np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        labels.append(np.asarray(entry["labels"], dtype=np.int64))
    return torch.from_numpy(np.concatenate(images)), torch.from_numpy(np.concatenate(labels))
