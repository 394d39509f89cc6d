"""Solver tests: known-answer geometry, seeded round trips through a posed rig, hinge limits, visibility."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from bridge.core.landmarks import PoseLandmark as L
from bridge.core.pose import BonePose, BoneState
from bridge.core.rig import Rig, load_rig
from bridge.solve.body import Solver, solve_frames
from bridge.solve.body_config import SolverConfig
from bridge.testing.synth import frame_from_pose

LIMB_BONES = [
    f"{s}{b}" for s in ("Left", "Right") for b in ("UpperArm", "LowerArm", "Hand", "UpperLeg", "LowerLeg", "Foot")
]


@pytest.fixture(scope="module")
def rig() -> Rig:
    return load_rig()


def posed(rig: Rig, rotations: dict[str, Rotation], t_s: float = 0.0) -> BonePose:
    """A pose of ``rig`` with some local rotations set (rig frame), every other bone at rest."""
    quats = np.tile([0.0, 0.0, 0.0, 1.0], (len(rig.bones), 1))
    for name, r in rotations.items():
        quats[rig.index(name)] = r.as_quat()
    rest = BonePose.rest(rig, t_s)
    return BonePose(
        t_s=t_s,
        rig=rig,
        hips_position_m=rest.hips_position_m,
        local_rotations=Rotation.from_quat(quats),
        bone_state=rest.bone_state,
    )


def world_rotations(pose: BonePose) -> np.ndarray:
    return pose.world()[1]


def bone_direction(pose: BonePose, bone: str) -> np.ndarray:
    """Unit direction (rig frame) from ``bone``'s joint to its first child's joint."""
    pos, _ = pose.world()
    child = pose.rig.children_of(bone)[0]
    d = pos[pose.rig.index(child)] - pos[pose.rig.index(bone)]
    return d / np.linalg.norm(d)


def angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    return math.degrees(math.acos(np.clip(np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b), -1, 1)))


def test_rest_pose_solves_to_identity(rig: Rig) -> None:
    pose = Solver(rig)(frame_from_pose(BonePose.rest(rig)))
    assert np.all(pose.local_rotations.magnitude() < 1e-9)
    np.testing.assert_allclose(pose.hips_position_m, rig.offsets_m[0], atol=1e-9)
    states = dict(zip(rig.bones, pose.bone_state, strict=True))
    assert states["LeftToes"] == BoneState.REST  # no landmark drives the toes
    assert all(states[b] == BoneState.TRACKED for b in LIMB_BONES + ["Hips", "Spine", "Head"])
    assert pose.tracking


def test_left_arm_straight_forward(rig: Rig) -> None:
    """Left arm raised straight forward: the upper arm turns +X (rest) onto +Z, the elbow stays straight."""
    frame = frame_from_pose(BonePose.rest(rig))
    xyz = frame.world_xyz_m.copy()  # MediaPipe frame: z away from the camera, so forward = -z
    sh = xyz[L.LEFT_SHOULDER]
    for lm, dist in ((L.LEFT_ELBOW, 0.28), (L.LEFT_WRIST, 0.53)):
        xyz[lm] = sh + np.array([0.0, 0.0, -dist])
    pose = Solver(rig)(frame.replace(world_xyz_m=xyz))
    np.testing.assert_allclose(bone_direction(pose, "LeftUpperArm"), [0, 0, 1], atol=1e-9)
    assert pose.rotation_of("LeftLowerArm").magnitude() < 1e-6
    # the right arm did not move
    assert pose.rotation_of("RightUpperArm").magnitude() < 1e-9


@pytest.mark.parametrize("side", ["Left", "Right"])
def test_knee_bent_90_degrees(rig: Rig, side: str) -> None:
    """Thigh forward (hip flexed 90°), shank straight down: knee flexion 90° about the hinge (+X)."""
    pose = posed(
        rig,
        {
            f"{side}UpperLeg": Rotation.from_euler("x", -90, degrees=True),
            f"{side}LowerLeg": Rotation.from_euler("x", 90, degrees=True),
        },
    )
    solved = Solver(rig)(frame_from_pose(pose))
    knee = solved.rotation_of(f"{side}LowerLeg")
    assert math.degrees(knee.magnitude()) == pytest.approx(90.0, abs=1e-6)
    np.testing.assert_allclose(knee.as_rotvec() / knee.magnitude(), [1, 0, 0], atol=1e-6)
    np.testing.assert_allclose(bone_direction(solved, f"{side}LowerLeg"), [0, -1, 0], atol=1e-6)
    np.testing.assert_allclose(bone_direction(solved, f"{side}UpperLeg"), [0, 0, 1], atol=1e-6)


def test_torso_turned_45_degrees(rig: Rig) -> None:
    """The whole body turned 45° to its left (about +Y): the Hips carry the turn, the rest stays at rest."""
    turn = Rotation.from_euler("y", 45, degrees=True)
    solved = Solver(rig)(frame_from_pose(posed(rig, {"Hips": turn})))
    assert (solved.rotation_of("Hips") * turn.inv()).magnitude() < 1e-9
    others = [b for b in rig.bones if b != "Hips"]
    assert max(solved.rotation_of(b).magnitude() for b in others) < 1e-9


def test_twisted_upper_body_goes_to_the_spine(rig: Rig) -> None:
    """Shoulders turned 30° against the hips: the spine chain carries it, split evenly."""
    step = Rotation.from_euler("y", 10, degrees=True)
    solved = Solver(rig)(frame_from_pose(posed(rig, {"Spine": step, "Chest": step, "UpperChest": step})))
    assert solved.rotation_of("Hips").magnitude() < 1e-9
    for b in ("Spine", "Chest", "UpperChest"):
        assert (solved.rotation_of(b) * step.inv()).magnitude() < 1e-9


def random_plausible_pose(rig: Rig, rng: np.random.Generator) -> BonePose:
    """Random local rotations within joint ranges; elbows/knees bent far enough that their plane is seen."""

    def small(max_deg: float) -> Rotation:
        """A rotation about a random axis by up to ``max_deg``."""
        axis = rng.normal(size=3)
        return Rotation.from_rotvec(axis / np.linalg.norm(axis) * math.radians(rng.uniform(0, max_deg)))

    rot: dict[str, Rotation] = {"Hips": Rotation.from_euler("y", rng.uniform(-180, 180), degrees=True) * small(10)}
    spine = small(20)
    for b in ("Spine", "Chest", "UpperChest"):
        rot[b] = Rotation.from_rotvec(spine.as_rotvec() / 3)
    rot["Neck"], rot["Head"] = small(15), small(15)
    for side, sgn in (("Left", 1.0), ("Right", -1.0)):
        rot[f"{side}Shoulder"] = small(10)
        rot[f"{side}UpperArm"] = small(80)
        hinge = np.array([0.0, -sgn, 0.0])
        twist = Rotation.from_rotvec(np.array([sgn, 0, 0]) * math.radians(rng.uniform(-80, 80)))
        rot[f"{side}LowerArm"] = Rotation.from_rotvec(hinge * math.radians(rng.uniform(35, 140))) * twist
        # the wrist flexes and deviates; twist (pronation) lives in the forearm
        swing_axis = np.array([0.0, rng.normal(), rng.normal()])
        rot[f"{side}Hand"] = Rotation.from_rotvec(swing_axis / np.linalg.norm(swing_axis) * rng.uniform(0, 0.5))
        rot[f"{side}UpperLeg"] = small(50)
        rot[f"{side}LowerLeg"] = Rotation.from_euler("x", rng.uniform(35, 120), degrees=True)
        # ankle flexion; the foot's roll (inversion) is taken from the knee axis, not from the landmarks
        rot[f"{side}Foot"] = Rotation.from_euler("x", rng.uniform(-25, 25), degrees=True)
    return posed(rig, rot)


def test_seeded_random_round_trip(rig: Rig) -> None:
    """Random pose → FK → landmarks → solve: limbs, hands, feet and head get the same world rotations; every
    bone the same direction as far as the landmarks show it."""
    rng = np.random.default_rng(7)
    truths = [random_plausible_pose(rig, rng) for _ in range(40)]
    solved = solve_frames(rig, [frame_from_pose(p, t_s=k / 30) for k, p in enumerate(truths)])
    exact = LIMB_BONES + ["Head"]
    worst_trunk = 0.0
    for truth, got in zip(truths, solved, strict=True):
        w_true, w_got = world_rotations(truth), world_rotations(got)
        for b in exact:
            i = rig.index(b)
            err = Rotation.from_matrix(w_true[i].T @ w_got[i]).magnitude()
            assert err < 1e-6, (b, math.degrees(err))
        # The landmarks show the trunk only as hips mid → shoulders mid; spine curvature is not observable.
        worst_trunk = max(worst_trunk, angle_deg(trunk_direction(truth), trunk_direction(got)))
    assert worst_trunk < 6.0


def trunk_direction(pose: BonePose) -> np.ndarray:
    pos, _ = pose.world()
    ix = pose.rig.index
    hips = (pos[ix("LeftUpperLeg")] + pos[ix("RightUpperLeg")]) / 2
    shoulders = (pos[ix("LeftUpperArm")] + pos[ix("RightUpperArm")]) / 2
    return shoulders - hips


def test_slightly_bent_elbow_stays_close(rig: Rig) -> None:
    """Below ``straight_limb_deg`` the bend plane is blended with a prior: the error stays small."""
    rng = np.random.default_rng(3)
    worst = 0.0
    for _ in range(30):
        bend = Rotation.from_rotvec([0, -math.radians(rng.uniform(0, 25)), 0])
        truth = posed(rig, {"LeftUpperArm": Rotation.from_rotvec(rng.normal(size=3) * 0.6), "LeftLowerArm": bend})
        got = Solver(rig)(frame_from_pose(truth))
        worst = max(worst, angle_deg(bone_direction(truth, "LeftLowerArm"), bone_direction(got, "LeftLowerArm")))
        assert angle_deg(bone_direction(truth, "LeftUpperArm"), bone_direction(got, "LeftUpperArm")) < 1e-6
    # the error is bounded by how little the elbow is bent (≤ 25° here); in practice it stays far below
    assert worst < 8.0


def test_hinges_stay_in_anatomical_range(rig: Rig) -> None:
    """An elbow and a knee folded to 175° are clamped to the ends of their ranges."""
    frame = frame_from_pose(BonePose.rest(rig))
    xyz = frame.world_xyz_m.copy()
    a = math.radians(175)
    el, kn = xyz[L.LEFT_ELBOW], xyz[L.RIGHT_KNEE]
    # MediaPipe frame: the left arm points +x; forward (toward the camera) is -z; down is +y.
    xyz[L.LEFT_WRIST] = el + 0.25 * np.array([math.cos(a), 0.0, -math.sin(a)])
    xyz[L.RIGHT_ANKLE] = kn + 0.40 * np.array([0.0, math.cos(a), math.sin(a)])
    cfg = SolverConfig()
    pose = Solver(rig, cfg)(frame.replace(world_xyz_m=xyz))
    elbow = pose.rotation_of("LeftLowerArm")
    assert math.degrees(elbow.magnitude()) == pytest.approx(cfg.elbow_range_deg[1], abs=0.5)
    knee = pose.rotation_of("RightLowerLeg")
    assert math.degrees(knee.magnitude()) == pytest.approx(cfg.knee_range_deg[1], abs=1e-6)


def test_slight_knee_hyperextension_clamps_to_straight(rig: Rig) -> None:
    """A knee bent 8° the wrong way (landmark noise) stays straight; the thigh is not spun round to fake a
    forward bend, because the foot shows which way the knee faces."""
    frame = frame_from_pose(BonePose.rest(rig))
    xyz = frame.world_xyz_m.copy()
    kn = xyz[L.LEFT_KNEE]
    a = math.radians(8)
    shank = 0.40 * np.array([0.0, math.cos(a), -math.sin(a)])  # down and slightly forward (-z)
    delta = kn + shank - xyz[L.LEFT_ANKLE]
    for lm in (L.LEFT_ANKLE, L.LEFT_HEEL, L.LEFT_FOOT_INDEX):
        xyz[lm] = xyz[lm] + delta
    pose = Solver(rig)(frame.replace(world_xyz_m=xyz))
    assert pose.rotation_of("LeftLowerLeg").magnitude() < 1e-9
    assert math.degrees(pose.rotation_of("LeftUpperLeg").magnitude()) < 10.0


def test_invisible_legs_hold_then_ease_to_rest(rig: Rig) -> None:
    """Legs leave the image: leg bones hold their last rotation for hold_s, then ease to rest over ease_s."""
    cfg = SolverConfig(hold_s=0.5, ease_s=1.0)
    bent = posed(
        rig,
        {
            "LeftUpperLeg": Rotation.from_euler("x", -60, degrees=True),
            "LeftLowerLeg": Rotation.from_euler("x", 60, degrees=True),
        },
    )
    frames = [frame_from_pose(bent, t_s=k / 10) for k in range(30)]
    leg_points = [lm for lm in L if any(w in lm.name for w in ("HIP", "KNEE", "ANKLE", "HEEL", "FOOT"))]
    for k in range(10, 30):  # from t = 1.0 s the legs are not visible
        vis = frames[k].visibility.copy()
        vis[leg_points] = 0.1
        frames[k] = frames[k].replace(visibility=vis)
    poses = Solver(rig, cfg).solve_frames(frames)
    i = rig.index("LeftLowerLeg")
    angles = [math.degrees(p.local_rotations[i].magnitude()) for p in poses]
    states = [int(p.bone_state[i]) for p in poses]
    assert angles[9] == pytest.approx(60, abs=1e-6) and states[9] == BoneState.TRACKED
    assert angles[14] == pytest.approx(60, abs=1e-6) and states[14] == BoneState.HELD  # 0.4 s after loss
    assert 0 < angles[20] < 60 and states[20] == BoneState.REST  # easing (1.0 s after loss)
    assert angles[29] < 1e-6  # 1.9 s after loss: back at rest
    assert all(a >= b - 1e-9 for a, b in zip(angles[10:], angles[11:], strict=False))  # monotonic ease
    # the upper body kept tracking
    assert all(p.bone_state[rig.index("LeftUpperArm")] == BoneState.TRACKED for p in poses)


def test_no_person_frames_hold_then_rest(rig: Rig) -> None:
    truth = posed(rig, {"LeftUpperArm": Rotation.from_euler("z", 45, degrees=True)})
    frames = [frame_from_pose(truth, t_s=0.0)]
    frames += [frames[0].no_person(t_s=t, image_size=(1280, 720)) for t in (0.2, 3.0)]
    poses = solve_frames(rig, frames, SolverConfig(hold_s=0.5, ease_s=1.0))
    assert poses[0].tracking and not poses[1].tracking and not poses[2].tracking
    i = rig.index("LeftUpperArm")
    assert poses[1].local_rotations[i].magnitude() == pytest.approx(math.radians(45))
    idle = Rotation.from_rotvec([0.0, 0.0, -math.radians(70.0)])  # the arm hangs 70° below the T
    assert (poses[2].local_rotations[i] * idle.inv()).magnitude() < 1e-9
    others = [b for b in range(len(rig.bones)) if rig.bones[b] not in ("LeftUpperArm", "RightUpperArm")]
    assert np.all(poses[2].local_rotations[others].magnitude() < 1e-9)  # every other bone at rest
    assert np.all(poses[2].bone_state == BoneState.REST)
    t_pose = solve_frames(rig, frames, SolverConfig(hold_s=0.5, ease_s=1.0, idle_arms_down_deg=0.0))
    assert t_pose[2].local_rotations[i].magnitude() < 1e-9


def test_arms_out_of_view_hang_at_the_sides(rig: Rig) -> None:
    """A VTuber's hands drop below the camera's view: the arms hold, then ease down to the sides, not out into
    the T-pose (both hands end below the shoulders, 70° below the T)."""
    truth = posed(rig, {"LeftUpperArm": Rotation.from_euler("z", 30, degrees=True)})  # raised, then lost
    frames = [frame_from_pose(truth, t_s=k / 10) for k in range(40)]
    arms = [lm for lm in L if any(w in lm.name for w in ("ELBOW", "WRIST", "PINKY", "INDEX", "THUMB"))]
    for k in range(10, 40):
        vis = frames[k].visibility.copy()
        vis[arms] = 0.05
        frames[k] = frames[k].replace(visibility=vis)
    poses = solve_frames(rig, frames, SolverConfig(hold_s=0.5, ease_s=1.0))
    joints, _ = poses[-1].world()
    for side in ("Left", "Right"):
        shoulder, elbow = joints[rig.index(f"{side}UpperArm")], joints[rig.index(f"{side}LowerArm")]
        arm = (elbow - shoulder) / np.linalg.norm(elbow - shoulder)
        assert math.degrees(math.asin(-arm[1])) == pytest.approx(70.0, abs=2.0)  # below the horizontal
        assert poses[-1].bone_state[rig.index(f"{side}UpperArm")] == BoneState.REST
    assert poses[14].local_rotations[rig.index("LeftUpperArm")].magnitude() == pytest.approx(math.radians(30))


def test_batch_equals_per_frame(rig: Rig) -> None:
    rng = np.random.default_rng(11)
    frames = [frame_from_pose(random_plausible_pose(rig, rng), t_s=k / 30) for k in range(20)]
    vis = frames[5].visibility.copy()
    vis[[L.LEFT_KNEE, L.LEFT_ANKLE]] = 0.0
    frames[5] = frames[5].replace(visibility=vis)
    batch = solve_frames(rig, frames)
    live = Solver(rig)
    for f, b in zip(frames, batch, strict=True):
        p = live(f)
        np.testing.assert_allclose(p.local_rotations.as_quat(), b.local_rotations.as_quat(), atol=1e-12)
        np.testing.assert_array_equal(p.bone_state, b.bone_state)
        np.testing.assert_allclose(p.hips_position_m, b.hips_position_m, atol=1e-12)


def test_crouch_lowers_the_grounded_hips(rig: Rig) -> None:
    crouch = {
        f"{s}{b}": Rotation.from_euler("x", a, degrees=True)
        for s in ("Left", "Right")
        for b, a in (("UpperLeg", -50), ("LowerLeg", 100), ("Foot", -50))
    }
    pose = Solver(rig)(frame_from_pose(posed(rig, crouch)))
    thigh, shank = 0.42, 0.40
    a = math.radians(50)
    expected_drop = thigh + shank - (thigh * math.cos(a) + shank * math.cos(a))
    assert pose.hips_position_m[1] == pytest.approx(rig.offsets_m[0][1] - expected_drop, abs=1e-6)


def test_hold_and_ease_carry_across_batches_of_any_size(rig: Rig) -> None:
    """The hold/ease is vectorised over a batch: a bone lost in one batch keeps its hold time and last rotation
    into the next, whatever the batch boundaries (one frame at a time, or chunks of 1, 3, 7 … frames)."""
    rng = np.random.default_rng(5)
    frames = [frame_from_pose(random_plausible_pose(rig, rng), t_s=k / 10) for k in range(40)]
    arm = [L.LEFT_ELBOW, L.LEFT_WRIST, L.LEFT_INDEX, L.LEFT_PINKY, L.LEFT_THUMB]
    for k in list(range(5, 12)) + list(range(14, 33)):  # lost, seen again for two frames, lost for 1.9 s
        vis = frames[k].visibility.copy()
        vis[arm] = 0.0
        frames[k] = frames[k].replace(visibility=vis)
    frames[35] = frames[35].no_person(t_s=frames[35].t_s, image_size=(1280, 720))
    whole = Solver(rig).solve_frames(frames)
    i = rig.index("LeftLowerArm")
    states = [int(p.bone_state[i]) for p in whole]
    assert {BoneState.TRACKED, BoneState.HELD, BoneState.REST} <= set(states)
    # [8, 6, 10, 16]: a batch ends while the arm is lost (8) and one starts just as it is lost again (14).
    for sizes in ([1] * 40, [8, 6, 10, 16], [3, 1, 7, 2, 11, 16]):
        solver, out = Solver(rig), []
        start = 0
        for n in sizes:
            out += solver.solve_frames(frames[start : start + n])
            start += n
        for a, b in zip(whole, out, strict=True):
            np.testing.assert_allclose(a.local_rotations.as_quat(), b.local_rotations.as_quat(), atol=1e-12)
            np.testing.assert_array_equal(a.bone_state, b.bone_state)
            np.testing.assert_allclose(a.hips_position_m, b.hips_position_m, atol=1e-12)
            assert a.tracking == b.tracking


def test_grounding_follows_the_pose_sent_not_the_hidden_legs(rig: Rig) -> None:
    """Hidden legs hold, then ease to rest: the grounded hips follow those rotations (held crouch: low; back at
    rest: rest height), not what the invisible leg landmarks show (still the crouch)."""
    crouch = {
        f"{s}{b}": Rotation.from_euler("x", a, degrees=True)
        for s in ("Left", "Right")
        for b, a in (("UpperLeg", -50), ("LowerLeg", 100), ("Foot", -50))
    }
    seen = frame_from_pose(posed(rig, crouch), t_s=0.0)
    hidden = seen  # the legs' landmarks still show the crouch, but are not visible
    vis = hidden.visibility.copy()
    vis[[lm for lm in L if any(w in lm.name for w in ("KNEE", "ANKLE", "HEEL", "FOOT"))]] = 0.1
    frames = [seen] + [hidden.replace(t_s=t, visibility=vis) for t in (0.2, 3.0)]
    for poses in (Solver(rig).solve_frames(frames), [s(f) for s in [Solver(rig)] for f in frames]):
        assert poses[0].hips_position_m[1] < rig.offsets_m[0][1] - 0.1  # crouching
        assert poses[1].hips_position_m[1] == pytest.approx(poses[0].hips_position_m[1], abs=1e-9)  # held
        assert poses[2].hips_position_m[1] == pytest.approx(rig.offsets_m[0][1], abs=1e-9)  # eased to rest


def test_solve_to_arrays_is_solve_frames_without_the_objects(rig: Rig) -> None:
    rng = np.random.default_rng(8)
    frames = [frame_from_pose(random_plausible_pose(rig, rng), t_s=k / 30) for k in range(6)]
    frames[3] = frames[3].no_person(t_s=frames[3].t_s, image_size=(1280, 720))
    poses = Solver(rig).solve_frames(frames)
    arrays = Solver(rig).solve_to_arrays(frames)
    assert arrays.quats_xyzw.shape == (6, len(rig.bones), 4)
    for k, p in enumerate(poses):
        np.testing.assert_allclose(p.local_rotations.as_quat(), arrays.quats_xyzw[k], atol=1e-15)
        np.testing.assert_array_equal(p.bone_state, arrays.bone_state[k])
        np.testing.assert_array_equal(p.hips_position_m, arrays.hips_position_m[k])
        assert p.tracking == arrays.tracking[k] and p.t_s == arrays.t_s[k]
    assert not arrays.tracking[3] and arrays.tracking[2]
