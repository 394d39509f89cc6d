"""Settings of the tracker: which model, which parts (``--track``), how frames are delivered."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bridge.core.errors import BridgeError

#: What ``--track`` accepts.
TRACK_PARTS: tuple[str, ...] = ("body", "hands", "face")


def parse_track(text: str) -> tuple[str, ...]:
    """``"body,hands,face"`` → ``("body", "hands", "face")`` (body always included, canonical order).

    Raises:
        BridgeError: an unknown part.
    """
    parts = [p.strip().lower() for p in text.split(",") if p.strip()]
    unknown = [p for p in parts if p not in TRACK_PARTS]
    if unknown or not parts:
        raise BridgeError(
            f"--track {text!r}: unknown part {', '.join(unknown) or '(none given)'}; "
            f"use a comma-separated list of {', '.join(TRACK_PARTS)}"
        )
    return tuple(p for p in TRACK_PARTS if p == "body" or p in parts)


#: How the hand and face models run beside the pose model (see :mod:`bridge.tracking.hand_face_detector`).
CONCURRENCY_MODES: tuple[str, ...] = ("sequential", "threads", "pipelined")


@dataclass(frozen=True)
class TrackerConfig:
    """Settings of the tracker stage.

    Attributes:
        model_path: pose landmarker ``.task`` file; None = the bundled ``pose_landmarker_full.task``.
        min_detection_confidence: MediaPipe ``min_pose_detection_confidence`` in [0, 1].
        min_presence_confidence: MediaPipe ``min_pose_presence_confidence`` in [0, 1].
        min_tracking_confidence: MediaPipe ``min_tracking_confidence`` in [0, 1].
        live_queue_size: frames that may wait for the consumer on live input before the stalest is dropped.
        image_fps: frames per second assigned to an image folder (timestamps ``index / image_fps``).
        realtime: files only: read each frame at its presentation time, as a camera would deliver it, instead
            of as fast as inference goes (``bridge stream`` of a video plays at the video's speed).
        track: which models run: "body" always, "hands" and/or "face" added by ``--track`` (see
            :mod:`bridge.tracking.hand_face_detector`); their results ride in ``LandmarkFrame.hands`` / ``.face``.
        num_poses: how many people the pose model looks for (``--people``); bridge follows one of them
            (:mod:`bridge.tracking.person`). With 1 (default) the model's jump to another person is noticed
            (the person is reported lost until the model finds them again), with 2 or more bridge can follow
            its person through such a jump and choose whom to follow at start; see the README for the cost.
        person: whom to follow at start among the poses found: ``largest``, ``center`` or ``first``
            (``--person``; a choice only with ``num_poses`` > 1).
        camera_size: (width, height) to ask a camera for (``--camera-size``); None: its default.
        camera_fps: frame rate to ask a camera for (``--camera-fps``); None: its default.
        concurrency: how the hand and face models run beside the pose model (``--concurrency``; one of
            :data:`CONCURRENCY_MODES`, see :mod:`bridge.tracking.hand_face_detector`).
        hand_every, face_every: run each hand's model / the face model on every N-th frame only
            (``--hand-every``, ``--face-every``; :class:`~bridge.tracking.hand_face_detector.VtuberConfig`).
            The defaults (``pipelined``, hands every other frame, the face every frame) are the fastest measured
            (Sports2D demo through the tracker process, one run: body 49–53 fps; body+hands+face with threads
            and every frame 22.8, pipelined 29.3, pipelined with hands every other frame 41.7, 0.8× the body;
            hands found on 86 of 230 frames instead of 105, their fingers 11.6 mm from every frame's).
        zoom: where the pose model finds nobody in the whole frame, look again in a square part of it (a person
            too small for its detector, far from the camera: :mod:`bridge.tracking.zoom`).
    """

    model_path: Path | None = None
    min_detection_confidence: float = 0.5
    min_presence_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    live_queue_size: int = 2
    image_fps: float = 30.0
    realtime: bool = False
    track: tuple[str, ...] = ("body",)
    num_poses: int = 1
    person: str = "largest"
    camera_size: tuple[int, int] | None = None
    camera_fps: float | None = None
    concurrency: str = "pipelined"
    hand_every: int = 2
    face_every: int = 1
    zoom: bool = True
