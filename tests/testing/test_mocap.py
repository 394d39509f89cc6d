"""Real mocap (CMU and Boxing BVH files) as MediaPipe landmarks: units, axes, sides, rigidity, camera."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from bridge.core.errors import BridgeError
from bridge.core.landmarks import BODY_SEGMENTS, NUM_LANDMARKS, LandmarkFrame
from bridge.core.landmarks import PoseLandmark as L
from bridge.export.bvh_file import BvhMotion, parse_bvh, read_bvh
from bridge.export.bvh_kinematics import bvh_forward_kinematics
from bridge.testing.mocap import (
    JOINT_KEYS,
    MocapLandmarks,
    guess_units_to_m,
    mocap_landmarks,
    skeleton_roles,
    to_landmark_frames,
)
from bridge.testing.virtual_camera import VirtualCamera

BVH_DIR = Path("/usr/share/assimp/models/BVH")
pytestmark = pytest.mark.skipif(not BVH_DIR.is_dir(), reason="Debian assimp-testmodels not installed")

CMU_UNIT_M = 0.0254 / 0.45
# Every 4th frame of the whole of 01_01 (jumps, a turn): 688 frames, fast to compute.
CMU_FRAMES = slice(0, None, 4)


@pytest.fixture(scope="module")
def cmu() -> BvhMotion:
    return read_bvh(BVH_DIR / "01_01.bvh")


@pytest.fixture(scope="module")
def boxing() -> BvhMotion:
    return read_bvh(BVH_DIR / "Boxing_Toes.bvh")


@pytest.fixture(scope="module")
def cmu_lm(cmu: BvhMotion) -> MocapLandmarks:
    return mocap_landmarks(cmu, frames=CMU_FRAMES)


@pytest.fixture(scope="module")
def boxing_lm(boxing: BvhMotion) -> MocapLandmarks:
    return mocap_landmarks(boxing, frames=slice(0, None, 4))


def _height_above_floor(m: MocapLandmarks, xyz: np.ndarray) -> np.ndarray:
    """(T, ..., 3) MediaPipe-world points → height above the BVH floor (metres); y is down."""
    cam_y = xyz[..., 1] + m.hips_camera_m[:, 1].reshape((-1,) + (1,) * (xyz.ndim - 2))
    return m.camera.height_m - cam_y


def test_units_guessed_per_file(cmu: BvhMotion, boxing: BvhMotion) -> None:
    assert guess_units_to_m(cmu.skeleton) == (pytest.approx(CMU_UNIT_M), "cmu")
    assert guess_units_to_m(boxing.skeleton) == (0.01, "cm")


def test_roles_found_for_both_namings(cmu: BvhMotion, boxing: BvhMotion) -> None:
    r = skeleton_roles(cmu.skeleton)
    assert (r["left_shoulder"], r["left_elbow"], r["left_wrist"]) == ("LeftArm", "LeftForeArm", "LeftHand")
    assert (r["left_hip"], r["left_knee"], r["left_ankle"], r["left_toe"]) == (
        "LeftUpLeg", "LeftLeg", "LeftFoot", "LeftToeBase",
    )  # fmt: skip
    assert r["neck"] == "Neck1"  # CMU's "Neck" has a zero offset: it sits on Spine1
    b = skeleton_roles(boxing.skeleton)
    assert (b["right_shoulder"], b["right_wrist"], b["right_ankle"], b["neck"]) == (
        "RightShoulder", "RightWrist", "RightAnkle", "Neck",
    )  # fmt: skip


def test_shapes_and_fields(cmu_lm: MocapLandmarks, cmu: BvhMotion) -> None:
    t = len(range(cmu.num_frames)[CMU_FRAMES])
    assert cmu_lm.world_xyz_m.shape == (t, NUM_LANDMARKS, 3)
    assert cmu_lm.image_xy.shape == (t, NUM_LANDMARKS, 2)
    assert cmu_lm.visibility.shape == (t, NUM_LANDMARKS)
    assert set(cmu_lm.joints_m) == set(JOINT_KEYS)
    assert all(v.shape == (t, 3) for v in cmu_lm.joints_m.values())
    np.testing.assert_allclose(cmu_lm.t_s, np.arange(cmu.num_frames)[CMU_FRAMES] * cmu.frame_time_s)
    assert np.all(np.isfinite(cmu_lm.world_xyz_m)) and np.all(np.isfinite(cmu_lm.image_xy))
    # hip-centred: the midpoint of the hips is the origin in every frame
    mid = 0.5 * (cmu_lm.world_xyz_m[:, L.LEFT_HIP] + cmu_lm.world_xyz_m[:, L.RIGHT_HIP])
    np.testing.assert_allclose(mid, 0.0, atol=1e-12)
    np.testing.assert_allclose(cmu_lm.joints_m["left_knee"], cmu_lm.world_xyz_m[:, L.LEFT_KNEE])
    assert cmu_lm.units_to_m == pytest.approx(CMU_UNIT_M)


def test_world_is_the_scaled_rotated_bvh(cmu: BvhMotion, cmu_lm: MocapLandmarks) -> None:
    """Known answer: MediaPipe points are the BVH joints, times the unit, rotated by ``axes_from_bvh``."""
    pose = bvh_forward_kinematics(cmu, CMU_FRAMES)
    sk = cmu.skeleton
    hips_bvh = 0.5 * (pose.positions[:, sk.index("LeftUpLeg")] + pose.positions[:, sk.index("RightUpLeg")])
    elbow = (pose.positions[:, sk.index("RightForeArm")] - hips_bvh) * CMU_UNIT_M @ cmu_lm.axes_from_bvh.T
    np.testing.assert_allclose(cmu_lm.world_xyz_m[:, L.RIGHT_ELBOW], elbow, atol=1e-12)
    toe_tip = (pose.end_sites["LeftToeBase"] - hips_bvh) * CMU_UNIT_M @ cmu_lm.axes_from_bvh.T
    np.testing.assert_allclose(cmu_lm.world_xyz_m[:, L.LEFT_FOOT_INDEX], toe_tip, atol=1e-12)
    a = cmu_lm.axes_from_bvh
    np.testing.assert_allclose(a @ a.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(a) == pytest.approx(1.0)  # a rotation: no mirror sneaks in
    np.testing.assert_allclose(a @ [0, 1, 0], [0, -1, 0], atol=1e-12)  # BVH up (+Y) is MediaPipe -y


def test_plausible_human_sizes(cmu_lm: MocapLandmarks, boxing_lm: MocapLandmarks) -> None:
    for m in (cmu_lm, boxing_lm):
        w = m.world_xyz_m
        thigh = np.linalg.norm(w[:, L.LEFT_KNEE] - w[:, L.LEFT_HIP], axis=-1)
        shin = np.linalg.norm(w[:, L.LEFT_ANKLE] - w[:, L.LEFT_KNEE], axis=-1)
        shoulders = np.linalg.norm(w[:, L.LEFT_SHOULDER] - w[:, L.RIGHT_SHOULDER], axis=-1)
        ears = np.linalg.norm(w[:, L.LEFT_EAR] - w[:, L.RIGHT_EAR], axis=-1)
        assert 0.33 < thigh.mean() < 0.52 and 0.33 < shin.mean() < 0.52
        assert 0.28 < shoulders.mean() < 0.48
        assert 0.11 < ears.mean() < 0.18
        assert 1.45 < m.height_m < 1.95
    # CMU frame 0 is a T-pose standing on the floor: head end site 1.45–1.9 m above it, feet on it.
    top = _height_above_floor(cmu_lm, cmu_lm.joints_m["head_top"][:, None])[0, 0]
    feet = _height_above_floor(cmu_lm, cmu_lm.world_xyz_m[:, [L.LEFT_HEEL, L.RIGHT_HEEL, L.LEFT_FOOT_INDEX]])
    assert 1.45 < top < 1.9
    assert -0.05 < feet.min() < 0.06  # the floor is y = 0 in the file: feet touch it at some point
    w0 = cmu_lm.world_xyz_m[0]
    for s in ("LEFT", "RIGHT"):  # arms horizontal in the T-pose
        assert abs(w0[L[f"{s}_WRIST"], 1] - w0[L[f"{s}_SHOULDER"], 1]) < 0.07


def test_lengths_constant_over_time(cmu_lm: MocapLandmarks, boxing_lm: MocapLandmarks) -> None:
    pairs = list(BODY_SEGMENTS) + [
        (L.LEFT_EAR, L.RIGHT_EAR), (L.NOSE, L.MOUTH_LEFT), (L.LEFT_EYE_INNER, L.LEFT_EYE_OUTER),
        (L.LEFT_PINKY, L.LEFT_INDEX), (L.RIGHT_THUMB, L.RIGHT_INDEX), (L.LEFT_HEEL, L.LEFT_ANKLE),
    ]  # fmt: skip
    for m in (cmu_lm, boxing_lm):
        w = m.world_xyz_m
        for a, b in pairs:
            if {a.name.split("_")[-1], b.name.split("_")[-1]} & {"INDEX"} and "FOOT" in a.name + b.name:
                continue  # the toe tip turns with the toe joint: the toes bend at the ball of the foot
            if (a.name.split("_")[-1], b.name.split("_")[-1]) in (("SHOULDER", "HIP"), ("SHOULDER", "SHOULDER")):
                continue  # spans the bending spine / the clavicles: not one rigid bone
            d = np.linalg.norm(w[:, a] - w[:, b], axis=-1)
            assert d.max() - d.min() < 1e-3, (m.source, a.name, b.name, d.min(), d.max())


def _torso_axes(w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-frame unit left, up and forward of the torso, from landmarks alone (MediaPipe frame)."""
    left = (w[:, L.LEFT_SHOULDER] - w[:, L.RIGHT_SHOULDER]) + (w[:, L.LEFT_HIP] - w[:, L.RIGHT_HIP])
    up = 0.5 * (w[:, L.LEFT_SHOULDER] + w[:, L.RIGHT_SHOULDER])  # hips are the origin
    fwd = np.cross(left, up)
    return (
        left / np.linalg.norm(left, axis=-1, keepdims=True),
        up / np.linalg.norm(up, axis=-1, keepdims=True),
        fwd / np.linalg.norm(fwd, axis=-1, keepdims=True),
    )


def test_points_turn_with_the_body(cmu_lm: MocapLandmarks, boxing_lm: MocapLandmarks, cmu: BvhMotion) -> None:
    for m in (cmu_lm, boxing_lm):
        w = m.world_xyz_m
        left, _, fwd = _torso_axes(w)
        ear_mid = 0.5 * (w[:, L.LEFT_EAR] + w[:, L.RIGHT_EAR])
        # left ear on the body's left, nose in front of the ears, toes in front of the heels — in every frame
        assert np.all(np.einsum("ti,ti->t", w[:, L.LEFT_EAR] - w[:, L.RIGHT_EAR], left) > 0)
        assert np.all(np.einsum("ti,ti->t", w[:, L.NOSE] - ear_mid, fwd) > 0)
        for s in ("LEFT", "RIGHT"):
            assert np.all(np.einsum("ti,ti->t", w[:, L[f"{s}_FOOT_INDEX"]] - w[:, L[f"{s}_HEEL"]], fwd) > 0)
            # index knuckle on the thumb side of the pinky knuckle
            thumb_side = w[:, L[f"{s}_THUMB"]] - w[:, L[f"{s}_WRIST"]]
            assert np.all(np.einsum("ti,ti->t", w[:, L[f"{s}_INDEX"]] - w[:, L[f"{s}_PINKY"]], thumb_side) > 0)
    # CMU has real finger and thumb end sites: the synthesised hand points agree with them. The fingers in
    # every frame (they curl at their own joints, the knuckles stay with the palm, hence 50°); the thumb in
    # the T-pose frame 0 (later the CMU thumb joint folds it along the hand, a poor reference).
    pose = bvh_forward_kinematics(cmu, CMU_FRAMES)
    a = cmu_lm.axes_from_bvh
    w = cmu_lm.world_xyz_m

    def cos(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        return np.einsum("ti,ti->t", u, v) / (np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1))

    for s, thumb_joint, finger_joint in (("LEFT", "LThumb", "LFingers"), ("RIGHT", "RThumb", "RFingers")):
        wrist = pose.positions[:, cmu.skeleton.index(f"{s.capitalize()}Hand")]
        real_thumb = (pose.end_sites[thumb_joint] - wrist) @ a.T
        real_fingers = (pose.end_sites[finger_joint] - wrist) @ a.T
        synth_index = w[:, L[f"{s}_INDEX"]] - w[:, L[f"{s}_WRIST"]]
        assert cos(synth_index, real_fingers).min() > math.cos(math.radians(50))
        # frame 0: the thumb's offset across the hand (perpendicular to the fingers) points the same way
        along = real_fingers[:1] / np.linalg.norm(real_fingers[:1])
        synth_thumb = w[:1, L[f"{s}_THUMB"]] - w[:1, L[f"{s}_WRIST"]]
        across_real = real_thumb[:1] - (real_thumb[:1] @ along[0])[:, None] * along
        across_synth = synth_thumb - (synth_thumb @ along[0])[:, None] * along
        assert cos(across_synth, across_real)[0] > math.cos(math.radians(20))


def test_camera_sees_the_front_at_yaw_0(cmu: BvhMotion, boxing: BvhMotion) -> None:
    # 01_01 starts (after the T-pose frame 0) facing +Z; Boxing_Toes starts facing -Z: both must face the camera.
    for motion in (cmu, boxing):
        m = mocap_landmarks(motion, frames=slice(1, 31))
        w = m.world_xyz_m[0]
        assert w[L.LEFT_SHOULDER, 0] > w[L.RIGHT_SHOULDER, 0] and w[L.LEFT_HIP, 0] > w[L.RIGHT_HIP, 0]
        assert w[L.NOSE, 2] < 0.5 * (w[L.LEFT_EAR, 2] + w[L.RIGHT_EAR, 2])  # nose nearer the camera
        assert w[L.LEFT_FOOT_INDEX, 2] < w[L.LEFT_HEEL, 2]
        _, _, fwd = _torso_axes(m.world_xyz_m[:1])
        assert fwd[0, 2] < -math.cos(math.radians(25))  # the torso faces the camera (-z) within 25°
        assert m.image_xy[0, L.LEFT_SHOULDER, 0] > m.image_xy[0, L.RIGHT_SHOULDER, 0]  # left at image right


def test_yaw_turns_the_view(cmu: BvhMotion) -> None:
    frames = slice(1, 200, 7)
    w0 = mocap_landmarks(cmu, 0.0, frames).world_xyz_m
    w90 = mocap_landmarks(cmu, 90.0, frames).world_xyz_m
    w180 = mocap_landmarks(cmu, camera=VirtualCamera(yaw_deg=180.0), frames=frames).world_xyz_m
    # Known answer: at 90° the camera stands at the subject's left: image right is their back (the old +z),
    # and "away" is their right (the old -x). At 180° x and z both flip.
    np.testing.assert_allclose(w90[..., 0], w0[..., 2], atol=1e-9)
    np.testing.assert_allclose(w90[..., 2], -w0[..., 0], atol=1e-9)
    np.testing.assert_allclose(w90[..., 1], w0[..., 1], atol=1e-9)
    np.testing.assert_allclose(w180, w0 * [-1, 1, -1], atol=1e-9)
    assert w90[0, L.LEFT_SHOULDER, 2] < w90[0, L.RIGHT_SHOULDER, 2]  # left side nearer the camera


def test_projection_known_answer() -> None:
    cam = VirtualCamera()
    f = 640 / math.tan(math.radians(30))
    assert cam.focal_px == pytest.approx(f)
    xy = cam.project(np.array([[0.0, 0.0, 3.0], [1.0, -0.5, 2.0]]))
    np.testing.assert_allclose(xy[0], [0.5, 0.5])
    np.testing.assert_allclose(xy[1], [(640 + f * 0.5) / 1280, (360 - f * 0.25) / 720])
    np.testing.assert_allclose(cam.intrinsics @ [1.0, -0.5, 2.0] / 2.0, [640 + f * 0.5, 360 - f * 0.25, 1.0])
    with pytest.raises(BridgeError):
        VirtualCamera(hfov_deg=0.0)


def test_image_points_follow_the_camera(cmu_lm: MocapLandmarks) -> None:
    cam = cmu_lm.camera
    # the camera stands 4 m in front of the start position at 1 m: the hips start 4 m away on the optical axis
    np.testing.assert_allclose(cmu_lm.hips_camera_m[0, [0, 2]], [0.0, cam.distance_m], atol=1e-9)
    np.testing.assert_allclose(cmu_lm.image_xy, cam.project(cmu_lm.camera_xyz_m()), atol=1e-12)
    head_h = _height_above_floor(cmu_lm, cmu_lm.world_xyz_m[:1, [L.NOSE]])[0, 0]
    assert (cmu_lm.image_xy[0, L.NOSE, 1] < 0.5) == (head_h > cam.height_m)  # above the camera: upper half
    assert cmu_lm.in_image[0].all()
    assert np.all(cmu_lm.visibility[cmu_lm.camera_xyz_m()[..., 2] > 0.05] == 1.0)


def test_frames_selection_and_landmark_frames(cmu: BvhMotion, cmu_lm: MocapLandmarks) -> None:
    picked = mocap_landmarks(cmu, frames=[0, 4, 8, 12])
    np.testing.assert_array_equal(picked.world_xyz_m, mocap_landmarks(cmu, frames=slice(0, 16, 4)).world_xyz_m)
    frames = to_landmark_frames(picked)
    assert len(frames) == 4 and all(isinstance(f, LandmarkFrame) for f in frames)
    assert [f.frame_index for f in frames] == [0, 4, 8, 12]
    f2 = frames[2]
    assert f2.person and f2.image_size == (1280, 720) and f2.t_s == pytest.approx(8 * cmu.frame_time_s)
    np.testing.assert_array_equal(f2.world_xyz_m, picked.world_xyz_m[2])
    np.testing.assert_array_equal(f2.image_xy, picked.image_xy[2])
    np.testing.assert_array_equal(f2.presence, np.ones(NUM_LANDMARKS))
    with pytest.raises(BridgeError, match="no frames"):
        mocap_landmarks(cmu, frames=slice(5, 5))


def test_unknown_skeleton_needs_roles() -> None:
    text = (BVH_DIR / "Boxing_Toes.bvh").read_text().replace("LeftKnee", "L_Knee_Joint")
    head, _, _ = text.partition("MOTION")
    motion = parse_bvh(head + "MOTION\nFrames: 1\nFrame Time: 0.01\n" + " ".join(["0"] * 66) + "\n")
    with pytest.raises(BridgeError, match="no joint for left_knee.*L_Knee_Joint"):
        mocap_landmarks(motion)
    m = mocap_landmarks(motion, roles={"left_knee": "L_Knee_Joint"}, units_to_m=0.01)
    assert m.joint_names["left_knee"] == "L_Knee_Joint"
    with pytest.raises(BridgeError, match="does not have"):
        mocap_landmarks(motion, roles={"left_knee": "Nope"})


def test_following_camera_keeps_a_walker_in_view(cmu: BvhMotion) -> None:
    still = mocap_landmarks(cmu, frames=slice(1, None, 10))
    moving = mocap_landmarks(cmu, camera=VirtualCamera(follow=True), frames=slice(1, None, 10))
    np.testing.assert_array_equal(moving.world_xyz_m, still.world_xyz_m)
    # 01_01 jumps 3.7 m toward a camera 4 m away: a still camera loses the subject, a following one does not
    assert still.hips_camera_m[:, 2].min() < 1.0 and not still.in_image.all()
    np.testing.assert_allclose(moving.hips_camera_m[:, 2], moving.camera.distance_m, atol=1e-9)
    assert moving.in_image.mean() > 0.99 and moving.visibility.min() == 1.0
