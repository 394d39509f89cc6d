"""The camera's view of the body (bridge.analysis.view) and the image-plane angles (bridge.analysis.angles2d), on
real CMU motion capture seen by virtual cameras from known directions."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from bridge.analysis.analyse import analyse
from bridge.analysis.angles import angles_from_points
from bridge.analysis.angles2d import IMAGE_PLANE_ANGLES, facing_sign, image_plane_angles
from bridge.analysis.config import AnalysisConfig
from bridge.analysis.track import track_from_frames
from bridge.analysis.view import assess_view, side_view_deg, view_of
from bridge.core.errors import BridgeError
from bridge.export.bvh_file import read_bvh
from bridge.testing.mocap import MocapLandmarks, mocap_landmarks, to_landmark_frames
from tests.analysis.test_analysis import truth_points


@pytest.fixture(scope="module")
def jumps(cmu_bvh_dir: Path) -> object:
    """CMU 01_01: jumps forward (knees and hips flex and extend), the subject keeps facing one way."""
    return read_bvh(cmu_bvh_dir / "01_01.bvh")


def seen_from(motion: object, yaw: float) -> MocapLandmarks:
    return mocap_landmarks(motion, camera_yaw_deg=yaw, frames=slice(1, 600, 3))  # type: ignore[arg-type]


@pytest.mark.parametrize(("yaw", "view"), [(0.0, "front"), (45.0, "oblique"), (90.0, "side"), (180.0, "front"),
                                           (270.0, "side")])  # fmt: skip
def test_the_view_of_cameras_all_around(jumps: object, yaw: float, view: str) -> None:
    """The side-view angle follows where the camera stands: 0° from the front and back, 90° from either side."""
    m = seen_from(jumps, yaw)
    deg = side_view_deg(m.world_xyz_m)
    expected = {0.0: 0.0, 45.0: 45.0, 90.0: 90.0, 180.0: 0.0, 270.0: 90.0}[yaw]
    assert float(np.median(deg)) == pytest.approx(expected, abs=8.0)
    assert view_of(float(np.median(deg))) == view


def test_front_view_warns_about_knee_flexion(jumps: object) -> None:
    """From the front, knee flexion is flagged as unsuitable (the clear warning) and stays 3-D; frontal angles
    suit the view."""
    m = seen_from(jumps, 0.0)
    a = analyse(to_landmark_frames(m))
    assert a.view is not None and a.view.view == "front"
    knee = a.view.angles["left_knee_flexion"]
    assert knee.suits == "no" and knee.method == "3d" and knee.text.startswith("NO:")
    assert "knee flexion" in knee.text and "film from the side" in knee.text
    assert a.view.angles["left_shoulder_abduction"].suits == "yes"
    assert any("front view" in w for w in a.view.warnings)
    assert not a.view.image_plane()


def test_side_view_measures_sagittal_angles_in_the_image(jumps: object) -> None:
    """From the side, the sagittal angles suit the view, knee and hip flexion come from the image plane and
    match the mocap's ground truth; frontal angles are flagged."""
    m = seen_from(jumps, 90.0)
    a = analyse(to_landmark_frames(m), AnalysisConfig(cutoff_hz=None))
    assert a.view is not None and a.view.view == "side" and not a.view.warnings
    assert a.view.angles["right_knee_flexion"].suits == "yes"
    assert {"left_knee_flexion", "right_hip_flexion"} <= a.view.image_plane()
    assert a.view.angles["trunk_lateral_lean"].suits == "no"
    truth = angles_from_points(truth_points(m))
    for name in ("left_knee_flexion", "right_knee_flexion", "left_hip_flexion", "right_hip_flexion"):
        ok = np.isfinite(a.angles[name]) & np.isfinite(truth[name])
        assert ok.mean() > 0.8, name
        err = np.abs(a.angles[name][ok] - truth[name][ok])
        assert float(np.mean(err)) < 4.0, f"{name}: {np.mean(err):.1f}°"
    three_d = analyse(to_landmark_frames(m), AnalysisConfig(cutoff_hz=None, plane_angles="3d"))
    assert three_d.view is not None and not three_d.view.image_plane()


@pytest.mark.parametrize("yaw", [90.0, 270.0])
def test_image_plane_angles_either_side(jumps: object, yaw: float) -> None:
    """Seen from the left or the right side (the person faces image right or left) the signed image-plane
    angles (hip flexion, forward lean) keep their sign: they match the ground truth from both sides."""
    m = seen_from(jumps, yaw)
    track = track_from_frames(to_landmark_frames(m))
    sign = facing_sign(track.image_px)
    assert np.nanmean(sign) == pytest.approx(
        -1.0 if yaw == 90.0 else 1.0, abs=0.2
    )  # camera at their left: faces image left
    planar = image_plane_angles(track.image_px)
    truth = angles_from_points(truth_points(m))
    for name in ("left_hip_flexion", "trunk_forward_lean", "right_knee_flexion"):
        ok = np.isfinite(planar[name]) & np.isfinite(truth[name])
        assert float(np.mean(np.abs(planar[name][ok] - truth[name][ok]))) < 5.0, name
    assert set(planar) == set(IMAGE_PLANE_ANGLES)


def test_image_plane_is_wrong_from_the_front(jumps: object) -> None:
    """Why the view matters: the image-plane knee flexion from the front misses most of the bend."""
    m = seen_from(jumps, 0.0)
    planar = image_plane_angles(track_from_frames(to_landmark_frames(m)).image_px)
    truth = angles_from_points(truth_points(m))
    deep = truth["left_knee_flexion"] > 40.0
    assert deep.sum() > 10
    assert float(np.mean(truth["left_knee_flexion"][deep] - planar["left_knee_flexion"][deep])) > 15.0


def test_assess_view_with_nobody() -> None:
    world = np.full((5, 33, 3), np.nan)
    v = assess_view(world, np.zeros(5, dtype=bool))
    assert v.view == "unknown" and all(a.suits == "no" for a in v.angles.values())


def test_bad_plane_choice() -> None:
    with pytest.raises(BridgeError, match="plane angles"):
        AnalysisConfig(plane_angles="2d")
    assert dataclasses.replace(AnalysisConfig(), plane_angles="image").plane_angles == "image"


def test_report_says_per_angle_whether_the_view_suits_it(jumps: object, tmp_path: Path) -> None:
    """The report's page, JSON summary and CSV carry the view: per angle whether it suits it (the clear
    warning for knee flexion from the front) and the view angle per frame."""
    import csv
    import html
    import json

    from bridge.analysis.report import write_report

    m = seen_from(jumps, 0.0)
    files = write_report(analyse(to_landmark_frames(m)), tmp_path, "front", "front.jsonl", None, "Recording.")
    summary = json.loads((tmp_path / "front_analysis.json").read_text(encoding="utf-8"))
    assert summary["view"]["view"] == "front" and summary["view"]["warnings"]
    knee = summary["angles"]["left_knee_flexion"]
    assert knee["view_suits"] == "no" and knee["estimate"] == "3d" and knee["view_note"].startswith("NO:")
    assert summary["angles"]["left_shoulder_abduction"]["view_suits"] == "yes"
    page = html.unescape(files.html_path.read_text(encoding="utf-8"))
    assert "view-warning" in page and "NO: front view" in page and "Camera view: front" in page
    assert "front_analysis.json" in page
    with open(files.csv_path, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    view = np.array([float(r["view_deg"]) for r in rows if r["view_deg"]])
    assert len(view) > 0.9 * len(rows) and float(np.median(view)) < 15.0


def test_triangulated_landmarks_are_not_limited_by_a_view(jumps: object) -> None:
    """Frames triangulated from several calibrated views (the ``views`` flag of bridge.multiview.fuse): every
    angle 3-D and suited, no front-view warning, even where the first camera films the front."""
    m = seen_from(jumps, 0.0)
    frames = [f.with_flags(views=3) for f in to_landmark_frames(m)]
    a = analyse(frames)
    assert a.view is not None and a.view.view == "3 views" and not a.view.warnings
    assert all(x.suits == "yes" and x.method == "3d" for x in a.view.angles.values())
    assert "triangulated from 3" in a.view.angles["left_knee_flexion"].text
