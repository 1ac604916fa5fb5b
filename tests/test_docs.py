"""The README and the docstrings point at things that exist (issue #28)."""

import importlib
import re
from pathlib import Path

import pytest

from phasecollapse.run.render import update_readme

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "phasecollapse"


def resolve(dotted: str) -> object:
    """The object a dotted path names: its longest importable module prefix, then attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            obj = getattr(obj, name)
        return obj
    raise ImportError(dotted)


def _named_paths() -> list[tuple[str, str]]:
    """(file, dotted path) of every ``phasecollapse.…`` path and every relative Sphinx reference
    (``:mod:`.x```, resolved from the file's package) in the package's sources."""
    found = set()
    for path in sorted(SRC.rglob("*.py")):
        module = ".".join(path.relative_to(SRC.parent).with_suffix("").parts).removesuffix(".__init__")
        package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
        text = path.read_text()
        found.update((str(path.relative_to(ROOT)), m) for m in re.findall(r"\bphasecollapse(?:\.[A-Za-z_]\w*)+", text))
        for rel in re.findall(r":(?:mod|class|func|meth|data|attr):`~?(\.[A-Za-z_][\w.]*)`", text):
            found.add((str(path.relative_to(ROOT)), package + rel))
    return sorted(found)


@pytest.mark.parametrize(("where", "dotted"), _named_paths())
def test_every_module_path_named_in_the_sources_exists(where: str, dotted: str) -> None:
    try:
        resolve(dotted)
    except (ImportError, AttributeError) as err:
        pytest.fail(f"{where} names {dotted}, which does not exist ({err})")


def test_readme_is_short_and_its_headline_is_the_generated_one() -> None:
    readme = ROOT / "README.md"
    assert len(readme.read_text().splitlines()) <= 200
    assert readme.read_text() == update_readme(readme, ROOT / "results" / "reproduce"), "run: python -m phasecollapse.run.render README.md"


def test_readme_links_point_at_files_of_the_repository() -> None:
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", (ROOT / "README.md").read_text())
    assert links and [link for link in links if not link.startswith("http") and not (ROOT / link).exists()] == []


RESULT_PAGES = ("studies.md", "cheaper_pj.md", "reproduction.md", "speed.md")


def _includes(page: str) -> list[str]:
    """The ``_generated/NAME.md`` files a docs page includes."""
    return re.findall(r"_generated/([\w.]+\.md)", (ROOT / "docs" / page).read_text())


@pytest.mark.parametrize("page", RESULT_PAGES)
def test_result_pages_hold_no_hand_typed_table_of_results(page: str) -> None:
    """Tables of measured figures come from the records at build time (``{include}
    _generated/…``), every include names a record that exists."""
    text = (ROOT / "docs" / page).read_text()
    assert not re.search(r"^\|[-| ]+\|$", text, re.M), f"{page} has a hand-typed Markdown table"
    generated = ROOT / "docs" / "_ext" / "generated.py"
    for name in _includes(page):
        stem = name.removesuffix(".md")
        sources = [ROOT / "src" / "phasecollapse" / "configs" / "reproduce" / f"{stem}.toml", ROOT / "results" / "analysis" / f"{stem.replace('_', '/', 1)}.json", ROOT / "results" / "analysis" / f"{stem}.json", ROOT / "results" / "bench" / name.removeprefix("bench_")]
        profiles = stem == "bench_profiles" and any((ROOT / "results" / "bench" / "profile").glob("*.json"))  # bench.profile.summary of them
        assert stem == "analyze_commands" or profiles or any(p.exists() for p in sources), f"{page} includes {name}, made from no record"
    assert generated.exists()


def test_every_bench_record_is_shown_on_a_page() -> None:
    """Each ``results/bench/NAME.md`` becomes ``_generated/bench_NAME.md``, which Sphinx (with
    warnings as errors) refuses unless a page includes it."""
    included = {name for page in RESULT_PAGES for name in _includes(page)}
    records = {f"bench_{p.name}" for p in (ROOT / "results" / "bench").glob("*.md")}
    assert records and records - included == set(), "add an {include} to docs/speed.md for each"


def test_profile_summary_has_a_row_per_record_with_its_figures() -> None:
    """The speed page's profile table: one row per record of results/bench/profile, carrying its
    commit and its time outside products."""
    import json

    from phasecollapse.bench.profile import summary

    records = [json.loads(p.read_text()) for p in sorted((ROOT / "results" / "bench" / "profile").glob("*.json"))]
    rows = summary(records).splitlines()[2:]
    assert records and len(rows) == len(records)
    for row, rec in zip(rows, records):
        assert rec["environment"]["git_commit"][:7] in row and f"| {rec['result']['outside_s']:.2f} |" in row


def test_study_tables_show_the_records_numbers() -> None:
    """Each study's table carries its record's figures (checked on the committed records), and
    moves with them: changing a value in the record changes the table."""
    import copy
    import json

    from phasecollapse.analysis.tables import RENDERERS, markdown

    records = {p.stem: json.loads(p.read_text()) for p in sorted((ROOT / "results" / "analysis").rglob("*.json")) if p.stem in RENDERERS}
    assert set(records) == set(RENDERERS)
    sep = records["separation"]["models"]
    net = next(iter(sep))
    table = markdown("separation", records["separation"])
    assert f"{sep[net]['blocks'][7]['ncm_err']:.1f}" in table.splitlines()[4]
    changed = copy.deepcopy(records["separation"])
    changed["models"][net]["blocks"][7]["ncm_err"] = 12.345
    assert "12.3" in markdown("separation", changed) and "12.3" not in table
    var = records["variability"]["networks"]
    assert [f"{s['variance_ratio']:.2f}" for s in next(iter(var.values()))["stages"] if s["stage"].startswith("ρ")] == markdown("variability", records["variability"]).splitlines()[2].strip("| ").split(" | ")[1:]
    for name, record in records.items():
        for table in markdown(name, record).strip().split("\n\n"):  # every row as wide as its header
            lines = table.splitlines()
            assert len(lines) >= 3 and len({line.count("|") - line.count("\\|") for line in lines}) == 1, name
    with pytest.raises(ValueError, match="no table for study"):
        markdown("nope", {})
