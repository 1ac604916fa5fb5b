"""Training and evaluation engine (torchvision ``references/classification`` style).

``fit(config)`` trains ``config.model`` on ``config.data`` with SGD and a step schedule
(docs/faithfulness.md, *Training recipes*), evaluates every epoch (top-1/top-5 error), logs metrics to
``out_dir/metrics.jsonl``, ``metrics.csv`` and TensorBoard (when installed), and writes
``last.pt`` / ``best.pt`` atomically. ``resume=True`` continues from ``last.pt`` exactly:
model, optimiser, scheduler, epoch, best metrics and RNG states are restored, and each epoch's
data order and augmentation come from generators seeded by (seed, epoch). A run holds its
out_dir for its whole length (an ``flock`` on ``out_dir/.lock``, :func:`claim_out_dir`): a
second run into it is refused at once. Every file other than the appended metrics is written
atomically (:mod:`.atomic`).

Under ``torchrun`` the model is wrapped in DDP (gloo on CPU, NCCL on CUDA); the global batch
is split across ranks (Std and BN use per-rank statistics, like the authors' DataParallel,
``main_block.py:701``); rank 0 logs and checkpoints; evaluation is sharded and summed over ranks.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import json
import math
import os
import shutil
import socket
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from ..layers.block import u_formula
from ..models.lscat import LScat
from ..models.registry import NAMING, full_options
from . import checkpoint, distributed
from .atomic import write_json, write_text
from .config import Config, apply_override, config_hash, from_dict
from .experiment import build_loaders, build_model, check_classes
from .provenance import environment

CSV_FIELDS = ["epoch", "lr", "train_loss", "train_top1_err", "val_loss", "val_top1_err", "test_loss", "test_top1_err", "test_top5_err", "train_images_per_s", "epoch_s"]


def autocast(config: Config, device: torch.device) -> contextlib.AbstractContextManager[Any]:
    """bf16 autocast on CPU or CUDA when ``train.precision = "bf16"``; a no-op for fp32."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=config.train.precision == "bf16")


def build_scheduler(optimizer: torch.optim.Optimizer, config: Config, steps_per_epoch: int) -> torch.optim.lr_scheduler.LRScheduler:
    """The lr schedule of ``optim.schedule``, stepped once per training batch.

    step: × gamma every ``step_size`` epochs (the paper's); milestones: × gamma at each epoch of
    ``milestones`` (He et al.'s ResNet-20 recipe); onecycle: linear warm-up over
    ``warmup_epochs`` from lr/100 to lr, then linear decay to 0 at the last step; cosine: the
    same warm-up, then cosine decay to 0.
    """
    o, lrs = config.optim, torch.optim.lr_scheduler
    total = o.epochs * steps_per_epoch
    if o.schedule == "step":
        return lrs.StepLR(optimizer, o.step_size * steps_per_epoch, o.gamma)
    if o.schedule == "milestones":
        return lrs.MultiStepLR(optimizer, [m * steps_per_epoch for m in o.milestones], o.gamma)
    warm = min(total - 1, round(o.warmup_epochs * steps_per_epoch))
    decay = lrs.LinearLR(optimizer, 1.0, 0.0, total - warm) if o.schedule == "onecycle" else lrs.CosineAnnealingLR(optimizer, total - warm)
    if warm == 0:
        return decay
    return lrs.SequentialLR(optimizer, [lrs.LinearLR(optimizer, 0.01, 1.0, warm), decay], [warm])


def build_ema(model: nn.Module, config: Config) -> torch.optim.swa_utils.AveragedModel | None:
    """An exponential moving average of the weights (``optim.ema_decay`` > 0), else None.

    Only the parameters are averaged; the buffers (the Std running statistics) follow the live
    model's (``use_buffers=False``: ``update_parameters`` copies them). Averaging the statistics too
    (``use_buffers=True``, as timm's EMA does) mixes the variances of weights from epochs ago,
    which differ by large factors early in training: on the 6-epoch recipe run (decay 0.999) the
    averaged weights tested at 66.9 % error with averaged statistics, 22.3 % with the live ones and
    24.0 % with statistics recomputed on 40 training batches (2,000 test images; the live weights:
    19.7 %).
    """
    if not config.optim.ema_decay:
        return None
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(config.optim.ema_decay), use_buffers=False)


def memory_format(config: Config) -> torch.memory_format:
    return torch.channels_last if config.train.channels_last else torch.contiguous_format


def place(model: nn.Module, config: Config, device: torch.device) -> nn.Module:
    """The model on ``device`` in the config's memory format (channels-last or not)."""
    return model.to(device=device, memory_format=memory_format(config))


def maybe_compile(net: nn.Module, config: Config) -> nn.Module:
    """``torch.compile(net, dynamic=False)`` when ``train.compile``, else net.

    Static shapes: the fused Std + P_j kernel stays eager (a graph break per LScat block), so
    dynamo compiles each block's frame once per shape; with automatic dynamic shapes its second
    shape recompiles symbolically, which on CUDA with torch 2.11 failed in guard creation
    (``IndexError`` in ``produce_guards``: 19 of 26 compiled LScat runs, 12 at a time on an H200,
    died after their first epoch).

    Every block of a network runs one code object (``LScatBlock.forward``, a ResNet's block) with
    its own shapes, so dynamo keeps one graph per block and per mode (training; evaluation, where
    Std reads its running statistics and the block inputs have another dtype under autocast):
    2 × 8 on CIFAR-10, past dynamo's default limit of 8 graphs per code object, after which
    evaluation ran eager. The limit is raised to :data:`RECOMPILE_LIMIT`."""
    if not config.train.compile:
        return net
    torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, RECOMPILE_LIMIT)
    return torch.compile(net, dynamic=False)


#: Graphs dynamo may keep per code object: two modes × the 11 blocks of the ImageNet LScat, with room.
RECOMPILE_LIMIT = 64


def train_step(
    net: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None,
    config: Config,
    ema: torch.optim.swa_utils.AveragedModel | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One SGD step on a batch (forward under the config's precision, backward, step, lr
    schedule, EMA); returns (loss, logits), not synchronised. ``phasecollapse bench`` times
    this same function."""
    with autocast(config, x.device):
        logits = net(x)
        loss = F.cross_entropy(logits.float(), y, label_smoothing=config.optim.label_smoothing)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    if scheduler is not None:
        scheduler.step()
    if ema is not None:
        ema.update_parameters(net)
    return loss, logits


def _batches(loader: Iterable[Any], ctx: distributed.Context, memory_format: torch.memory_format) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    for x, y in loader:
        yield x.to(ctx.device, non_blocking=True).contiguous(memory_format=memory_format), y.to(ctx.device, non_blocking=True)


def train_one_epoch(
    model: nn.Module,
    loader: Iterable[Any],
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    config: Config,
    ctx: distributed.Context,
    epoch: int,
    ema: torch.optim.swa_utils.AveragedModel | None = None,
) -> dict[str, float]:
    model.train()
    loss_sum = correct = count = 0.0
    show = ctx.is_main and config.train.progress and sys.stderr.isatty()  # a bar in a log file is noise: epoch lines only
    bar = tqdm(total=len(loader), desc=f"epoch {epoch + 1}/{config.optim.epochs}", unit="batch", disable=not show, dynamic_ncols=True, leave=False, mininterval=1.0)
    start = time.perf_counter()
    for step, (x, y) in enumerate(_batches(loader, ctx, memory_format(config))):
        loss, logits = train_step(model, x, y, optimizer, scheduler, config, ema)
        n = y.numel()
        value = loss.item()
        if not math.isfinite(value):
            raise NonFiniteLossError(f"the training loss is {value} at epoch {epoch + 1}, step {step + 1}: training stopped; the last good checkpoint is kept (last.pt of {config.train.out_dir}, epoch {epoch}); lower optim.lr or check the data")
        loss_sum += value * n
        correct += (logits.argmax(1) == y).sum().item()
        count += n
        bar.update(1)
        bar.set_postfix(loss=f"{loss_sum / count:.3f}", img_s=f"{count * ctx.world / (time.perf_counter() - start):.0f}")
    bar.close()
    elapsed = time.perf_counter() - start
    loss_sum, correct, count = distributed.all_sum([loss_sum, correct, count], ctx.device)
    return {"train_loss": loss_sum / count, "train_top1_err": 100 * (1 - correct / count), "train_images_per_s": count / elapsed}


@torch.no_grad()
def evaluate(model: nn.Module, loader: Iterable[Any], config: Config, ctx: distributed.Context, split: str = "test", flip: bool = False) -> dict[str, float]:
    """Loss and top-1 / top-5 error (%) over a whole (sharded) split, keyed ``{split}_loss``, ...:
    ``test`` (the test set) or ``val`` (the validation split held out of the training set).

    ``flip``: flip test-time augmentation, logits = ½ (f(x) + f(x flipped left–right))."""
    model.eval()
    loss_sum = top1 = top5 = count = 0.0
    for x, y in _batches(loader, ctx, memory_format(config)):
        with autocast(config, ctx.device):
            logits = model(x).float()
            if flip:
                logits = (logits + model(x.flip(-1)).float()) / 2
        loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
        top = logits.topk(min(5, logits.shape[1]), 1).indices
        top1 += (top[:, 0] == y).sum().item()
        top5 += (top == y[:, None]).any(1).sum().item()
        count += y.numel()
    loss_sum, top1, top5, count = distributed.all_sum([loss_sum, top1, top5, count], ctx.device)
    return {f"{split}_loss": loss_sum / count, f"{split}_top1_err": 100 * (1 - top1 / count), f"{split}_top5_err": 100 * (1 - top5 / count)}


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite."""


#: The files of a run in its out_dir (besides tensorboard/).
RUN_FILES = ("last.pt", "best.pt", "results.json", "metrics.csv", "metrics.jsonl", "config.json")

#: Config keys a ``--resume`` may change: they do not alter what is computed.
RESUME_MAY_CHANGE = {("train", "progress"), ("train", "compile"), ("train", "tensorboard"), ("train", "out_dir"), ("train", "device"), ("train", "precision"), ("data", "root"), ("data", "download"), ("data", "workers")}


#: The lock file of a run's out_dir (see :func:`claim_out_dir`).
LOCK = ".lock"


def prepare_out_dir(out_dir: Path, resume: bool, overwrite: bool) -> None:
    """Refuse to start a fresh run over an existing one (unless ``overwrite``, which deletes its
    files first) and a ``resume`` without a checkpoint."""
    present = [name for name in RUN_FILES if (out_dir / name).exists()]
    if resume and not (out_dir / "last.pt").exists():
        raise FileNotFoundError(f"--resume: no checkpoint to resume from in {out_dir} (last.pt is missing)")
    if present and not resume:
        if not overwrite:
            raise ValueError(f"{out_dir} already holds a run ({', '.join(present)}); continue it with --resume, or start over with --overwrite (deletes those files)")
        for name in present:
            (out_dir / name).unlink()
        shutil.rmtree(out_dir / "tensorboard", ignore_errors=True)


@contextlib.contextmanager
def claim_out_dir(out_dir: Path, resume: bool, overwrite: bool) -> Iterator[None]:
    """Hold ``out_dir`` for the run: create it, take an exclusive ``flock`` on ``out_dir/.lock``
    (which then names the holder's process and host) before looking at its files, then
    :func:`prepare_out_dir`. A second run into the folder is refused at once, naming the holder;
    the lock ends with its process, so the file a killed run leaves blocks nothing. A run that
    fails before writing a file removes the folders it created."""
    if resume and overwrite:
        raise ValueError(f"--resume and --overwrite exclude each other: --resume continues the run in {out_dir}, --overwrite deletes it")
    created = [p for p in (out_dir, *out_dir.parents) if not p.exists()]  # deepest first
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        lock = (out_dir / LOCK).open("a+")
    except OSError as err:
        raise ValueError(f"cannot write the run's files to {out_dir}: {err.strerror or err}") from err
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            raise ValueError(f"{out_dir} is in use by another run ({lock.read().strip() or 'a process starting'}); wait for it to end, or choose another train.out_dir") from None
        lock.truncate(0)
        lock.write(f"process {os.getpid()} on {socket.gethostname()}\n")
        lock.flush()
        try:
            prepare_out_dir(out_dir, resume, overwrite)
            yield
        except BaseException:
            if created and all(p.name == LOCK for p in out_dir.iterdir()):  # nothing written: leave no empty folder
                (out_dir / LOCK).unlink()
                for folder in created:
                    if any(folder.iterdir()):
                        break
                    folder.rmdir()
            raise


def _flatten(raw: dict[str, Any]) -> dict[tuple[str, str], Any]:
    return {(section, key): value for section, table in raw.items() for key, value in table.items()}


def check_resume(saved: Config, config: Config, epochs_done: int, has_results: bool) -> list[str]:
    """The changes a ``--resume`` applies, as lines; raise ValueError naming every change it
    refuses (anything that alters the computation of the epochs done or to come, except
    more epochs with a schedule that does not depend on their number; model options compare
    with their defaults filled in, so an option set to its default is no change). A run killed
    after its last checkpoint but before results.json (``has_results`` False) may resume to
    write it."""
    before, after = _flatten(saved.to_dict()), _flatten(config.to_dict())
    same_model = saved.model.name == config.model.name and full_options(saved.model.name, saved.model.options) == full_options(config.model.name, config.model.options)
    applied, refused = [], []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new or (key == ("model", "options") and same_model):
            continue
        change = f"{key[0]}.{key[1]}: {old!r} → {new!r}"
        if key in RESUME_MAY_CHANGE:
            applied.append(change)
        elif key == ("optim", "epochs") and config.optim.schedule in ("step", "milestones") and new > epochs_done:
            applied.append(change)
        else:
            refused.append(change)
    if refused:
        raise ValueError(f"--resume refuses to change {'; '.join(refused)} (the checkpoint was trained with the old values; start a new run in another out_dir, or --overwrite)")
    if config.optim.epochs < epochs_done or (config.optim.epochs == epochs_done and has_results):
        raise ValueError(f"--resume: the checkpoint has already completed {epochs_done} of optim.epochs = {config.optim.epochs}; nothing to train (results.json is left as it is)")
    return applied


def _rng_state() -> dict[str, Any]:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class MetricsLog:
    """Per-epoch rows to metrics.jsonl, metrics.csv and (optionally) TensorBoard; rank 0 only."""

    def __init__(self, out_dir: Path, tensorboard: bool, epochs_done: int = 0) -> None:
        self.jsonl, self.csv = out_dir / "metrics.jsonl", out_dir / "metrics.csv"
        self._truncate(epochs_done)
        if not self.csv.exists():
            with self.csv.open("w", newline="") as f:
                csv.DictWriter(f, CSV_FIELDS).writeheader()
        self.tb = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(str(out_dir / "tensorboard"))
            except ImportError:
                self.tb = None

    def _truncate(self, epochs_done: int) -> None:
        """Drop rows of epochs after ``epochs_done`` (written before a kill that lost their checkpoint)."""
        if self.jsonl.exists():
            rows = [line for line in self.jsonl.read_text().splitlines() if line.strip() and json.loads(line)["epoch"] <= epochs_done]
            write_text(self.jsonl, "".join(f"{line}\n" for line in rows))
        if self.csv.exists():
            with self.csv.open(newline="") as f:
                kept = [r for r in csv.DictReader(f) if int(r["epoch"]) <= epochs_done]
            table = io.StringIO(newline="")
            writer = csv.DictWriter(table, CSV_FIELDS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(kept)
            write_text(self.csv, table.getvalue())

    def write(self, row: dict[str, float]) -> None:
        with self.jsonl.open("a") as f:
            f.write(json.dumps(row) + "\n")
        with self.csv.open("a", newline="") as f:
            csv.DictWriter(f, CSV_FIELDS, extrasaction="ignore").writerow(row)
        if self.tb is not None:
            for k, v in row.items():
                if k != "epoch":
                    self.tb.add_scalar(k, v, int(row["epoch"]))
            self.tb.flush()


def fit(config: Config, resume: bool = False, overwrite: bool = False) -> dict[str, Any]:
    """Train (or resume) the configured experiment; returns the summary written to results.json.

    A fresh run refuses an out_dir that holds a run unless ``overwrite``, and any run refuses an
    out_dir another run is using; ``resume`` (never with ``overwrite``) continues from its
    last.pt and refuses changed options that would alter the computation."""
    ctx = distributed.setup(config.train.device)
    try:
        with claim_out_dir(Path(config.train.out_dir), resume, overwrite) if ctx.is_main else contextlib.nullcontext():  # rank 0 holds the folder
            return _fit(config, ctx, resume)
    finally:
        distributed.teardown()


def _fit(config: Config, ctx: distributed.Context, resume: bool) -> dict[str, Any]:
    provenance = environment()  # at the start: the code that runs, not the tree at the end
    out_dir = Path(config.train.out_dir)
    if ctx.is_main and config.train.precision == "bf16" and ctx.device.type == "cpu" and not provenance["cpu_bf16"]:
        print(f"warning: train.precision = 'bf16' on a CPU without native bf16 ({provenance['cpu']}, {provenance['cpu_capability']}): its matrix products are emulated, about 100× slower than fp32; train.precision = 'fp32' trains far faster here (the same run: precision is outside the config hash, and recorded with each stretch of epochs)", file=sys.stderr)
    torch.manual_seed(config.train.seed)
    model = build_model(config)
    check_classes(model, config)
    model = place(model, config, ctx.device)
    o = config.optim
    optimizer = torch.optim.SGD(model.parameters(), lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay, nesterov=o.nesterov)
    train_loader, val_loader, test_loader = build_loaders(config, ctx)
    scheduler = build_scheduler(optimizer, config, len(train_loader))
    ema = build_ema(model, config)
    # best.pt: the epoch of lowest validation error when a validation split is held out, else of
    # lowest test error (then a convenience, not a choice: the tables report the final epoch).
    chosen_on = "val_top1_err" if val_loader is not None else "test_top1_err"
    start_epoch, best, wall_before = 0, {"test_top1_err": math.inf, "test_top5_err": math.inf, "epoch": 0}, 0.0
    if val_loader is not None:
        best["val_top1_err"] = math.inf
    # Where each stretch of epochs ran: a run resumed on another machine says so in its results.
    segments: list[dict[str, Any]] = [{"from_epoch": 1, "environment": provenance, "precision": config.train.precision}]
    if resume:
        path = out_dir / "last.pt"
        ckpt = checkpoint.load(path, ctx.device)
        for key in ("optimizer", "scheduler", "best", "rng", *(() if ema is None else ("ema",))):
            if key not in ckpt:
                raise checkpoint.CheckpointError(f"{path} has no {key} state: it can be evaluated or analysed, not resumed")
        saved = checkpoint.stored_config(ckpt, path)
        for change in check_resume(saved, config, ckpt["epoch"], (out_dir / "results.json").exists()):
            print(f"--resume: applying {change}", file=sys.stderr)
        checkpoint.load_model_state(model, ckpt["model"], path)
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        if ema is not None:
            ema.load_state_dict(ckpt["ema"])
        start_epoch, best, wall_before = ckpt["epoch"], ckpt["best"], ckpt.get("wall_s", 0.0)
        earlier = ckpt.get("segments", [{"from_epoch": 1, "environment": None}])  # None: not recorded (older checkpoint)
        # Stretches recorded before precision could change on resume ran at the saved config's.
        earlier = [{"precision": saved.train.precision, **segment} for segment in earlier]
        segments = [*earlier, {"from_epoch": start_epoch + 1, "environment": provenance, "precision": config.train.precision}]
        _set_rng_state(ckpt["rng"])
    net: nn.Module = model
    if ctx.world > 1:
        net = nn.parallel.DistributedDataParallel(model, device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None)
    net = maybe_compile(net, config)
    log = None
    if ctx.is_main:
        write_json(out_dir / "config.json", config.to_dict())
        log = MetricsLog(out_dir, config.train.tensorboard, start_epoch)
    t0 = time.perf_counter()
    last_row: dict[str, float] = ckpt["metrics"] if resume else {}
    evaluated = net if ema is None else ema
    for epoch in range(start_epoch, o.epochs):
        for loader in (train_loader, val_loader, test_loader):
            if hasattr(loader, "set_epoch"):
                loader.set_epoch(epoch)
            elif hasattr(getattr(loader, "sampler", None), "set_epoch"):
                loader.sampler.set_epoch(epoch)
        e0 = time.perf_counter()
        lr = optimizer.param_groups[0]["lr"]
        row: dict[str, float] = {"epoch": epoch + 1, "lr": lr, **train_one_epoch(net, train_loader, optimizer, scheduler, config, ctx, epoch, ema)}
        if val_loader is not None:
            row.update({k: v for k, v in evaluate(evaluated, val_loader, config, ctx, "val").items() if k != "val_top5_err"})
        row.update(evaluate(evaluated, test_loader, config, ctx))
        row["epoch_s"] = time.perf_counter() - e0
        last_row = row
        improved = row[chosen_on] <= best[chosen_on]
        for k in best.keys() - {"epoch"}:
            best[k] = min(best[k], row[k])
        if improved:
            best["epoch"] = epoch + 1
        if ctx.is_main:
            assert log is not None
            log.write(row)  # before the checkpoints: a kill in between leaves a row that --resume drops
            tqdm.write(
                f"epoch {epoch + 1}: train loss {row['train_loss']:.3f} err {row['train_top1_err']:.2f}% | "
                + (f"val err {row['val_top1_err']:.2f}% | " if "val_top1_err" in row else "")
                + f"test err {row['test_top1_err']:.2f}% (top-5 {row['test_top5_err']:.2f}%) | {row['train_images_per_s']:.0f} img/s"
            )
            state = {
                "format": checkpoint.FORMAT,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                **({} if ema is None else {"ema": ema.state_dict()}),
                "epoch": epoch + 1,
                "best": best,
                "rng": _rng_state(),
                "config": config.to_dict(),
                "metrics": row,
                "wall_s": wall_before + time.perf_counter() - t0,
                "segments": segments,
            }
            if improved:  # best.pt first: a kill before last.pt is written makes --resume redo this epoch
                checkpoint.save_atomic(state, out_dir / "best.pt")
            checkpoint.save_atomic(state, out_dir / "last.pt")
    # Reported beside the final test error, never instead of it (the tables' headline is without).
    flip_tta = evaluate(evaluated, test_loader, config, ctx, flip=True)
    summary = {
        "model": config.model.name,
        "model_naming": NAMING,  # the preset names' version: lscat_skip_* = U = [Wx, ρ(Wx)]
        **({"u": u_formula(model.blocks[0].skip)} if isinstance(model, LScat) else {}),
        "options": config.model.options,
        "config_hash": config_hash(config),
        "epochs_completed": o.epochs,
        "best_top1_err": best["test_top1_err"],
        "best_top5_err": best["test_top5_err"],
        "best_epoch": best["epoch"],
        **({"validation": {"images": config.data.validation, "seed": config.data.validation_seed, "stratified": True}, "best_val_top1_err": best["val_top1_err"]} if val_loader is not None else {}),
        "final": last_row,
        "final_flip_tta": flip_tta,
        "wall_s": wall_before + time.perf_counter() - t0,
        "world_size": ctx.world,
        "rank_weight_max_abs_diff": distributed.weight_divergence(model),
        "environment": provenance,
        "segments": segments,
    }
    if ctx.is_main:
        write_json(out_dir / "results.json", summary)
    return summary


def note_unused_root(data_root: str | None, dataset: str) -> None:
    """Say on stderr that a data root given for the textures data set is unused (they are generated)."""
    if data_root and dataset == "textures":
        print(f"note: the data folder {data_root} is unused: the textures data set is generated, not read", file=sys.stderr)


def evaluate_checkpoint(path: str | Path, data_root: str | None = None, overrides: Iterable[str] = (), flip: bool = False) -> dict[str, float]:
    """Evaluate a checkpoint's model on its test set (:func:`evaluate_trained`)."""
    return evaluate_trained(*checkpoint.load_trained(path), data_root, overrides, flip)


def evaluate_trained(model: nn.Module, config: Config, data_root: str | None = None, overrides: Iterable[str] = (), flip: bool = False) -> dict[str, float]:
    """Evaluate a trained ``model`` on the test set of its ``config`` (``data_root`` / overrides
    adjust the data; ``flip``: with flip test-time augmentation, see :func:`evaluate`)."""
    note_unused_root(data_root, config.data.dataset)
    raw = config.to_dict()
    if data_root:
        raw["data"]["root"] = data_root
    for assignment in overrides:
        if assignment.split("=", 1)[0].strip().split(".")[0] == "model":
            raise ValueError(f"eval evaluates the checkpoint's own model; {assignment!r} cannot change it")
        apply_override(raw, assignment)
    config = from_dict(raw)
    ctx = distributed.setup(config.train.device)
    try:
        _, _, test = build_loaders(config, ctx)
        return evaluate(model.to(ctx.device), test, config, ctx, flip=flip)
    finally:
        distributed.teardown()
