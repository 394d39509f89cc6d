"""The foot lock (:mod:`bridge.solve.foot_lock`): the two-bone IK's known answers, planted feet held, released and
dragged, and what it costs the legs' angles on exact motion capture."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from bridge.app.processor import Processor, ProcessorConfig
from bridge.core.rig import Rig, forward_kinematics, load_rig
from bridge.export.bvh_file import read_bvh
from bridge.solve.body_config import SolverConfig
from bridge.solve.foot_lock import MAX_REACH_M, RELEASE_S, FootLock, _leg_ik
from bridge.stages.body_state import BodyStateConfig
from bridge.testing.evaluate import direction_errors, summarise
from bridge.testing.mocap import mocap_landmarks, to_landmark_frames
from bridge.testing.virtual_camera import VirtualCamera

LEG = ("LeftUpperLeg", "LeftLowerLeg", "LeftFoot")


def _bent_legs(rig: Rig, n: int = 1) -> np.ndarray:
    """(n, B, 4) a pose with both knees bent 40° and the thighs forward 20° (feet flat), scalar-last."""
    q = np.tile(Rotation.identity(len(rig.bones)).as_quat(), (n, 1, 1))
    for side in ("Left", "Right"):
        q[:, rig.index(f"{side}UpperLeg")] = Rotation.from_euler("xz", [-20.0, 4.0], degrees=True).as_quat()
        q[:, rig.index(f"{side}LowerLeg")] = Rotation.from_euler("x", 40.0, degrees=True).as_quat()
        q[:, rig.index(f"{side}Foot")] = Rotation.from_euler("x", -20.0, degrees=True).as_quat()
    return q


def _fk(rig: Rig, q: np.ndarray, hips: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    joints, world_r = forward_kinematics(rig, Rotation.from_quat(q.reshape(-1, 4)), hips)
    return joints.reshape(len(q), -1, 3), world_r.reshape(len(q), -1, 3, 3)


def _hinge_axis(joints: np.ndarray, upper_r: np.ndarray, idx: list[int]) -> np.ndarray:
    """The knee's bend axis (the hip–knee–ankle plane's normal) in the upper leg's frame, unit."""
    hip, knee, ankle = joints[idx]
    n = np.cross(hip - knee, ankle - knee)
    return np.asarray(upper_r.T @ (n / np.linalg.norm(n)))


@pytest.mark.parametrize("shift", [(0.05, 0.0, -0.04), (-0.03, 0.02, 0.06), (0.0, 0.3, 0.4)])
def test_the_leg_ik_puts_the_ankle_on_its_target_keeping_the_knee_a_hinge_and_the_foot_flat(shift) -> None:  # type: ignore[no-untyped-def]
    rig = load_rig("default")
    idx = [rig.index(b) for b in LEG]
    q = _bent_legs(rig)
    joints, world_r = _fk(rig, q, rig.offsets_m[0][None])
    target = joints[0, idx[2]] + np.array(shift)
    local = _leg_ik(joints[:, idx], world_r[:, idx], world_r[:, rig.parents[idx[0]]], target[None])
    q2 = q.copy()
    q2[0, idx] = Rotation.from_matrix(local[0]).as_quat()
    joints2, world_r2 = _fk(rig, q2, rig.offsets_m[0][None])
    np.testing.assert_allclose(joints2[0, idx[2]], target, atol=1e-9)  # the ankle is on the target
    np.testing.assert_allclose(world_r2[0, idx[2]], world_r[0, idx[2]], atol=1e-9)  # the foot keeps its rotation
    before = _hinge_axis(joints[0], world_r[0, idx[0]], idx)
    after = _hinge_axis(joints2[0], world_r2[0, idx[0]], idx)
    np.testing.assert_allclose(after, before, atol=1e-9)  # the knee still bends about its own axis, same way
    others = [k for k in range(len(rig.bones)) if k not in idx]
    np.testing.assert_array_equal(q2[0, others], q[0, others])


def test_a_target_out_of_reach_straightens_the_leg_toward_it() -> None:
    rig = load_rig("default")
    idx = [rig.index(b) for b in LEG]
    joints, world_r = _fk(rig, _bent_legs(rig), rig.offsets_m[0][None])
    hip = joints[0, idx[0]]
    target = hip + np.array([0.0, -2.0, 0.5])  # far below: farther than the leg reaches
    local = _leg_ik(joints[:, idx], world_r[:, idx], world_r[:, rig.parents[idx[0]]], target[None])
    q2 = _bent_legs(rig)
    q2[0, idx] = Rotation.from_matrix(local[0]).as_quat()
    ankle = _fk(rig, q2, rig.offsets_m[0][None])[0][0, idx[2]]
    reach = np.linalg.norm(joints[0, idx[1]] - hip) + np.linalg.norm(joints[0, idx[2]] - joints[0, idx[1]])
    assert np.linalg.norm(ankle - hip) == pytest.approx(reach, abs=2e-4)
    along = (ankle - hip) / np.linalg.norm(ankle - hip)
    np.testing.assert_allclose(along, (target - hip) / np.linalg.norm(target - hip), atol=1e-6)


def _locked(rig: Rig, hips_x: np.ndarray, planted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(T, 2, 3) both ankles with and without the lock, for a body whose hips slide across by ``hips_x`` (T,)."""
    n = len(hips_x)
    q = _bent_legs(rig, n)
    hips = np.tile(rig.offsets_m[0], (n, 1))
    hips[:, 0] += hips_x
    joints, world_r = _fk(rig, q, hips)
    locked = FootLock(rig)(q.copy(), joints, world_r, planted, np.arange(n) / 30.0)
    ankles = [rig.index("LeftFoot"), rig.index("RightFoot")]
    return _fk(rig, locked, hips)[0][:, ankles], joints[:, ankles]


def test_planted_feet_stay_where_they_were_planted_then_are_released() -> None:
    rig = load_rig("default")
    hips_x = np.concatenate([np.arange(15) * 0.01, np.full(30, 0.14)])  # 14 cm across while planted, then still
    planted = np.zeros((45, 2), dtype=bool)
    planted[:15] = True
    locked, free = _locked(rig, hips_x, planted)
    np.testing.assert_allclose(
        locked[:15, :, [0, 2]], np.broadcast_to(locked[:1, :, [0, 2]], (15, 2, 2)), atol=1e-6
    )
    np.testing.assert_allclose(locked[:, :, 1], free[:, :, 1], atol=1e-6)  # heights are the solver's
    assert np.abs(free[14, :, 0] - free[0, :, 0]).min() > 0.13  # unlocked, the feet slid with the hips
    released = int(round(3 * RELEASE_S * 30)) + 15
    gap = np.linalg.norm(locked[:, :, [0, 2]] - free[:, :, [0, 2]], axis=-1)
    assert gap[15].min() > 0.1  # lifted: no jump back to the legs' place...
    assert gap[released].max() < 0.07 * gap[15].max()  # ...the offset fades over RELEASE_S


def test_a_foot_too_far_from_its_anchor_is_dragged_along() -> None:
    rig = load_rig("default")
    hips_x = np.arange(40) * 0.02  # 78 cm while planted
    locked, free = _locked(rig, hips_x, np.ones((40, 2), dtype=bool))
    offset = np.linalg.norm(locked[:, :, [0, 2]] - free[:, :, [0, 2]], axis=-1)
    assert offset.max() == pytest.approx(MAX_REACH_M, abs=1e-6)
    assert np.ptp(locked[:, 0, 0]) == pytest.approx(0.78 - MAX_REACH_M, abs=1e-3)


def _bearing_slide_m(rig: Rig, poses, planted: np.ndarray) -> float:  # type: ignore[no-untyped-def]
    """Mean metres a planted foot's bearing point (ankle or ball, the lower against its flat height) moves over
    the floor from one planted frame to the next."""
    rest = rig.rest_world_m
    steps = []
    for f, side in enumerate(("Left", "Right")):
        pts = [rig.index(f"{side}Foot"), rig.index(f"{side}Toes")]
        joints = np.array([p.world()[0][pts] for p in poses])  # (T, 2, 3)
        support = np.argmin(joints[:, :, 1] - rest[pts, 1], axis=1)
        for k in range(1, len(poses)):
            if planted[k, f] and planted[k - 1, f] and support[k] == support[k - 1]:
                steps.append(np.linalg.norm((joints[k, support[k]] - joints[k - 1, support[k]])[[0, 2]]))
    return float(np.mean(steps))


def test_on_exact_mocap_the_lock_holds_the_rigs_feet_at_a_small_cost_to_the_legs(cmu_bvh_dir: Path) -> None:
    """Exact landmarks of CMU 01_01 (standing jumps) on a rig of other proportions: the rig's planted feet slide
    as its legs bend; the lock holds them and bends the legs a little instead."""
    m = mocap_landmarks(read_bvh(cmu_bvh_dir / "01_01.bvh"), frames=slice(0, 600, 2), camera=VirtualCamera())
    frames = to_landmark_frames(m)
    rig = load_rig("default")
    runs = {}
    for lock in (False, True):
        config = ProcessorConfig(body=BodyStateConfig(), solver=SolverConfig(root_motion="planar", foot_lock=lock))
        runs[lock] = list(Processor(rig, config).process_offline(frames))
    planted = np.array([r.landmarks.placement.planted if r.landmarks.placement else (False, False)
                        for r in runs[True]])  # fmt: skip
    keep = np.array([k for k, r in enumerate(runs[True]) if r.pose is not None and r.pose.tracking])
    slide = {lock: _bearing_slide_m(rig, [r.pose for r in res], planted) for lock, res in runs.items()}
    assert slide[True] < 0.2 * slide[False]  # measured 0.06 against 2.3 mm a frame
    err = {}
    for lock, res in runs.items():
        chosen = [res[k].pose for k in keep]
        summary = summarise(
            direction_errors(chosen, {n: xyz[keep] for n, xyz in m.joints_m.items()}, m.world_xyz_m[keep])
        )
        err[lock] = float(np.mean([mean for mean, _ in summary.values()]))
    assert err[True] < err[False] + 1.5  # measured 1.8° against 1.0° (mean of every bone)


@pytest.mark.parametrize("back_deg, twist_deg", [(0.0, 0.0), (27.0, 90.0), (-20.0, -60.0)])
def test_a_straight_leg_bends_its_knee_forward_to_reach_a_nearer_target(back_deg: float, twist_deg: float) -> None:
    """A straight leg has no hinge plane to keep: it bends about the pelvis' axis, the way a knee bends, whatever
    the thigh's twist (a guess on a straight leg; bending about the thigh's own axis bent a swing leg of Pose2Sim
    cam02 backwards on 4 frames)."""
    rig = load_rig("default")
    idx = [rig.index(b) for b in LEG]
    q = Rotation.identity(len(rig.bones)).as_quat()[None]  # rest: legs straight down...
    swing = Rotation.from_euler("x", back_deg, degrees=True) * Rotation.from_euler("y", twist_deg, degrees=True)
    q[0, idx[0]] = swing.as_quat()  # ...this one swung back (or forward) and twisted about itself
    joints, world_r = _fk(rig, q, rig.offsets_m[0][None])
    target = joints[0, idx[2]] + np.array([0.0, 0.05, 0.05])  # 5 cm up and forward: nearer the hip
    local = _leg_ik(joints[:, idx], world_r[:, idx], world_r[:, rig.parents[idx[0]]], target[None])
    q2 = q.copy()
    q2[0, idx] = Rotation.from_matrix(local[0]).as_quat()
    joints2 = _fk(rig, q2, rig.offsets_m[0][None])[0][0]
    np.testing.assert_allclose(joints2[idx[2]], target, atol=1e-9)
    hip, knee, ankle = joints2[idx]
    line = hip + (ankle - hip) * np.dot(knee - hip, ankle - hip) / np.dot(ankle - hip, ankle - hip)
    assert (knee - line)[2] > 0.02  # the knee in front of the hip–ankle line (+Z: the way the rig faces)
