"""CIFAR-10 read into memory as uint8 tensors (the training loader is :class:`phasecollapse.data.loader.TensorLoader`).

Train batches get random crop 32 from the image zero-padded by 4 and a random horizontal flip
(authors' ``main_block.py:595–601``), then normalisation with the ImageNet mean/std (the authors' choice for both data
sets, ``main_block.py:576``); test batches normalisation only (:mod:`phasecollapse.data.transforms`).

The data directory is the torchvision root holding ``cifar-10-batches-py``: the ``root``
argument, else the ``PHASECOLLAPSE_CIFAR10_DIR`` environment variable, else
``~/.cache/phasecollapse/cifar10``. When the files are absent, ``download=True`` fetches them
with torchvision (online only); otherwise a ``FileNotFoundError`` names the path and the fix.

The batch files are pickles, read by :class:`BatchUnpickler`, which builds only the objects an
official batch holds (dicts, lists, strings, ints, numpy uint8 arrays) and so never runs code
from the file. Each batch is checked before use (:func:`read_batch`): a file that is not a
valid batch raises a ``ValueError`` naming the file and the problem, nothing is re-cut or dropped.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

try:  # numpy >= 2
    from numpy._core.multiarray import _reconstruct
except ImportError:  # numpy 1.x
    from numpy.core.multiarray import _reconstruct  # type: ignore[no-redef]

ENV_VAR = "PHASECOLLAPSE_CIFAR10_DIR"
FOLDER = "cifar-10-batches-py"
TRAIN_FILES = [f"data_batch_{i}" for i in range(1, 6)]
TEST_FILE = "test_batch"
#: Images in each official batch file (data_batch_1..5 and test_batch alike).
IMAGES_PER_FILE = 10000
#: Bytes of one image row in ``data``: 3 channels of 32 × 32, channel-major.
IMAGE_BYTES = 3 * 32 * 32
NUM_CLASSES = 10

#: The only globals an official batch references (numpy array reconstruction), under the
#: module names numpy 1 writes and numpy 2 writes.
ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    **{(module, "_reconstruct"): _reconstruct for module in ("numpy.core.multiarray", "numpy._core.multiarray")},
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class BatchUnpickler(pickle.Unpickler):
    """Unpickler that resolves only :data:`ALLOWED_GLOBALS`; any other global (``os.system``,
    ``builtins.eval``, ...) raises ``pickle.UnpicklingError`` before anything is called."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refused global {module}.{name}: a CIFAR-10 batch references only numpy array reconstruction, "
                "and unpickling any other global could run code from the file"
            ) from None


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
        try:
            from torchvision.datasets import CIFAR10
        except ModuleNotFoundError as err:
            raise FileNotFoundError(f"CIFAR-10 is not in {folder}, and downloading it needs torchvision ({err}): pip install 'phasecollapse[vision]', or copy the python-pickle data set there") from err

        try:
            CIFAR10(str(root), download=True)
        except Exception as err:  # no network, or a refused download
            raise FileNotFoundError(f"CIFAR-10 is not in {folder} and downloading it failed ({err}); copy the python-pickle data set there or set {ENV_VAR}") from err
        return folder
    raise FileNotFoundError(
        f"CIFAR-10 data directory not found: {folder} (expected data_batch_1..5 and test_batch). "
        f"Pass the root holding {FOLDER} (data.root / --data-dir), set {ENV_VAR}, or allow download"
    )


def _unpickle(path: Path) -> Any:
    """The object pickled in ``path``, built by :class:`BatchUnpickler`. Any failure (empty,
    truncated or foreign bytes, a refused global) is a ``ValueError`` naming the file."""
    try:
        with path.open("rb") as f:
            return BatchUnpickler(f, encoding="latin1").load()
    except Exception as err:  # pickle, EOF, numpy and memory errors alike: the file is not a batch
        raise ValueError(f"CIFAR-10 file {path} is not a valid batch pickle: {type(err).__name__}: {err}") from err


def _entry(batch: dict[Any, Any], key: str, path: Path) -> Any:
    """``batch[key]``, the key as str (python 3 writes) or bytes (python 2 read as bytes)."""
    for k in (key, key.encode()):
        if k in batch:
            return batch[k]
    raise ValueError(f"CIFAR-10 file {path} has no {key!r} entry (keys: {sorted(map(str, batch))})")


def _images(data: Any, path: Path) -> np.ndarray:
    """``data`` as uint8 (N, 3, 32, 32); accepts integers 0..255 of shape (N, 3072) only."""
    try:
        array = np.asarray(data)
    except Exception as err:  # ragged lists and the like
        raise ValueError(f"CIFAR-10 file {path}: 'data' is not an array ({type(err).__name__}: {err})") from err
    if array.dtype.kind not in "ui":
        raise ValueError(f"CIFAR-10 file {path}: 'data' has dtype {array.dtype}, expected integer pixels 0..255 (uint8)")
    if array.ndim != 2 or array.shape[1] != IMAGE_BYTES:
        raise ValueError(f"CIFAR-10 file {path}: 'data' has shape {array.shape}, expected (N, {IMAGE_BYTES}) (3 × 32 × 32 images)")
    if array.size and (array.min() < 0 or array.max() > 255):
        raise ValueError(f"CIFAR-10 file {path}: 'data' holds values in {array.min()}..{array.max()}, outside 0..255")
    return array.astype(np.uint8).reshape(-1, 3, 32, 32)


def _labels(labels: Any, count: int, path: Path) -> np.ndarray:
    """``labels`` as int64 (N,); accepts a list (or 1-D array) of ``count`` integers 0..9 only."""
    try:
        array = np.asarray(labels)
    except Exception as err:
        raise ValueError(f"CIFAR-10 file {path}: 'labels' is not a list of integers ({type(err).__name__}: {err})") from err
    if array.ndim != 1 or (array.size and array.dtype.kind not in "ui"):
        raise ValueError(f"CIFAR-10 file {path}: 'labels' is not a flat list of integers (dtype {array.dtype}, shape {array.shape})")
    if len(array) != count:
        raise ValueError(f"CIFAR-10 file {path}: {len(array)} labels for {count} images")
    if array.size and (array.min() < 0 or array.max() >= NUM_CLASSES):
        raise ValueError(f"CIFAR-10 file {path}: labels in {array.min()}..{array.max()}, expected 0..{NUM_CLASSES - 1}")
    return array.astype(np.int64)


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images uint8 (N, 3, 32, 32) and labels int64 (N,) of one batch file, N = :data:`IMAGES_PER_FILE`.

    Accepts only a dict with ``data`` (integers 0..255, shape (N, 3072)) and ``labels`` (N
    integers 0..9), keys as str or bytes; other entries (``batch_label``, ``filenames``) are
    ignored. A missing file raises ``FileNotFoundError``, anything else ``ValueError``; both name the file.
    """
    if not path.is_file():
        raise FileNotFoundError(f"CIFAR-10 file missing: {path}")
    batch = _unpickle(path)
    if not isinstance(batch, dict):
        raise ValueError(f"CIFAR-10 file {path} holds a {type(batch).__name__}, expected a dict with 'data' and 'labels'")
    images = _images(_entry(batch, "data", path), path)
    if len(images) != IMAGES_PER_FILE:
        raise ValueError(f"CIFAR-10 file {path} holds {len(images)} images, expected {IMAGES_PER_FILE}")
    return images, _labels(_entry(batch, "labels", path), len(images), path)


def load_split(root: str | os.PathLike[str] | None, train: bool, download: bool = False) -> tuple[Tensor, Tensor]:
    """Images uint8 (N, 3, 32, 32) and labels int64 (N,) of one split, read from the validated pickles."""
    folder = _ensure(resolve_root(root), download)
    batches = [read_batch(folder / name) for name in (TRAIN_FILES if train else [TEST_FILE])]
    images, labels = zip(*batches)
    return torch.from_numpy(np.concatenate(images)), torch.from_numpy(np.concatenate(labels))
