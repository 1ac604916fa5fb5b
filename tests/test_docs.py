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
