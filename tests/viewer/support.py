"""Support for the viewer tests: real CMU motion capture (Debian ``assimp-testmodels``) as bridge recordings, and
waiting until a ``bridge view --listen`` process is bound."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bridge.testing.listening import wait_until_listening


def mocap_recording_at(path: Path, cmu_bvh_dir: Path, frames: int = 60, no_person: int = 0) -> Path:
    """A bridge recording of CMU ``01_01`` (every 4th frame: 30 fps), ``frames`` frames, then ``no_person``
    frames where nobody is seen (the person walked out)."""
    from bridge.core.landmarks import LandmarkFrame
    from bridge.export.bvh_file import read_bvh
    from bridge.testing.mocap import mocap_landmarks, to_landmark_frames
    from bridge.tracking.recording import RecordingHeader, RecordingWriter

    motion = read_bvh(cmu_bvh_dir / "01_01.bvh")
    seen = to_landmark_frames(mocap_landmarks(motion, frames=slice(0, 4 * frames, 4)))
    with RecordingWriter(path, RecordingHeader(source="CMU 01_01", fps=30.0)) as writer:
        for frame in seen:
            writer.write(frame)
        last = seen[-1]
        for k in range(1, no_person + 1):
            writer.write(LandmarkFrame.no_person(last.t_s + k / 30.0, last.image_size, last.frame_index + 4 * k))
    return path


def wait_listening(port: int, viewer: subprocess.Popen[str], timeout_s: float = 60.0) -> None:
    """Until the viewer listens on ``port`` (:func:`bridge.testing.listening.wait_until_listening`)."""
    if not wait_until_listening(port, viewer, timeout_s):
        raise AssertionError("the viewer did not start listening")


def run_bridge_cli(*args: str, timeout: float = 180.0) -> subprocess.CompletedProcess[str]:
    """``python -m bridge ARGS`` in a child process, its output captured."""
    return subprocess.run([sys.executable, "-m", "bridge", *args], capture_output=True, text=True, timeout=timeout)


def read_rgb(path: Path) -> np.ndarray:
    """(H, W, 3) uint8 RGB of an image file the viewer wrote."""
    import cv2

    image = cv2.imread(str(path))
    assert image is not None, path
    return image[:, :, ::-1]


def assert_matches_golden(image: np.ndarray, golden: Path) -> None:
    """``image`` (RGB) against the golden PNG: mean difference under 2 and fewer than 1 % of pixels off by more
    than 60 (written, and the test failed, when the golden is missing; rewritten with BRIDGE_UPDATE_GOLDEN)."""
    from bridge.viewer.render import write_png

    if os.environ.get("BRIDGE_UPDATE_GOLDEN") or not golden.exists():
        write_png(golden, image)
        if not os.environ.get("BRIDGE_UPDATE_GOLDEN"):
            pytest.fail(f"golden image {golden} was missing; written now: check it and commit it")
    expected = read_rgb(golden)
    assert expected.shape == image.shape
    diff = np.abs(expected.astype(np.int64) - image.astype(np.int64)).sum(axis=2)
    assert diff.mean() < 2.0
    assert (diff > 60).mean() < 0.01, f"{(diff > 60).mean():.3%} of the pixels differ from the golden image"
