"""Every axis and unit conversion of :mod:`bridge.core.frames`: a known answer each, and each pair inverts."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from bridge.core import frames as fr

RNG = np.random.default_rng(20261201)
POINTS = RNG.normal(size=(7, 33, 3))
ROTATIONS = Rotation.random(20, random_state=7)


def test_mediapipe_to_rig_known_answer_and_inverse() -> None:
    # A point 1 m to the image's right, 2 m down, 3 m away from the camera: for a person facing the camera that
    # is their left (+X), below (-Y) and behind them (-Z).
    np.testing.assert_array_equal(fr.mediapipe_to_rig(np.array([1.0, 2.0, 3.0])), [1.0, -2.0, -3.0])
    np.testing.assert_array_equal(fr.rig_to_mediapipe(fr.mediapipe_to_rig(POINTS)), POINTS)
    assert fr.mediapipe_to_rig(RNG.normal(size=(21, 3))).shape == (21, 3)  # hand landmarks too
    assert np.linalg.det(fr.MEDIAPIPE_TO_RIG) == pytest.approx(1.0)  # a turn, not a reflection


def test_rig_to_unity_positions_and_quaternions() -> None:
    np.testing.assert_array_equal(fr.rig_to_unity_position(np.array([0.2, 1.0, 0.3])), [-0.2, 1.0, 0.3])
    np.testing.assert_array_equal(fr.unity_to_rig_position(fr.rig_to_unity_position(POINTS)), POINTS)
    # A quarter turn about +Y in the right-handed rig frame (the avatar turns to its left) is, in Unity's
    # left-handed frame, a quarter turn about +Y the other way: quaternion (0, -sin 45°, 0, cos 45°).
    q = fr.rig_to_unity_quaternion(Rotation.from_euler("y", 90, degrees=True))
    np.testing.assert_allclose(q, [0.0, -np.sqrt(0.5), 0.0, np.sqrt(0.5)], atol=1e-12)
    back = fr.unity_to_rig_quaternion(fr.rig_to_unity_quaternion(ROTATIONS))
    np.testing.assert_allclose((back * ROTATIONS.inv()).magnitude(), 0.0, atol=1e-12)
    # Positions and rotations convert consistently: rotating then converting = converting then rotating.
    v = RNG.normal(size=(20, 3))
    rotated_in_unity = Rotation.from_quat(fr.rig_to_unity_quaternion(ROTATIONS)).apply(fr.rig_to_unity_position(v))
    np.testing.assert_allclose(rotated_in_unity, fr.rig_to_unity_position(ROTATIONS.apply(v)), atol=1e-12)


def test_opengl_camera_rotations_are_rig_rotations() -> None:
    m = ROTATIONS.as_matrix()
    np.testing.assert_array_equal(fr.opengl_camera_to_rig_rotation(m), m)
    np.testing.assert_array_equal(fr.rig_to_opengl_camera_rotation(fr.opengl_camera_to_rig_rotation(m)), m)


@pytest.mark.parametrize(("turn", "left_in_file"), [(0.0, [1, 0, 0]), (180.0, [-1, 0, 0]), (90.0, [0, 0, 1])])
def test_gltf_turn_brings_the_avatar_left_onto_plus_x(turn: float, left_in_file: list[float]) -> None:
    np.testing.assert_allclose(fr.gltf_to_rig_matrix(turn) @ left_in_file, [1, 0, 0], atol=1e-12)
    back = fr.rig_to_gltf_matrix(turn) @ fr.gltf_to_rig_matrix(turn)
    np.testing.assert_allclose(back, np.eye(3), atol=1e-12)


def test_pixels_and_units() -> None:
    np.testing.assert_array_equal(fr.to_pixels(np.array([0.5, 0.25]), (640, 480)), [320.0, 120.0])
    xy = RNG.uniform(0, 1, (33, 2))
    np.testing.assert_allclose(fr.to_normalised(fr.to_pixels(xy, (1768, 994)), (1768, 994)), xy, rtol=1e-15)
    assert float(fr.metres_to_unit(1.72, "cm")) == pytest.approx(172.0)
    assert float(fr.metres_to_unit(1.72, "m")) == 1.72
    np.testing.assert_allclose(fr.unit_to_metres(fr.metres_to_unit(POINTS, "cm"), "cm"), POINTS, rtol=1e-15)


def test_mirror_reflections_are_involutions() -> None:
    np.testing.assert_array_equal(fr.reflect_x(np.array([0.3, -1.0, 2.0])), [-0.3, -1.0, 2.0])
    np.testing.assert_array_equal(fr.reflect_x(fr.reflect_x(POINTS)), POINTS)
    m = ROTATIONS.as_matrix()
    mirrored = fr.reflect_x_rotation(m)
    np.testing.assert_array_equal(fr.reflect_x_rotation(mirrored), m)
    np.testing.assert_allclose(np.linalg.det(mirrored), 1.0)  # still rotations
    # The mirror image of a rotated vector is the mirrored rotation of the mirrored vector.
    v = RNG.normal(size=(20, 3))
    np.testing.assert_allclose(
        np.einsum("nij,nj->ni", mirrored, fr.reflect_x(v)), fr.reflect_x(ROTATIONS.apply(v)), atol=1e-12
    )
    t = np.eye(4)
    t[:3, :3], t[:3, 3] = m[0], (1.0, 2.0, 3.0)
    np.testing.assert_allclose(fr.reflect_x_rotation(t)[:3, 3], [-1.0, 2.0, 3.0])
    xy = RNG.uniform(0, 1, (33, 2))
    np.testing.assert_array_equal(fr.flip_image_x(np.array([[0.2, 0.7]])), [[0.8, 0.7]])
    np.testing.assert_allclose(fr.flip_image_x(fr.flip_image_x(xy)), xy, atol=1e-15)


def test_qualisys_extrinsics_known_answer_and_inverse() -> None:
    # A Qualisys camera with the world's axes (looking along world −z), 2 m up: in OpenCV terms it looks down
    # (+z_cam = world −z), image-down is world −y, and the world origin is 2 m in front of it.
    rotation, t_m = fr.qualisys_to_opencv_extrinsics(np.eye(3), np.array([0.0, 0.0, 2000.0]))
    np.testing.assert_allclose(rotation @ np.array([0.0, 0.0, 0.0]) + t_m, [0.0, 0.0, 2.0])
    np.testing.assert_allclose(rotation @ np.array([0.0, 0.0, -1.0]), [0.0, 0.0, 1.0])
    rows = ROTATIONS[0].as_matrix()
    back_rows, back_mm = fr.opencv_to_qualisys_extrinsics(*fr.qualisys_to_opencv_extrinsics(rows, [1.0, 2, 3]))
    np.testing.assert_allclose(back_rows, rows, atol=1e-12)
    np.testing.assert_allclose(back_mm, [1.0, 2, 3], atol=1e-9)


def test_levelled_camera_frame_points_y_along_gravity_and_inverts() -> None:
    # A camera tilted 20° down in a +Z-up world: its levelled frame has y = world −Z, z its horizontal heading.
    tilt = Rotation.from_euler("x", -20, degrees=True).as_matrix()
    camera = tilt @ np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])  # looks along world +Y, image-down −Z
    rotation = fr.levelled_camera_rotation(np.array([0.0, 0.0, 1.0]), camera)
    np.testing.assert_allclose(fr.world_to_levelled(np.array([0.0, 0.0, 1.0]), rotation), [0, -1, 0], atol=1e-12)
    np.testing.assert_allclose(fr.world_to_levelled(np.array([0.0, 1.0, 0.0]), rotation), [0, 0, 1], atol=1e-12)
    np.testing.assert_allclose(fr.world_to_levelled(np.array([1.0, 0.0, 0.0]), rotation), [1, 0, 0], atol=1e-12)
    assert np.linalg.det(rotation) == pytest.approx(1.0)
    np.testing.assert_allclose(fr.levelled_to_world(fr.world_to_levelled(POINTS, rotation), rotation), POINTS)


def test_camera_to_room_and_back() -> None:
    """A level camera 1.5 m up: a point 3 m ahead and 0.5 m below it is 1 m above the floor, 3 m toward −Z."""
    level = fr.level_rotation(np.array([0.0, -1.0, 0.0]))
    np.testing.assert_allclose(level, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(fr.camera_to_room(np.array([0.2, 0.5, 3.0]), level, 1.5), [0.2, 1.0, -3.0])
    tilted = fr.level_rotation(np.array([0.1, -0.9, 0.3]))
    pts = np.random.default_rng(7).normal(size=(4, 3))
    room = fr.camera_to_room(pts, tilted, 0.8)
    np.testing.assert_allclose(fr.room_to_camera(room, tilted, 0.8), pts, atol=1e-12)
