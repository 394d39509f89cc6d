"""Every change of axes and units in bridge, each as a pair of inverse functions (tested as such).

The frames:

* **MediaPipe world** (pose and hand world landmarks): x to the image's right, y down, z away from the camera,
  metres; pose landmarks hip-centred, hand landmarks centred on the hand.
* **normalised image**: x in [0, 1] left → right, y in [0, 1] top → bottom (values may leave [0, 1]).
* **OpenGL camera** (MediaPipe's facial transformation matrix): x right, y up, z toward the viewer.
* **rig** (the rig, the solver, every ``BonePose``, BVH, glTF): right-handed, Y up, the avatar faces +Z and +X
  is the avatar's left (the glTF / VRM 1.0 frame); metres.
* **room** (:class:`~bridge.core.landmarks.Placement`): the rig's axes made absolute — right-handed, Y up
  (gravity), floor at y = 0; +X the reference camera's image right, +Z from the scene toward that camera (so a
  person facing the camera faces +Z, like the avatar), origin on the floor below the camera; metres. It is the
  OpenGL camera frame levelled and lowered to the floor.
* **Unity** (VMC and VRChat messages): left-handed, Y up, +Z forward; quaternions scalar-last ``x y z w``.
* **calibrated world** (:mod:`bridge.multiview`): the world of a several-camera calibration, its own axes (up
  from the calibration: +Z for Qualisys), metres; **levelled camera**: MediaPipe world axes of a reference camera
  turned so that y points along gravity (see :func:`levelled_camera_rotation`).
* **glTF file**: right-handed, Y up, but an avatar may face any way in its file (VRM 0.x faces −Z).

Conversions:

=============================================  ===========================================================
MediaPipe world → rig, and back                :func:`mediapipe_to_rig` / :func:`rig_to_mediapipe`:
                                               ``(x, -y, -z)``, a 180° turn about x (its own inverse). A
                                               person facing the camera has their left at image right
                                               (+x), so they drive an avatar facing its own front.
OpenGL camera → rig (rotations)                :func:`opengl_camera_to_rig_rotation` / inverse: the same axes
                                               for a person facing the camera (x their left, y up, z their
                                               front), so the matrices carry over unchanged
rig → Unity, and back                          :func:`rig_to_unity_position` / :func:`unity_to_rig_position`
                                               ``(-x, y, z)``; :func:`rig_to_unity_quaternion` /
                                               :func:`unity_to_rig_quaternion` ``(x, -y, -z, w)`` — the
                                               reflection x → −x, as UniVRM converts glTF ↔ Unity
glTF file → rig, and back                      :func:`gltf_to_rig_matrix` / :func:`rig_to_gltf_matrix`: a turn
                                               about +Y by the avatar's facing (180° for VRM 0.x)
normalised bone space → original, and back     :func:`normalized_to_original_rotation` /
                                               :func:`original_to_normalized_rotation`: a bone's local
                                               rotation ``q`` (identity rest) onto an avatar's own node,
                                               ``R0(parent node)⁻¹ · q · R0(bone node)`` (world rest
                                               rotations); the VMC encoder's ``bone_space="original"``
camera → room, and back                        :func:`camera_to_room` / :func:`room_to_camera`: camera frame
                                               (MediaPipe's axes at the camera) → ``(x, -y, -z)``, levelled by
                                               the rotation :func:`level_rotation` makes from the camera's up
                                               direction, raised by the camera's height above the floor
normalised image ↔ pixels                      :func:`to_pixels` / :func:`to_normalised`
metres ↔ file units                            :func:`metres_to_unit` / :func:`unit_to_metres` (BVH: cm or m)
Qualisys camera pose ↔ OpenCV extrinsics        :func:`qualisys_to_opencv_extrinsics` / inverse: camera axes
                                               (y up, looking along −z) and centre in mm → world → camera
                                               ``R``, ``t`` in metres (a half turn about the camera's x)
calibrated world ↔ levelled camera             :func:`world_to_levelled` / :func:`levelled_to_world`: the
                                               several-camera world (:mod:`bridge.multiview`) → MediaPipe's
                                               axes made true to gravity for a reference camera
=============================================  ===========================================================

The mirror (``--mirror``, :mod:`bridge.stages.mirror`) reflects what the camera saw with three involutions
defined here: :func:`reflect_x` (world points), :func:`reflect_x_rotation` (rotation and transform matrices) and
:func:`flip_image_x` (normalised image points).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.spatial.transform import Rotation

FloatArray = npt.NDArray[np.float64]

#: rig_xyz = MEDIAPIPE_TO_RIG @ mediapipe_xyz (and back: the matrix is its own inverse).
MEDIAPIPE_TO_RIG: FloatArray = np.diag([1.0, -1.0, -1.0])
#: x → -x, both ways between the rig frame and Unity's.
RIG_TO_UNITY: FloatArray = np.diag([-1.0, 1.0, 1.0])
#: rig rotation = OPENGL_CAMERA_TO_RIG @ camera rotation @ OPENGL_CAMERA_TO_RIG.T (the axes coincide).
OPENGL_CAMERA_TO_RIG: FloatArray = np.eye(3)
#: Length units of files, as units per metre.
LENGTH_UNITS: dict[str, float] = {"m": 1.0, "cm": 100.0}

_REFLECT_X = np.array([-1.0, 1.0, 1.0])
_QUAT_REFLECT_X = np.array([1.0, -1.0, -1.0, 1.0])


def mediapipe_to_rig(world_xyz_m: FloatArray) -> FloatArray:
    """(..., 3) points, MediaPipe world frame (x right, y down, z away), metres → rig frame (Y up, +Z toward the
    camera, +X the person's left), metres. Works for the 33 pose and the 21 hand landmarks alike."""
    return np.asarray(world_xyz_m, dtype=np.float64) @ MEDIAPIPE_TO_RIG.T


def rig_to_mediapipe(xyz_m: FloatArray) -> FloatArray:
    """Inverse of :func:`mediapipe_to_rig`: (..., 3) rig frame → MediaPipe world frame, metres."""
    return np.asarray(xyz_m, dtype=np.float64) @ MEDIAPIPE_TO_RIG.T


def opengl_camera_to_rig_rotation(rotation: FloatArray) -> FloatArray:
    """(..., 3, 3) rotation matrices in the OpenGL camera frame (MediaPipe's facial transform: the canonical face,
    which looks along +z with +x on the face's left, → camera) → the same rotations in the rig frame."""
    m = np.asarray(rotation, dtype=np.float64)
    return np.asarray(OPENGL_CAMERA_TO_RIG @ m @ OPENGL_CAMERA_TO_RIG.T, dtype=np.float64)


def rig_to_opengl_camera_rotation(rotation: FloatArray) -> FloatArray:
    """Inverse of :func:`opengl_camera_to_rig_rotation`."""
    m = np.asarray(rotation, dtype=np.float64)
    return np.asarray(OPENGL_CAMERA_TO_RIG.T @ m @ OPENGL_CAMERA_TO_RIG, dtype=np.float64)


def rig_to_unity_position(xyz_m: FloatArray) -> FloatArray:
    """(..., 3) rig-frame positions (metres) → Unity frame (left-handed, Y up, metres)."""
    return np.asarray(xyz_m, dtype=np.float64) * _REFLECT_X


def unity_to_rig_position(xyz_m: FloatArray) -> FloatArray:
    """Inverse of :func:`rig_to_unity_position` (the reflection is its own inverse)."""
    return np.asarray(xyz_m, dtype=np.float64) * _REFLECT_X


def rig_to_unity_quaternion(rotation: Rotation) -> FloatArray:
    """Rig-frame rotations → Unity-frame quaternions, (N, 4) or (4,) float, scalar-last ``x y z w``."""
    q = rotation.as_quat()
    return q * _QUAT_REFLECT_X


def unity_to_rig_quaternion(quat_xyzw: FloatArray) -> Rotation:
    """Inverse of :func:`rig_to_unity_quaternion` (the reflection is its own inverse)."""
    return Rotation.from_quat(np.asarray(quat_xyzw, dtype=np.float64) * _QUAT_REFLECT_X)


def gltf_to_rig_matrix(turn_deg: float) -> FloatArray:
    """(3, 3): a glTF file's axes → the rig frame for an avatar that must turn ``turn_deg`` about +Y to face +Z
    with its left on +X (0 for VRM 1.0, 180 for VRM 0.x, a quarter turn for other files)."""
    return np.asarray(Rotation.from_euler("y", turn_deg, degrees=True).as_matrix(), dtype=np.float64)


def rig_to_gltf_matrix(turn_deg: float) -> FloatArray:
    """Inverse of :func:`gltf_to_rig_matrix`."""
    return gltf_to_rig_matrix(turn_deg).T


def normalized_to_original_rotation(
    local: Rotation, rest_world: Rotation, parent_rest_world: Rotation
) -> Rotation:
    """Normalised local rotations (B; rest = identity, as every ``BonePose`` holds them) → the local rotations
    of the avatar's own (original) bone nodes that give the same world pose: ``R0(parent)⁻¹ · q · R0(bone)``.

    Why: on a normalised rig a bone's world rotation is ``W = Wn(parent) · q``. The original node should end at
    ``W · R0(bone)`` (the pose applied to its rest orientation), and its parent node at ``Wn(parent) ·
    R0(parent)`` (a non-humanoid node between two bones moves with the bone above it), so its local rotation is
    ``(Wn(parent) · R0(parent))⁻¹ · Wn(parent) · q · R0(bone)``. ``rest_world``, ``parent_rest_world``: B world
    rest rotations of each bone node and of its parent node (:class:`bridge.core.rig.OriginalBones`). The
    product keeps quaternion sign continuity.
    """
    return parent_rest_world.inv() * local * rest_world


def original_to_normalized_rotation(
    original: Rotation, rest_world: Rotation, parent_rest_world: Rotation
) -> Rotation:
    """Inverse of :func:`normalized_to_original_rotation`."""
    return parent_rest_world * original * rest_world.inv()


def level_rotation(up_cam: FloatArray) -> FloatArray:
    """(3, 3): the smallest rotation of the OpenGL-axes camera frame (x right, y up, z toward the viewer) that
    turns the camera's up direction ``up_cam`` ((3,), camera frame: MediaPipe axes, y down) onto +Y."""
    up = np.asarray(up_cam, dtype=np.float64) @ MEDIAPIPE_TO_RIG.T
    up = up / np.linalg.norm(up)
    axis = np.array([-up[2], 0.0, up[0]])  # up × +Y
    s, c = float(np.linalg.norm(axis)), float(up[1])
    if s < 1e-12:
        return np.eye(3) if c > 0 else np.diag([1.0, -1.0, -1.0])
    k = axis / s
    kx = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.asarray(np.eye(3) + s * kx + (1.0 - c) * (kx @ kx), dtype=np.float64)  # Rodrigues


def camera_to_room(xyz_cam_m: FloatArray, level: FloatArray, camera_height_m: float) -> FloatArray:
    """(..., 3) camera-frame points (MediaPipe axes: x right, y down, z away; origin at the camera), metres →
    room frame (:class:`~bridge.core.landmarks.Placement`: Y up, floor y = 0, origin on the floor below the
    camera), metres. ``level``: :func:`level_rotation`; ``camera_height_m``: the camera above the floor. A
    direction (hip-centred landmarks) converts with ``camera_height_m=0``."""
    p = np.asarray(xyz_cam_m, dtype=np.float64) @ MEDIAPIPE_TO_RIG.T @ np.asarray(level).T
    return np.asarray(p + np.array([0.0, camera_height_m, 0.0]), dtype=np.float64)


def room_to_camera(xyz_room_m: FloatArray, level: FloatArray, camera_height_m: float) -> FloatArray:
    """Inverse of :func:`camera_to_room`."""
    p = np.asarray(xyz_room_m, dtype=np.float64) - np.array([0.0, camera_height_m, 0.0])
    return np.asarray(p @ np.asarray(level) @ MEDIAPIPE_TO_RIG.T, dtype=np.float64)


def to_pixels(image_xy: FloatArray, image_size: tuple[int, int]) -> FloatArray:
    """(..., 2) normalised image points → pixels of an image ``(width, height)``."""
    return np.asarray(image_xy, dtype=np.float64) * np.asarray(image_size, dtype=np.float64)


def to_normalised(pixels_xy: FloatArray, image_size: tuple[int, int]) -> FloatArray:
    """Inverse of :func:`to_pixels`."""
    return np.asarray(pixels_xy, dtype=np.float64) / np.asarray(image_size, dtype=np.float64)


def metres_to_unit(value_m: FloatArray | float, unit: str) -> FloatArray:
    """Lengths in metres → ``unit`` (a key of :data:`LENGTH_UNITS`)."""
    return np.asarray(value_m, dtype=np.float64) * LENGTH_UNITS[unit]


def unit_to_metres(value: FloatArray | float, unit: str) -> FloatArray:
    """Inverse of :func:`metres_to_unit`."""
    return np.asarray(value, dtype=np.float64) / LENGTH_UNITS[unit]


def reflect_x(xyz: FloatArray) -> FloatArray:
    """(..., 3) points with x negated: the mirror image in the MediaPipe world, hand and rig frames (which share
    their x axis up to sign). Its own inverse."""
    return np.asarray(xyz, dtype=np.float64) * _REFLECT_X


def reflect_x_rotation(matrix: FloatArray) -> FloatArray:
    """(..., 3, 3) rotation or (..., 4, 4) transform matrices of the mirror image: ``S · M · S`` with S = diag(-1,
    1, 1[, 1]), i.e. the rotation seen in a mirror (its angle about y and z reversed). Its own inverse."""
    m = np.asarray(matrix, dtype=np.float64)
    s = np.ones(m.shape[-1])
    s[0] = -1.0
    return np.asarray(m * s[:, None] * s[None, :], dtype=np.float64)


def flip_image_x(image_xy: FloatArray) -> FloatArray:
    """(..., 2) normalised image points of the horizontally flipped image: x → 1 − x. Its own inverse (up to
    rounding)."""
    out = np.array(image_xy, dtype=np.float64, copy=True)
    out[..., 0] = 1.0 - out[..., 0]
    return out


__all__ = [
    "LENGTH_UNITS",
    "MEDIAPIPE_TO_RIG",
    "OPENGL_CAMERA_TO_RIG",
    "RIG_TO_UNITY",
    "camera_to_room",
    "flip_image_x",
    "gltf_to_rig_matrix",
    "level_rotation",
    "mediapipe_to_rig",
    "metres_to_unit",
    "normalized_to_original_rotation",
    "opengl_camera_to_rig_rotation",
    "original_to_normalized_rotation",
    "reflect_x",
    "reflect_x_rotation",
    "rig_to_gltf_matrix",
    "rig_to_mediapipe",
    "rig_to_opengl_camera_rotation",
    "rig_to_unity_position",
    "rig_to_unity_quaternion",
    "room_to_camera",
    "to_normalised",
    "to_pixels",
    "unit_to_metres",
    "unity_to_rig_position",
    "unity_to_rig_quaternion",
]


def qualisys_to_opencv_extrinsics(
    rotation_rows: FloatArray, position_mm: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """A Qualisys ``.qca.txt`` camera pose → OpenCV extrinsics.

    Args:
        rotation_rows: (3, 3) the ``<transform>``'s ``r11 … r33`` read row by row: its rows are the Qualisys
            camera's axes in world coordinates (that camera frame: x right, y up, z toward the viewer, so it
            looks along −z), as Pose2Sim reads them.
        position_mm: (3,) the ``x y z`` of ``<transform>``: the camera's centre in the world, millimetres.

    Returns:
        ``(R, t_m)``: (3, 3) world → OpenCV camera (x right, y down, z forward) and (3,) metres, so that
        ``x_cam = R @ x_world + t_m`` (Pose2Sim's conversion: world → camera perspective, then a half turn about
        the camera's x).
    """
    flip = np.diag([1.0, -1.0, -1.0])
    r = np.asarray(rotation_rows, dtype=np.float64)
    c_m = np.asarray(position_mm, dtype=np.float64) / 1000.0
    rotation = flip @ r
    return rotation, -rotation @ c_m


def opencv_to_qualisys_extrinsics(rotation: FloatArray, t_m: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Inverse of :func:`qualisys_to_opencv_extrinsics`: ``(R, t_m)`` → ``(rotation_rows, position_mm)``."""
    flip = np.diag([1.0, -1.0, -1.0])
    r = np.asarray(rotation, dtype=np.float64)
    centre_m = -r.T @ np.asarray(t_m, dtype=np.float64)
    return flip @ r, centre_m * 1000.0


def levelled_camera_rotation(up_world: FloatArray, camera_rotation: FloatArray) -> FloatArray:
    """(3, 3) rotation from a calibrated world (any axes, metres) to the **levelled camera** frame of one camera.

    The levelled camera frame has MediaPipe's world axes made true to gravity: y down (along −``up_world``), z
    away from the camera (its optical axis made horizontal), x = y × z (the image's right); so hip-centred points
    in it drive the pipeline as MediaPipe's own world landmarks do. ``camera_rotation`` is the camera's (3, 3)
    world → OpenCV camera rotation; ``up_world`` (3,) the world's up direction.
    """
    up = np.asarray(up_world, dtype=np.float64)
    up = up / np.linalg.norm(up)
    forward = np.asarray(camera_rotation, dtype=np.float64)[2]
    forward = forward - up * (forward @ up)
    norm = np.linalg.norm(forward)
    if norm < 1e-6:  # looking straight down or up: keep the image's right horizontal instead
        right = np.asarray(camera_rotation, dtype=np.float64)[0]
        forward = np.cross(right, -up)
        norm = np.linalg.norm(forward)
    z = forward / norm
    y = -up
    return np.stack([np.cross(y, z), y, z])


def world_to_levelled(xyz_world_m: FloatArray, rotation: FloatArray) -> FloatArray:
    """(..., 3) calibrated-world points, metres → the levelled camera frame (:func:`levelled_camera_rotation`)."""
    return np.asarray(xyz_world_m, dtype=np.float64) @ np.asarray(rotation, dtype=np.float64).T


def levelled_to_world(xyz_m: FloatArray, rotation: FloatArray) -> FloatArray:
    """Inverse of :func:`world_to_levelled`: (..., 3) levelled camera frame → calibrated world, metres."""
    return np.asarray(xyz_m, dtype=np.float64) @ np.asarray(rotation, dtype=np.float64)
