"""The real tracker on a render, paired frame by frame with the render's truth: material for measuring the
tracker and for training on its real errors (many clips × cameras: one :func:`track_render` per render).

Every array has one row per video frame (the render's ``truth.t_s``); frames where the tracker found nobody
have ``found`` False and NaN landmarks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bridge.core.landmarks import LandmarkFrame, PoseLandmark
from bridge.testing.render import RenderedClip, RenderTruth

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class TrackedRender:
    """The tracker's output on a render next to the truth.

    Attributes:
        found: (T,) bool: the tracker reported a person.
        image_px: (T, 33, 2) float, pixels: its 2-D landmarks (MediaPipe's normalised ones × image size).
        world_xyz_m: (T, 33, 3) float, MediaPipe world frame (x right, y down, z away, hip-centred), metres.
        visibility: (T, 33) float: its visibilities.
        truth: the render's truth (world frame, Y up, floor y = 0).
        truth_mediapipe_m: (T, 33, 3) float: the true landmarks in MediaPipe's world frame (camera axes, origin
            at the midpoint of the true LEFT_HIP and RIGHT_HIP), metres: what a perfect tracker would report.
    """

    found: npt.NDArray[np.bool_]
    image_px: FloatArray
    world_xyz_m: FloatArray
    visibility: FloatArray
    truth: RenderTruth
    truth_mediapipe_m: FloatArray


def truth_in_mediapipe_frame(truth: RenderTruth) -> FloatArray:
    """(T, 33, 3) metres: the true landmarks turned into the camera's axes and centred on the hips' midpoint."""
    lms = truth.landmarks_world_m
    hips = (lms[:, PoseLandmark.LEFT_HIP] + lms[:, PoseLandmark.RIGHT_HIP]) / 2.0
    rot = truth.camera.world_to_camera[:3, :3]
    return np.asarray((lms - hips[:, None]) @ rot.T)


def pair_frames(frames: list[LandmarkFrame], truth: RenderTruth) -> TrackedRender:
    """Pair tracked frames (in video order; ``frame_index`` used where known) with the truth."""
    n = len(truth.t_s)
    found = np.zeros(n, dtype=bool)
    image_px = np.full((n, 33, 2), np.nan)
    world = np.full((n, 33, 3), np.nan)
    vis = np.zeros((n, 33))
    for k, frame in enumerate(frames):
        i = frame.frame_index if frame.frame_index >= 0 else k
        if frame.person and 0 <= i < n:
            found[i] = True
            image_px[i] = frame.image_xy * np.array(frame.image_size, dtype=np.float64)
            world[i] = frame.world_xyz_m
            vis[i] = frame.visibility
    return TrackedRender(found, image_px, world, vis, truth, truth_in_mediapipe_frame(truth))


def track_render(rc: RenderedClip) -> TrackedRender:
    """The real tracker (its own process, as every command runs it) over the rendered video."""
    from bridge.tracking.process import open_landmarks

    with open_landmarks(str(rc.video)) as (_info, stream):
        frames = list(stream)
    return pair_frames(frames, rc.truth)
