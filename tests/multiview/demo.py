"""Pose2Sim's Demo_SinglePerson (4 views at 60 fps, not frame-aligned, Qualisys calibration) through MediaPipe.

The 2-D landmarks of each view are computed once per test session (``demo_views``) and kept in memory.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from bridge.core.landmarks import LandmarkFrame
from bridge.tracking.config import TrackerConfig
from bridge.tracking.pose_detector import PoseDetector
from bridge.tracking.sources import VideoFileSource

#: The demo's views, and how many of their first frames the tests track (of 100, at 60 fps).
DEMO_VIEWS = ("cam01", "cam02", "cam03", "cam04")
DEMO_FRAMES = 60


def demo_dir() -> Path:
    spec = importlib.util.find_spec("Pose2Sim")
    assert spec is not None and spec.origin is not None
    return Path(spec.origin).parent / "Demo_SinglePerson"


def demo_video(view: str) -> Path:
    return demo_dir() / "videos" / f"{view}.mp4"


def track_video(path: Path, every: int = 1, limit: int | None = None) -> list[LandmarkFrame]:
    """MediaPipe (full model) over every ``every``-th frame of ``path`` (the first ``limit`` frames)."""
    out = []
    with VideoFileSource(path) as source, PoseDetector(TrackerConfig()) as detector:
        for frame in source:
            if limit is not None and frame.frame_index >= limit:
                break
            if frame.frame_index % every == 0:
                out.append(detector.detect(frame))
    return out
