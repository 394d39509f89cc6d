"""The mirror stage: one reflection of the body, the hands and the face, after which the solvers see the user's
mirror image (known answers on synthetic poses, hands and faces)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from bridge.core.frames import mediapipe_to_rig
from bridge.core.hand_face import ARKIT_INDEX, NUM_BLENDSHAPES, FaceResult, HandObservation, HandsResult
from bridge.core.landmarks import LandmarkFrame
from bridge.core.pose import BonePose, BoneState
from bridge.core.rig import Rig, load_rig
from bridge.solve.body import Solver
from bridge.solve.face import head_rotation, map_blendshapes
from bridge.solve.hands import (
    SEGMENTS,
    SIDES,
    HandConfig,
    HandGeometry,
    HandSolver,
    finger_bones,
    hand_landmarks_from_pose,
    solve_hand,
)
from bridge.stages.mirror import mirror_frame
from bridge.testing.synth import frame_from_pose


@pytest.fixture(scope="module")
def rig() -> Rig:
    return load_rig("default")


def posed(rig: Rig, rotations: dict[str, Rotation]) -> BonePose:
    rest = BonePose.rest(rig)
    q = rest.local_rotations.as_quat()
    for bone, r in rotations.items():
        q[rig.index(bone)] = r.as_quat()
    return BonePose(0.0, rig, rest.hips_position_m, Rotation.from_quat(q), rest.bone_state)


def weights(**named: float) -> np.ndarray:
    w = np.zeros(NUM_BLENDSHAPES)
    for name, v in named.items():
        w[ARKIT_INDEX[name]] = v
    return w


def face_frame(w: np.ndarray, transform: np.ndarray | None = None) -> LandmarkFrame:
    m = np.eye(4) if transform is None else transform
    return LandmarkFrame.no_person(0.0, (640, 480)).replace(
        face=FaceResult(w, m, np.array([[0.6, 0.3], [0.4, 0.3]]))
    )


def bone_direction(pose: BonePose, bone: str) -> np.ndarray:
    pos, _ = pose.world()
    d = pos[pose.rig.index(pose.rig.children_of(bone)[0])] - pos[pose.rig.index(bone)]
    return d / np.linalg.norm(d)


def test_the_user_raising_the_left_arm_drives_the_avatar_right_arm(rig: Rig) -> None:
    truth = posed(rig, {"LeftUpperArm": Rotation.from_euler("y", -90, degrees=True)})  # +X → +Z: forward
    frame = frame_from_pose(truth)
    plain = Solver(rig)(frame)
    mirrored = Solver(rig)(mirror_frame(frame))
    np.testing.assert_allclose(bone_direction(plain, "LeftUpperArm"), [0, 0, 1], atol=1e-9)
    np.testing.assert_allclose(bone_direction(mirrored, "RightUpperArm"), [0, 0, 1], atol=1e-9)
    np.testing.assert_allclose(bone_direction(mirrored, "LeftUpperArm"), [1, 0, 0], atol=1e-9)
    # the mirrored rotation is the reflection of the plain one
    q_plain = plain.rotation_of("LeftUpperArm").as_quat()
    q_mirr = mirrored.rotation_of("RightUpperArm").as_quat()
    np.testing.assert_allclose(q_mirr, q_plain * np.array([1, -1, -1, 1]), atol=1e-9)


def test_mirroring_twice_gives_the_frame_back(rig: Rig) -> None:
    rng = np.random.default_rng(3)
    frame = frame_from_pose(posed(rig, {"RightLowerArm": Rotation.from_rotvec([0.0, 0.4, 0.0])}))
    frame = frame.replace(visibility=rng.uniform(0, 1, 33), presence=rng.uniform(0, 1, 33))
    hand = HandObservation(rng.normal(size=(21, 3)), rng.uniform(0, 1, (21, 2)), "Left", 0.8)
    frame = frame.replace(hands=HandsResult((hand,)), face=face_frame(rng.uniform(0, 1, NUM_BLENDSHAPES)).face)
    twice = mirror_frame(mirror_frame(frame))
    assert twice.equals(frame, atol=1e-12)
    assert twice.hands is not None and twice.hands.hands[0].label == "Left"
    np.testing.assert_allclose(twice.hands.hands[0].world_xyz_m, hand.world_xyz_m, atol=0)
    assert twice.face is not None and frame.face is not None
    np.testing.assert_array_equal(twice.face.blendshapes, frame.face.blendshapes)
    np.testing.assert_allclose(twice.face.image_xy, frame.face.image_xy, atol=1e-12)
    once = mirror_frame(frame)
    np.testing.assert_allclose(once.image_xy[0, 0], 1.0 - frame.image_xy[0, 0])  # the nose maps to itself


def test_blink_follows_its_own_eye_and_the_mirror_swaps_it() -> None:
    frame = face_frame(weights(eyeBlinkLeft=1.0))
    assert frame.face is not None
    plain = map_blendshapes(frame.face.blendshapes, "vrm0")
    assert plain["Blink_L"] == 1.0 and plain["Blink_R"] == 0.0
    face = mirror_frame(frame).face
    assert face is not None
    mirrored = map_blendshapes(face.blendshapes, "vrm0")
    assert mirrored["Blink_L"] == 0.0 and mirrored["Blink_R"] == 1.0
    assert map_blendshapes(face.blendshapes, "vrm1")["blinkRight"] == 1.0
    face = mirror_frame(face_frame(weights(eyeBlinkLeft=0.7, jawLeft=0.3, jawOpen=0.2))).face
    assert face is not None
    ark = map_blendshapes(face.blendshapes, "arkit")
    assert ark["eyeBlinkRight"] == pytest.approx(0.7) and ark["eyeBlinkLeft"] == 0.0
    assert ark["jawRight"] == pytest.approx(0.3) and ark["jawOpen"] == pytest.approx(0.2)


def test_the_mirrored_head_turns_to_the_other_side_with_the_same_pitch() -> None:
    turn = Rotation.from_euler("YX", [30, -10], degrees=True).as_matrix()
    m = np.eye(4)
    m[:3, :3] = 1.02 * turn
    m[:3, 3] = (3.0, 20.0, -60.0)
    face = mirror_frame(face_frame(np.zeros(NUM_BLENDSHAPES), m)).face
    assert face is not None
    fwd, fwd_m = turn @ [0, 0, 1], head_rotation(face.transform) @ [0, 0, 1]
    np.testing.assert_allclose(fwd_m, fwd * [-1, 1, 1], atol=1e-9)
    assert face.transform[0, 3] == -3.0


def _curl(side: str, deg: float) -> dict[str, Rotation]:
    axis = np.array([0.0, 0.0, -1.0 if side == "Left" else 1.0])
    return {f"{side}{f}{s}": Rotation.from_rotvec(axis * np.radians(deg))
            for f in ("Index", "Middle", "Ring", "Little") for s in SEGMENTS}  # fmt: skip


def test_the_user_right_hand_drives_the_avatar_left_hand(rig: Rig) -> None:
    """A person whose right wrist is at image x 0.3 holds a right hand curled by 70°: without the mirror it
    drives the avatar's right hand, mirrored the left one, still closing toward the palm (not bent backwards)."""
    base = frame_from_pose(BonePose.rest(rig))
    xy = base.image_xy.copy()
    from bridge.core.landmarks import PoseLandmark as L

    xy[L.LEFT_WRIST], xy[L.RIGHT_WRIST] = (0.7, 0.5), (0.3, 0.5)
    lm = hand_landmarks_from_pose(posed(rig, _curl("Right", 70.0)), "Right")
    frame = base.replace(
        image_xy=xy, hands=HandsResult((HandObservation(lm, np.tile((0.3, 0.5), (21, 1)), "Left", 0.9),))
    )
    rest = BonePose.rest(rig)
    for mirror, driven, still in ((False, "Right", "Left"), (True, "Left", "Right")):
        out = HandSolver(rig, HandConfig(filter=False))(mirror_frame(frame) if mirror else frame, rest)
        flex = {
            s: np.degrees(out.local_rotations[[rig.index(b) for b in finger_bones(s)]].magnitude()) for s in SIDES
        }
        assert np.all(flex[driven].reshape(5, 3)[1:] > 60.0), (mirror, flex)
        assert np.all(flex[still] < 1e-6)
        assert np.all(out.bone_state[[rig.index(b) for b in finger_bones(driven)]] == BoneState.TRACKED)
        expect = solve_hand(
            HandGeometry(rig, driven),
            mediapipe_to_rig(hand_landmarks_from_pose(posed(rig, _curl(driven, 70.0)), driven)),
        )[1]
        got = out.local_rotations[[rig.index(b) for b in finger_bones(driven)]].as_matrix()
        np.testing.assert_allclose(got[3:], expect[3:], atol=1e-6)  # fmt: skip
