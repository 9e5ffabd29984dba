"""The tutorial's website: the five notebooks executed at build time (MyST-NB), README, BENCHMARKS, the API.

    sphinx-build -b html docs docs/_build/html                      # real settings: long once, then cached
    DT_TUTORIAL_FAST=1 sphinx-build -W -b html docs docs/_build/html  # the fast build CI checks

The notebooks run with the settings they would have for a learner (`DT_TUTORIAL_FAST=1` shrinks them as in CI),
each executed once and kept in a jupyter-cache per mode: a rebuild re-runs only a notebook whose code changed.
The site-specific machinery (notebook copies, link mapping, videos as files) is in `_ext/tutorial_site.py`.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(DOCS.parent))  # this checkout's dt_tutorial, for autodoc

from dt_tutorial.notebook import REPO, site_url  # noqa: E402

FAST = os.environ.get("DT_TUTORIAL_FAST") == "1"

project = "dt_tutorial"
author = "the dt_tutorial authors"
copyright = "the dt_tutorial authors, Apache-2.0"

extensions = ["myst_nb", "sphinx.ext.autodoc", "sphinx.ext.viewcode", "tutorial_site"]
exclude_patterns = ["README.md", "demo_assets.py", "_build", "_ext", "**/.ipynb_checkpoints", "notebooks/runs", "notebooks/README.md"]

html_theme = "furo"
html_title = "dt_tutorial: train your first Decision Transformer"
html_static_path = ["_static"]
html_baseurl = site_url()
html_copy_source = False  # the sources are on GitHub (the theme links them)
html_theme_options = {"source_repository": f"https://github.com/{REPO}/", "source_branch": "main", "source_directory": "docs/"}

# MyST: GitHub-style heading anchors, so that README/BENCHMARKS links like BENCHMARKS.md#steering resolve.
myst_heading_anchors = 4
myst_enable_extensions = ["dollarmath", "colon_fence", "substitution"]
# The landing page's numbers, from the real demo run whose plot and video it shows (docs/demo_assets.py).
DEMO = json.loads((DOCS / "_static" / "demo" / "results.json").read_text())
myst_substitutions = {
    "demo_rho": f"{DEMO['return_conditioning']['spearman_rho']:.3f}",
    "demo_target": f"{DEMO['target_return']:,.0f}",
    "demo_d4rl": f"{DEMO['d4rl_score']:.1f}",
    "demo_episodes": str(len(DEMO["returns"])),
    "demo_video": "; ".join(f"{float(t):,.0f} → {r:,.0f}" for t, r in DEMO["targets_video_returns"].items()),
}

# MyST-NB: execute every notebook, keep its outputs in a cache per mode (the fast and the real outputs of the same
# code differ, and jupyter-cache keys on the code alone). A failing cell fails the build.
nb_execution_mode = "cache"
nb_execution_cache_path = str(DOCS / "_build" / (".jupyter_cache_fast" if FAST else ".jupyter_cache"))
nb_execution_in_temp = False  # notebook 4 and the recorded slider load notebook 3's model from runs/
nb_execution_timeout = 600 if FAST else 6 * 3600
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True
nb_ipywidgets_js = {}  # the live slider needs a kernel: the site shows its recorded stand-in instead

autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
