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


def _left_foot(rig, hips_m: np.ndarray, quats: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    """(3,) the rig's left ankle, rig frame, metres, posed by ``quats`` (B, 4) with the hips at ``hips_m``."""
    pose = BonePose(0.0, rig, hips_m, Rotation.from_quat(quats), np.zeros(len(rig.bones), dtype=np.int8))
    return np.asarray(pose.world()[0][rig.index("LeftFoot")])


def _stance_step(rig, n: int = 40) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """(T, B, 4) local rotations of a left leg swinging from front to back (a stance leg under a walking body),
    and the (T, 3) travel that a camera saw meanwhile, with a wobble of its depth guess."""
    q = np.tile(Rotation.identity(len(rig.bones)).as_quat(), (n, 1, 1))
    swing = np.linspace(25.0, -25.0, n)
    q[:, rig.index("LeftUpperLeg")] = Rotation.from_euler("x", -swing[:, None], degrees=True).as_quat()
    q[:, rig.index("LeftFoot")] = Rotation.from_euler("x", swing[:, None], degrees=True).as_quat()  # flat
    feet = [_left_foot(rig, np.zeros(3), q[k]) for k in range(n)]
    travel = np.zeros((n, 3))
    travel[:, 2] = -(np.array(feet)[:, 2] - feet[0][2])  # the hips pass over the standing foot...
    travel[:, 2] += 0.1 * np.sin(2 * np.pi * np.arange(n) / 30.0)  # ...as a camera sees it: its depth wavers
    return q, travel


def test_a_planted_foot_stays_where_it_was_planted() -> None:
    """While the placement says the left foot is planted, the rig's left foot does not slide, whatever the
    travel's wobble; once no foot is planted the travel takes over again."""
    rig = load_rig("default")
    q, travel = _stance_step(rig)
    n = len(q)
    grounded = np.tile(rig.offsets_m[0], (n, 1))
    places = [Placement(rig.offsets_m[0] + t, height_m=rig.height_m, planted=(k < 30, False))
              for k, t in enumerate(travel)]  # fmt: skip
    t_s = np.arange(n) / 30.0
    hips = RootMotion(rig, "planar")(grounded, places, q, t_s)
    free = RootMotion(rig, "planar")(grounded, [dataclasses.replace(p, planted=(False, False)) for p in places], q)

    def slide_m(root: np.ndarray) -> float:
        foot = np.array([_left_foot(rig, root[k], q[k]) for k in range(ORIGIN_FRAMES, 30)])
        return float(np.linalg.norm(foot[:, [0, 2]] - foot[0, [0, 2]], axis=1).max())

    assert slide_m(free) > 0.08  # without contacts the foot slides with the travel's wobble...
    assert slide_m(hips) < 0.3 * slide_m(
        free
    )  # ...planted, it stays (the anchor follows the travel by RECENTRE_S)
    assert np.ptp(hips[ORIGIN_FRAMES:30, 2]) > 0.2  # the hips still travel, over the planted foot
    assert np.abs(hips[-1] - free[-1])[[0, 2]].max() < 0.1  # released: back toward the travel (RELEASE_S)


def test_a_triangulated_planted_foot_stays_across_the_view_as_well() -> None:
    """One camera's placement holds a planted foot along the camera's axis only (across the view the image places
    the hips); a triangulated one (several calibrated cameras) holds it on the floor in both directions."""
    rig = load_rig("default")
    q, travel = _stance_step(rig)
    travel[:, 0] = 0.1 * np.sin(2 * np.pi * np.arange(len(q)) / 20.0)  # a wobble across the view too
    n = len(q)
    grounded = np.tile(rig.offsets_m[0], (n, 1))
    t_s = np.arange(n) / 30.0

    def slide_x_m(source: str) -> float:
        places = [Placement(rig.offsets_m[0] + t, source, height_m=rig.height_m, planted=(True, False))
                  for t in travel]  # fmt: skip
        root = RootMotion(rig, "planar")(grounded, places, q, t_s)
        foot = np.array([_left_foot(rig, root[k], q[k]) for k in range(n)])
        return float(np.ptp(foot[:, 0]))

    assert slide_x_m("camera") > 0.15  # held along the camera's axis only: it slides across the view
    assert slide_x_m("triangulated") < 0.3 * slide_x_m("camera")


def test_one_planted_leg_whose_pose_jumps_does_not_drag_the_other_foot() -> None:
    """Both feet planted, a still body: when the right leg's pose jumps (its upper leg swung 30° forward from one
    frame to the next: a far leg switching between held and tracked), the hips do not shift, so the left foot,
    which did not move, stays where it stands."""
    rig = load_rig("default")
    n = 40
    q = np.tile(Rotation.identity(len(rig.bones)).as_quat(), (n, 1, 1))
    q[20:, rig.index("RightUpperLeg")] = Rotation.from_euler("x", -30.0, degrees=True).as_quat()
    grounded = np.tile(rig.offsets_m[0], (n, 1))
    places = [Placement(rig.offsets_m[0].copy(), height_m=rig.height_m, planted=(True, True)) for _ in range(n)]
    hips = RootMotion(rig, "planar")(grounded, places, q, np.arange(n) / 30.0)
    right = np.array([BonePose(0.0, rig, hips[k], Rotation.from_quat(q[k]),
                               np.zeros(len(rig.bones), dtype=np.int8)).world()[0][rig.index("RightFoot")]
                      for k in (19, 20)])  # fmt: skip
    assert np.linalg.norm(right[1, [0, 2]] - right[0, [0, 2]]) > 0.15  # the right foot's pose did jump
    left = np.array([_left_foot(rig, hips[k], q[k]) for k in range(n)])
    assert np.abs(left[:, [0, 2]] - left[0, [0, 2]]).max() < 0.01
