"""Checkpoints: atomic writes, safe loads (``weights_only=True``), clear errors.

A checkpoint is a dict of tensors and plain values: ``model``, ``optimizer``, ``scheduler``
state dicts, ``epoch`` (epochs completed), ``best`` metrics, ``rng`` states and the
``config`` (as a dict), plus ``format`` = FORMAT.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from .config import Config, from_dict
from .experiment import build_model

FORMAT = "phasecollapse-checkpoint-v1"
REQUIRED = ("format", "model", "config", "epoch")


class CheckpointError(ValueError):
    """A checkpoint file is missing, corrupted, or does not fit the model."""


def save_atomic(obj: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """torch.save to a temporary file in the same directory, fsync, then rename over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load(path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a phasecollapse checkpoint with ``weights_only=True``; raise CheckpointError if unusable."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError, OSError) as err:
        raise CheckpointError(f"checkpoint {path} is corrupted or not a torch checkpoint: {err}") from err
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT or any(k not in ckpt for k in REQUIRED):
        raise CheckpointError(f"{path} is not a phasecollapse checkpoint (expected format {FORMAT!r} with keys {REQUIRED})")
    return ckpt


def load_model_state(model: torch.nn.Module, state: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """load_state_dict with an error that names the checkpoint when the shapes or keys differ."""
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise CheckpointError(f"checkpoint {path} does not match the model: {str(err).splitlines()[0]} …") from err


def load_trained(path: str | os.PathLike[str]) -> tuple[torch.nn.Module, Config]:
    """The model of a checkpoint with its weights (eval mode, CPU) and its config."""
    ckpt = load(path)
    config = from_dict(ckpt["config"])
    model = build_model(config)
    load_model_state(model, ckpt["model"], path)
    return model.eval(), config
