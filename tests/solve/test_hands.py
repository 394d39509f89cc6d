"""Finger solver: known-answer geometry on synthetic hand landmarks made from a posed rig, side assignment with
the pose's wrists, hold-then-relax (the mirror: tests/test_mirror.py)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from bridge.core.frames import mediapipe_to_rig
from bridge.core.hand_face import HandObservation, HandsResult
from bridge.core.landmarks import LandmarkFrame
from bridge.core.landmarks import PoseLandmark as L
from bridge.core.pose import BonePose, BoneState
from bridge.core.rig import load_rig
from bridge.solve.hands import (
    FINGERS,
    SEGMENTS,
    SIDES,
    HandConfig,
    HandGeometry,
    HandSolver,
    assign_sides,
    finger_bones,
    finger_flexion_deg,
    hand_chirality,
    hand_landmarks_from_pose,
    solve_hand,
)


@pytest.fixture(scope="module")
def rig():  # type: ignore[no-untyped-def]
    return load_rig("default")


def posed(rig, rotations: dict[str, Rotation]) -> BonePose:  # type: ignore[no-untyped-def]
    rest = BonePose.rest(rig)
    q = rest.local_rotations.as_quat()
    for bone, r in rotations.items():
        q[rig.index(bone)] = r.as_quat()
    return BonePose(0.0, rig, rest.hips_position_m, Rotation.from_quat(q), rest.bone_state)


def curl(side: str, deg: float, fingers=FINGERS[1:]) -> dict[str, Rotation]:  # type: ignore[no-untyped-def]
    """Flex every joint of ``fingers`` by ``deg`` toward the palm (palm down in the T-pose: tips go to -Y)."""
    axis = np.array([0.0, 0.0, -1.0 if side == "Left" else 1.0])
    return {f"{side}{f}{s}": Rotation.from_rotvec(axis * np.radians(deg)) for f in fingers for s in SEGMENTS}


def solve(rig, pose: BonePose, side: str):  # type: ignore[no-untyped-def]
    return solve_hand(HandGeometry(rig, side), mediapipe_to_rig(hand_landmarks_from_pose(pose, side)))


@pytest.mark.parametrize("side", SIDES)
def test_flat_hand_gives_near_zero_flexion(rig, side: str) -> None:  # type: ignore[no-untyped-def]
    palm, fingers = solve(rig, BonePose.rest(rig), side)
    assert finger_flexion_deg(fingers).max() < 0.5
    assert Rotation.from_matrix(palm).magnitude() < 1e-6


@pytest.mark.parametrize("side", SIDES)
def test_fist_gives_large_flexion_of_every_finger_and_leaves_the_thumb_separate(rig, side: str) -> None:  # type: ignore[no-untyped-def]
    palm, fingers = solve(rig, posed(rig, curl(side, 75.0)), side)
    flex = finger_flexion_deg(fingers).reshape(5, 3)
    assert np.all(flex[1:] > 65.0), flex  # index..little, every phalanx
    assert np.all(flex[0] < 1.0), flex  # the thumb stayed open
    assert Rotation.from_matrix(palm).magnitude() < 1e-6  # curling fingers does not turn the palm
    # Curl the thumb alone: only the thumb's bones move.
    _, thumb_only = solve(rig, posed(rig, curl(side, 40.0, fingers=("Thumb",))), side)
    flex_t = finger_flexion_deg(thumb_only).reshape(5, 3)
    assert np.all(flex_t[0] > 20.0) and np.all(flex_t[1:] < 1.0), flex_t


def test_random_poses_round_trip_through_landmarks(rig) -> None:  # type: ignore[no-untyped-def]
    """Seeded random flexion + spread → synthetic landmarks → solve → the same fingertip positions."""
    rng = np.random.default_rng(5)
    for side in SIDES:
        for _ in range(5):
            rots = {}
            for f in FINGERS:
                for k, s in enumerate(SEGMENTS):
                    flex = rng.uniform(0, 90) * (-1 if side == "Left" else 1)
                    spread = rng.uniform(-15, 15) if k == 0 else 0.0
                    rots[f"{side}{f}{s}"] = Rotation.from_rotvec(
                        [0, np.radians(spread), 0]
                    ) * Rotation.from_rotvec([0, 0, np.radians(flex)])
            pose = posed(rig, rots)
            lm = hand_landmarks_from_pose(pose, side)
            _, fingers = solve(rig, pose, side)
            back = posed(
                rig, {b: Rotation.from_matrix(m) for b, m in zip(finger_bones(side), fingers, strict=True)}
            )
            assert np.abs(hand_landmarks_from_pose(back, side) - lm).max() < 1e-9


def test_hand_turned_as_a_whole_keeps_its_fingers_and_turns_its_palm(rig) -> None:  # type: ignore[no-untyped-def]
    pose = posed(rig, curl("Left", 50.0))
    lm = hand_landmarks_from_pose(pose, "Left")
    geom = HandGeometry(rig, "Left")
    _, fingers0 = solve_hand(geom, mediapipe_to_rig(lm))
    turn = Rotation.from_rotvec([0.3, -0.8, 0.5])
    palm, fingers = solve_hand(geom, turn.apply(mediapipe_to_rig(lm)))
    assert np.allclose(fingers, fingers0, atol=1e-9)
    assert np.allclose(palm, turn.as_matrix(), atol=1e-9)


# ------------------------------------------------------------------------------------------------ sides


def pose_frame(left_wrist_xy, right_wrist_xy, person: bool = True) -> LandmarkFrame:  # type: ignore[no-untyped-def]
    xy = np.full((33, 2), 0.5)
    xy[L.LEFT_WRIST], xy[L.RIGHT_WRIST] = left_wrist_xy, right_wrist_xy
    xy[L.LEFT_ELBOW] = np.add(left_wrist_xy, (0.0, 0.15))
    xy[L.RIGHT_ELBOW] = np.add(right_wrist_xy, (0.0, 0.15))
    if not person:
        return LandmarkFrame.no_person(0.0, (1000, 1000))
    return LandmarkFrame(0.0, np.zeros((33, 3)), xy, np.ones(33), np.ones(33), (1000, 1000))


def hand_at(wrist_xy, label: str, score: float = 0.9) -> HandObservation:  # type: ignore[no-untyped-def]
    xy = np.tile(wrist_xy, (21, 1)).astype(float)
    return HandObservation(np.zeros((21, 3)), xy, label, score)


def test_sides_come_from_the_pose_wrists_not_the_label() -> None:
    frame = pose_frame((0.7, 0.5), (0.3, 0.5))  # facing the camera: the person's left hand is at image right
    a, b = hand_at((0.31, 0.52), "Right"), hand_at((0.69, 0.49), "Right")  # labels wrong/unsure
    sides = assign_sides(HandsResult((a, b)), frame)
    assert sides["Right"] is a and sides["Left"] is b
    # Someone else's hand far from both wrists is dropped.
    stranger = hand_at((0.05, 0.05), "Left")
    assert assign_sides(HandsResult((stranger, b)), frame) == {"Left": b}


def test_without_a_person_the_hand_shape_then_the_label_decides(rig) -> None:  # type: ignore[no-untyped-def]
    nobody = pose_frame((0, 0), (0, 0), person=False)
    flat = hand_at((0.3, 0.5), "Left")  # all points equal: no shape; the label names the person's own hand
    assert assign_sides(HandsResult((flat,)), nobody) == {"Left": flat}
    right_shape = hand_landmarks_from_pose(posed(rig, curl("Right", 40.0, fingers=FINGERS)), "Right")
    labelled_left = HandObservation(right_shape, np.tile((0.3, 0.5), (21, 1)), "Left", 0.6)
    assert assign_sides(HandsResult((labelled_left,)), nobody) == {"Right": labelled_left}


@pytest.mark.parametrize("side", SIDES)
def test_chirality_tells_left_from_right_and_flips_with_depth(rig, side: str) -> None:  # type: ignore[no-untyped-def]
    lm = hand_landmarks_from_pose(posed(rig, curl(side, 40.0, fingers=FINGERS)), side)
    c = hand_chirality(lm)
    assert (c < -0.008) if side == "Left" else (c > 0.008), c
    turned = Rotation.from_rotvec([0.4, 2.0, -0.3]).apply(lm)  # any turn keeps it
    assert np.sign(hand_chirality(turned)) == np.sign(c)
    depth_flipped = lm * [1.0, 1.0, -1.0]  # the palm/back ambiguity of one camera
    assert np.sign(hand_chirality(depth_flipped)) == -np.sign(c)


def test_a_hand_reconstructed_with_the_wrong_depth_still_bends_toward_its_palm(rig) -> None:  # type: ignore[no-untyped-def]
    """A right fist reflected in depth (shaped like a left hand) at the right wrist is reflected back: the
    avatar's right fingers bend as the fist does, not backwards."""
    lm = hand_landmarks_from_pose(posed(rig, curl("Right", 60.0)), "Right")
    lm = Rotation.from_rotvec([0.0, 0.6, 0.0]).apply(lm)  # turned a little, so the reflection is not trivial
    flipped = lm * [1.0, 1.0, -1.0]
    base = pose_frame((0.7, 0.5), (0.3, 0.5))
    solver = HandSolver(rig, HandConfig(filter=False))
    rows = [rig.index(b) for b in finger_bones("Right")]
    results = []
    for points in (lm, flipped):
        frame = base.replace(
            hands=HandsResult((HandObservation(points, np.tile((0.3, 0.5), (21, 1)), "Right", 0.9),))
        )
        results.append(solver(frame, BonePose.rest(rig)).local_rotations[rows].as_matrix())
    assert np.allclose(results[0], results[1], atol=1e-9)
    expect = solve(rig, posed(rig, curl("Right", 60.0)), "Right")[1]
    assert np.allclose(results[1], expect, atol=1e-9)


def frame_with_right_hand(rig, t_s: float, deg: float) -> LandmarkFrame:  # type: ignore[no-untyped-def]
    """A person whose right wrist is at image x 0.3 holding a synthetic right hand curled by ``deg``."""
    base = pose_frame((0.7, 0.5), (0.3, 0.5))
    lm = hand_landmarks_from_pose(posed(rig, curl("Right", deg)), "Right")
    obs = HandObservation(lm, np.tile((0.3, 0.5), (21, 1)), "Left", 0.9)
    return base.replace(t_s=t_s, hands=HandsResult((obs,)))


def test_a_lost_hand_holds_then_relaxes(rig) -> None:  # type: ignore[no-untyped-def]
    solver = HandSolver(rig, HandConfig(hold_s=0.5, ease_s=1.0, filter=False))
    rest = BonePose.rest(rig)
    rows = [rig.index(b) for b in finger_bones("Right")]
    seen = solver(frame_with_right_hand(rig, 0.0, 70.0), rest)
    angle0 = seen.local_rotations[rows].magnitude()
    empty = pose_frame((0.7, 0.5), (0.3, 0.5)).replace(hands=HandsResult(()))

    def at(t: float) -> BonePose:
        return solver(empty.replace(t_s=t), BonePose.rest(rig, t_s=t))

    at(0.1)  # the first frame without the hand: the hold starts
    held = at(0.5)
    assert np.allclose(held.local_rotations[rows].magnitude(), angle0)
    assert np.all(held.bone_state[rows] == BoneState.HELD)
    half = at(1.1)  # 0.5 s hold, then 0.5 s into the 1 s ease
    assert np.allclose(half.local_rotations[rows].magnitude(), angle0 / 2, atol=1e-6)
    assert np.all(half.bone_state[rows] == BoneState.REST)
    assert np.allclose(at(1.7).local_rotations[rows].magnitude(), 0.0, atol=1e-9)


def test_filter_smooths_a_jittery_finger(rig) -> None:  # type: ignore[no-untyped-def]
    """Seeded ±10° jitter on a held curl: the filtered flexion varies much less than the raw one."""
    rng = np.random.default_rng(1)
    raw, filtered = [], []
    solvers = {False: HandSolver(rig, HandConfig(filter=False)), True: HandSolver(rig, HandConfig(filter=True))}
    row = rig.index("RightIndexIntermediate")
    for k in range(60):
        frame = frame_with_right_hand(rig, k / 30.0, 50.0 + rng.uniform(-10, 10))
        for on, out in ((False, raw), (True, filtered)):
            out.append(
                np.degrees(solvers[on](frame, BonePose.rest(rig, t_s=k / 30.0)).local_rotations[row].magnitude())
            )
    assert np.std(filtered[10:]) < 0.5 * np.std(raw[10:])
    assert abs(np.mean(filtered[10:]) - 50.0) < 3.0
