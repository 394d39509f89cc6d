"""The second look for a person too small for the pose detector (:mod:`bridge.tracking.zoom`)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from mediapipe.tasks.python.components.containers.landmark import NormalizedLandmark
from mediapipe.tasks.python.vision.pose_landmarker import PoseLandmarkerResult

from bridge.core.landmarks import PoseLandmark
from bridge.tracking.config import TrackerConfig
from bridge.tracking.crops import Crop
from bridge.tracking.pose_detector import PoseDetector
from bridge.tracking.sources import Frame
from bridge.tracking.zoom import ZoomConfig, map_result, person_square, tiles


def test_tiles_cover_the_frame_at_two_scales() -> None:
    """Every pixel of a 16:9 and of a square frame lies in a tile of each scale; the first tiles are squares of
    the shorter side (0.6 of a square frame's side), then half that; all inside the frame."""
    for size in ((1768, 994), (640, 640)):
        w, h = size
        all_tiles = tiles(size)
        first = min(w, h, 0.6 * max(w, h))
        for side in (first, first / 2):
            level = [t for t in all_tiles if t.side_px == side]
            assert level, f"no tiles of side {side} for {size}"
            covered = np.zeros((h, w), dtype=bool)
            for t in level:
                assert t.x0_px >= 0 and t.y0_px >= 0 and t.x0_px + side <= w + 1e-9 and t.y0_px + side <= h + 1e-9
                covered[
                    int(t.y0_px) : int(np.ceil(t.y0_px + side)), int(t.x0_px) : int(np.ceil(t.x0_px + side))
                ] = 1
            assert covered.all(), f"tiles of side {side} leave part of {size} uncovered"
    assert len(tiles((1768, 994))) == 3 + 21


def test_a_crop_result_maps_back_to_the_whole_frame() -> None:
    """A landmark at the crop's centre and one at its corner land on the crop's centre and corner in the whole
    frame's normalised coordinates; z scales with the crop's side over the frame's width; world landmarks stay."""
    crop = Crop(100.0, 50.0, 200.0)
    pose = [NormalizedLandmark(x=0.5, y=0.5, z=0.1, visibility=0.9), NormalizedLandmark(x=0.0, y=1.0, z=None)]
    world = [object(), object()]
    mapped = map_result(PoseLandmarkerResult([pose], [world]), crop, (800, 400))
    a, b = mapped.pose_landmarks[0]
    assert (a.x, a.y) == (200.0 / 800, 150.0 / 400) and a.z == 0.1 * 200.0 / 800 and a.visibility == 0.9
    assert (b.x, b.y, b.z) == (100.0 / 800, 250.0 / 400, None)
    assert mapped.pose_world_landmarks[0] is world
    sq = person_square(np.array([[0.2, 0.2], [0.3, 0.6]]), (800, 400), ZoomConfig())
    assert sq.side_px == 1.8 * 160.0 and (sq.x0_px + sq.side_px / 2, sq.y0_px + sq.side_px / 2) == (200.0, 160.0)


def test_a_person_too_small_for_the_detector_is_found_in_a_square_of_the_frame(sports2d_video: Path) -> None:
    """The real Sports2D demo shrunk to a third in a black frame of its size (the man ~165 of 994 px tall): the
    pose model on the whole frame finds nobody; with the second look the tracker finds him on most frames once
    its tiles reach him, where the pose model finds him in the full-size frame (median ≤ 5 px)."""
    cap = cv2.VideoCapture(str(sports2d_video))
    images = [cap.read()[1] for _ in range(60)]
    cap.release()
    h, w = images[0].shape[:2]
    y0, x0 = h - h // 3 - 20, w // 3
    plain, zoomed, full = (PoseDetector(TrackerConfig(zoom=z)) for z in (False, True, False))
    found, errors = [], []
    try:
        for k, image in enumerate(images):
            canvas = np.zeros_like(image)
            canvas[y0 : y0 + h // 3, x0 : x0 + w // 3] = cv2.resize(
                image, (w // 3, h // 3), interpolation=cv2.INTER_AREA
            )
            assert not plain.detect(Frame(k / 30.0, k, canvas)).person
            small = zoomed.detect(Frame(k / 30.0, k, canvas))
            found.append(small.person)
            ref = full.detect(Frame(k / 30.0, k, image))
            if small.person and ref.person:
                expected = ref.image_xy * [w, h] / 3.0 + [x0, y0]
                errors.append(float(np.median(np.linalg.norm(small.image_xy * [w, h] - expected, axis=1))))
    finally:
        for d in (plain, zoomed, full):
            d.close()
    first = found.index(True) if any(found) else len(found)
    assert first < 30, "the tiles never reached the person"
    assert np.mean(found[first:]) >= 0.8, f"found on {np.mean(found[first:]):.0%} of the frames after the first"
    assert errors and np.median(errors) <= 5.0, f"median error {np.median(errors):.1f} px"


def test_the_whole_frame_takes_over_only_where_it_agrees_with_the_second_look(sports2d_video: Path) -> None:
    """The real Sports2D demo from its first frame: the pose model on the whole frame misses the man on frames
    0-2 and 4 and, on the frames between (3 and 5), puts his heels 100-200 px low (its first frames after
    finding someone). With the second look and its hand-over he is found on each of the first 8 frames and his
    heels stay where he stands (within 40 px of their median row; he stands still on the box until frame 8)."""
    cap = cv2.VideoCapture(str(sports2d_video))
    images = [cap.read()[1] for _ in range(8)]
    cap.release()
    with PoseDetector(TrackerConfig()) as detector:
        frames = [detector.detect(Frame(k / 30.0, k, image)) for k, image in enumerate(images)]
    assert all(f.person for f in frames), [f.frame_index for f in frames if not f.person]
    h = images[0].shape[0]
    heels = np.array(
        [[f.image_xy[i][1] * h for i in (PoseLandmark.LEFT_HEEL, PoseLandmark.RIGHT_HEEL)] for f in frames]
    )
    off = np.abs(heels - np.median(heels, axis=0))
    assert off.max() <= 40.0, f"heel rows off their median by {off.max(axis=1).round()} px"
