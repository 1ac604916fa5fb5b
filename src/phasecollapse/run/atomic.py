"""Results files written whole or not at all.

Every results file (checkpoints, ``results.json``, analysis, bench and reproduce tables, demo
outputs) goes through :func:`write_files`: each file is written to a temporary file beside it
(``.NAME.PID.tmp``), flushed and fsynced; only when every file of the set is written are they
renamed over their paths. A kill leaves the previous files or the new ones; a failed write (a
full disk, a file-size limit) removes the temporaries, leaves the previous files as they were,
and raises :class:`WriteError` naming the file and the likely cause. JSON is written strictly
(:func:`json_file`: no NaN or infinity, which are not JSON).
"""

from __future__ import annotations

import errno
import json
import math
import os
import resource
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

#: Writes a file's contents to an open binary file.
Writer = Callable[[IO[bytes]], None]


class WriteError(OSError):
    """A results file could not be written; the message names it and the likely cause."""


def _cause(err: BaseException) -> str:
    """What a failed write most likely ran into, in words."""
    code = getattr(err, "errno", None)
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    if code == errno.EFBIG or (code is None and limit != resource.RLIM_INFINITY):
        return "file too large: " + ("the file system's largest file size was reached" if limit == resource.RLIM_INFINITY else f"the file-size limit (ulimit -f) is {limit:,} bytes")
    if code in (errno.ENOSPC, errno.EDQUOT):
        return "no space left: the disk is full (or the disk quota is reached)"
    if isinstance(err, OSError):
        return err.strerror or str(err)
    first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return f"{first} (likely cause: the disk is full or a file-size limit, ulimit -f, was reached)"


def write_files(files: Mapping[str | os.PathLike[str], Writer]) -> None:
    """Write every file (path → function writing its bytes) to a temporary beside it, then,
    all written, rename each over its path; on a failure remove the temporaries and raise
    :class:`WriteError` naming the file (the previous files stay as they were)."""
    temporaries: dict[Path, Path] = {}
    try:
        for target, write in files.items():
            path = Path(target)
            tmp = temporaries[path] = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            try:
                with tmp.open("wb") as f:
                    write(f)
                    f.flush()
                    os.fsync(f.fileno())
            except (OSError, RuntimeError) as err:  # RuntimeError: torch.save's writer ("unexpected pos …")
                raise WriteError(f"cannot write {path}: {_cause(err)}") from err
        for path, tmp in temporaries.items():
            try:
                os.replace(tmp, path)
            except OSError as err:
                raise WriteError(f"cannot write {path}: {_cause(err)}") from err
    finally:
        for tmp in temporaries.values():
            tmp.unlink(missing_ok=True)


def _non_finite(obj: Any, key: str = "") -> str | None:
    """The key (``a.b[2]``) of the first NaN or infinite number inside ``obj``, or None."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return f"{key or 'the value'} = {obj}"
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, (list, tuple)) else ()
    for k, v in items:
        found = _non_finite(v, f"{key}[{k}]" if isinstance(k, int) else f"{key}.{k}" if key else str(k))
        if found:
            return found
    return None


def json_file(obj: Any, path: str | os.PathLike[str]) -> Writer:
    """A writer of ``obj`` as indented JSON, serialised now: raise ValueError naming the first
    NaN or infinite value (not JSON) and the file it was meant for, before anything is written."""
    try:
        data = (json.dumps(obj, indent=2, allow_nan=False) + "\n").encode()
    except ValueError as err:
        found = _non_finite(obj)
        if found is None:
            raise
        raise ValueError(f"refusing to write {path}: {found} is not a finite number (JSON has no NaN or infinity)") from err
    return lambda f: f.write(data)


def text(content: str) -> Writer:
    """A writer of ``content`` as UTF-8."""
    return lambda f: f.write(content.encode())


def figure(fig: Any, dpi: int = 120) -> Writer:
    """A writer of a matplotlib figure as PNG."""
    return lambda f: fig.savefig(f, format="png", dpi=dpi)


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as strict JSON (:func:`json_file`), atomically."""
    write_files({path: json_file(obj, path)})


def write_text(path: str | os.PathLike[str], content: str) -> None:
    """Write ``content`` atomically."""
    write_files({path: text(content)})
