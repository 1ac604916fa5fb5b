"""Imports run one way: each part of the package imports only from the floors below it."""

import ast
from pathlib import Path

import phasecollapse

ROOT = Path(phasecollapse.__file__).parent

#: Lowest first; a module may import from its own part and from lower floors only.
FLOORS = [{"kernels"}, {"data"}, {"layers"}, {"models"}, {"run"}, {"analysis", "bench"}, {"demo"}, {"cli", "__init__"}, {"__main__"}]


def _part(parts: tuple[str, ...]) -> str:
    return parts[0].removesuffix(".py")


def imported_parts(path: Path, root: Path = ROOT) -> set[str]:
    """The parts of phasecollapse a module under ``root`` imports (relative or absolute imports)."""
    here = path.relative_to(root).parts[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = list(here[: len(here) - node.level + 1])
            target = base + (node.module.split(".") if node.module else [])
            found.add(target[0] if target else node.names[0].name)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("phasecollapse."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("phasecollapse."))
    return found - {"__version__"}


def test_imports_run_one_way() -> None:
    floor = {p: i for i, parts in enumerate(FLOORS) for p in parts}
    wrong = []
    for path in sorted(ROOT.rglob("*.py")):
        me = _part(path.relative_to(ROOT).parts)
        assert me in floor, f"{me} has no floor in FLOORS"
        wrong += [f"{path.relative_to(ROOT)} imports {t}" for t in imported_parts(path) if t != me and floor.get(t, len(FLOORS)) >= floor[me]]
    assert not wrong, wrong


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    """The check can fail: a kernel importing a layer and the run machinery is reported."""
    assert "layers" not in imported_parts(ROOT / "kernels" / "std_projection.py")
    fake = tmp_path / "kernels" / "x.py"
    fake.parent.mkdir()
    fake.write_text("from ..layers.block import LScatBlock\nimport phasecollapse.run.train\nfrom .dtype import compute_dtype\n")
    assert imported_parts(fake, tmp_path) == {"layers", "run", "kernels"}
