"""Experiment configuration: TOML files plus ``--set section.key=value``.

A config is a file path, or the name of a preset shipped in the package (``phasecollapse/configs``,
e.g. ``cifar10/lscat_skip`` or ``budget/textures``; :func:`resolve_config`). A file may name a base file with ``extends = "relative/path.toml"``; its tables are merged
key by key (the file wins). Every key is validated against the dataclasses below: an unknown
section or key, a value of the wrong type, or an out-of-range value raises ``ValueError``
naming it. ``model.options`` is passed to :func:`phasecollapse.create_model`, which checks it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any

#: The presets shipped with the package (package data ``phasecollapse/configs``): the paper's
#: recipes, the CPU budget ones, and the tables of ``reproduce``. A wheel installs them as files,
#: so ``extends`` (a path relative to the file) works inside them.
CONFIG_DIR = Path(str(resources.files("phasecollapse") / "configs"))

@dataclass
class ModelConfig:
    name: str = "lscat_skip_cifar10"
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class DataConfig:
    dataset: str = "cifar10"  # cifar10 | imagenet | textures
    root: str = ""  # cifar10: torchvision root (else $PHASECOLLAPSE_CIFAR10_DIR); imagenet: ImageFolder root
    download: bool = False
    train_subset: int = 0  # 0: every training image; n: the first n of a fixed shuffle
    test_subset: int = 0
    validation: int = 0  # n > 0: hold out n training images (stratified by class) as a validation set
    validation_seed: int = 0  # which n: a fixed draw per seed, the same for every train.seed
    batch_size: int = 128  # global batch, split across DDP ranks
    workers: int = 8  # ImageNet loader processes
    image_size: int = 224  # ImageNet crop
    texture_classes: int = 4  # textures: classes, samples per class (train, test)
    texture_train: int = 256
    texture_test: int = 128


@dataclass
class OptimConfig:
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 1e-4  # on every parameter (authors' main_block.py:722)
    epochs: int = 300
    schedule: str = "step"  # step | milestones | onecycle | cosine (see train.build_scheduler)
    step_size: int = 70  # step: lr × gamma every step_size epochs
    milestones: list[int] = field(default_factory=list)  # milestones: lr × gamma at these epochs
    gamma: float = 0.1
    warmup_epochs: float = 0.0  # onecycle / cosine: linear warm-up from lr/100 (fractions allowed)
    nesterov: bool = False
    label_smoothing: float = 0.0  # cross_entropy's label_smoothing, in [0, 1)
    ema_decay: float = 0.0  # 0: off; else evaluate an exponential moving average of the weights


@dataclass
class TrainConfig:
    seed: int = 0
    precision: str = "fp32"  # fp32 | bf16 (autocast)
    channels_last: bool = False
    compile: bool = False
    device: str = "auto"  # auto | cpu | cuda
    out_dir: str = "runs/default"
    progress: bool = True
    tensorboard: bool = True  # when the tensorboard package is installed


@dataclass
class Config:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


CHOICES = {("data", "dataset"): ("cifar10", "imagenet", "textures"), ("optim", "schedule"): ("step", "milestones", "onecycle", "cosine"), ("train", "precision"): ("fp32", "bf16"), ("train", "device"): ("auto", "cpu", "cuda")}
POSITIVE = {("data", "batch_size"), ("optim", "epochs"), ("optim", "step_size"), ("data", "image_size"), ("data", "texture_classes"), ("optim", "lr"), ("optim", "gamma"), ("data", "texture_train"), ("data", "texture_test")}
NON_NEGATIVE = {("data", "train_subset"), ("data", "test_subset"), ("data", "validation"), ("data", "validation_seed"), ("data", "workers"), ("optim", "weight_decay"), ("optim", "warmup_epochs"), ("train", "seed")}
UNIT_INTERVAL = {("optim", "label_smoothing"), ("optim", "ema_decay"), ("optim", "momentum")}  # [0, 1)


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in top.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def read_toml(path: str | Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """A config file as a dict, with its ``extends`` chain merged in."""
    path = Path(path).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    if path in _seen:
        raise ValueError(f"config files extend each other in a cycle: {' → '.join(map(str, (*_seen, path)))}")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"config file {path} is not valid TOML: {err}") from err
    base = data.pop("extends", None)
    if base is not None and not isinstance(base, str):
        raise ValueError(f"config file {path}: extends must be a relative path string, got {base!r}")
    return _merge(read_toml(path.parent / base, (*_seen, path)), data) if base else data


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text  # a bare string: --set train.out_dir=runs/x


def apply_override(raw: dict[str, Any], assignment: str) -> None:
    """Apply ``section.key=value`` (value in TOML syntax, or a bare string) to a raw config."""
    if "=" not in assignment:
        raise ValueError(f"override {assignment!r} must look like section.key=value")
    dotted, text = assignment.split("=", 1)
    keys = dotted.strip().split(".")
    if len(keys) < 2:
        raise ValueError(f"override key {dotted!r} must be section.key (e.g. optim.lr)")
    node = raw
    for k in keys[:-1]:
        node = node.setdefault(k, {})
        if not isinstance(node, dict):
            raise ValueError(f"override {dotted!r}: {k!r} is not a table")
    node[keys[-1]] = _parse_value(text.strip())


def _check_type(section: str, f: dataclasses.Field, value: Any) -> Any:
    kind = f.type if isinstance(f.type, str) else f.type.__name__
    name = f"{section}.{f.name}"
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"config key {name} must be true or false, got {value!r}")
    elif kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"config key {name} must be an integer, got {value!r}")
    elif kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"config key {name} must be a number, got {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"config key {name} must be a finite number, got {value!r}")
    elif kind == "str":
        if not isinstance(value, str):
            raise ValueError(f"config key {name} must be a string, got {value!r}")
    elif kind == "list[int]":
        if not isinstance(value, list) or any(isinstance(v, bool) or not isinstance(v, int) or v <= 0 for v in value):
            raise ValueError(f"config key {name} must be a list of positive integers, got {value!r}")
        if value != sorted(set(value)):
            raise ValueError(f"config key {name} must be strictly increasing, got {value!r}")
    elif not isinstance(value, dict):
        raise ValueError(f"config key {name} must be a table, got {value!r}")
    if (section, f.name) in CHOICES and value not in CHOICES[section, f.name]:
        raise ValueError(f"config key {name} must be one of {CHOICES[section, f.name]}, got {value!r}")
    if (section, f.name) in POSITIVE and value <= 0:
        raise ValueError(f"config key {name} must be positive, got {value!r}")
    if (section, f.name) in NON_NEGATIVE and value < 0:
        raise ValueError(f"config key {name} must be ≥ 0, got {value!r}")
    if (section, f.name) in UNIT_INTERVAL and not 0 <= value < 1:
        raise ValueError(f"config key {name} must be in [0, 1), got {value!r}")
    return value


def from_dict(raw: dict[str, Any]) -> Config:
    """Validate a raw dict into a :class:`Config`."""
    config = Config()
    sections = {f.name: f for f in fields(Config)}
    for section, table in raw.items():
        if section not in sections:
            raise ValueError(f"unknown config section [{section}]; sections: {sorted(sections)}")
        if not isinstance(table, dict):
            raise ValueError(f"config section [{section}] must be a table")
        target = getattr(config, section)
        known = {f.name: f for f in fields(target)}
        for key, value in table.items():
            if key not in known:
                raise ValueError(f"unknown config key {section}.{key}; valid keys in [{section}]: {sorted(known)}")
            setattr(target, key, _check_type(section, known[key], value))
    return config


#: Keys that do not change what a run computes (left out of :func:`config_hash`): where the
#: results go, how progress shows, where the data sit, and how and where the arithmetic runs
#: (compiled or not, on which device, in which precision: each run and each resumed stretch of
#: it records its machine and precision, and the tables show them beside its error).
UNHASHED = {("train", "out_dir"), ("train", "progress"), ("train", "tensorboard"), ("data", "root"), ("data", "workers"), ("train", "compile"), ("train", "device"), ("train", "precision")}
#: Left out of the hash only since 2026-11-26 (compile, device) and 2026-12-03 (precision): runs
#: recorded before still carry hashes with them.
_HASHED_BEFORE = {("train", "compile"), ("train", "device"), ("train", "precision")}
#: Keys added later, hashed only when set away from their default (so hashes recorded before stay valid).
_HASHED_WHEN_SET = {("data", "validation"): 0, ("data", "validation_seed"): 0}


def config_hash(config: Config, unhashed: set[tuple[str, str]] = UNHASHED) -> str:
    """SHA-256 (16 hex digits) of the resolved config, without the keys of ``unhashed`` (and
    those of ``_HASHED_WHEN_SET`` at their default)."""
    flat = {
        f"{s}.{k}": v
        for s, table in config.to_dict().items()
        for k, v in table.items()
        if (s, k) not in unhashed and not ((s, k) in _HASHED_WHEN_SET and v == _HASHED_WHEN_SET[s, k])
    }
    return hashlib.sha256(json.dumps(flat, sort_keys=True).encode()).hexdigest()[:16]


def config_hashes(config: Config) -> tuple[str, ...]:
    """The hashes that identify ``config`` in a results file: today's, and those recorded by runs
    made before ``train.compile``, ``train.device`` and ``train.precision`` left the hash (one per
    values they had; compile and device left it together, precision later)."""
    legacy = dict.fromkeys(
        config_hash(replace(config, train=replace(config.train, compile=compiled, device=device, precision=precision)), UNHASHED - hashed)
        for hashed in (_HASHED_BEFORE, {("train", "precision")})
        for compiled in (False, True)
        for device in CHOICES[("train", "device")]
        for precision in CHOICES[("train", "precision")]
    )
    return (config_hash(config), *legacy)


def list_presets() -> list[str]:
    """Names of the packaged presets (``budget/textures``, ``cifar10/lscat_skip``, ...), sorted;
    the tables of ``reproduce`` (``reproduce/``) are not configs and are left out."""
    return sorted(p.relative_to(CONFIG_DIR).with_suffix("").as_posix() for p in CONFIG_DIR.rglob("*.toml") if p.parent.name != "reproduce")


def resolve_config(name: str | Path) -> Path:
    """The config file ``name`` names: the file itself when it exists, else the packaged preset
    ``CONFIG_DIR/name`` (``.toml`` optional; a leading ``configs/``, as in command lines recorded
    before the presets moved into the package, is dropped)."""
    path = Path(name)
    if path.is_file():
        return path
    parts = path.with_suffix(".toml").parts
    preset = CONFIG_DIR.joinpath(*parts[1:] if parts[:1] == ("configs",) else parts)
    if not path.is_absolute() and preset.is_file():
        return preset
    raise FileNotFoundError(f"config file not found: {name} (neither a file nor a packaged preset; `phasecollapse presets` lists them)")


def load_config(path: str | Path | None, overrides: list[str] = ()) -> Config:  # type: ignore[assignment]
    """Read a config file or preset (:func:`resolve_config`; the defaults when ``path`` is None)
    and apply overrides."""
    raw = read_toml(resolve_config(path)) if path else {}
    for assignment in overrides:
        apply_override(raw, assignment)
    return from_dict(raw)
