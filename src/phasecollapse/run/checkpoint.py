"""Checkpoints: atomic writes, safe loads (``weights_only=True``), checksums, clear errors.

A checkpoint is a dict of tensors and plain values: ``model``, ``optimizer``, ``scheduler``
state dicts, ``epoch`` (epochs completed), ``best`` metrics, ``rng`` states and the
``config`` (as a dict), plus ``format`` = FORMAT and ``checksum``: the SHA-256 of every other
entry (keys, tensor dtypes, shapes and bytes, plain values), verified on load, so a bit flip
inside a well-formed file is refused.

Format v3 names its model with the poster's preset names (``lscat_skip_*``: U = [Wx, ρ(Wx)]);
v2 with run.py's, the other way round. :func:`load` accepts both and returns the config under
today's names (:func:`~phasecollapse.models.registry.migrate_name`): the format decides, never
the bare name.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import torch

from ..models.registry import NAMING, create_model, migrate_name
from .atomic import write_files
from .config import Config, from_dict
from .experiment import build_model

FORMAT = "phasecollapse-checkpoint-v3"
#: Formats :func:`load` reads, with the model naming of each (v2: run.py's preset names).
NAMING_OF_FORMAT = {"phasecollapse-checkpoint-v2": 1, FORMAT: NAMING}
REQUIRED = ("format", "model", "config", "epoch", "checksum")


class CheckpointError(ValueError):
    """A checkpoint file is missing, corrupted, or does not fit the model."""


def _digest(obj: Any, h: "hashlib._Hash") -> None:
    if isinstance(obj, torch.Tensor):
        t = obj.detach().cpu().contiguous()
        h.update(f"T{t.dtype}{tuple(t.shape)}".encode())
        h.update(t.view(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    elif isinstance(obj, dict):
        h.update(b"{")
        for k in sorted(obj, key=repr):
            h.update(repr(k).encode())
            _digest(obj[k], h)
        h.update(b"}")
    elif isinstance(obj, (list, tuple)):
        h.update(b"[")
        for v in obj:
            _digest(v, h)
        h.update(b"]")
    else:
        h.update(repr(obj).encode())


def checksum(state: dict[str, Any]) -> str:
    """SHA-256 of a checkpoint's entries other than ``checksum``."""
    h = hashlib.sha256()
    _digest({k: v for k, v in state.items() if k != "checksum"}, h)
    return h.hexdigest()


def save_atomic(obj: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """Add the checksum and torch.save through :func:`~phasecollapse.run.atomic.write_files`
    (temporary file in the same directory, fsync, rename: a kill at any point leaves the
    previous file or the new one; a failed write removes the temporary and raises
    :class:`~phasecollapse.run.atomic.WriteError` naming the file and the likely cause)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    obj = {**obj, "checksum": checksum(obj)}
    write_files({path: lambda f: torch.save(obj, f)})


def load(path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a phasecollapse checkpoint with ``weights_only=True``; raise CheckpointError if unusable."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # any failure of the (code-free) unpickler means a bad file
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"checkpoint {path} is corrupted or not a torch checkpoint ({type(err).__name__}: {first})") from err
    found = ckpt.get("format") if isinstance(ckpt, dict) else type(ckpt).__name__
    if isinstance(found, str) and found.startswith("phasecollapse-checkpoint-v") and found not in NAMING_OF_FORMAT:
        number = found.rsplit("-v", 1)[1]
        age = "an older" if number.isdigit() and int(number) < int(FORMAT.rsplit("-v", 1)[1]) else "another"
        raise CheckpointError(f"{path} is a phasecollapse checkpoint of {age} format ({found!r}); this version reads {', '.join(map(repr, NAMING_OF_FORMAT))}: use it with the version that wrote it, or retrain")
    if not isinstance(ckpt, dict) or found not in NAMING_OF_FORMAT:
        raise CheckpointError(f"{path} is not a phasecollapse checkpoint of format {FORMAT!r} with keys {REQUIRED} (found format {found!r})")
    missing = [k for k in REQUIRED if k not in ckpt]
    if missing:
        raise CheckpointError(f"checkpoint {path} lacks {', '.join(missing)}: it is incomplete or was not written by phasecollapse")
    if ckpt["checksum"] != checksum(ckpt):
        raise CheckpointError(f"checkpoint {path} is corrupted: its checksum does not match its contents")
    return {**ckpt, "config": migrate_config(ckpt["config"], NAMING_OF_FORMAT[ckpt["format"]])}


def migrate_config(raw: dict[str, Any], naming: int) -> dict[str, Any]:
    """A stored config (dict) with its model named under today's preset names."""
    model = raw.get("model")
    if not isinstance(model, dict) or not isinstance(model.get("name"), str):
        return raw
    return {**raw, "model": {**model, "name": migrate_name(model["name"], naming)}}


def load_model_state(model: torch.nn.Module, state: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """load_state_dict with an error that names the checkpoint when the shapes or keys differ."""
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        detail = " ".join(line.strip() for line in str(err).splitlines() if line.strip())
        raise CheckpointError(f"checkpoint {path} does not match the model: {detail}") from err


def evaluated_state(ckpt: dict[str, Any]) -> dict[str, Any]:
    """The weights a run evaluated and reported: its EMA's where it kept one (``optim.ema_decay``
    > 0; the ``AveragedModel`` state without its ``module.`` prefix and counter), else the model's."""
    if "ema" not in ckpt:
        return ckpt["model"]
    return {k.removeprefix("module."): v for k, v in ckpt["ema"].items() if k.startswith("module.")}


def stored_config(ckpt: dict[str, Any], path: str | os.PathLike[str]) -> Config:
    """The config a checkpoint stores; a key or value this version refuses is named as the
    checkpoint's, not as an option given now."""
    try:
        return from_dict(ckpt["config"])
    except ValueError as err:
        raise CheckpointError(f"the config stored in checkpoint {path} is not valid for this version: {err}") from err


def check_finite(state: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """Raise CheckpointError naming the first weight or buffer holding NaN or infinite values."""
    for name, t in state.items():
        if isinstance(t, torch.Tensor) and (t.is_floating_point() or t.is_complex()) and not bool(torch.isfinite(t).all()):
            bad = int((~torch.isfinite(t)).sum())
            raise CheckpointError(f"checkpoint {path}: {name} holds {bad} NaN or infinite values of {t.numel()} (the run diverged?); nothing is evaluated or analysed with it")


def load_trained(path: str | os.PathLike[str]) -> tuple[torch.nn.Module, Config]:
    """The model of a checkpoint with the weights its run evaluated (:func:`evaluated_state`; eval
    mode, CPU) and its config; refuses non-finite weights or buffers (:func:`check_finite`).

    ``path`` may also name published weights (an entry of the package's manifest,
    :mod:`phasecollapse.models.pretrained`) where no such file exists: their model and the recipe
    the manifest records (its data read from ``$PHASECOLLAPSE_CIFAR10_DIR`` or torchvision's path)."""
    from ..models.pretrained import manifest

    if not Path(path).exists():
        entries = manifest()
        if str(path) not in entries:
            raise CheckpointError(f"checkpoint not found: {path}, nor published weights of that name (published: {', '.join(sorted(entries)) or 'none'})")
        entry = entries[str(path)]
        model = create_model(entry["model"], pretrained=str(path), **entry["options"])
        check_finite(model.state_dict(), Path(entry["file"]))
        return model.eval(), from_dict(entry["config"])
    ckpt = load(path)
    config = stored_config(ckpt, path)
    model = build_model(config)
    state = evaluated_state(ckpt)
    check_finite(state, path)
    load_model_state(model, state, path)
    return model.eval(), config
