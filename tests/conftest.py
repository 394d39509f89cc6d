"""Shared fixtures: where the installed real test material is, a runner for the ``bridge`` command, and the
tracker's output on the Sports2D demo video (tracked once per test session with the real model).

Test material is installed, never committed: the Sports2D demo video (package ``sports2d``), the Pose2Sim demo
videos (package ``pose2sim``) and CMU motion capture (Debian ``assimp-testmodels``). Tests that need something
missing are skipped with the reason.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bridge.core.landmarks import LandmarkFrame

REPO = Path(__file__).resolve().parents[1]
CMU_BVH_DIR = Path("/usr/share/assimp/models/BVH")


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent


def sports2d_demo_path() -> Path | None:
    """``Sports2D/Demo/demo.mp4``: 230 frames, 30 fps, 1768x994; a man jumps off a box, a woman walks past."""
    folder = _package_dir("Sports2D")
    path = folder / "Demo" / "demo.mp4" if folder else None
    return path if path is not None and path.is_file() else None


@pytest.fixture(scope="session")
def sports2d_video() -> Path:
    """Path of the real Sports2D demo video (skips the test if the package is not installed)."""
    path = sports2d_demo_path()
    if path is None:
        pytest.skip("the Sports2D demo video is not installed (pip install sports2d --no-deps)")
    return path


@pytest.fixture(scope="session")
def pose2sim_videos() -> list[Path]:
    """The four 60 fps camera videos of Pose2Sim's single-person demo (skips if not installed)."""
    folder = _package_dir("Pose2Sim")
    videos = sorted((folder / "Demo_SinglePerson" / "videos").glob("cam*.mp4")) if folder else []
    if not videos:
        pytest.skip("the Pose2Sim demo videos are not installed (pip install pose2sim --no-deps)")
    return videos


@pytest.fixture(scope="session")
def cmu_bvh_dir() -> Path:
    """Folder of CMU BVH clips (01_01.bvh, 01_03.bvh, Boxing_Toes.bvh; skips if not installed)."""
    if not CMU_BVH_DIR.is_dir():
        pytest.skip("Debian package assimp-testmodels is not installed")
    return CMU_BVH_DIR


@pytest.fixture(scope="session")
def sports2d_tracked(sports2d_video: Path) -> tuple[object, list[LandmarkFrame]]:
    """(StreamInfo, every LandmarkFrame) of the Sports2D demo, tracked by the real tracker process, once."""
    from bridge.tracking.process import open_landmarks

    with open_landmarks(str(sports2d_video)) as (info, frames):
        return info, list(frames)


BridgeRunner = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def run_bridge() -> BridgeRunner:
    """Run ``python -m bridge ARGS...`` in a subprocess; returns the CompletedProcess (text, captured)."""

    def run(*args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        return subprocess.run(
            [sys.executable, "-m", "bridge", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=REPO,
            env=env,
        )

    return run


def tracker_children() -> set[int]:
    """Pids of running multiprocessing-spawned children of this process."""
    import multiprocessing

    return {p.pid for p in multiprocessing.active_children() if p.pid is not None}


def process_exists(pid: int) -> bool:
    """True if a process (not a reaped one) with this pid exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def spawned_children(parent_pid: int) -> set[int]:
    """Pids of live processes started by multiprocessing's spawn whose parent is ``parent_pid`` (Linux /proc)."""
    pids = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])
        if ppid == parent_pid and b"spawn_main" in cmdline:
            pids.add(int(entry.name))
    return pids
