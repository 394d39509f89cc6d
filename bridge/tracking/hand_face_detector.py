"""Hands and face next to the body: MediaPipe HandLandmarker and FaceLandmarker in the tracker process.

``--track body,hands,face`` chooses the models. The body (PoseLandmarker) always runs: the solver needs it, and
its landmarks tell where to look for the hands and the face.

Where the models look (the MediaPipe Holistic idea): the hand and face models are made for hands and faces
that fill a good part of the image (a selfie camera). On a whole 1768x994 video frame with people a few hundred
pixels tall they find nothing (measured: 0 hands and 0 faces in the 230 frames of the Sports2D demo). So when
the pose model has found a person, each model runs on a square crop around the pose's estimate of that part,
resampled to ``crop_px`` pixels:

* face: centred on the nose; half-side the largest of 1.3 × ear-to-ear, 2.5 × eye-to-eye and 0.5 × the
  shoulder width (all in pixels);
* each hand: centred on the pose's knuckles (index/pinky mid-point); half-side the larger of 1.6 × wrist to
  knuckles and 0.6 × the forearm. A hand whose pose wrist is out of the image or unseen is skipped.

Without a person, both models run on the whole image (a face filling a webcam image still works). Results are
mapped back to the whole image's normalised coordinates. The face model runs in IMAGE mode (its detector is
cheap, and crops change every frame), so do both models on whole images; each hand's crop has its own
hand landmarker in VIDEO mode: the crop follows the hand, so MediaPipe's tracking from the previous frame keeps
working and its palm detector runs only when a hand is lost. The face transform's rotation stays valid for a
crop (the crop's virtual camera looks a few degrees off the real one's axis); its translation does not and is
not used.

Concurrency (``VtuberConfig.concurrency``):

* ``"sequential"``: pose, then hands, then face, in one thread;
* ``"threads"``: pose, then hands and face at the same time in two threads (MediaPipe releases the GIL);
* ``"pipelined"``: pose, hands and face of a frame all at the same time, the crops placed with the previous
  frame's pose (one frame of lag in where to look, none in what is seen).

``bench/bench_vtuber.py`` measures them. On this project's 2-core machine (busy with other jobs), Sports2D demo,
body+hands+face over pre-decoded frames: sequential 8.1 fps, threads 11.4 fps (1.42×), pipelined 9.9 fps
(1.22×); median cost per frame: pose 34 ms, both hand crops 42 ms, face crop 10 ms. MediaPipe's graphs leave
gaps a second graph can fill even on two cores. Through the tracker process on a quieter machine (issue 18,
one run): body only 42.4 fps, body+hands+face with threads 22.8 (0.54), pipelined 29.3 (0.69), pipelined with
each hand every other frame (``hand_every=2``) 40.6 (0.96). ``VtuberConfig``'s own defaults (threads, every
frame) are the plain detector's; the tracker's defaults (``pipelined``, ``hand_every=2``) are set by
:class:`~bridge.tracking.config.TrackerConfig` and the CLI.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bridge.core.errors import BridgeError
from bridge.core.hand_face import (
    NUM_BLENDSHAPES,
    NUM_HAND_LANDMARKS,
    FaceResult,
    HandObservation,
    HandsResult,
)
from bridge.core.landmarks import LandmarkFrame
from bridge.core.landmarks import PoseLandmark as L
from bridge.tracking.config import CONCURRENCY_MODES, TrackerConfig
from bridge.tracking.crops import Crop, cut, square
from bridge.tracking.models import face_model_path, hand_model_path, model_load_error
from bridge.tracking.pose_detector import PoseDetector
from bridge.tracking.quiet import quiet_stderr
from bridge.tracking.sources import Frame

FloatArray = npt.NDArray[np.float64]

#: Face landmark indices of the iris centres (refined 478-point mesh): the person's left, then right.
_IRIS_LEFT, _IRIS_RIGHT = 473, 468


@dataclass(frozen=True)
class VtuberConfig:
    """Settings of the hand and face models.

    Attributes:
        hands, face: run the hand / face model.
        hand_model_path, face_model_path: ``.task`` files; None = the bundled ones.
        crop_px: side of the square image each crop is resampled to (the models' inputs are 192..256 px).
        min_hand_confidence, min_face_confidence: MediaPipe detection/presence confidences.
        min_wrist_visibility: a hand crop is made only where the pose's wrist is at least this visible.
        concurrency: one of :data:`CONCURRENCY_MODES` (see the module docstring).
        hand_reuse_frames: a hand that has not moved (its pose wrist, index and pinky points all within
            ``hand_still_frac`` of its crop's side of where they were when the hand model last ran) reuses that
            result, moved with the wrist, for up to this many frames in a row instead of running the hand model;
            0 = run it every frame.
        hand_still_frac: see ``hand_reuse_frames``.
        hand_every: run each hand's model on every N-th frame only, the two hands on different frames
            (with 2: one hand a frame); in between, a hand's last result moved with its wrist, as
            ``hand_reuse_frames`` does (a hand not found lately is looked for on its own frames only).
            1 = every frame.
        face_every: run the face model on every N-th frame only; in between, the blend shapes are extrapolated
            from its last two results (:func:`extrapolate_blendshapes`, bounded to [0, 1]) and the head
            transform is held. 1 = every frame.
    """

    hands: bool = True
    face: bool = True
    hand_model_path: Path | None = None
    face_model_path: Path | None = None
    crop_px: int = 256
    min_hand_confidence: float = 0.5
    min_face_confidence: float = 0.5
    min_wrist_visibility: float = 0.3
    concurrency: str = "threads"
    hand_reuse_frames: int = 0
    hand_still_frac: float = 0.04
    hand_every: int = 1
    face_every: int = 1


def extrapolate_blendshapes(
    earlier: FloatArray, earlier_s: float, latest: FloatArray, latest_s: float, t_s: float
) -> FloatArray:
    """Blend shape weights (52,) at ``t_s`` after the face model's last two results (``earlier`` at
    ``earlier_s``, ``latest`` at ``latest_s``): linear, at most one interval ahead, clipped to [0, 1]."""
    span = latest_s - earlier_s
    if not span > 0:
        return np.asarray(latest, dtype=np.float64).copy()
    ahead = min(max((t_s - latest_s) / span, 0.0), 1.0)
    w = np.asarray(latest, dtype=np.float64) + ahead * (np.asarray(latest) - np.asarray(earlier))
    return np.asarray(np.clip(w, 0.0, 1.0), dtype=np.float64)


def face_crop(pose: LandmarkFrame) -> Crop | None:
    """Where to look for the face, from the pose's head landmarks (None: no person)."""
    if not pose.person:
        return None
    px = pose.image_xy * np.asarray(pose.image_size, dtype=np.float64)
    ears = float(np.linalg.norm(px[L.LEFT_EAR] - px[L.RIGHT_EAR]))
    eyes = float(np.linalg.norm(px[L.LEFT_EYE] - px[L.RIGHT_EYE]))
    shoulders = float(np.linalg.norm(px[L.LEFT_SHOULDER] - px[L.RIGHT_SHOULDER]))
    return square(px[L.NOSE], max(1.3 * ears, 2.5 * eyes, 0.5 * shoulders))


_HAND_POSE_POINTS = {
    "Left": (L.LEFT_ELBOW, L.LEFT_WRIST, L.LEFT_INDEX, L.LEFT_PINKY),
    "Right": (L.RIGHT_ELBOW, L.RIGHT_WRIST, L.RIGHT_INDEX, L.RIGHT_PINKY),
}


def hand_crops(pose: LandmarkFrame, min_wrist_visibility: float = 0.3) -> dict[str, Crop]:
    """Where to look for each hand ("Left"/"Right": the pose's sides), from the pose's arm landmarks."""
    if not pose.person:
        return {}
    w, h = pose.image_size
    px = pose.image_xy * np.asarray(pose.image_size, dtype=np.float64)
    out: dict[str, Crop] = {}
    for side, (elbow, wrist, index, pinky) in _HAND_POSE_POINTS.items():
        wx, wy = pose.image_xy[wrist]
        if pose.visibility[wrist] < min_wrist_visibility or not (-0.05 <= wx <= 1.05 and -0.05 <= wy <= 1.05):
            continue
        knuckles = (px[index] + px[pinky]) / 2
        hand = float(np.linalg.norm(knuckles - px[wrist]))
        forearm = float(np.linalg.norm(px[wrist] - px[elbow]))
        out[side] = square(knuckles, max(1.6 * hand, 0.6 * forearm, 0.02 * max(w, h)))
    return out


def hands_from_result(result: Any, crop: Crop | None, image_size: tuple[int, int]) -> list[HandObservation]:
    """MediaPipe ``HandLandmarkerResult`` (of a crop, or the whole image when ``crop`` is None) → hands."""
    out = []
    for world, norm, handed in zip(
        result.hand_world_landmarks, result.hand_landmarks, result.handedness, strict=False
    ):
        if len(world) != NUM_HAND_LANDMARKS or len(norm) != NUM_HAND_LANDMARKS:
            continue
        xy = np.array([(p.x, p.y) for p in norm], dtype=np.float64)
        if crop is not None:
            xy = crop.to_image(xy, image_size)
        cat = handed[0] if handed else None
        out.append(
            HandObservation(
                world_xyz_m=np.array([(p.x, p.y, p.z) for p in world], dtype=np.float64),
                image_xy=xy,
                label=str(cat.category_name) if cat is not None else "",
                score=float(cat.score) if cat is not None and cat.score is not None else 0.0,
            )
        )
    return out


def face_from_result(result: Any, crop: Crop | None, image_size: tuple[int, int]) -> FaceResult | None:
    """MediaPipe ``FaceLandmarkerResult`` → :class:`FaceResult` (first face), None when no face was found."""
    if not result.face_landmarks or not result.face_blendshapes:
        return None
    weights = np.zeros(NUM_BLENDSHAPES)
    from bridge.core.hand_face import ARKIT_INDEX

    for cat in result.face_blendshapes[0]:
        k = ARKIT_INDEX.get(str(cat.category_name))
        if k is not None:
            weights[k] = float(cat.score)
    transform = (
        np.array(result.facial_transformation_matrixes[0], dtype=np.float64).reshape(4, 4)
        if result.facial_transformation_matrixes
        else np.eye(4)
    )
    lms = result.face_landmarks[0]
    if len(lms) > max(_IRIS_LEFT, _IRIS_RIGHT):
        xy = np.array([(lms[i].x, lms[i].y) for i in (_IRIS_LEFT, _IRIS_RIGHT)], dtype=np.float64)
    else:
        xy = np.zeros((2, 2))
    if crop is not None:
        xy = crop.to_image(xy, image_size)
    return FaceResult(blendshapes=np.clip(weights, 0.0, 1.0), transform=transform, image_xy=xy)


class HandFaceDetector:
    """The hand and face models (IMAGE mode), run on crops placed with a pose frame. Create it in the process
    that uses it; ``close()`` releases the graphs."""

    def __init__(self, config: VtuberConfig = VtuberConfig()) -> None:
        import mediapipe as mp
        from mediapipe.tasks.python import BaseOptions, vision

        self._mp = mp
        self.config = config
        self._hand: Any = None
        self._side_hand: dict[str, Any] = {}
        self._side_ms: dict[str, int] = {"Left": -1, "Right": -1}
        self._face: Any = None
        #: per side: (pose anchor points (3, 2) px, the hand found, frames reused since the model last ran).
        self._last_hand: dict[str, tuple[FloatArray, HandObservation, int]] = {}
        self._faces: list[tuple[float, FaceResult]] = []  # the face model's last two results
        self._face_frames = 0
        self._hand_frames = 0
        #: how often each model ran (for the benchmarks and tests): "hand" (per crop), "face".
        self.model_runs: dict[str, int] = {"hand": 0, "face": 0}
        if config.hands:
            model = hand_model_path(config.hand_model_path)
            options = vision.HandLandmarkerOptions(
                base_options=BaseOptions(model_asset_path=str(model)),
                running_mode=vision.RunningMode.IMAGE,
                num_hands=2,
                min_hand_detection_confidence=config.min_hand_confidence,
                min_hand_presence_confidence=config.min_hand_confidence,
            )
            # One VIDEO-mode landmarker per side for the crops: the crop follows the pose's hand, so the hand
            # stays where MediaPipe's tracking expects it and the palm detector runs only when tracking is lost.
            side_options = vision.HandLandmarkerOptions(
                base_options=BaseOptions(model_asset_path=str(model)),
                running_mode=vision.RunningMode.VIDEO,
                num_hands=1,
                min_hand_detection_confidence=config.min_hand_confidence,
                min_hand_presence_confidence=config.min_hand_confidence,
            )
            try:
                with quiet_stderr():
                    self._hand = vision.HandLandmarker.create_from_options(options)
                    for side in ("Left", "Right"):
                        self._side_hand[side] = vision.HandLandmarker.create_from_options(side_options)
            except Exception as exc:
                self.close()
                raise model_load_error(model, exc, "hand") from exc
        if config.face:
            model = face_model_path(config.face_model_path)
            face_options = vision.FaceLandmarkerOptions(
                base_options=BaseOptions(model_asset_path=str(model)),
                running_mode=vision.RunningMode.IMAGE,
                num_faces=1,
                min_face_detection_confidence=config.min_face_confidence,
                min_face_presence_confidence=config.min_face_confidence,
                output_face_blendshapes=True,
                output_facial_transformation_matrixes=True,
            )
            try:
                with quiet_stderr():
                    self._face = vision.FaceLandmarker.create_from_options(face_options)
            except Exception as exc:
                self.close()
                raise model_load_error(model, exc, "face") from exc

    def _image(self, rgb: npt.NDArray[np.uint8]) -> Any:
        return self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))

    def detect_hands(self, rgb: npt.NDArray[np.uint8], pose: LandmarkFrame) -> HandsResult | None:
        """Hands in the (H, W, 3) RGB image, looked for around the pose's hands (whole image without a person)."""
        if self._hand is None:
            return None
        size = (int(rgb.shape[1]), int(rgb.shape[0]))
        found: list[HandObservation] = []
        if not pose.person:
            found = hands_from_result(self._hand.detect(self._image(rgb)), None, size)
        else:
            px = np.asarray(size, dtype=np.float64)
            crops = hand_crops(pose, self.config.min_wrist_visibility)
            for side in [s for s in self._last_hand if s not in crops]:
                del self._last_hand[side]
            every = max(int(self.config.hand_every), 1)
            self._hand_frames += 1
            for side, crop in crops.items():
                anchor = pose.image_xy[list(_HAND_POSE_POINTS[side][1:])] * px
                stagger = 0 if side == "Left" else every // 2  # the two hands' models on different frames
                due = (self._hand_frames + stagger) % every == 0
                reused = self._reused_hand(side, anchor, crop, size, held=not due)
                if reused is not None:
                    if not any(np.linalg.norm(reused.image_xy[0] - h.image_xy[0]) < 1e-3 for h in found):
                        found.append(reused)
                    continue
                if not due:  # a hand not found lately is looked for on its own frames only
                    continue
                ms = max(int(round(pose.t_s * 1000.0)), self._side_ms[side] + 1)  # strictly increasing
                self._side_ms[side] = ms
                image = self._image(cut(rgb, crop, self.config.crop_px))
                self.model_runs["hand"] += 1
                hands = hands_from_result(self._side_hand[side].detect_for_video(image, ms), crop, size)
                self._last_hand.pop(side, None)
                if not hands:
                    continue
                wrist = pose.image_xy[_HAND_POSE_POINTS[side][1]] * px
                # The crop may hold both hands when they are close: keep the one nearest this side's wrist.
                best = min(hands, key=lambda h: float(np.linalg.norm(h.image_xy[0] * px - wrist)))
                self._last_hand[side] = (anchor, best, 0)
                if not any(np.linalg.norm(best.image_xy[0] - h.image_xy[0]) < 1e-3 for h in found):
                    found.append(best)
        return HandsResult(tuple(found))

    def _reused_hand(
        self, side: str, anchor_px: FloatArray, crop: Crop, size: tuple[int, int], held: bool = False
    ) -> HandObservation | None:
        """The side's last hand, moved with the wrist, if it may be reused (see ``hand_reuse_frames``; ``held``:
        this frame is not the hand's under ``hand_every``, so it is reused whether it moved or not)."""
        last = self._last_hand.get(side)
        if last is None or (self.config.hand_reuse_frames <= 0 and not held):
            return None
        before_px, hand, reused = last
        moved_px = float(np.max(np.linalg.norm(anchor_px - before_px, axis=1)))
        still = moved_px <= self.config.hand_still_frac * crop.side_px
        if not held and (reused >= self.config.hand_reuse_frames or not still):
            return None
        self._last_hand[side] = (before_px, hand, reused + 1)
        shift = (anchor_px[0] - before_px[0]) / np.asarray(size, dtype=np.float64)
        return HandObservation(hand.world_xyz_m, hand.image_xy + shift, hand.label, hand.score)

    def detect_face(self, rgb: npt.NDArray[np.uint8], pose: LandmarkFrame) -> FaceResult | None:
        """The face in the (H, W, 3) RGB image, looked for around the pose's head (whole image without one)."""
        if self._face is None:
            return None
        size = (int(rgb.shape[1]), int(rgb.shape[0]))
        every = max(int(self.config.face_every), 1)
        self._face_frames += 1
        if every > 1 and (self._face_frames - 1) % every and self._faces:
            latest_s, latest = self._faces[-1]
            if len(self._faces) < 2:
                return latest
            earlier_s, earlier = self._faces[0]
            weights = extrapolate_blendshapes(
                earlier.blendshapes, earlier_s, latest.blendshapes, latest_s, pose.t_s
            )
            return FaceResult(weights, latest.transform, latest.image_xy)
        crop = face_crop(pose)
        image = rgb if crop is None else cut(rgb, crop, self.config.crop_px)
        self.model_runs["face"] += 1
        face = face_from_result(self._face.detect(self._image(image)), crop, size)
        self._faces = [] if face is None else [*self._faces[-1:], (pose.t_s, face)]
        return face

    def close(self) -> None:
        """Release the MediaPipe graphs (idempotent)."""
        with quiet_stderr():  # mediapipe ≥ 1.2.3 logs INFO lines as graphs tear down
            for name in ("_hand", "_face"):
                model = getattr(self, name, None)
                if model is not None:
                    setattr(self, name, None)
                    model.close()
            for side in list(getattr(self, "_side_hand", {})):
                self._side_hand.pop(side).close()


class VtuberDetector:
    """Pose + hands + face per :class:`~bridge.tracking.sources.Frame`: the tracker's detector when ``--track``
    asks for more than the body. Same interface as :class:`bridge.tracking.pose_detector.PoseDetector`
    (``detect(frame)``, ``close``)."""

    def __init__(self, tracker_config: TrackerConfig, config: VtuberConfig | None = None) -> None:
        track = tracker_config.track
        if config is None:
            config = VtuberConfig(
                hands="hands" in track,
                face="face" in track,
                concurrency=tracker_config.concurrency,
                hand_every=tracker_config.hand_every,
                face_every=tracker_config.face_every,
            )
        if config.concurrency not in CONCURRENCY_MODES:
            raise BridgeError(f"unknown concurrency {config.concurrency!r}; use one of {CONCURRENCY_MODES}")
        self.config = config
        self._pose = PoseDetector(tracker_config)
        try:
            self._extras = HandFaceDetector(config)
        except BaseException:
            self._pose.close()
            raise
        self._pool = (
            concurrent.futures.ThreadPoolExecutor(max_workers=3, thread_name_prefix="bridge-vtuber")
            if config.concurrency != "sequential"
            else None
        )
        self._previous: LandmarkFrame | None = None

    def detect(self, frame: Frame) -> LandmarkFrame:
        """Pose, hands and face of one frame (a LandmarkFrame with ``hands`` / ``face`` set)."""
        # MediaPipe logs W0000 lines when it starts tracking; silence fd 2 once, here, for the whole frame: the
        # worker threads must not redirect it themselves (two threads saving and restoring fd 2 at once could
        # leave it pointing at /dev/null).
        with quiet_stderr():
            return self._detect(frame)

    def _detect(self, frame: Frame) -> LandmarkFrame:
        import cv2

        rgb = np.asarray(cv2.cvtColor(frame.image_bgr, cv2.COLOR_BGR2RGB), dtype=np.uint8)
        ex = self._extras
        mode = self.config.concurrency
        jobs: list[Callable[[LandmarkFrame], Any]] = [
            lambda p: ex.detect_hands(rgb, p),
            lambda p: ex.detect_face(rgb, p),
        ]
        if self._pool is None:
            pose = self._pose.detect(frame)
            hands, face = (job(pose) for job in jobs)
        elif mode == "threads":
            pose = self._pose.detect(frame)
            futures = [self._pool.submit(job, pose) for job in jobs]
            hands, face = (f.result() for f in futures)
        else:  # pipelined: crops from the previous frame's pose
            guide = self._previous or LandmarkFrame.no_person(frame.t_s, frame.image_size, frame.frame_index)
            futures = [self._pool.submit(job, guide) for job in jobs]
            pose = self._pose.detect(frame)
            hands, face = (f.result() for f in futures)
            self._previous = pose
        return pose.replace(hands=hands, face=face)

    def close(self) -> None:
        """Stop the threads and release the models (idempotent)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self._extras.close()
        self._pose.close()

    def __enter__(self) -> VtuberDetector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
