"""Sphinx extension: what the commands generated, rendered into the site when the build starts.

- ``results/reproduce/TABLE.json`` → ``docs/_generated/TABLE.md`` (the Markdown
  ``phasecollapse reproduce`` writes, from the same renderer: :mod:`phasecollapse.run.render`)
  and the table's figure;
- ``results/bench/NAME.md`` → ``_generated/bench_NAME.md`` (what ``phasecollapse bench`` wrote);
  ``results/bench/profile/*.json`` → ``_generated/bench_profiles.md`` (:func:`phasecollapse.bench.profile.summary`,
  each network's rows in the order of their commits);
- the figures of ``results/analysis/`` next to them, and the table of each study's record
  (``results/analysis/DIR/NAME.json`` → ``_generated/DIR_NAME.md``, :mod:`phasecollapse.analysis.tables`)
  and the list of studies (:data:`phasecollapse.analysis.studies.STUDIES`).

Docstrings use ``|z|`` for moduli, which reStructuredText would read as substitutions: the
``autodoc-process-docstring`` hook escapes the bars.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from phasecollapse.analysis.studies import STUDIES
from phasecollapse.analysis.tables import RENDERERS, markdown as study_table
from phasecollapse.bench.profile import summary as profile_summary
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
    commands = "\n".join(f"{s.usage()}\n    # {s.measures}" for s in STUDIES.values())
    (out / "analyze_commands.md").write_text(f"```bash\n{commands}\n```\n")
    for record in sorted((ROOT / "results" / "bench").glob("*.md")):  # its title in bold, not a page heading
        title, _, rest = record.read_text().partition("\n")
        (out / f"bench_{record.name}").write_text(f"**{title.lstrip('# ')}**\n{rest}")
    profiles = [json.loads(p.read_text()) for p in sorted((ROOT / "results" / "bench" / "profile").glob("*.json"))]
    profiles.sort(key=lambda r: (r["model"], r["options"].get("width_factor", 1), r["precision"], _commit_time(r["environment"]["git_commit"])))
    (out / "bench_profiles.md").write_text(profile_summary(profiles))
    analysis = ROOT / "results" / "analysis"
    for figure in sorted(analysis.rglob("*.png")):  # lscat/separation.png → lscat_separation.png
        shutil.copyfile(figure, out / "_".join(figure.relative_to(analysis).parts))
    for record in sorted(analysis.rglob("*.json")):  # lscat/skip.json → lscat_skip.md
        if record.stem in RENDERERS:
            (out / "_".join(record.relative_to(analysis).with_suffix(".md").parts)).write_text(study_table(record.stem, json.loads(record.read_text())))


def _commit_time(commit: str) -> int:
    """The commit's time (seconds since the epoch), 0 where git cannot tell."""
    done = subprocess.run(["git", "show", "-s", "--format=%ct", commit.split("-")[0]], capture_output=True, text=True, cwd=ROOT)
    return int(done.stdout.strip() or 0) if done.returncode == 0 else 0


def escape_bars(app: Any, what: str, name: str, obj: Any, options: Any, lines: list[str]) -> None:
    lines[:] = [line.replace("|", "\\|") for line in lines]


def setup(app: Any) -> dict[str, Any]:
    app.connect("builder-inited", render)
    app.connect("autodoc-process-docstring", escape_bars)
    return {"parallel_read_safe": True}
