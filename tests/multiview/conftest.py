"""Session fixtures of the multiview tests: MediaPipe's 2-D of Pose2Sim's demo views, computed once."""

from __future__ import annotations

import pytest

from bridge.core.landmarks import LandmarkFrame
from tests.multiview.demo import DEMO_FRAMES, DEMO_VIEWS, demo_video, track_video


@pytest.fixture(scope="session")
def demo_views() -> dict[str, list[LandmarkFrame]]:
    """The first :data:`DEMO_FRAMES` frames of each of the 4 demo views through MediaPipe (about 15 s)."""
    return {view: track_video(demo_video(view), limit=DEMO_FRAMES) for view in DEMO_VIEWS}
