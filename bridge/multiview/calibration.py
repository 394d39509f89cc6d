"""Camera calibrations of several views: the values, the readers (camera TOML, Qualisys ``.qca.txt``), the writer.

The camera TOML is the de-facto standard of anipose, Pose2Sim and FreeMoCap: one table per camera (``[cam_1]``
…) with ``name``, ``size = [width, height]`` (pixels), ``matrix`` (3×3 intrinsics, pixels), ``distortions``
(OpenCV ``k1 k2 p1 p2`` [``k3``]), ``rotation`` (a Rodrigues vector, world → camera) and ``translation``
(world → camera, metres), plus optional ``[metadata]`` (bridge writes ``up`` and ``floor_m`` there).

Frames: the **calibrated world** (the calibration's own axes, metres) and each camera's **OpenCV camera frame**
(x right, y down, z forward, metres): ``x_cam = R @ x_world + t``. Pixels: x right, y down, origin at the
top-left pixel's corner as OpenCV has it.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy.spatial.transform import Rotation

from bridge.core.errors import BridgeError
from bridge.core.files import atomic_write
from bridge.core.frames import qualisys_to_opencv_extrinsics

FloatArray = npt.NDArray[np.float64]

#: Tables of a camera TOML that are not cameras.
NON_CAMERA_TABLES = frozenset({"metadata", "capture_volume", "charuco", "checkerboard"})


@dataclass(frozen=True, eq=False)
class Camera:
    """One calibrated camera (pinhole with OpenCV's radial-tangential distortion).

    Attributes:
        name: the camera's name (``cam01``); views are matched to cameras by it or by order.
        size: (width, height) of its images, pixels.
        K: (3, 3) intrinsic matrix, pixels.
        dist: (5,) OpenCV distortion ``k1 k2 p1 p2 k3`` (zeros past what the file gave).
        R: (3, 3) rotation world → OpenCV camera frame.
        t: (3,) translation world → camera, metres (``x_cam = R @ x_world + t``).
    """

    name: str
    size: tuple[int, int]
    K: FloatArray
    dist: FloatArray
    R: FloatArray
    t: FloatArray

    @property
    def centre_m(self) -> FloatArray:
        """(3,) the camera's optical centre in the calibrated world, metres."""
        return np.asarray(-self.R.T @ self.t)

    @property
    def extrinsic(self) -> FloatArray:
        """(3, 4) ``[R | t]``: calibrated world (homogeneous, metres) → camera frame."""
        return np.hstack([self.R, self.t[:, None]])

    @property
    def projection(self) -> FloatArray:
        """(3, 4) ``K [R | t]``: calibrated world → homogeneous pixels (no distortion)."""
        return np.asarray(self.K @ self.extrinsic)

    def scaled(self, size: tuple[int, int]) -> Camera:
        """The same camera for images resized to ``size`` (width, height) pixels."""
        sx, sy = size[0] / self.size[0], size[1] / self.size[1]
        k = np.diag([sx, sy, 1.0]) @ self.K
        return Camera(self.name, (int(size[0]), int(size[1])), k, self.dist, self.R, self.t)


@dataclass(frozen=True, eq=False)
class Calibration:
    """The cameras of one set-up, in the calibrated world.

    Attributes:
        cameras: the cameras, in the file's order.
        up: (3,) unit vector, calibrated world: the direction against gravity (+Z for Qualisys).
        floor_m: height of the floor along ``up`` (metres): ``points @ up - floor_m`` is the height above it.
        source: the file it came from ('' when built in code).
        floor_known: False when the file did not say where the floor is (an anipose / FreeMoCap TOML): the
            triangulation then finds it under the person's feet.
        synchronised: the cameras' videos start together, frame for frame (one trigger, a genlocked rig, or
            rendered views; TOML ``[metadata] synchronised = true``): files are not synchronised from the motion,
            which a short periodic motion (a run) can fool by one stride.
    """

    cameras: tuple[Camera, ...]
    up: FloatArray
    floor_m: float = 0.0
    source: str = ""
    floor_known: bool = True
    synchronised: bool = False

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.cameras)

    def select(self, names: Sequence[str]) -> Calibration:
        """The calibration of some cameras, in the order of ``names`` (BridgeError naming a missing one)."""
        by_name = {c.name: c for c in self.cameras}
        missing = [n for n in names if n not in by_name]
        if missing:
            raise BridgeError(
                f"calibration {self.source or '(in memory)'} has no camera named {missing[0]!r} "
                f"(it has {', '.join(self.names)}); name the views after its cameras"
            )
        return dataclasses.replace(self, cameras=tuple(by_name[n] for n in names))

    def for_views(self, count: int, names: Sequence[str] | None = None) -> Calibration:
        """The cameras of ``count`` views: by name when every name is a camera's, else the first ``count``."""
        if names is not None and all(n in self.names for n in names) and len(names) == count:
            return self.select(names)
        if len(self.cameras) < count:
            raise BridgeError(
                f"calibration {self.source or '(in memory)'} names {len(self.cameras)} camera(s) but {count} "
                "inputs were given; calibrate every camera or give fewer --input"
            )
        return dataclasses.replace(self, cameras=self.cameras[:count])


def _array(table: dict[str, object], key: str, shape: tuple[int, ...], where: str) -> FloatArray:
    if key not in table:
        raise BridgeError(f"{where} has no {key!r}; every camera needs name, size, matrix, rotation, translation")
    try:
        value = np.asarray(table[key], dtype=np.float64)
    except (TypeError, ValueError):
        raise BridgeError(f"{where}: {key!r} is not a list of numbers; fix the calibration file") from None
    if key == "distortions":
        if value.ndim != 1 or not 0 <= value.size <= 5:
            raise BridgeError(f"{where}: 'distortions' must list up to 5 numbers (k1 k2 p1 p2 k3)")
        return np.concatenate([value, np.zeros(5 - value.size)])
    if value.shape != shape or not np.all(np.isfinite(value)):
        raise BridgeError(f"{where}: {key!r} must be {shape} finite numbers, got shape {value.shape}")
    return value


def camera_from_table(table: dict[str, object], key: str, where: str) -> Camera:
    """One ``[cam_N]`` table of a camera TOML → :class:`Camera` (BridgeError naming what is wrong)."""
    here = f"{where} [{key}]"
    size = _array(table, "size", (2,), here)
    k = _array(table, "matrix", (3, 3), here)
    dist = _array(table, "distortions", (0,), here) if "distortions" in table else np.zeros(5)
    rotation = Rotation.from_rotvec(_array(table, "rotation", (3,), here)).as_matrix()
    t = _array(table, "translation", (3,), here)
    if table.get("fisheye", False):
        raise BridgeError(f"{here} is a fisheye camera; bridge reads pinhole calibrations only")
    if np.any(size <= 0) or k[0, 0] <= 0 or k[1, 1] <= 0:
        raise BridgeError(f"{here}: size and focal lengths must be positive; fix the calibration file")
    name = str(table.get("name", key))
    return Camera(name, (round(size[0]), round(size[1])), k, dist, rotation, t)


def cameras_up(cameras: Sequence[Camera]) -> FloatArray:
    """(3,) the world's up guessed from the cameras: the mean of their image-up axes (cameras stand upright)."""
    up = -np.sum([c.R[1] for c in cameras], axis=0)
    return np.asarray(up / np.linalg.norm(up))


def parse_toml(text: str, where: str = "calibration") -> Calibration:
    """The text of a camera TOML → :class:`Calibration`."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BridgeError(f"{where} is not valid TOML ({exc}); give an anipose/Pose2Sim camera TOML") from None
    tables = {k: v for k, v in data.items() if isinstance(v, dict) and k not in NON_CAMERA_TABLES}
    if not tables:
        raise BridgeError(f"{where} has no camera tables ([cam_1] with matrix, rotation, …); is it a calibration?")
    cameras = tuple(camera_from_table(v, k, where) for k, v in tables.items())
    names = [c.name for c in cameras]
    if len(set(names)) != len(names):
        raise BridgeError(f"{where} names a camera twice ({', '.join(names)}); give each camera its own name")
    meta = data.get("metadata", {}) if isinstance(data.get("metadata"), dict) else {}
    up = np.asarray(meta["up"], dtype=np.float64) if "up" in meta else cameras_up(cameras)
    if up.shape != (3,) or not np.isfinite(up).all() or np.linalg.norm(up) < 1e-9:
        raise BridgeError(f"{where}: [metadata] up must be 3 numbers, not all zero")
    floor = float(meta.get("floor_m", 0.0))
    synchronised = meta.get("synchronised", False)
    if not isinstance(synchronised, bool):
        raise BridgeError(f"{where}: [metadata] synchronised must be true or false")
    return Calibration(
        cameras, up / np.linalg.norm(up), floor, where, floor_known="floor_m" in meta, synchronised=synchronised
    )


def _attrs(node: ET.Element | None, keys: Sequence[str], where: str) -> list[float]:
    if node is None:
        raise BridgeError(f"{where} lacks a camera's <transform>, <intrinsic> or <fov_video>; is it a .qca.txt?")
    try:
        return [float(node.attrib[k]) for k in keys]
    except (KeyError, ValueError):
        raise BridgeError(f"{where}: <{node.tag}> lacks a number among {', '.join(keys)}") from None


def _natural_key(name: str) -> list[object]:
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


def parse_qca(text: str, where: str = "calibration") -> Calibration:
    """The text of a Qualisys ``.qca.txt`` → :class:`Calibration` (as Pose2Sim converts it; world +Z up, metres).

    Qualisys stores the intrinsics in sub-pixel units of 1/64 pixel and the pose as the camera's axes and centre
    (mm); distortion ``k1 k2 p1 p2`` is divided by 64 as Pose2Sim does. Cameras are sorted by name.
    """
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise BridgeError(f"{where} is not valid XML ({exc}); give a Qualisys .qca.txt") from None
    cameras: list[Camera] = []
    for node in root.findall("cameras/camera"):
        name = node.attrib.get("serial", f"cam{len(cameras) + 1}")
        left, right, top, bottom = _attrs(node.find("fov_video"), ("left", "right", "top", "bottom"), where)
        keys = ("focalLengthU", "focalLengthV", "centerPointU", "centerPointV")
        fu, fv, cu, cv = (v / 64.0 for v in _attrs(node.find("intrinsic"), keys, where))
        dkeys = ("radialDistortion1", "radialDistortion2", "tangentalDistortion1", "tangentalDistortion2")
        dist = np.array(_attrs(node.find("intrinsic"), dkeys, where) + [0.0]) / 64.0
        rkeys = tuple(f"r{i}{j}" for i in (1, 2, 3) for j in (1, 2, 3))
        rows = np.array(_attrs(node.find("transform"), rkeys, where)).reshape(3, 3)
        position_mm = np.array(_attrs(node.find("transform"), ("x", "y", "z"), where))
        rotation, t = qualisys_to_opencv_extrinsics(rows, position_mm)
        k = np.array([[fu, 0.0, cu - left], [0.0, fv, cv - top], [0.0, 0.0, 1.0]])
        size = (round(right - left + 1), round(bottom - top + 1))
        cameras.append(Camera(name, size, k, dist, rotation, t))
    if not cameras:
        raise BridgeError(f"{where} has no <cameras><camera> entries; is it a Qualisys .qca.txt?")
    cameras.sort(key=lambda c: _natural_key(c.name))
    return Calibration(tuple(cameras), np.array([0.0, 0.0, 1.0]), 0.0, where)


def read_calibration(path: str | Path) -> Calibration:
    """Read a camera TOML (``.toml``) or a Qualisys ``.qca.txt`` (``--calibration FILE``)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise BridgeError(f"cannot read calibration {path} ({exc.strerror or exc}); check the path") from None
    if path.name.lower().endswith((".qca.txt", ".qca")) or text.lstrip().startswith("<?xml"):
        return parse_qca(text, str(path))
    return parse_toml(text, str(path))


def _numbers(values: FloatArray) -> str:
    return "[ " + ", ".join(repr(float(v)) for v in np.ravel(values)) + "]"


def toml_text(calibration: Calibration) -> str:
    """The camera TOML of ``calibration`` (anipose / Pose2Sim layout, plus bridge's ``up`` and ``floor_m``)."""
    out = []
    for i, cam in enumerate(calibration.cameras, start=1):
        rows = ", ".join(_numbers(row) for row in cam.K)
        rotvec = Rotation.from_matrix(cam.R).as_rotvec()
        out.append(
            f'[cam_{i}]\nname = "{cam.name}"\nsize = [ {cam.size[0]}, {cam.size[1]}]\nmatrix = [ {rows}]\n'
            f"distortions = {_numbers(cam.dist)}\nrotation = {_numbers(rotvec)}\n"
            f"translation = {_numbers(cam.t)}\nfisheye = false\n"
        )
    floor = f"floor_m = {float(calibration.floor_m)!r}\n" if calibration.floor_known else ""
    floor += "synchronised = true\n" if calibration.synchronised else ""
    out.append(f"[metadata]\nadjusted = false\nerror = 0.0\nup = {_numbers(calibration.up)}\n{floor}")
    return "\n".join(out)


def write_toml(calibration: Calibration, path: str | Path) -> None:
    """Write ``calibration`` as a camera TOML (atomically)."""
    atomic_write(path, toml_text(calibration), what="calibration")


def project(camera: Camera, xyz_world_m: FloatArray) -> FloatArray:
    """(..., 3) calibrated-world points, metres → (..., 2) pixels in ``camera`` (with its distortion).

    Points behind the camera come out as NaN.
    """
    p = np.asarray(xyz_world_m, dtype=np.float64) @ camera.R.T + camera.t
    z = p[..., 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        xy = p[..., :2] / np.where(z > 1e-9, z, np.nan)[..., None]
    return distort(camera, xy)


def distort(camera: Camera, xy_norm: FloatArray) -> FloatArray:
    """(..., 2) ideal normalised camera coordinates (x/z, y/z) → (..., 2) pixels with the camera's distortion."""
    k1, k2, p1, p2, k3 = camera.dist
    x, y = xy_norm[..., 0], xy_norm[..., 1]
    r2 = x * x + y * y
    radial = 1 + r2 * (k1 + r2 * (k2 + r2 * k3))
    xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
    yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
    k = camera.K
    return np.stack([k[0, 0] * xd + k[0, 1] * yd + k[0, 2], k[1, 1] * yd + k[1, 2]], axis=-1)


def undistort(camera: Camera, pixels: FloatArray, iterations: int = 8) -> FloatArray:
    """(..., 2) pixels → (..., 2) ideal normalised camera coordinates (x/z, y/z): the inverse of :func:`distort`
    by fixed-point iteration (as OpenCV's ``undistortPoints``)."""
    k = camera.K
    px = np.asarray(pixels, dtype=np.float64)
    yd = (px[..., 1] - k[1, 2]) / k[1, 1]
    xd = (px[..., 0] - k[0, 2] - k[0, 1] * yd) / k[0, 0]
    k1, k2, p1, p2, k3 = camera.dist
    x, y = xd.copy(), yd.copy()
    for _ in range(iterations):
        r2 = x * x + y * y
        radial = 1 + r2 * (k1 + r2 * (k2 + r2 * k3))
        dx = 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
        dy = p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
        x = (xd - dx) / radial
        y = (yd - dy) / radial
    return np.stack([x, y], axis=-1)


def focal_length_px(camera: Camera) -> float:
    """The camera's mean focal length, pixels."""
    return float(math.sqrt(camera.K[0, 0] * camera.K[1, 1]))


def calibration_to_json(calibration: Calibration) -> dict[str, object]:
    """The calibration as a JSON object (a recording's header ``calibration``): the camera TOML's fields."""
    return {
        "cameras": [
            {
                "name": c.name,
                "size": [int(c.size[0]), int(c.size[1])],
                "matrix": c.K.tolist(),
                "distortions": c.dist.tolist(),
                "rotation": Rotation.from_matrix(c.R).as_rotvec().tolist(),
                "translation": c.t.tolist(),
            }
            for c in calibration.cameras
        ],
        "up": calibration.up.tolist(),
        **({"floor_m": float(calibration.floor_m)} if calibration.floor_known else {}),
    }


def calibration_from_json(obj: object, where: str = "recording") -> Calibration:
    """Inverse of :func:`calibration_to_json` (BridgeError naming what is wrong)."""
    if not isinstance(obj, dict) or not isinstance(obj.get("cameras"), list) or not obj["cameras"]:
        raise BridgeError(f"{where}: 'calibration' must hold a list of cameras")
    cameras = tuple(camera_from_table(c, f"camera {i + 1}", where) for i, c in enumerate(obj["cameras"]))
    up = np.asarray(obj.get("up", cameras_up(cameras)), dtype=np.float64)
    floor = float(obj.get("floor_m", 0.0))
    return Calibration(cameras, up / np.linalg.norm(up), floor, where, floor_known="floor_m" in obj)
