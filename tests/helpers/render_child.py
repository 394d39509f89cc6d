"""Test helper: render a clip (:func:`bridge.testing.render.render_clip`) in a child process.

Open3D allows one offscreen renderer per process, so tests render in a child and read the video and truth back.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bridge.testing.render import ClipSpec, RenderTruth

REPO = Path(__file__).resolve().parents[2]


def render_in_child(spec: ClipSpec, folder: Path) -> tuple[Path, RenderTruth]:
    """(the video, its truth) of ``spec`` rendered into ``folder`` by a child process."""
    code = (
        "import sys; from pathlib import Path; from bridge.testing.render import ClipSpec, render_clip;"
        f"render_clip(ClipSpec(**{spec.__dict__!r}), Path(sys.argv[1]))"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run(
        [sys.executable, "-c", code, str(folder)], check=True, env=env, capture_output=True, timeout=300
    )
    return folder / f"{spec.key()}.mp4", RenderTruth.load(folder / f"{spec.key()}.npz")
