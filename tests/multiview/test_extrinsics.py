"""Extrinsics from the person alone: synthetic views of a mocap walk (exact answer known), and Pose2Sim's demo
against its Qualisys calibration."""

from __future__ import annotations

import numpy as np
import pytest

from bridge.multiview.calibration import project, read_calibration
from bridge.multiview.extrinsics import (
    ExtrinsicsConfig,
    body_scale,
    compare_calibrations,
    estimate_extrinsics,
    extrinsics_from_views,
)
from tests.multiview.demo import DEMO_VIEWS, demo_dir
from tests.multiview.helpers import mocap_world, ring


def test_synthetic_views_give_the_cameras_back() -> None:
    cal = ring(3)
    truth = mocap_world()
    rng = np.random.default_rng(5)
    pixels = np.stack([project(c, truth) for c in cal.cameras], axis=1) + rng.normal(
        scale=0.5, size=(40, 3, 33, 2)
    )
    height = 1.0 / body_scale(truth, 1.0)  # the height the proportions give this body
    result = estimate_extrinsics(cal.cameras, pixels, np.ones(pixels.shape[:3]), height)
    angles, positions = compare_calibrations(result.calibration, cal)
    assert angles.max() < 0.5 and positions.max() < 0.02
    found = np.linalg.norm(result.calibration.cameras[1].centre_m - result.calibration.cameras[0].centre_m)
    true = np.linalg.norm(cal.cameras[1].centre_m - cal.cameras[0].centre_m)
    assert found == pytest.approx(true, rel=0.02)  # metric from the height
    assert result.calibration.up @ (cal.cameras[0].R @ cal.up) > 0.98  # up, in the first camera's frame
    assert result.rms_px < 1.0


@pytest.mark.slow
def test_demo_extrinsics_against_qualisys(demo_views) -> None:
    qualisys = read_calibration(demo_dir() / "calibration" / "Calib.qca.txt")
    views = [demo_views[v] for v in DEMO_VIEWS]
    # Only the intrinsics of the Qualisys calibration are used; the views are synchronised along the way.
    result, offsets = extrinsics_from_views(qualisys.cameras, views, 1.69, config=ExtrinsicsConfig(max_points=700))
    angles, positions = compare_calibrations(result.calibration, qualisys)
    print(f"\nextrinsics from the person ({len(views[0])} frames, offsets {offsets}): rotation error "
          f"{np.round(angles, 2).tolist()} deg, position error {np.round(100 * positions, 1).tolist()} cm, "
          f"RMS {result.rms_px:.2f} px")  # fmt: skip
    assert angles.max() < 8.0 and positions.max() < 0.25
