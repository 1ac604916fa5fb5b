"""Citations point at what a reader of the repository can open (issue #28).

Docstrings, comments, the README and the configs cite either the authors' code
(``file.py:line``, at the commit docs/faithfulness.md names) or a section of
docs/faithfulness.md (``docs/faithfulness.md, *Section title*``), never the project's private
specification (``../shared/spec/paper_spec.md`` and its section numbers, "spec A.6").
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "phasecollapse"
README = ROOT / "README.md"
PAGE = ROOT / "docs" / "faithfulness.md"

SPEC_SECTION = re.compile(r"\b[Ss]pec [A-H]\.?[0-9]")
PRIVATE_SPEC = re.compile(r"paper_spec|shared/spec")
# A section number of the specification without the word "spec": "(A.5)", "G.15", "the C.1 head".
BARE_SECTION = re.compile(r"(?<![\w.])[A-H]\.[0-9]{1,2}(?![\w.])")
POINTER = re.compile(r"docs/faithfulness\.md,\s+\*([^*]+)\*")
AUTHORS_LINE = re.compile(r"([\w/]+\.(?:py|txt)):[0-9]")
AUTHORS_FILES = {
    "main_block.py", "run.py", "utils.py", "phase_scattering2d_torch.py", "standard_arch.py",
    "models/Analysis.py", "models/Classifier.py", "models/LinearProj.py", "models/Standardization.py",
    "models/resnet.py", "requirements.txt",
}
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*$")
LABEL = re.compile(r"^\((faithfulness(?:-[a-z0-9]+)*)\)=\s*$")


def src_files() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "egg-info" not in p.parts)


def cited_files() -> list[Path]:
    """Every file whose citations must resolve: the package, the README, the configs, the tests."""
    tests = sorted(p for p in (ROOT / "tests").glob("*.py") if p.name != Path(__file__).name)
    return [*src_files(), README, *sorted((ROOT / "configs").rglob("*.toml")), *tests]


def where(path: Path, text: str, pos: int) -> str:
    return f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, pos) + 1}"


def findings(path: Path, *patterns: re.Pattern[str]) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return [f"{where(path, text, m.start())}: {m.group(0)!r}" for pattern in patterns for m in pattern.finditer(text)]


def test_the_package_cites_no_private_specification() -> None:
    shared = re.compile(r"\.\./shared")
    bad = [f for path in src_files() for f in findings(path, shared, PRIVATE_SPEC, SPEC_SECTION, BARE_SECTION)]
    assert not bad, "cite the authors' file:line or docs/faithfulness.md instead:\n" + "\n".join(bad)


def test_readme_configs_and_tests_cite_no_private_specification() -> None:
    # The README may name ../shared/datasets (where `make test` looks for CIFAR-10), nothing else under ../shared.
    shared = re.compile(r"\.\./shared(?!/datasets)")
    bad = findings(README, shared, PRIVATE_SPEC, SPEC_SECTION)
    bad += [f for path in cited_files() if path != README and not path.is_relative_to(SRC) for f in findings(path, PRIVATE_SPEC, SPEC_SECTION)]
    assert not bad, "cite the authors' file:line or docs/faithfulness.md instead:\n" + "\n".join(bad)


def page_sections() -> list[tuple[int, str, str | None]]:
    """(line number, title, label on the line before or None) of every heading of the page."""
    lines = PAGE.read_text(encoding="utf-8").splitlines()
    sections, in_code = [], False
    for i, line in enumerate(lines):
        if line.startswith("```"):
            in_code = not in_code
        m = None if in_code else HEADING.match(line)
        if m:
            label = LABEL.match(lines[i - 1]) if i > 0 else None
            sections.append((i + 1, m.group(2), label.group(1) if label else None))
    return sections


def test_every_section_of_the_page_has_a_label() -> None:
    sections = page_sections()
    assert sections, f"{PAGE} has no heading"
    unlabelled = [f"line {n}: {title}" for n, title, label in sections if label is None]
    assert not unlabelled, "each heading needs a `(faithfulness-…)=` label on the line before:\n" + "\n".join(unlabelled)
    labels = [label for _, _, label in sections]
    assert len(labels) == len(set(labels)), f"duplicate labels: {labels}"
    titles = [title for _, title, _ in sections]
    assert len(titles) == len(set(titles)), f"duplicate section titles: {titles}"


def test_links_inside_the_page_reach_a_label() -> None:
    labels = {label for _, _, label in page_sections()}
    text = PAGE.read_text(encoding="utf-8")
    broken = [m.group(1) for m in re.finditer(r"\]\(#([^)]+)\)", text) if m.group(1) not in labels]
    assert not broken, f"links to missing labels: {broken}"


@pytest.mark.parametrize("path", cited_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_pointers_to_the_page_name_one_of_its_sections(path: Path) -> None:
    titles = {title for _, title, _ in page_sections()}
    text = path.read_text(encoding="utf-8")
    missing = [f"{where(path, text, m.start())}: *{' '.join(m.group(1).split())}*" for m in POINTER.finditer(text) if " ".join(m.group(1).split()) not in titles]
    assert not missing, f"no such section in {PAGE.relative_to(ROOT)} (sections: {sorted(titles)}):\n" + "\n".join(missing)


def test_file_line_citations_name_a_file_of_the_authors() -> None:
    bad = []
    for path in [*src_files(), README, PAGE, *sorted((ROOT / "configs").rglob("*.toml"))]:
        text = path.read_text(encoding="utf-8")
        bad += [f"{where(path, text, m.start())}: {m.group(1)}" for m in AUTHORS_LINE.finditer(text) if m.group(1) not in AUTHORS_FILES]
    assert not bad, "file:line citations are to the authors' code; unknown files:\n" + "\n".join(bad)
