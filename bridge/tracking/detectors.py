"""The detector seam: what turns a decoded :class:`~bridge.tracking.sources.Frame` into a
:class:`~bridge.core.landmarks.LandmarkFrame`, and the factory that picks one for a :class:`TrackerConfig`.

A detector is made in the process that uses it (MediaPipe graphs do not cross processes), called once per frame
in order (``detect``), and closed (``close``, or ``with``). :func:`make_detector` is the one place that decides
which models run: the body model alone (:class:`~bridge.tracking.pose_detector.PoseDetector`), or with the hand
and face models (:class:`~bridge.tracking.hand_face_detector.VtuberDetector`) when ``--track`` asks for them.
"""

from __future__ import annotations

from typing import Protocol

from bridge.core.landmarks import LandmarkFrame
from bridge.tracking.config import TrackerConfig
from bridge.tracking.hand_face_detector import VtuberDetector
from bridge.tracking.pose_detector import PoseDetector
from bridge.tracking.sources import Frame


class Detector(Protocol):
    """Frames in, landmark frames out (one per frame, a no-person frame when nothing is found)."""

    def detect(self, frame: Frame) -> LandmarkFrame: ...

    def close(self) -> None: ...

    def __enter__(self) -> Detector: ...

    def __exit__(self, *exc: object) -> None: ...


def make_detector(config: TrackerConfig) -> Detector:
    """The detector ``config.track`` asks for: the body model alone, or body + hands and/or face."""
    if "hands" not in config.track and "face" not in config.track:
        return PoseDetector(config)
    return VtuberDetector(config)
