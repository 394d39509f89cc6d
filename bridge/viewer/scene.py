"""What the viewer draws, as plain numpy data (no Open3D here): skeleton lines, joint spheres, avatar meshes, a
floor grid, and the legend of the colours.

Everything is in the **rig frame** (right-handed, Y up, the avatar faces +Z, +X is the avatar's left, metres).
The default camera stands in front of the avatar (on +Z) looking back at it, so the avatar's left side appears
on the image's right, as a person facing you does.

Colours: the solved rig draws its left side blue and its right side red (centre bones light grey); the landmark
skeleton draws its left side cyan and its right side amber (centre grey), so both stay apart when overlaid.

The pieces are small frozen dataclasses: :class:`LineLayer` (segments), :class:`SphereLayer` (joints) and
:class:`MeshLayer` (a skinned avatar's triangles, see :mod:`bridge.viewer.avatar`), gathered in a
:class:`SceneContent` with a status text and a legend; :mod:`bridge.viewer.render` turns them into Open3D geometry.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bridge.core.frames import mediapipe_to_rig
from bridge.core.landmarks import BODY_SEGMENTS, LandmarkFrame, PoseLandmark
from bridge.core.pose import BonePose

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
RGB = tuple[float, float, float]

#: Solved rig colours (RGB 0..1).
RIG_LEFT: RGB = (0.10, 0.40, 1.00)
RIG_RIGHT: RGB = (1.00, 0.15, 0.10)
RIG_CENTRE: RGB = (0.85, 0.85, 0.85)
#: Landmark skeleton colours.
LANDMARK_LEFT: RGB = (0.10, 0.95, 0.95)
LANDMARK_RIGHT: RGB = (1.00, 0.75, 0.05)
LANDMARK_CENTRE: RGB = (0.55, 0.55, 0.55)
#: Floor grid and local-axes colours.
GRID: RGB = (0.10, 0.10, 0.11)
AXIS_X: RGB = (1.0, 0.2, 0.2)
AXIS_Y: RGB = (0.2, 1.0, 0.2)
AXIS_Z: RGB = (0.2, 0.4, 1.0)
#: Background (RGBA 0..1).
BACKGROUND: tuple[float, float, float, float] = (0.06, 0.06, 0.08, 1.0)

#: Layouts: landmarks beside the rig (landmarks on the image's left) or on top of it.
LAYOUTS = ("side", "overlay")
#: Horizontal distance (m, rig frame x) between the two skeletons in the side-by-side layout.
SIDE_GAP_M = 1.9


@dataclass(frozen=True, eq=False)
class LineLayer:
    """Line segments of one colour-per-segment layer.

    Attributes:
        name: geometry name in the scene (unique).
        points_m: (N, 3) float, rig frame, metres.
        lines: (M, 2) int, indices into ``points_m``.
        colors: (M, 3) float RGB 0..1, one per segment.

    Every layer is drawn with the same line width (:data:`bridge.viewer.render.LINE_WIDTH_PX`): mixing widths made
    software rendering cost seconds per frame.
    """

    name: str
    points_m: FloatArray
    lines: IntArray
    colors: FloatArray


@dataclass(frozen=True, eq=False)
class SphereLayer:
    """Spheres (joints) of one radius.

    Attributes:
        name: geometry name in the scene (unique).
        centres_m: (J, 3) float, rig frame, metres.
        colors: (J, 3) float RGB 0..1.
        radius_m: sphere radius in metres.
    """

    name: str
    centres_m: FloatArray
    colors: FloatArray
    radius_m: float = 0.025


@dataclass(frozen=True, eq=False)
class MeshLayer:
    """Triangles of one material (a posed avatar part).

    Attributes:
        name: geometry name in the scene (unique).
        vertices_m: (V, 3) float32, rig frame, metres.
        triangles: (F, 3) int32 indices into ``vertices_m``.
        color: linear RGBA 0..1 (the material's base colour; alpha < 1 draws it see-through).
        uv: (V, 2) float32 texture coordinates (glTF convention: origin top-left), None without a texture.
        texture: (H, W, 3|4) uint8 RGB(A) base colour image, None for none.
        texture_key: names ``texture`` for the renderer's cache (the same key must mean the same image).
    """

    name: str
    vertices_m: npt.NDArray[np.float32]
    triangles: npt.NDArray[np.int32]
    color: tuple[float, float, float, float] = (0.8, 0.8, 0.8, 1.0)
    uv: npt.NDArray[np.float32] | None = None
    texture: npt.NDArray[np.uint8] | None = None
    texture_key: str = ""


#: One legend entry: what a colour means, and the colour (RGB 0..1).
LegendEntry = tuple[str, RGB]


@dataclass(frozen=True, eq=False)
class SceneContent:
    """One frame of the viewer: line, sphere and mesh layers, a status text (tracking state, fps) and the legend
    of the colours drawn."""

    lines: tuple[LineLayer, ...] = ()
    spheres: tuple[SphereLayer, ...] = ()
    status: str = ""
    meshes: tuple[MeshLayer, ...] = ()
    legend: tuple[LegendEntry, ...] = ()


#: Legend entries of each kind of layer.
RIG_LEGEND: tuple[LegendEntry, ...] = (("rig: avatar's left", RIG_LEFT), ("right", RIG_RIGHT))
LANDMARK_LEGEND: tuple[LegendEntry, ...] = (("landmarks: person's left", LANDMARK_LEFT), ("right", LANDMARK_RIGHT))
AXES_LEGEND: tuple[LegendEntry, ...] = (("bone axes: x", AXIS_X), ("y", AXIS_Y), ("z", AXIS_Z))


def legend_for(rig: bool, landmarks: bool, axes: bool) -> tuple[LegendEntry, ...]:
    """The legend of a scene that draws the rig's bones, the landmarks, the bones' local axes."""
    return (RIG_LEGEND if rig else ()) + (LANDMARK_LEGEND if landmarks else ()) + (AXES_LEGEND if axes else ())


@dataclass(frozen=True)
class CameraSpec:
    """A perspective camera: ``eye`` looks at ``centre`` with ``up``; vertical field of view in degrees.

    All vectors (3,) in the rig frame, metres. :func:`project` maps rig-frame points to pixels the way the
    renderer does.
    """

    centre_m: tuple[float, float, float] = (0.0, 0.9, 0.0)
    eye_m: tuple[float, float, float] = (0.0, 1.1, 4.0)
    up: tuple[float, float, float] = (0.0, 1.0, 0.0)
    fov_deg: float = 40.0
    near_m: float = 0.05
    far_m: float = 100.0


def side_of_bone(name: str) -> int:
    """+1 for the avatar's left (``Left*`` bones), -1 for its right, 0 for centre bones."""
    return 1 if name.startswith("Left") else -1 if name.startswith("Right") else 0


def side_of_landmark(landmark: PoseLandmark) -> int:
    """+1 for ``LEFT_*`` landmarks, -1 for ``RIGHT_*``, 0 for the nose."""
    words = landmark.name.split("_")
    return 1 if "LEFT" in words else -1 if "RIGHT" in words else 0


def _colour(side: int, left: RGB, right: RGB, centre: RGB) -> RGB:
    return left if side > 0 else right if side < 0 else centre


def camera_for(layout: str, with_landmarks: bool, height_m: float = 1.75) -> CameraSpec:
    """A fixed front camera that frames one standing avatar (with its arms out), or two side by side."""
    half_width_m = (SIDE_GAP_M / 2 + 1.0) if (with_landmarks and layout == "side") else 1.0
    half_height_m = height_m / 2 + 0.25
    fov = 40.0
    # Distance at which both half extents fit (the renderer's aspect is width/height = 4/3 by default).
    dist = max(half_height_m, half_width_m / (4.0 / 3.0)) / math.tan(math.radians(fov / 2)) + 0.6
    centre = (0.0, height_m / 2, 0.0)
    eye = (0.0, height_m / 2 + 0.25 * dist / 4.0, dist)
    return CameraSpec(centre_m=centre, eye_m=eye, fov_deg=fov)


def project(points_m: FloatArray, camera: CameraSpec, width: int, height: int) -> FloatArray:
    """Rig-frame points → pixel coordinates (x right, y down) of a ``width`` x ``height`` image.

    Args:
        points_m: (N, 3) float, rig frame, metres.

    Returns:
        (N, 2) float pixels; points behind the camera give NaN.
    """
    eye = np.asarray(camera.eye_m, dtype=np.float64)
    forward = np.asarray(camera.centre_m, dtype=np.float64) - eye
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, np.asarray(camera.up, dtype=np.float64))
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    rel = np.asarray(points_m, dtype=np.float64).reshape(-1, 3) - eye
    x_c, y_c, z_c = rel @ right, rel @ up, rel @ forward
    f = 1.0 / math.tan(math.radians(camera.fov_deg) / 2)
    aspect = width / height
    with np.errstate(divide="ignore", invalid="ignore"):
        ndc_x = np.where(z_c > 0, f * x_c / (aspect * z_c), np.nan)
        ndc_y = np.where(z_c > 0, f * y_c / z_c, np.nan)
    return np.stack([(ndc_x + 1) * 0.5 * width, (1 - ndc_y) * 0.5 * height], axis=1)


def floor_grid(half_size_m: float = 2.0, step_m: float = 0.5) -> LineLayer:
    """Lines on the floor (y = 0) from -half_size to +half_size in x and z, every ``step_m``."""
    ticks = np.arange(-half_size_m, half_size_m + 1e-9, step_m)
    pts: list[tuple[float, float, float]] = []
    for v in ticks:
        pts += [(v, 0.0, -half_size_m), (v, 0.0, half_size_m), (-half_size_m, 0.0, v), (half_size_m, 0.0, v)]
    points = np.asarray(pts, dtype=np.float64)
    lines = np.arange(len(points), dtype=np.intp).reshape(-1, 2)
    return LineLayer("grid", points, lines, np.tile(GRID, (len(lines), 1)))


def skeleton_from_world(
    name: str,
    bones: tuple[str, ...] | list[str],
    parents: IntArray | list[int],
    joints_m: FloatArray,
    rotations: FloatArray,
    tails_m: Mapping[str, FloatArray] | None = None,
    axes_m: float = 0.0,
    offset_m: FloatArray | None = None,
) -> tuple[LineLayer, SphereLayer, LineLayer | None]:
    """Lines (parent joint → joint, plus leaf tails), joint spheres and optional local axes of a posed skeleton.

    Args:
        name: prefix of the geometry names.
        bones, parents: bone names and parent indices (-1 for the root).
        joints_m: (B, 3) float, rig frame, metres: world joint positions.
        rotations: (B, 3, 3) float: world rotation matrices of the bones.
        tails_m: leaf bone → (3,) tail offset in the bone's rest frame (drawn as an extra segment).
        axes_m: length of each bone's local x/y/z axes (red/green/blue); 0 draws none.
        offset_m: (3,) float, metres: translation applied to everything (layouts).
    """
    shift = np.zeros(3) if offset_m is None else np.asarray(offset_m, dtype=np.float64)
    joints = np.asarray(joints_m, dtype=np.float64) + shift
    points = [joints]
    lines: list[tuple[int, int]] = []
    colors: list[RGB] = []
    for b, bone in enumerate(bones):
        colour = _colour(side_of_bone(bone), RIG_LEFT, RIG_RIGHT, RIG_CENTRE)
        p = int(parents[b])
        if p >= 0:
            lines.append((p, b))
            colors.append(colour)
        if tails_m and bone in tails_m:
            tail = joints[b] + rotations[b] @ np.asarray(tails_m[bone], dtype=np.float64)
            points.append(tail[None, :])
            lines.append((b, len(joints) + len(points) - 2))
            colors.append(colour)
    all_points = np.concatenate(points)
    line_layer = LineLayer(
        f"{name}-bones", all_points, np.asarray(lines, dtype=np.intp).reshape(-1, 2),
        np.asarray(colors, dtype=np.float64).reshape(-1, 3),
    )  # fmt: skip
    joint_colors = np.asarray(
        [_colour(side_of_bone(b), RIG_LEFT, RIG_RIGHT, RIG_CENTRE) for b in bones], dtype=np.float64
    )
    spheres = SphereLayer(f"{name}-joints", joints, joint_colors, radius_m=0.022)
    axes: LineLayer | None = None
    if axes_m > 0:
        n = len(joints)
        ends = joints[:, None, :] + axes_m * np.swapaxes(np.asarray(rotations), 1, 2)  # (B, 3 axes, 3)
        pts = np.concatenate([joints, ends.reshape(-1, 3)])
        idx = np.arange(n)
        axis_lines = np.concatenate([np.stack([idx, n + 3 * idx + k], axis=1) for k in range(3)])
        axis_colors = np.concatenate([np.tile(c, (n, 1)) for c in (AXIS_X, AXIS_Y, AXIS_Z)])
        axes = LineLayer(f"{name}-axes", pts, axis_lines.astype(np.intp), axis_colors)
    return line_layer, spheres, axes


def rig_layers(
    pose: BonePose, axes_m: float = 0.0, offset_m: FloatArray | None = None, name: str = "rig"
) -> list[LineLayer | SphereLayer]:
    """The solved rig of ``pose``: bones as lines, joints as spheres, optional local axes."""
    joints, rotations = pose.world()
    lines, spheres, axes = skeleton_from_world(
        name, pose.rig.bones, pose.rig.parents, joints, rotations, pose.rig.tails_m, axes_m, offset_m
    )
    out: list[LineLayer | SphereLayer] = [lines, spheres]
    return out + ([axes] if axes is not None else [])


def landmark_layers(
    frame: LandmarkFrame,
    hips_position_m: FloatArray,
    offset_m: FloatArray | None = None,
) -> list[LineLayer | SphereLayer]:
    """The landmark skeleton (:data:`BODY_SEGMENTS`) in the rig frame, mid-hips placed at ``hips_position_m``.

    Args:
        frame: filtered landmarks; nothing is drawn when ``frame.person`` is False.
        hips_position_m: (3,) float, rig frame, metres: where the landmarks' mid-hips goes (the pose's hips).
        offset_m: (3,) float, metres: extra translation (side-by-side layout).
    """
    if not frame.person:
        return []
    xyz = mediapipe_to_rig(frame.world_xyz_m)  # (33, 3) rig frame, metres (mirrored by the stage, if asked)
    mid_hips = 0.5 * (xyz[PoseLandmark.LEFT_HIP] + xyz[PoseLandmark.RIGHT_HIP])
    shift = np.asarray(hips_position_m, dtype=np.float64) - mid_hips
    if offset_m is not None:
        shift = shift + np.asarray(offset_m, dtype=np.float64)
    pts = xyz + shift
    lines = np.asarray(BODY_SEGMENTS, dtype=np.intp)
    colors = []
    for a, b in BODY_SEGMENTS:
        sides = {side_of_landmark(a), side_of_landmark(b)} - {0}
        side = sides.pop() if len(sides) == 1 else 0
        colors.append(_colour(side, LANDMARK_LEFT, LANDMARK_RIGHT, LANDMARK_CENTRE))
    used = sorted({int(i) for pair in BODY_SEGMENTS for i in pair})
    joint_colors = [
        _colour(side_of_landmark(PoseLandmark(i)), LANDMARK_LEFT, LANDMARK_RIGHT, LANDMARK_CENTRE) for i in used
    ]
    return [
        LineLayer("landmarks-bones", pts, lines, np.asarray(colors, dtype=np.float64)),
        SphereLayer("landmarks-joints", pts[used], np.asarray(joint_colors, dtype=np.float64), radius_m=0.022),
    ]


@dataclass(frozen=True)
class ViewOptions:
    """How a frame is laid out: ``layout`` (side | overlay), local axes length (0 = none), grid."""

    layout: str = "side"
    axes_m: float = 0.0
    grid: bool = True


def layout_shifts(options: ViewOptions, with_landmarks: bool) -> tuple[FloatArray | None, FloatArray | None]:
    """(rig shift, landmark shift), (3,) metres each or None: the side-by-side layout moves the rig (or avatar)
    to the image's right and the landmarks to its left."""
    if options.layout != "side" or not with_landmarks:
        return None, None
    return np.array([SIDE_GAP_M / 2, 0.0, 0.0]), np.array([-SIDE_GAP_M / 2, 0.0, 0.0])


def compose(
    pose: BonePose | None,
    landmarks: LandmarkFrame | None,
    options: ViewOptions,
    status: str = "",
    meshes: tuple[MeshLayer, ...] = (),
) -> SceneContent:
    """One frame's scene: the rig (right in the side layout), the landmarks (left), the grid, the status, the
    legend. With ``meshes`` (the posed avatar, already placed with :func:`layout_shifts`), they are drawn instead
    of the rig's bones; local axes are still drawn when asked."""
    layers: list[LineLayer | SphereLayer] = [floor_grid()] if options.grid else []
    rig_shift, lm_shift = layout_shifts(options, landmarks is not None)
    if pose is not None:
        rig = rig_layers(pose, options.axes_m, rig_shift)
        layers += [x for x in rig if not meshes or x.name.endswith("-axes")]
    drawn_landmarks = False
    if landmarks is not None:
        hips = pose.hips_position_m if pose is not None else np.array([0.0, 0.95, 0.0])
        lm = landmark_layers(landmarks, hips, lm_shift)
        layers += lm
        drawn_landmarks = bool(lm)
    return SceneContent(
        lines=tuple(x for x in layers if isinstance(x, LineLayer)),
        spheres=tuple(x for x in layers if isinstance(x, SphereLayer)),
        status=status,
        meshes=meshes,
        legend=legend_for(pose is not None and not meshes, drawn_landmarks or landmarks is not None,
                          pose is not None and options.axes_m > 0),
    )  # fmt: skip
