"""Root motion: placements → hips that travel (and rise), known answers; and the travel reaching VMC, VRChat."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from bridge.core.landmarks import Placement
from bridge.core.pose import BonePose
from bridge.core.rig import load_rig
from bridge.output.vmc import bone_local_unity
from bridge.output.vrchat import VrchatConfig, tracker_poses
from bridge.solve.root_motion import ORIGIN_FRAMES, RootMotion


def _placements(xs: list[float], lift: float = 0.0, height: float = 1.7) -> list[Placement | None]:
    return [Placement(np.array([x, 0.9, -3.0]), lift_m=lift, height_m=height) for x in xs]


def test_modes_known_answers() -> None:
    rig = load_rig("default")
    grounded = np.tile(rig.offsets_m[0], (ORIGIN_FRAMES + 2, 1))
    xs = [0.0] * ORIGIN_FRAMES + [1.0, 2.0]
    off = RootMotion(rig, "off")(grounded, _placements(xs, lift=0.3))
    np.testing.assert_array_equal(off, grounded)
    planar = RootMotion(rig, "planar")(grounded, _placements(xs, lift=0.3, height=rig.height_m))
    np.testing.assert_allclose(planar[-2:, 0], [1.0, 2.0])  # the person's metres (rig as tall as the person)
    np.testing.assert_allclose(planar[:, 1], grounded[:, 1])  # height stays grounded
    full = RootMotion(rig, "full")(grounded, _placements(xs, lift=0.3, height=2 * rig.height_m))
    np.testing.assert_allclose(full[-1, [0, 1]], [1.0, grounded[-1, 1] + 0.15])  # a rig half as tall: half steps
    held = RootMotion(rig, "planar")(grounded, [*_placements(xs, height=rig.height_m)[:-1], None])
    assert held[-1, 0] == pytest.approx(1.0)  # a frame without a placement holds the travel


def test_no_joint_below_the_floor() -> None:
    rig = load_rig("default")
    q = Rotation.identity(len(rig.bones)).as_quat()
    q[rig.index("LeftUpperArm")] = Rotation.from_euler("z", -90, degrees=True).as_quat()  # arm down along the side
    q[rig.index("Spine")] = Rotation.from_euler("x", 80, degrees=True).as_quat()  # bent over: hands low
    grounded = np.array([[0.0, 0.2, 0.0]])  # a hips height that puts the hand below the floor
    out = RootMotion(rig, "planar")(grounded, _placements([0.0], height=rig.height_m), q[None])
    pose = BonePose(0.0, rig, out[0], Rotation.from_quat(q), np.zeros(len(rig.bones), dtype=np.int8))
    assert pose.world()[0][:, 1].min() == pytest.approx(0.0, abs=1e-9)


def test_the_travel_reaches_vmc_and_vrchat() -> None:
    rig = load_rig("default")
    rest = BonePose.rest(rig)
    moved = dataclasses.replace(rest, hips_position_m=rest.hips_position_m + np.array([1.0, 0.0, -0.5]))
    positions, _ = bone_local_unity(moved)
    np.testing.assert_allclose(positions[0], [-1.0, rest.hips_position_m[1], -0.5])  # Unity: x → −x
    config = VrchatConfig(trackers=("hip", "left_foot"), height_m=rig.height_m)
    before, after = tracker_poses(rest, config), tracker_poses(moved, config)
    for key in ("1", "3"):  # hip, left foot
        np.testing.assert_allclose(after[key][0] - before[key][0], [-1.0, 0.0, -0.5], atol=1e-9)
    assert after["3"][0][1] >= 0.0  # the feet stay on (above) the floor
