"""The rendered ground truth: the body, its posing, the cameras, and a real render seen by the real model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bridge.core.landmarks import PoseLandmark
from bridge.export.bvh_file import read_bvh
from bridge.testing.render import (
    CMU_DIR,
    CMU_UNITS_TO_M,
    ClipSpec,
    foot_contacts,
    look_at_camera,
)
from bridge.testing.render_mesh import load_body, pose_body
from bridge.testing.render_pairs import pair_frames
from tests.helpers.render_child import render_in_child

L = PoseLandmark
LIMB_LANDMARKS = [PoseLandmark[f"{s}_{p}"] for s in ("LEFT", "RIGHT")
                  for p in ("SHOULDER", "ELBOW", "WRIST", "HIP", "KNEE", "ANKLE")]  # fmt: skip

needs_cmu = pytest.mark.skipif(not (CMU_DIR / "01_01.bvh").is_file(), reason="assimp-testmodels not installed")


def test_camera_projects_a_known_point_and_reports_height_and_tilt() -> None:
    cam = look_at_camera(np.array([0.0, 1.5, 4.0]), np.array([0.0, 1.5 - 4.0 * np.tan(np.radians(10)), 0.0]),
                         hfov_deg=90.0, width=640, height=480)  # fmt: skip
    assert cam.height_m == pytest.approx(1.5)
    assert cam.tilt_deg == pytest.approx(10.0)
    assert cam.hfov_deg == pytest.approx(90.0)
    axis = cam.world_to_camera[2, :3]
    np.testing.assert_allclose(cam.project_px(cam.position_m + 3.0 * axis), [320.0, 240.0], atol=1e-9)
    right = cam.world_to_camera[0, :3]  # 1 m right at 2 m depth, 90° fov: f = 320 px → 160 px right
    np.testing.assert_allclose(cam.project_px(cam.position_m + 2.0 * axis + right), [480.0, 240.0], atol=1e-9)
    np.testing.assert_allclose(cam.to_camera(cam.position_m + 2.0 * axis), [0.0, 0.0, 2.0], atol=1e-12)


def test_body_shapes_change_the_body_not_its_mesh_or_rig() -> None:
    """The man is taller and wider than the base mesh, the woman shorter and slimmer; all three share the
    triangles and the bones, and their joints follow their shapes (the hips' height with the body's);
    a base-mesh render keeps its cache key, a shaped one gets its own; an unknown shape is refused."""
    from bridge.core.errors import BridgeError

    bodies = {s: load_body(s) for s in ("", "male", "female")}
    height = {s: float(np.ptp(b.rest_xyz_m[:, 1])) for s, b in bodies.items()}
    hips = {s: float(b.heads_m[b.bone("Hips"), 1]) for s, b in bodies.items()}
    assert height["female"] + 0.03 < height[""] < height["male"] - 0.05, height
    assert hips["female"] < hips[""] < hips["male"], hips
    base = bodies[""]
    for b in (bodies["male"], bodies["female"]):
        assert np.array_equal(b.triangles, base.triangles) and b.bone_names == base.bone_names
    assert len({ClipSpec("01_01", shape=s).key() for s in bodies}) == 3
    with pytest.raises(BridgeError, match="no body shape"):
        load_body("giant")


@needs_cmu
def test_body_in_the_mocap_t_pose_has_level_arms_and_stands_on_the_floor() -> None:
    body = load_body()
    assert len(body.rest_xyz_m) > 10000 and set(body.region) >= {"skin", "shirt", "trousers", "shoes"}
    motion = read_bvh(CMU_DIR / "01_01.bvh")
    posed = pose_body(motion, CMU_UNITS_TO_M, np.array([0, 150]))  # frame 0: the converter's T-pose
    head = {n: posed.heads_m[0, body.bone(n)] for n in ("Hips", "LeftArm", "LeftHand", "RightHand", "LeftFoot")}
    assert abs(head["LeftHand"][1] - head["LeftArm"][1]) < 0.05  # arms horizontal as in the BVH's rest
    sideways = head["LeftHand"][0] - head["Hips"][0], head["RightHand"][0] - head["Hips"][0]
    assert sideways[0] > 0.5 and sideways[1] < -0.5  # the left hand at +X, as the BVH's left
    assert 0.04 < head["LeftFoot"][1] < 0.12  # the ankle above the floor by about its height
    assert posed.vertices_m[:, :, 1].min() == pytest.approx(0.0, abs=1e-6)


def test_foot_contacts_of_a_lifted_and_a_sliding_foot() -> None:
    t = np.arange(6) / 30.0
    lms = np.zeros((6, 33, 3))
    lms[:, :, 1] = 0.5
    lms[:, [L.LEFT_HEEL, L.LEFT_FOOT_INDEX], 1] = 0.01  # left foot down and still
    lms[:, [L.RIGHT_HEEL, L.RIGHT_FOOT_INDEX], 1] = 0.01  # right foot down but sliding at 3 m/s
    lms[:, [L.RIGHT_HEEL, L.RIGHT_FOOT_INDEX], 0] = (3.0 * t)[:, None]
    lms[3:, L.LEFT_HEEL, 1] = lms[3:, L.LEFT_FOOT_INDEX, 1] = 0.2  # left foot lifts at frame 3
    c = foot_contacts(lms, t)
    np.testing.assert_array_equal(c[:, 0], [True, True, True, False, False, False])
    assert not c[:, 1].any()


@pytest.mark.slow
@needs_cmu
def test_a_render_has_its_truth_inside_the_silhouette_and_the_model_finds_the_person(tmp_path: Path) -> None:
    import cv2

    from bridge.tracking.config import TrackerConfig
    from bridge.tracking.pose_detector import PoseDetector
    from bridge.tracking.sources import Frame

    spec = ClipSpec("01_01", start_s=1.0, duration_s=0.4, fps=15.0, width=384, height=288)  # standing still
    video, truth = render_in_child(spec, tmp_path)
    cap = cv2.VideoCapture(str(video))
    images = [img for ok, img in iter(cap.read, (False, None)) if ok]
    cap.release()
    assert len(images) == len(truth.t_s) == 6
    # Silhouette: the body's colours (the wall and floor are greys); the limb joints project inside it.
    for img, px in zip(images, truth.landmarks_px, strict=True):
        hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
        mask = cv2.dilate((hsv[:, :, 1] > 60).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
        cols, rows = np.round(px[LIMB_LANDMARKS]).astype(int).T
        assert mask[rows, cols].all()
    assert truth.box_px is not None and np.isfinite(truth.box_px).all()
    for box, px in zip(truth.box_px, truth.landmarks_px, strict=True):  # the silhouette box holds the joints
        inside = (
            (px[:, 0] >= box[0] - 2)
            & (px[:, 0] <= box[2] + 2)
            & (px[:, 1] >= box[1] - 2)
            & (px[:, 1] <= box[3] + 2)
        )
        assert inside[LIMB_LANDMARKS].all()
        assert box[3] - box[1] > 0.5 * spec.height  # the camera frames the body large
    # Standing: both feet planted, the soles on the floor in every frame (heels within 4 cm, toes 6 cm: the
    # mocap's feet roll a little), nothing below it.
    assert truth.contacts.all()
    heels = truth.landmarks_world_m[:, [L.LEFT_HEEL, L.RIGHT_HEEL], 1]
    toes = truth.landmarks_world_m[:, [L.LEFT_FOOT_INDEX, L.RIGHT_FOOT_INDEX], 1]
    assert heels.min() > -1e-6 and heels.max() < 0.04 and toes.min() > -1e-6 and toes.max() < 0.06
    assert truth.lowest_m.min() >= -1e-6 and truth.lowest_m.max() < 0.01
    with PoseDetector(TrackerConfig()) as detector:
        found = [
            detector.detect(Frame(float(t), k, img))
            for k, (t, img) in enumerate(zip(truth.t_s, images, strict=True))
        ]
    pairs = pair_frames(found, truth)
    assert pairs.found.all()
    err = np.linalg.norm(pairs.image_px - truth.landmarks_px, axis=2)[:, LIMB_LANDMARKS]
    tall = np.ptp(truth.landmarks_px[:, :, 1], axis=1).mean()
    assert np.median(err) < 0.04 * tall  # as MediaPipe on a real person: a few % of the body's height
    # The truth in MediaPipe's world frame (camera axes, hip-centred) is what MediaPipe reports, within cm.
    world = np.linalg.norm(pairs.world_xyz_m - pairs.truth_mediapipe_m, axis=2)[:, LIMB_LANDMARKS]
    assert np.median(world) < 0.15


def test_deepmimic_walk_puts_each_mesh_limb_on_the_side_of_its_mocap_limb() -> None:
    """DeepMimic lacks clavicles and hip joints: the mesh's bones without a counterpart must follow their parent
    without turning by the rest facing twice (which put the left leg behind the body, and MediaPipe's left on the
    truth's right)."""
    from bridge.export.bvh_kinematics import bvh_forward_kinematics
    from bridge.testing.deepmimic import deepmimic_clips
    from bridge.testing.render import load_motion

    if "walk" not in deepmimic_clips():
        pytest.skip("pybullet (its DeepMimic clips) not installed")
    motion, units, facing = load_motion("deepmimic:walk")
    frames = np.array([0, 60])
    posed = pose_body(motion, units, frames, facing)
    fk = bvh_forward_kinematics(motion, frames)
    body, sk = load_body(), motion.skeleton
    for name in ("LeftUpLeg", "RightUpLeg", "LeftArm", "RightArm", "LeftFoot", "RightHand"):
        mesh = posed.heads_m[:, body.bone(name)] - posed.heads_m[:, body.bone("Hips")]
        mocap = fk.positions[:, sk.index(name)] - fk.positions[:, sk.index("Hips")]
        cos = np.einsum("ti,ti->t", mesh, mocap) / np.linalg.norm(mesh, axis=1) / np.linalg.norm(mocap, axis=1)
        assert cos.min() > 0.9, name
