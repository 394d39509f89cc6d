"""Rendered ground truth: the skinned MakeHuman body (:mod:`bridge.testing.render_mesh`) driven by real motion
capture, filmed by known cameras into a video, with the exact truth of every frame.

What comes out (:func:`render_clip` → :class:`RenderedClip`):

* a video (OpenCV ``mp4v``) of the clothed body on a checkered floor in front of a grey wall, rendered by
  Open3D's offscreen renderer on the CPU (shadows, ambient occlusion, anti-aliasing and post-processing off:
  colours are the lit materials' own);
* :class:`RenderTruth`: per frame the 33 MediaPipe landmarks in the **world frame** (x, y, z metres, Y up,
  floor y = 0, gravity -Y), the same points in the image (pixels), each bone's joint, planted feet, and the
  camera (:class:`RenderCamera`: intrinsics, world-to-camera extrinsics, height and tilt).

Renders are cached (video + ``.npz`` truth) under :func:`cache_dir` keyed by everything that makes them; never
in the repository. One Open3D renderer lives per process at a time and is used on one thread
(:class:`BodyRenderer`; see :mod:`bridge.viewer.render` for what Open3D on lavapipe needs).

For training data (many cameras × clips): call :func:`render_clip` with several cameras (e.g.
:func:`framing_camera` at several yaws and heights) and read the tracker's 2-D/3-D landmarks of each video
against ``truth.landmarks_world_m`` / ``truth.landmarks_px``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bridge.core.errors import BridgeError
from bridge.core.landmarks import NUM_LANDMARKS, PoseLandmark
from bridge.export.bvh_file import BvhMotion, read_bvh
from bridge.testing.render_mesh import PosedBody, load_body, pose_body

FloatArray = npt.NDArray[np.float64]
UInt8Image = npt.NDArray[np.uint8]
L = PoseLandmark


def _lm(name: str) -> PoseLandmark:
    return PoseLandmark[name]


#: Landmark → ("bone", bone whose head it is) or ("marker", marker vertex of the body).
LANDMARK_SOURCE: dict[PoseLandmark, tuple[str, str]] = {
    L.NOSE: ("marker", "nose"),
    L.MOUTH_LEFT: ("marker", "mouth_left"),
    L.MOUTH_RIGHT: ("marker", "mouth_right"),
    **{_lm(f"{S}_EYE"): ("marker", f"{s}_eye") for S, s in (("LEFT", "left"), ("RIGHT", "right"))},
    **{_lm(f"{S}_EYE_INNER"): ("marker", f"{s}_eye_inner") for S, s in (("LEFT", "left"), ("RIGHT", "right"))},
    **{_lm(f"{S}_EYE_OUTER"): ("marker", f"{s}_eye_outer") for S, s in (("LEFT", "left"), ("RIGHT", "right"))},
    **{_lm(f"{S}_EAR"): ("marker", f"{s}_ear") for S, s in (("LEFT", "left"), ("RIGHT", "right"))},
    **{_lm(f"{S}_{part}"): ("marker", f"{s}_{part.lower()}") for S, s in (("LEFT", "left"), ("RIGHT", "right"))
       for part in ("PINKY", "INDEX", "THUMB", "HEEL")},
    **{_lm(f"{S}_FOOT_INDEX"): ("marker", f"{s}_toe") for S, s in (("LEFT", "left"), ("RIGHT", "right"))},
    **{_lm(f"{S}_{part}"): ("bone", f"{B}{bone}") for S, B in (("LEFT", "Left"), ("RIGHT", "Right"))
       for part, bone in (("SHOULDER", "Arm"), ("ELBOW", "ForeArm"), ("WRIST", "Hand"), ("HIP", "UpLeg"),
                          ("KNEE", "Leg"), ("ANKLE", "Foot"))},
}  # fmt: skip

#: A foot is planted while its heel or toe is below this height (metres) and slower than CONTACT_SPEED_M_S.
CONTACT_HEIGHT_M = 0.04
CONTACT_SPEED_M_S = 0.5
#: Wall and floor colours (RGB 0..1); the floor is a 0.5 m checkerboard of two greys.
WALL_RGB = (0.62, 0.66, 0.70)
FLOOR_RGB = ((0.58, 0.58, 0.55), (0.42, 0.42, 0.40))


@dataclass(frozen=True)
class RenderCamera:
    """A pinhole camera in the world frame (Y up, floor y = 0, metres).

    Attributes:
        intrinsics: (3, 3) float, pixels: K (square pixels, principal point at the image centre).
        world_to_camera: (4, 4) float: extrinsics; camera frame x right, y down, z along the optical axis.
        width, height: image size, pixels.
    """

    intrinsics: FloatArray
    world_to_camera: FloatArray
    width: int
    height: int

    @property
    def position_m(self) -> FloatArray:
        """(3,) float, metres, world frame: the optical centre."""
        r, t = self.world_to_camera[:3, :3], self.world_to_camera[:3, 3]
        return np.asarray(-r.T @ t)

    @property
    def height_m(self) -> float:
        """Height of the optical centre above the floor, metres."""
        return float(self.position_m[1])

    @property
    def tilt_deg(self) -> float:
        """Angle of the optical axis below the horizon, degrees (positive: looking down)."""
        axis = self.world_to_camera[2, :3]
        return float(math.degrees(math.asin(-float(np.clip(axis[1], -1, 1)))))

    @property
    def room_yaw_rad(self) -> float:
        """The yaw (about +Y, :func:`bridge.testing.world_metrics.yaw_rotation`) that turns the room frame
        bridge places a body in for this camera (+X the image's right, +Z toward the camera, Y up) into the
        world frame."""
        right = self.world_to_camera[0, :3]
        return float(math.atan2(-float(right[2]), float(right[0])))

    @property
    def hfov_deg(self) -> float:
        return float(math.degrees(2 * math.atan(self.width / 2 / self.intrinsics[0, 0])))

    def to_camera(self, points_world_m: FloatArray) -> FloatArray:
        """(..., 3) camera-frame metres of world points."""
        p = np.asarray(points_world_m, dtype=np.float64)
        return np.asarray(p @ self.world_to_camera[:3, :3].T + self.world_to_camera[:3, 3])

    def project_px(self, points_world_m: FloatArray) -> FloatArray:
        """(..., 2) float pixels (x right, y down, origin top-left corner) of world points in front of it."""
        c = self.to_camera(points_world_m)
        z = np.maximum(c[..., 2], 1e-6)
        k = self.intrinsics
        return np.stack([k[0, 0] * c[..., 0] / z + k[0, 2], k[1, 1] * c[..., 1] / z + k[1, 2]], axis=-1)

    def as_dict(self) -> dict[str, Any]:
        return {"intrinsics": self.intrinsics.tolist(), "world_to_camera": self.world_to_camera.tolist(),
                "width": self.width, "height": self.height}  # fmt: skip


def look_at_camera(
    eye_m: FloatArray, target_m: FloatArray, hfov_deg: float = 60.0, width: int = 640, height: int = 360
) -> RenderCamera:
    """A camera at ``eye_m`` looking at ``target_m`` (world frame, metres), no roll."""
    eye, target = np.asarray(eye_m, dtype=np.float64), np.asarray(target_m, dtype=np.float64)
    fwd = target - eye
    fwd /= np.linalg.norm(fwd)
    right = np.cross(fwd, [0.0, 1.0, 0.0])
    if np.linalg.norm(right) < 1e-6:
        raise BridgeError("a render camera cannot look straight up or down; move its target")
    right /= np.linalg.norm(right)
    down = np.cross(fwd, right)
    ext = np.eye(4)
    ext[:3, :3] = np.stack([right, down, fwd])
    ext[:3, 3] = -ext[:3, :3] @ eye
    f = width / 2.0 / math.tan(math.radians(hfov_deg) / 2.0)
    k = np.array([[f, 0.0, width / 2.0], [0.0, f, height / 2.0], [0.0, 0.0, 1.0]])
    return RenderCamera(k, ext, int(width), int(height))


def framing_camera(
    posed: PosedBody, yaw_deg: float = 0.0, height_m: float = 1.2, hfov_deg: float = 60.0,
    width: int = 640, height: int = 360, margin: float = 0.06,
) -> RenderCamera:  # fmt: skip
    """A fixed camera that keeps the whole clip in view.

    It stands at ``height_m``, in the direction the body faces in the first frame turned by ``yaw_deg``
    (counter-clockwise seen from above: 90 = the body's left side), and looks at the middle of the clip's
    floor path at 0.9 m; it backs off until every vertex of every frame is inside the image with ``margin``.
    """
    hips = load_body().bone("Hips")
    fwd = posed.rotations[0, hips] @ np.array([0.0, 0.0, 1.0])
    yaw = math.atan2(fwd[0], fwd[2]) + math.radians(yaw_deg)
    direction = np.array([math.sin(yaw), 0.0, math.cos(yaw)])
    path = posed.heads_m[:, hips]
    centre = np.array([(path[:, 0].min() + path[:, 0].max()) / 2, 0.9, (path[:, 2].min() + path[:, 2].max()) / 2])
    pts = posed.vertices_m[:: max(1, len(posed.t_s) // 40), ::7].reshape(-1, 3).astype(np.float64)
    for distance in np.arange(2.0, 30.0, 0.25):
        eye = centre + direction * distance
        eye[1] = height_m
        cam = look_at_camera(eye, centre, hfov_deg, width, height)
        px, depth = cam.project_px(pts), cam.to_camera(pts)[:, 2]
        inside = (px[:, 0] > margin * width) & (px[:, 0] < (1 - margin) * width)
        inside &= (px[:, 1] > margin * height) & (px[:, 1] < (1 - margin) * height) & (depth > 0.3)
        if inside.all():
            return cam
    raise BridgeError("no camera distance up to 30 m keeps this clip in view; shorten the clip")


@dataclass(frozen=True, eq=False)
class RenderTruth:
    """What was rendered, exactly.

    Attributes:
        t_s: (T,) float, seconds from the first rendered frame (the video's frame times).
        landmarks_world_m: (T, 33, 3) float, metres, world frame (Y up, floor y = 0): the 33 MediaPipe
            landmarks of the body (:data:`LANDMARK_SOURCE`: joints for the limbs, skin points for face, hands,
            heels and toes).
        landmarks_px: (T, 33, 2) float, pixels: their projections through ``camera``.
        joints_m: (T, B, 3) float, metres, world frame: each bone's head, bones named by ``bone_names``.
        rotations: (T, B, 3, 3) float: each bone's world rotation from the body's rest pose (facing +Z).
        bone_names: the body's bones (CMU names).
        contacts: (T, 2) bool: left, right foot planted (heel or toe below CONTACT_HEIGHT_M, slower than
            CONTACT_SPEED_M_S).
        lowest_m: (T,) float, metres: the lowest vertex's height in each frame.
        camera: the camera.
        box_px: (T, 4) float, pixels: the body's silhouette box in each frame, ``x0 y0 x1 y1`` (pixels that
            differ from the empty scene, :func:`person_mask`); NaN when not rendered or not in view.
        source: the mocap clip and the frames used, for messages.
    """

    t_s: FloatArray
    landmarks_world_m: FloatArray
    landmarks_px: FloatArray
    joints_m: FloatArray
    rotations: FloatArray
    bone_names: tuple[str, ...]
    contacts: npt.NDArray[np.bool_]
    lowest_m: FloatArray
    camera: RenderCamera
    source: str
    box_px: FloatArray | None = None

    @property
    def fps(self) -> float:
        return float((len(self.t_s) - 1) / (self.t_s[-1] - self.t_s[0])) if len(self.t_s) > 1 else 0.0

    def joint(self, bone: str) -> FloatArray:
        """(T, 3) float, metres, world frame: the head of ``bone``."""
        return self.joints_m[:, self.bone_names.index(bone)]

    def save(self, path: Path) -> None:
        np.savez_compressed(
            path, t_s=self.t_s, landmarks_world_m=self.landmarks_world_m, landmarks_px=self.landmarks_px,
            joints_m=self.joints_m, rotations=self.rotations, bone_names=np.array(self.bone_names),
            contacts=self.contacts, lowest_m=self.lowest_m, camera=json.dumps(self.camera.as_dict()),
            source=self.source,
            box_px=self.box_px if self.box_px is not None else np.full((len(self.t_s), 4), np.nan),
        )  # fmt: skip

    @staticmethod
    def load(path: Path) -> RenderTruth:
        d = np.load(path)
        cam = json.loads(str(d["camera"]))
        camera = RenderCamera(
            np.array(cam["intrinsics"]), np.array(cam["world_to_camera"]), cam["width"], cam["height"]
        )
        return RenderTruth(
            d["t_s"], d["landmarks_world_m"], d["landmarks_px"], d["joints_m"], d["rotations"],
            tuple(str(x) for x in d["bone_names"]), d["contacts"], d["lowest_m"], camera, str(d["source"]),
            d["box_px"] if "box_px" in d.files else None,
        )  # fmt: skip


def truth_landmarks(posed: PosedBody) -> FloatArray:
    """(T, 33, 3) float, metres, world frame: the body's 33 MediaPipe landmarks (:data:`LANDMARK_SOURCE`)."""
    body = load_body()
    out = np.zeros((len(posed.t_s), NUM_LANDMARKS, 3))
    for lm, (kind, name) in LANDMARK_SOURCE.items():
        out[:, lm] = posed.markers_m[name] if kind == "marker" else posed.heads_m[:, body.bone(name)]
    return out


def foot_contacts(landmarks_world_m: FloatArray, t_s: FloatArray) -> npt.NDArray[np.bool_]:
    """(T, 2) bool: left, right foot planted (heel or toe low and slow; see CONTACT_HEIGHT_M)."""
    out = np.zeros((len(t_s), 2), dtype=bool)
    dt = np.gradient(np.asarray(t_s, dtype=np.float64)) if len(t_s) > 1 else np.ones(len(t_s))
    for k, side in enumerate(("LEFT", "RIGHT")):
        for part in ("HEEL", "FOOT_INDEX"):
            p = landmarks_world_m[:, _lm(f"{side}_{part}")]
            speed = np.linalg.norm(np.gradient(p[:, [0, 2]], axis=0), axis=1) / dt if len(p) > 1 else np.zeros(1)
            out[:, k] |= (p[:, 1] < CONTACT_HEIGHT_M) & (speed < CONTACT_SPEED_M_S)
    return out


def make_truth(posed: PosedBody, camera: RenderCamera, source: str) -> RenderTruth:
    """The truth of ``posed`` seen by ``camera``."""
    lms = truth_landmarks(posed)
    t = posed.t_s - posed.t_s[0]
    lowest = posed.vertices_m[:, :, 1].min(axis=1).astype(np.float64)
    return RenderTruth(
        t, lms, camera.project_px(lms), posed.heads_m, posed.rotations, load_body().bone_names,
        foot_contacts(lms, t), lowest, camera, source,
    )  # fmt: skip


class BodyRenderer:
    """One Open3D offscreen renderer drawing the body on the floor (create, use and drop it on one thread).

    ``render(vertices_m)`` returns the (H, W, 3) uint8 RGB image; :attr:`plate` is the empty scene (wall and
    floor) from the same camera, from which :func:`person_mask` tells the body's pixels.
    """

    def __init__(self, camera: RenderCamera) -> None:
        import open3d as o3d
        from open3d.visualization import rendering

        self._o3d = o3d
        self.camera = camera
        self._r: Any = rendering.OffscreenRenderer(camera.width, camera.height)
        scene = self._r.scene
        scene.set_background([*WALL_RGB, 1.0])
        view = scene.view
        view.set_shadowing(False, rendering.View.ShadowType.PCF)
        view.set_ambient_occlusion(False)
        view.set_antialiasing(False)  # 4x the cost on lavapipe
        view.set_post_processing(False)
        scene.scene.set_sun_light([0.3, -1.0, -0.5], [1.0, 1.0, 1.0], 60000)
        scene.scene.enable_sun_light(True)
        scene.scene.enable_indirect_light(True)
        scene.scene.set_indirect_light_intensity(30000)
        self._mat = rendering.MaterialRecord()
        self._mat.shader = "defaultLit"
        self._mat.base_roughness = 0.8
        scene.add_geometry("floor", self._mesh(*_floor_mesh()), self._mat)
        self._r.setup_camera(camera.intrinsics, camera.world_to_camera, camera.width, camera.height)
        self._r.render_to_image()  # the first frame of a renderer differs slightly: discard it
        self.plate = np.asarray(self._r.render_to_image()).copy()
        body = load_body()
        self._tris, self._colors = body.triangles.astype(np.int32), body.colors_rgb.astype(np.float32)

    def _mesh(self, vertices: npt.ArrayLike, triangles: npt.ArrayLike, colors: npt.ArrayLike) -> Any:
        o3d = self._o3d
        tensor: Any = o3d.core.Tensor
        mesh = o3d.t.geometry.TriangleMesh()
        mesh.vertex.positions = tensor(np.ascontiguousarray(vertices, dtype=np.float32))
        mesh.triangle.indices = tensor(np.ascontiguousarray(triangles, dtype=np.int32))
        mesh.vertex.colors = tensor(np.ascontiguousarray(colors, dtype=np.float32))
        mesh.compute_vertex_normals()
        return mesh

    def render(self, vertices_m: FloatArray) -> UInt8Image:
        """(H, W, 3) uint8 RGB: the body with ``vertices_m`` ((V, 3) metres, world frame) on the floor."""
        scene = self._r.scene
        if scene.has_geometry("body"):
            scene.remove_geometry("body")
        scene.add_geometry("body", self._mesh(vertices_m, self._tris, self._colors), self._mat)
        return np.asarray(self._r.render_to_image()).copy()

    def close(self) -> None:
        self._r = None  # dropping the last reference releases Filament (Open3D 0.20 has no close)


def _floor_mesh(half_m: float = 12.0, tile_m: float = 0.5) -> tuple[FloatArray, npt.NDArray[np.int32], FloatArray]:
    n = int(2 * half_m / tile_m)
    ij = np.stack(np.meshgrid(np.arange(n), np.arange(n), indexing="ij"), -1).reshape(-1, 2)
    x0, z0 = ij[:, 0] * tile_m - half_m, ij[:, 1] * tile_m - half_m
    corners = np.array([[0, 0], [1, 0], [1, 1], [0, 1]]) * tile_m
    verts = np.zeros((len(ij), 4, 3))
    verts[:, :, 0] = x0[:, None] + corners[None, :, 0]
    verts[:, :, 2] = z0[:, None] + corners[None, :, 1]
    base = (np.arange(len(ij)) * 4)[:, None]
    tris = np.concatenate([base + [0, 2, 1], base + [0, 3, 2]]).astype(np.int32)
    shade = np.array(FLOOR_RGB)[(ij.sum(axis=1) % 2)]
    return verts.reshape(-1, 3), tris, np.repeat(shade, 4, axis=0)


def silhouette_box(mask: npt.NDArray[np.bool_]) -> FloatArray:
    """(4,) float pixels ``x0 y0 x1 y1`` (inclusive pixel centres) of the True pixels; NaN if there are none."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if not len(rows):
        return np.full(4, np.nan)
    return np.array([cols[0], rows[0], cols[-1], rows[-1]], dtype=np.float64)


def person_mask(image: UInt8Image, plate: UInt8Image, threshold: int = 30) -> npt.NDArray[np.bool_]:
    """(H, W) bool: pixels where the rendered image differs from the empty plate (sum of |dRGB| > threshold)."""
    return np.asarray(np.abs(image.astype(np.int32) - plate.astype(np.int32)).sum(axis=2) > threshold)


#: CMU conversions in Debian's assimp-testmodels: name → (file, metres per unit). Frame 0 is a T-pose.
CMU_DIR = Path("/usr/share/assimp/models/BVH")
CMU_CLIPS: dict[str, str] = {"01_01": "01_01.bvh", "01_03": "01_03.bvh"}
CMU_UNITS_TO_M = 0.0254 / 0.45
#: DeepMimic clips are single cycles (0.8-1.3 s for run and walk): they are played this many times in a row.
DEEPMIMIC_CYCLES = 6
#: Bumped whenever rendering changes, so cached renders are made again.
RENDER_VERSION = 4


@dataclass(frozen=True)
class ClipSpec:
    """One render: which mocap frames, which camera.

    Attributes:
        clip: a key of :data:`CMU_CLIPS`, or ``"deepmimic:<name>"`` (pybullet's DeepMimic clips).
        start_s: clip time of the first frame, seconds (CMU frame 0 is the converter's T-pose: start ≥ 1/120).
        duration_s: seconds rendered.
        fps: video frame rate (mocap frames are subsampled to it).
        yaw_deg, camera_height_m, hfov_deg: the camera (:func:`framing_camera`).
        width, height: video size, pixels.
        shape: the body's shape (:data:`bridge.testing.render_mesh.SHAPES`; ``""`` the base mesh).
    """

    clip: str
    start_s: float = 1.0 / 120.0
    duration_s: float = 4.0
    fps: float = 30.0
    yaw_deg: float = 0.0
    camera_height_m: float = 1.2
    hfov_deg: float = 60.0
    width: int = 640
    height: int = 360
    shape: str = ""

    def key(self) -> str:
        fields = {k: v for k, v in self.__dict__.items() if k != "shape" or v}  # the base mesh's keys as before
        text = json.dumps({**fields, "v": RENDER_VERSION}, sort_keys=True)
        return f"{self.clip.replace(':', '_')}-{hashlib.sha1(text.encode()).hexdigest()[:12]}"


@dataclass(frozen=True, eq=False)
class RenderedClip:
    """A rendered video and its truth."""

    spec: ClipSpec
    video: Path
    truth: RenderTruth


def cache_dir() -> Path:
    """Where renders are kept: ``$BRIDGE_RENDER_CACHE`` or ``<tmp>/bridge-render-cache`` (never the repository)."""
    folder = Path(os.environ.get("BRIDGE_RENDER_CACHE") or Path(tempfile.gettempdir()) / "bridge-render-cache")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def load_motion(clip: str) -> tuple[BvhMotion, float, FloatArray | None]:
    """The mocap of ``clip``: (motion, metres per unit, facing rotation of its rest pose or None for +Z)."""
    if clip in CMU_CLIPS:
        path = CMU_DIR / CMU_CLIPS[clip]
        if not path.is_file():
            raise BridgeError(f"{path} is missing; install it with: apt-get install assimp-testmodels")
        return read_bvh(path), CMU_UNITS_TO_M, None
    if clip.startswith("deepmimic:"):
        from bridge.testing.deepmimic import deepmimic_clips, deepmimic_motion

        clips = deepmimic_clips()
        name = clip.split(":", 1)[1]
        if name not in clips:
            raise BridgeError(f"DeepMimic clip {name!r} is missing; install it with: pip install pybullet==3.2.7")
        quarter = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]])  # body +Z → DeepMimic's +X
        return loop_motion(deepmimic_motion(clips[name], fps=120.0), DEEPMIMIC_CYCLES), 1.0, quarter
    raise BridgeError(f"unknown render clip {clip!r}; use one of {', '.join(CMU_CLIPS)} or deepmimic:<name>")


def loop_motion(motion: BvhMotion, cycles: int) -> BvhMotion:
    """``motion`` played ``cycles`` times in a row, its root travelling on: each repeat starts where the last one
    ended (the root's X and Z position channels carry on by one cycle's travel plus one frame's step)."""
    sk = motion.skeleton
    ch = motion.channels
    cols = [
        c
        for c, name in zip(sk.channel_columns(0), sk.channels[0], strict=True)
        if name in ("Xposition", "Zposition")
    ]
    step = ch[-1, cols] - ch[0, cols] + (ch[-1, cols] - ch[-2, cols])
    reps = []
    for k in range(cycles):
        rep = ch.copy()
        rep[:, cols] += k * step
        reps.append(rep)
    return BvhMotion(sk, motion.frame_time_s, np.concatenate(reps), f"{motion.source} x{cycles}")


def posed_clip(spec: ClipSpec) -> PosedBody:
    """The body posed by the spec's frames (mocap subsampled to ``spec.fps``)."""
    motion, units, facing = load_motion(spec.clip)
    times = spec.start_s + np.arange(0.0, spec.duration_s, 1.0 / spec.fps)
    frames = np.unique(np.clip(np.round(times / motion.frame_time_s).astype(np.intp), 0, motion.num_frames - 1))
    return pose_body(motion, units, frames, facing, spec.shape)


def render_clip(spec: ClipSpec, folder: Path | None = None) -> RenderedClip:
    """Render ``spec`` into ``folder`` (default :func:`cache_dir`), or reuse the render made before."""
    out = folder or cache_dir()
    video, truth_path = out / f"{spec.key()}.mp4", out / f"{spec.key()}.npz"
    if video.is_file() and truth_path.is_file():
        return RenderedClip(spec, video, RenderTruth.load(truth_path))
    import cv2

    posed = posed_clip(spec)
    camera = framing_camera(posed, spec.yaw_deg, spec.camera_height_m, spec.hfov_deg, spec.width, spec.height)
    truth = make_truth(posed, camera, f"{spec.clip} from {spec.start_s:.2f} s")
    tmp = out / f"{spec.key()}.part.mp4"
    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter.fourcc(*"mp4v"), spec.fps, (spec.width, spec.height))
    if not writer.isOpened():
        raise BridgeError(f"cannot write video {tmp}; check the folder is writable")
    renderer = BodyRenderer(camera)
    boxes = np.full((len(posed.t_s), 4), np.nan)
    try:
        for k, verts in enumerate(posed.vertices_m):
            image = renderer.render(verts)
            boxes[k] = silhouette_box(person_mask(image, renderer.plate))
            writer.write(np.ascontiguousarray(image[:, :, ::-1]))
    finally:
        writer.release()
        renderer.close()
    truth = dataclasses.replace(truth, box_px=boxes)
    truth.save(truth_path)
    tmp.replace(video)
    return RenderedClip(spec, video, truth)
