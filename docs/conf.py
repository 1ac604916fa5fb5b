"""Sphinx configuration of the phasecollapse documentation (``make docs``).

Sphinx with sphinx-gallery, as PyTorch, torchvision and Kymatio: the field's readers know it, and
the gallery executes every example of ``examples/`` at each build. Pages are MyST Markdown. The
reproduction tables are rendered from ``results/reproduce/*.json`` when the build starts
(``_ext/generated.py``), never copied by hand.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent / "_ext"))

import phasecollapse  # noqa: E402

project = "phasecollapse"
author = "the phasecollapse developers"
copyright = "2026, the phasecollapse developers"
release = version = phasecollapse.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "sphinx_gallery.gen_gallery",
    "generated",
]
myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "_draft", "**.ipynb_checkpoints", "auto_examples/*.ipynb", "auto_examples/*.py", "auto_examples/*.zip", "auto_examples/*.json", "auto_examples/*.md5", "sg_execution_times.rst"]
html_theme = "furo"
html_title = f"phasecollapse {release}"

autosummary_generate = True
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": False}

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "abort_on_example_error": True,
}

linkcheck_ignore = [r"https?://"]  # CI has no network: check the links inside the site
linkcheck_anchors = True
