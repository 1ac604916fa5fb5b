"""Sphinx extension: what the commands generated, rendered into the site when the build starts.

- ``results/reproduce/TABLE.json`` → ``docs/_generated/TABLE.md`` (the Markdown
  ``phasecollapse reproduce`` writes, from the same renderer: :mod:`phasecollapse.run.render`)
  and the table's figure;
- the figures of ``results/analysis/`` next to them.

Docstrings use ``|z|`` for moduli, which reStructuredText would read as substitutions: the
``autodoc-process-docstring`` hook escapes the bars.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from phasecollapse.run.render import markdown
from phasecollapse.run.reproduce import tables

ROOT = Path(__file__).resolve().parents[2]


def render(app: Any) -> None:
    out = Path(app.srcdir) / "_generated"
    out.mkdir(exist_ok=True)
    for table in tables():
        record = ROOT / "results" / "reproduce" / f"{table}.json"
        if not record.exists():  # a table none of whose runs has finished yet
            (out / f"{table}.md").write_text(f"# {table}\n\nNo run of this table has finished yet: `phasecollapse reproduce {table}` runs it.\n")
            continue
        (out / f"{table}.md").write_text(markdown(json.loads(record.read_text())))
        figure = record.with_suffix(".png")
        if figure.exists():
            shutil.copyfile(figure, out / figure.name)
    for figure in sorted((ROOT / "results" / "analysis").rglob("*.png")):  # lscat/separation.png → lscat_separation.png
        shutil.copyfile(figure, out / "_".join(figure.relative_to(ROOT / "results" / "analysis").parts))


def escape_bars(app: Any, what: str, name: str, obj: Any, options: Any, lines: list[str]) -> None:
    lines[:] = [line.replace("|", "\\|") for line in lines]


def setup(app: Any) -> dict[str, Any]:
    app.connect("builder-inited", render)
    app.connect("autodoc-process-docstring", escape_bars)
    return {"parallel_read_safe": True}
