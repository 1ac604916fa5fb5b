"""Trained weights for ``create_model(name, pretrained=...)``: safetensors files, never pickle.

``pretrained`` is one of

- ``True``: the published weights of ``name`` (the manifest entry called ``name``, else the only
  entry for that model);
- the name of an entry of the manifest (``phasecollapse/weights/manifest.json``, :func:`manifest`);
- a URL (``https://…``, ``file://…``): downloaded once by ``torch.hub.download_url_to_file`` into
  torch hub's cache (``<torch.hub.get_dir()>/checkpoints/phasecollapse``), its SHA-256 checked
  against the manifest entry of that file name or the URL's fragment ``#sha256=HEX``;
- a local file path.

A weights file (written by ``phasecollapse export-weights``, :mod:`phasecollapse.run.weights`)
holds the state dict a run evaluated (its EMA's where it kept one), floating tensors in fp32, and
the metadata ``format`` (:data:`FORMAT`), ``model`` (registry name under today's preset names)
and ``options`` (JSON of the model options that rebuild it). A manifest entry records the file,
its SHA-256, the model and options, the data set and test error, the recipe, the commit and the
commands that trained and exported it (:data:`ENTRY_KEYS`), and may give a ``url`` to download
the file from when the package does not ship it. A published file is checked against its
SHA-256 before it is read. Every failure is a :class:`WeightsError` naming the file and the problem.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import torch
from torch import Tensor, nn

#: The ``format`` of a weights file's metadata.
FORMAT = "phasecollapse-weights-v1"
#: The ``format`` of a manifest.
MANIFEST_FORMAT = "phasecollapse-weights-manifest-v1"
#: Keys every manifest entry has.
ENTRY_KEYS = ("file", "sha256", "bytes", "model", "options", "parameters", "dataset", "epoch", "test_top1_err", "test_top5_err", "config", "config_hash", "commit", "train_command", "export_command")
#: The published weights (package data): ``manifest.json``, the files it names, ``README.md``.
WEIGHTS_DIR = Path(str(resources.files("phasecollapse") / "weights"))
#: Where downloaded weights are cached (under torch hub's directory).
CACHE_SUBDIR = ("checkpoints", "phasecollapse")

Pretrained = bool | str | os.PathLike[str]


class WeightsError(ValueError):
    """A weights file or manifest entry is missing, corrupted, or does not fit the model."""


@dataclass(frozen=True)
class Weights:
    """The contents of a weights file: its path, model name, model options and state dict."""

    path: Path
    model: str
    options: dict[str, Any]
    state: dict[str, Tensor]

    def load_into(self, model: nn.Module) -> None:
        """``load_state_dict`` (strict), with an error naming the file and the keys that differ."""
        try:
            model.load_state_dict(self.state)
        except RuntimeError as err:
            detail = " ".join(line.strip() for line in str(err).splitlines() if line.strip())
            raise WeightsError(f"weights {self.path} do not fit model {self.model}: {detail}") from err


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def manifest(directory: str | os.PathLike[str] | None = None) -> dict[str, dict[str, Any]]:
    """The entries of ``directory/manifest.json`` (default :data:`WEIGHTS_DIR`) by name (an absent file: none)."""
    path = Path(directory if directory is not None else WEIGHTS_DIR) / "manifest.json"
    if not path.is_file():
        return {}
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise WeightsError(f"weights manifest {path} is not valid JSON: {err}") from err
    if not isinstance(raw, dict) or raw.get("format") != MANIFEST_FORMAT or not isinstance(raw.get("weights"), dict):
        raise WeightsError(f"{path} is not a weights manifest of format {MANIFEST_FORMAT!r}")
    for name, entry in raw["weights"].items():
        missing = [k for k in ENTRY_KEYS if k not in entry]
        if missing:
            raise WeightsError(f"weights manifest {path}: entry {name!r} lacks {missing}")
    return raw["weights"]


def weights_bytes(state: dict[str, Tensor], model: str, options: dict[str, Any]) -> bytes:
    """``state`` (floating tensors as fp32; copies, so that tied parameters are stored under each
    of their names) as safetensors bytes with the metadata of the module docstring."""
    from safetensors.torch import save

    tensors = {k: (v.detach().float() if v.is_floating_point() else v.detach()).cpu().contiguous().clone() for k, v in state.items()}
    return _sorted_metadata(save(tensors, metadata={"format": FORMAT, "model": model, "options": json.dumps(options, sort_keys=True)}))


def _sorted_metadata(data: bytes) -> bytes:
    """``data`` with its header's metadata in key order: safetensors writes the metadata in hash
    order, which varies from call to call, and the same weights must give the same SHA-256. The
    header (little-endian u64 length, then JSON padded with spaces) keeps its length."""
    length = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + length])
    header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
    text = json.dumps(header, separators=(",", ":")).encode().ljust(length)
    if len(text) != length:
        raise WeightsError(f"safetensors header of {length} bytes re-encoded to {len(text)}")
    return data[:8] + text + data[8 + length :]


def save_weights(path: str | os.PathLike[str], state: dict[str, Tensor], model: str, options: dict[str, Any]) -> None:
    """Write :func:`weights_bytes` to ``path``."""
    Path(path).write_bytes(weights_bytes(state, model, options))


def read_weights(path: str | os.PathLike[str]) -> Weights:
    """A weights file's model, options and state dict; WeightsError if unreadable or not ours."""
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file not found: {path}")
    try:
        with safe_open(str(path), "pt") as f:
            meta = f.metadata() or {}
        state = load_file(str(path))
    except (SafetensorError, OSError) as err:
        raise WeightsError(f"weights file {path} is not a readable safetensors file ({err})") from err
    if meta.get("format") != FORMAT or "model" not in meta or "options" not in meta:
        raise WeightsError(f"{path} is not a phasecollapse weights file of format {FORMAT!r} (metadata {meta})")
    return Weights(path, meta["model"], json.loads(meta["options"]), state)


def _entry(name: str, pretrained: bool | str, entries: dict[str, dict[str, Any]]) -> tuple[str, dict[str, Any]] | None:
    """The manifest entry ``pretrained`` names for model ``name`` (None: it names none)."""
    if pretrained is True:
        if name in entries:
            return name, entries[name]
        of_model = [n for n, e in entries.items() if e["model"] == name]
        if len(of_model) != 1:
            have = ", ".join(sorted(entries)) or "none yet"
            raise WeightsError(f"pretrained=True: {len(of_model)} published weights for {name}; name one of the manifest's entries ({have})")
        return of_model[0], entries[of_model[0]]
    return (pretrained, entries[pretrained]) if pretrained in entries else None


def _checked(path: Path, sha256: str) -> Path:
    actual = sha256_file(path)
    if actual != sha256:
        raise WeightsError(f"weights file {path}: SHA-256 {actual} does not match the expected {sha256} (corrupted or replaced)")
    return path


def _download(url: str, sha256: str | None, entries: dict[str, dict[str, Any]]) -> Path:
    """The file at ``url`` in torch hub's cache, downloaded if absent, its SHA-256 checked."""
    parts = urlsplit(url)
    filename = Path(parts.path).name
    if sha256 is None and parts.fragment.startswith("sha256="):
        sha256 = parts.fragment.removeprefix("sha256=").lower()
    if sha256 is None:
        sha256 = next((e["sha256"] for e in entries.values() if e["file"] == filename), None)
    if sha256 is None:
        raise WeightsError(f"weights URL {url}: no SHA-256 to check it against; append #sha256=HEX (the file's hex SHA-256)")
    cached = Path(torch.hub.get_dir()).joinpath(*CACHE_SUBDIR, filename)
    if not cached.is_file() or sha256_file(cached) != sha256:
        cached.parent.mkdir(parents=True, exist_ok=True)
        try:
            torch.hub.download_url_to_file(parts._replace(fragment="").geturl(), str(cached), hash_prefix=sha256, progress=False)
        except RuntimeError as err:  # the hash check of download_url_to_file (the file is removed)
            raise WeightsError(f"weights downloaded from {url}: {err}") from err
        except OSError as err:
            raise WeightsError(f"weights URL {url} could not be downloaded ({err})") from err
    return cached


def locate(name: str, pretrained: Pretrained, directory: str | os.PathLike[str] | None = None) -> Path:
    """The local weights file ``pretrained`` names for model ``name`` (see the module docstring;
    published weights: those of ``directory``, default :data:`WEIGHTS_DIR`), a published one
    checked against its SHA-256, a URL's downloaded."""
    directory = Path(directory if directory is not None else WEIGHTS_DIR)
    entries = manifest(directory)
    if isinstance(pretrained, (str, bool)):
        found = _entry(name, pretrained, entries)
        if found is not None:
            entry_name, entry = found
            if entry["model"] != name:
                raise WeightsError(f"published weights {entry_name!r} are for model {entry['model']}, not {name}")
            packaged = directory / entry["file"]
            if packaged.is_file():
                return _checked(packaged, entry["sha256"])
            if "url" not in entry:
                raise WeightsError(f"published weights {entry_name!r}: {packaged} is missing and the manifest gives no url")
            return _download(entry["url"], entry["sha256"], entries)
        if isinstance(pretrained, str) and urlsplit(pretrained).scheme in ("http", "https", "file"):
            return _download(pretrained, None, entries)
    if isinstance(pretrained, bool):
        raise WeightsError(f"pretrained must be True, a manifest entry, a file or a URL, got {pretrained!r}")
    path = Path(pretrained)
    if not path.is_file():
        have = ", ".join(sorted(entries)) or "none yet"
        raise WeightsError(f"pretrained={str(pretrained)!r} is neither a weights file, a URL nor a published entry (published: {have})")
    return path


def load_pretrained(name: str, pretrained: Pretrained, directory: str | os.PathLike[str] | None = None) -> Weights:
    """The weights ``pretrained`` names for model ``name``, checked to be that model's."""
    weights = read_weights(locate(name, pretrained, directory))
    if weights.model != name:
        raise WeightsError(f"weights {weights.path} are for model {weights.model}, not {name}")
    return weights
