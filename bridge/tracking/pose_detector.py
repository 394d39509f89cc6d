"""The body model: MediaPipe PoseLandmarker turning decoded frames into
:class:`~bridge.core.landmarks.LandmarkFrame` values.

Model and timestamps: PoseLandmarker (Tasks API) in ``RunningMode.VIDEO``, ``num_poses`` people (default 1,
``--people``), fed integer millisecond timestamps derived from the frame timestamps (strictly increasing). Of the
poses found, :class:`~bridge.tracking.person.PersonSelector` picks the person bridge follows (the same one
throughout, see there); its ``pose_world_landmarks`` → ``world_xyz_m``, ``pose_landmarks`` → ``image_xy``,
per-landmark ``visibility`` and ``presence``, and the person flags of :mod:`bridge.core.person`. A frame without
the followed person is an explicit :meth:`LandmarkFrame.no_person`. Where the model finds nobody in the whole
frame, a second landmarker looks in a square part of it (:mod:`bridge.tracking.zoom`: a person too small for
the detector, far from the camera; ``TrackerConfig.zoom``).

What MediaPipe already smooths (measured, mediapipe 1.2.2, pose_landmarker_full, Sports2D demo, 230 frames):
in VIDEO mode the landmarker tracks the region of interest from the previous frame's landmarks (detector only
when tracking is lost) **and filters the landmarks over time with a timestamp-driven filter**. Feeding the same
frames with different timestamp spacing changes the output: 33 ms (true 30 fps) vs 10 s spacing — world
landmarks identical on only 1 of 221 frames (the first), median per-frame max difference 3.6 cm, max 28 cm;
33 ms vs 1 ms spacing — median 22 cm (heavy lag). IMAGE mode (independent detection per frame) found a person
on only 137 of 230 frames (VIDEO mode: 221) and agreed with VIDEO mode on 1 of the 43 frames where both found
the same person. A prior measurement elsewhere reported VIDEO == IMAGE on 399 of 400 frames; that does not
hold for this version. Consequences: (1) timestamps given to MediaPipe must be real (presentation time for
files, grab time for cameras) — they are; (2) MediaPipe's built-in smoothing is light at real frame rates and
cannot be configured, and bridge's own One-Euro filter (:mod:`bridge.stages.filter`) is the one in control of
jitter vs. lag on top of it. ``bench/bench_tracker.py --smoothing`` repeats the measurement.
"""

from __future__ import annotations

import functools
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import numpy.typing as npt

from bridge.core.errors import BridgeError
from bridge.core.landmarks import NUM_LANDMARKS, LandmarkFrame
from bridge.core.person import PEOPLE_FLAG, PERSON_ID_FLAG, PERSON_NOTE_FLAG
from bridge.tracking.config import TrackerConfig
from bridge.tracking.models import model_load_error, pose_model_path
from bridge.tracking.person import Candidate, PersonConfig, PersonSelector, appearance
from bridge.tracking.quiet import quiet_stderr
from bridge.tracking.sources import Frame
from bridge.tracking.zoom import ZoomSearch, agrees

#: The people's colours are measured on every this-many-th pixel of their region (cheap, and enough).
APPEARANCE_STEP = 4


class PoseDetector:
    """MediaPipe PoseLandmarker (VIDEO mode) turning :class:`Frame` values into LandmarkFrames of one person.

    Create it in the process that uses it. ``close()`` releases the native graph (also via ``with``).
    """

    def __init__(self, config: TrackerConfig = TrackerConfig()) -> None:
        model = pose_model_path(config.model_path)
        import mediapipe as mp
        from mediapipe.tasks.python import BaseOptions, vision

        self._mp = mp
        self._options = functools.partial(
            vision.PoseLandmarkerOptions,
            base_options=BaseOptions(model_asset_path=str(model)),
            num_poses=max(1, int(config.num_poses)),
            min_pose_detection_confidence=config.min_detection_confidence,
            min_pose_presence_confidence=config.min_presence_confidence,
            min_tracking_confidence=config.min_tracking_confidence,
        )
        self._model = model
        self._landmarker = self._create(vision.RunningMode.VIDEO)
        # The second look's landmarker and thread are made here, not when first wanted: made then, they held that
        # frame up by 70-150 ms (the Sports2D demo's first frame: 186 ms from read to sent).
        self._zoom = ZoomSearch(self._create(vision.RunningMode.IMAGE)) if config.zoom else None
        self._beside = ThreadPoolExecutor(max_workers=1, thread_name_prefix="second-look") if config.zoom else None
        self._zoom_wanted = config.zoom
        self._missed = True  # the whole frame found nobody in the last frame (nor before the first)
        self._last_ms = -1
        self.selector = PersonSelector(PersonConfig(policy=config.person))

    def detect(self, frame: Frame) -> LandmarkFrame:
        """Landmarks of the followed person in ``frame``, or an explicit no-person frame (with person flags)."""
        import cv2

        ms = int(round(frame.t_s * 1000.0))
        if ms <= self._last_ms:
            ms = self._last_ms + 1  # MediaPipe requires strictly increasing timestamps
        self._last_ms = ms
        rgb = np.asarray(cv2.cvtColor(frame.image_bgr, cv2.COLOR_BGR2RGB), dtype=np.uint8)
        image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=rgb)
        with quiet_stderr():  # MediaPipe logs W0000 lines when it first tracks an ROI
            following = self._zoom is not None and self._zoom.following(frame.t_s)
            ahead = self._look_again(rgb, frame.t_s) if self._zoom_wanted and (following or self._missed) else None
            result = self._landmarker.detect_for_video(image, ms)
            self._missed = not result.pose_landmarks
            if result.pose_landmarks:
                result = self._hand_over(result, ahead.result() if ahead is not None else None, frame, following)
            elif self._zoom_wanted:
                ahead = ahead if ahead is not None else self._look_again(rgb, frame.t_s)
                result = ahead.result() or result
        return self.follow(result, frame)

    def _hand_over(self, result: Any, second: Any | None, frame: Frame, following: bool) -> Any:
        """The whole frame's ``result`` (it found someone), or the second look's (``second``) while that follows
        a person (``following``) the whole frame does not agree on (see :mod:`bridge.tracking.zoom`)."""
        zoom = self._zoom
        if zoom is None:
            return result
        if following and second is not None and not agrees(result, second, frame.image_size, zoom.config):
            return second
        zoom.forget()  # the whole frame has the person (a look ahead of time is not wanted)
        return result

    def _look_again(self, rgb: npt.NDArray[np.uint8], t_s: float) -> Future[Any]:
        """The second look (:class:`ZoomSearch`) at this RGB frame, started on its own thread.

        It runs beside the whole frame's model where it will probably be wanted: while it follows a person (the
        hand-over checks every frame) and after a frame in which the whole frame found nobody. One after the
        other, those frames took two model runs' time: 8 % of the Sports2D demo's frames, which put the latency's
        95th percentile at 48 ms against 31 ms without the second look.
        """
        assert self._zoom is not None and self._beside is not None
        return self._beside.submit(self._zoom.find, rgb, t_s)

    def _create(self, mode: Any) -> Any:
        """A PoseLandmarker of this detector's model and settings in running ``mode``."""
        from mediapipe.tasks.python import vision

        try:
            with quiet_stderr():
                return vision.PoseLandmarker.create_from_options(self._options(running_mode=mode))
        except Exception as exc:  # MediaPipe raises RuntimeError/FileNotFoundError/ValueError for bad bundles
            raise model_load_error(self._model, exc) from exc

    def follow(self, result: Any, frame: Frame) -> LandmarkFrame:
        """The followed person's LandmarkFrame among the poses of ``result`` (:mod:`bridge.tracking.person`)."""
        candidates = []
        for pose in result.pose_landmarks or []:
            xy = np.array([(p.x, p.y) for p in pose], dtype=np.float64)
            candidates.append(Candidate(xy, appearance(frame.image_bgr, xy, APPEARANCE_STEP)))
        chosen = self.selector.select(candidates, frame.t_s, frame.image_size)
        out = landmark_frame_from_result(result, frame.t_s, frame.image_size, frame.frame_index, chosen.index)
        flags: dict[str, object] = {PEOPLE_FLAG: chosen.people}
        if chosen.person is not None:
            flags[PERSON_ID_FLAG] = chosen.person
        if chosen.note is not None:
            flags[PERSON_NOTE_FLAG] = chosen.note
        return out.with_flags(**flags)

    def close(self) -> None:
        """Release the MediaPipe graph (idempotent)."""
        beside, self._beside = getattr(self, "_beside", None), None
        if beside is not None:
            beside.shutdown(wait=True)
        zoom, self._zoom = getattr(self, "_zoom", None), None
        if zoom is not None:
            with quiet_stderr():
                zoom.close()
        landmarker = getattr(self, "_landmarker", None)
        if landmarker is not None:
            self._landmarker = None
            with quiet_stderr():  # mediapipe ≥ 1.2.3 logs INFO lines (DestroyAccelerator) as it tears down
                landmarker.close()

    def __enter__(self) -> PoseDetector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def landmark_frame_from_result(
    result: Any, t_s: float, image_size: tuple[int, int], frame_index: int, index: int | None = 0
) -> LandmarkFrame:
    """Convert pose ``index`` of a MediaPipe ``PoseLandmarkerResult`` into a :class:`LandmarkFrame` (a
    no-person frame when ``index`` is None or the result has no such pose)."""
    found = min(len(result.pose_world_landmarks or []), len(result.pose_landmarks or []))
    if index is None or index >= found:
        return LandmarkFrame.no_person(t_s, image_size, frame_index)
    world = result.pose_world_landmarks[index]
    norm = result.pose_landmarks[index]
    if len(world) != NUM_LANDMARKS or len(norm) != NUM_LANDMARKS:
        raise BridgeError(f"the pose model returned {len(world)} landmarks, expected {NUM_LANDMARKS}")
    world_xyz_m = np.array([(p.x, p.y, p.z) for p in world], dtype=np.float64)
    image_xy = np.array([(p.x, p.y) for p in norm], dtype=np.float64)
    visibility = np.array([p.visibility if p.visibility is not None else 0.0 for p in norm], dtype=np.float64)
    presence = np.array([p.presence if p.presence is not None else 0.0 for p in norm], dtype=np.float64)
    return LandmarkFrame(
        t_s=float(t_s),
        world_xyz_m=world_xyz_m,
        image_xy=image_xy,
        visibility=visibility,
        presence=presence,
        image_size=(int(image_size[0]), int(image_size[1])),
        person=True,
        frame_index=int(frame_index),
    )
