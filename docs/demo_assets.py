"""The landing page's results, from a real `python -m dt_tutorial demo` (not the site's fast build):

    python -m dt_tutorial demo && python docs/demo_assets.py outputs/demo

copies its return-conditioning plot and results.json into docs/_static/demo/ and re-encodes its three-target video
small (`video.display_copy`: H.264, 960 px wide). conf.py reads results.json for the captions' numbers.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from dt_tutorial.video import display_copy

ASSETS = Path(__file__).resolve().parent / "_static" / "demo"


def main(demo: Path) -> None:
    ASSETS.mkdir(parents=True, exist_ok=True)
    for name in ("return_conditioning.png", "results.json"):
        shutil.copyfile(demo / name, ASSETS / name)
    (ASSETS / "targets.mp4").write_bytes(display_copy(demo / "targets.mp4", width=960))
    for path in sorted(ASSETS.iterdir()):
        print(f"{path.stat().st_size / 1e6:6.2f} MB  {path.name}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "outputs/demo"))
