"""Packaging: dependency ranges against the lock, and the optional torchvision."""

import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from phasecollapse import data
from phasecollapse.data import cifar10
from phasecollapse.run import experiment

ROOT = Path(__file__).resolve().parents[1]


def _requirements() -> tuple[list[Requirement], list[Requirement]]:
    """(dependencies, optional ones) of pyproject.toml."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    optional = [Requirement(r) for extra in project["optional-dependencies"].values() for r in extra]
    return [Requirement(r) for r in project["dependencies"]], [r for r in optional if r.name != "phasecollapse"]


def test_dependencies_are_ranges_and_the_lock_pins_versions_inside_them() -> None:
    lock = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not an exact pin"
            lock[name.lower().replace("_", "-")] = version
    required, optional = _requirements()
    assert {"torch", "torchvision", "onnx", "onnxruntime", "pytest"} <= set(lock)
    for req in required + optional:
        assert not any(s.operator in ("==", "===") for s in req.specifier), f"pyproject.toml pins {req}; pins belong in constraints.txt"
        assert req.specifier, f"pyproject.toml: {req.name} has no version range"
        assert req.name in lock or req in optional, f"constraints.txt does not pin {req.name}"
        if req.name in lock:  # the extras outside dev (tensorboard) are not locked
            assert req.specifier.contains(lock[req.name]), f"constraints.txt pins {req.name}=={lock[req.name]}, outside {req}"


def test_torchvision_is_optional_and_its_absence_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torchvision", None)  # import torchvision now raises ModuleNotFoundError
    monkeypatch.setitem(sys.modules, "torchvision.datasets", None)
    monkeypatch.delitem(sys.modules, "phasecollapse.data.imagenet", raising=False)
    monkeypatch.delattr(data, "imagenet", raising=False)  # an earlier import left it on the package
    with pytest.raises(RuntimeError, match=r"ImageNet folders need torchvision .*pip install 'phasecollapse\[vision\]'"):
        experiment._imagenet()
    with pytest.raises(FileNotFoundError, match=r"downloading it needs torchvision .*pip install 'phasecollapse\[vision\]'"):
        cifar10.load_split(tmp_path, True, download=True)
