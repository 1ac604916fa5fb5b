"""A benchmark's record: ``STEM.json`` (the numbers, with the machine and wall time) and
``STEM.md`` (its table), written together (:func:`~phasecollapse.run.atomic.write_files`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..run.atomic import json_file, text, write_files


def write_record(stem: Path, record: dict[str, Any], lines: list[str]) -> None:
    """Write ``record`` to ``STEM.json`` and ``lines`` to ``STEM.md``, creating the folder."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    json_path, md_path = (stem.parent / f"{stem.name}{suffix}" for suffix in (".json", ".md"))  # not with_suffix: a stem may hold a dot (_w0.25)
    write_files({json_path: json_file(record, json_path), md_path: text("\n".join(lines) + "\n")})
