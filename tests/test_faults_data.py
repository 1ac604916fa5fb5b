"""Data loading refuses what it cannot use, and says which file: CIFAR-10 pickles are read
without running code and validated; ImageNet splits must agree on their classes and a corrupt
image is named (issue "Nothing lost, nothing silent", items 4, 5, 6 and 10)."""

from __future__ import annotations

import os
import pickle
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from phasecollapse.data import cifar10, imagenet

#: Images per fake batch file (the expected count is patched to it; the real one is 10000).
N = 8
#: Pickle protocol of the fakes: python 3 writes numpy arrays as the official files do (array
#: reconstruction only) at 3 and 4, while 2 adds ``_codecs.encode`` and 5 ``_frombuffer``.
PROTOCOL = 4


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake batch files of N images count as complete."""
    monkeypatch.setattr(cifar10, "IMAGES_PER_FILE", N, raising=False)  # raising=False: the old loader had no count


def batch(n: int = N, image_bytes: int = 3 * 32 * 32, labels: list[int] | None = None) -> dict[str, Any]:
    """A batch dict shaped like the official ones (python 2 pickles read with latin1: str keys)."""
    rng = np.random.default_rng(n)
    data = rng.integers(0, 256, (n, image_bytes), dtype=np.uint8)
    return {"batch_label": "training batch 1 of 5", "labels": labels if labels is not None else [i % 10 for i in range(n)], "data": data}


def write_root(root: Path, entries: dict[str, Any] | None = None, raw: dict[str, bytes] | None = None) -> Path:
    """A CIFAR-10 root whose six batch files are valid fakes, except ``entries`` (objects to
    pickle) and ``raw`` (bytes written as they are) by file name."""
    folder = root / cifar10.FOLDER
    folder.mkdir(parents=True)
    for name in [*cifar10.TRAIN_FILES, "test_batch"]:
        content = (raw or {}).get(name)
        if content is None:
            content = pickle.dumps((entries or {}).get(name, batch()), protocol=PROTOCOL)
        (folder / name).write_bytes(content)
    return root


def refused(root: Path, name: str, train: bool, match: str) -> None:
    """Loading the split raises ValueError naming ``root/.../name`` and matching ``match``."""
    with pytest.raises(ValueError) as info:
        cifar10.load_split(root, train)
    message = str(info.value)
    assert str(root / cifar10.FOLDER / name) in message, message
    assert re.search(match, message), message


class SystemCall:
    """Unpickling it calls ``os.system(command)``."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return os.system, (self.command,)


def test_malicious_pickle_is_refused_without_running_its_code(tmp_path: Path, small_batches: None) -> None:
    marker = tmp_path / "pwned"
    evil = batch()
    evil["labels"] = SystemCall(f"touch {marker}")
    root = write_root(tmp_path / "data", {"test_batch": evil})
    with pytest.raises(ValueError) as info:
        cifar10.load_split(root, False)
    assert not marker.exists(), "the pickle's payload ran"
    assert str(root / cifar10.FOLDER / "test_batch") in str(info.value), info.value
    assert re.search(r"refused global (posix|os|nt)\.system", str(info.value)), info.value


@pytest.mark.parametrize(
    "content",
    [pickle.dumps(batch(), protocol=PROTOCOL)[:500], b"", bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8))],
    ids=["truncated", "empty", "random-bytes"],
)
def test_unreadable_batch_file_is_named(tmp_path: Path, small_batches: None, content: bytes) -> None:
    root = write_root(tmp_path, raw={"data_batch_3": content})
    refused(root, "data_batch_3", True, "not a valid batch pickle")


@pytest.mark.parametrize(
    ("entry", "match"),
    [([1, 2, 3], "holds a list"), ({"data": batch()["data"]}, "no 'labels' entry"), ({"labels": [0] * N}, "no 'data' entry")],
    ids=["not-a-dict", "no-labels", "no-data"],
)
def test_batch_without_data_and_labels_is_refused(tmp_path: Path, small_batches: None, entry: Any, match: str) -> None:
    root = write_root(tmp_path, {"test_batch": entry})
    refused(root, "test_batch", False, match)


def test_bytes_keys_are_accepted(tmp_path: Path, small_batches: None) -> None:
    entry = {k.encode(): v for k, v in batch().items()}
    x, y = cifar10.load_split(write_root(tmp_path, {"test_batch": entry}), False)
    assert torch.equal(x.reshape(N, -1), torch.from_numpy(entry[b"data"])) and y.tolist() == entry[b"labels"]


def test_wrong_image_size_is_refused_not_recut(tmp_path: Path, small_batches: None) -> None:
    # 4·N images of 16 × 16 have as many bytes as N images of 32 × 32: the old loader re-cut them.
    root = write_root(tmp_path, {"test_batch": batch(4 * N, 3 * 16 * 16, labels=[0] * (4 * N))})
    refused(root, "test_batch", False, r"shape \(32, 768\), expected \(N, 3072\)")


@pytest.mark.parametrize(
    ("data", "match"),
    [(np.full((N, 3072), 0.5), "dtype float64"), (np.full((N, 3072), 256, dtype=np.int64), r"outside 0\.\.255")],
    ids=["float", "out-of-range"],
)
def test_pixels_not_uint8_are_refused(tmp_path: Path, small_batches: None, data: np.ndarray, match: str) -> None:
    entry = batch()
    entry["data"] = data
    refused(write_root(tmp_path, {"test_batch": entry}), "test_batch", False, match)


def test_labels_outside_0_to_9_are_refused(tmp_path: Path, small_batches: None) -> None:
    root = write_root(tmp_path, {"data_batch_5": batch(labels=[0] * (N - 1) + [10])})
    refused(root, "data_batch_5", True, r"labels in 0\.\.10, expected 0\.\.9")


def test_label_count_must_match_image_count(tmp_path: Path, small_batches: None) -> None:
    root = write_root(tmp_path, {"test_batch": batch(labels=[0] * (N - 1))})
    refused(root, "test_batch", False, f"{N - 1} labels for {N} images")


def test_batch_with_wrong_image_count_is_refused(tmp_path: Path, small_batches: None) -> None:
    root = write_root(tmp_path, {"data_batch_2": batch(N - 1)})
    refused(root, "data_batch_2", True, f"holds {N - 1} images, expected {N}")


def test_official_count_is_10000_per_file(tmp_path: Path) -> None:
    # Without the patched count, a small (otherwise valid) batch is short of the official 10000.
    refused(write_root(tmp_path), "test_batch", False, f"holds {N} images, expected 10000")


def test_missing_batch_file_is_named(tmp_path: Path, small_batches: None) -> None:
    root = write_root(tmp_path)
    (root / cifar10.FOLDER / "data_batch_4").unlink()
    with pytest.raises(FileNotFoundError, match="data_batch_4"):
        cifar10.load_split(root, True)


def test_valid_fake_batches_load(tmp_path: Path, small_batches: None) -> None:
    x, y = cifar10.load_split(write_root(tmp_path), True)
    assert x.shape == (5 * N, 3, 32, 32) and x.dtype == torch.uint8 and y.dtype == torch.int64
    assert torch.equal(x[:N].reshape(N, -1), torch.from_numpy(batch()["data"]))


def test_real_cifar10_loads_through_the_restricted_unpickler(cifar10_dir: Path) -> None:
    x, y = cifar10.load_split(cifar10_dir, train=True)
    assert x.shape == (50000, 3, 32, 32) and x.dtype == torch.uint8
    assert torch.bincount(y).tolist() == [5000] * 10


def image_root(root: Path, train: list[str], val: list[str]) -> Path:
    """An ImageFolder root with one small image per class folder of each split."""
    for split, names in (("train", train), ("val", val)):
        for name in names:
            (root / split / name).mkdir(parents=True)
            Image.new("RGB", (8, 8), (40, 80, 120)).save(root / split / name / "img.png")
    return root


def test_imagenet_val_missing_a_class_is_refused(tmp_path: Path) -> None:
    root = image_root(tmp_path, ["n01", "n02", "n03"], ["n01", "n03", "n04"])
    for train in (True, False):
        with pytest.raises(ValueError, match=r"1 missing from val/: n02; 1 extra in val/: n04"):
            imagenet.image_folder(root, train, size=8)
    with pytest.raises(ValueError, match="n02"):
        imagenet.num_classes(root)


def test_imagenet_class_count_is_exposed(tmp_path: Path) -> None:
    root = image_root(tmp_path, ["n01", "n02", "n03"], ["n01", "n02", "n03"])
    assert imagenet.num_classes(root) == 3
    assert imagenet.loader(root, False, batch_size=2, workers=0, size=8).dataset.classes == ["n01", "n02", "n03"]


def test_corrupt_imagenet_image_is_named(tmp_path: Path) -> None:
    root = image_root(tmp_path, ["n01", "n02"], ["n01", "n02"])
    bad = root / "val" / "n02" / "img.png"
    bad.write_bytes(bad.read_bytes()[:40])
    data = imagenet.image_folder(root, train=False, size=8)
    assert data[0][1] == 0  # the intact image still loads
    with pytest.raises(ValueError, match=f"corrupt image file {re.escape(str(bad))}"):
        data[1]
