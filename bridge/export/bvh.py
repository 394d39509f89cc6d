"""Solved rig motion → BVH files for animation tools (Blender, MotionBuilder, Maya, Unreal).

What the files hold (the README's "Export" section says the same for users):

* **Skeleton**: one BVH joint per rig bone, named as the rig names it (Unity HumanBodyBones: ``Hips``,
  ``LeftUpperArm`` …), written depth-first from ``Hips``. Each joint's ``OFFSET`` is the rig's rest local offset
  (``rig.offsets_m``); leaf bones get an ``End Site`` from ``rig.tails_m`` (a leaf without a tail gets one a
  quarter of its own offset long, pointing the same way). The root's ``OFFSET`` is zero, as in the CMU files: its
  position channels give the Hips' absolute position, so readers that add the ``OFFSET`` to the position
  channels and readers that replace it (Blender) agree. Every rotation zero = the rig's T-pose.
* **Axes**: the rig frame itself: right-handed, Y up, the avatar faces +Z, +X is the avatar's left. BVH has no
  axis field but is conventionally right-handed Y-up, so no axis change is made. Blender's importer (defaults
  ``axis_forward=-Z``, ``axis_up=Y``) maps BVH (x, y, z) to Blender (x, -z, y): the avatar stands on Blender's
  floor facing -Y (Blender's front view).
* **Unit**: centimetres by default (the unit of most DCC tools and of Mixamo/MotionBuilder BVH files; import in
  Blender with scale 0.01 for metres), or metres (``BvhExportConfig(unit="m")``, ``--unit m``).
* **Channels**: ``Hips`` has ``Xposition Yposition Zposition Zrotation Xrotation Yrotation``; every other joint
  ``Zrotation Xrotation Yrotation``. Rotations are the rig's local rotations as intrinsic Euler angles in degrees
  in the listed order (ZXY, the order of Mixamo / MotionBuilder files; CMU's use ZYX):
  ``R = Rz(z) @ Rx(x) @ Ry(y)``, scipy ``Rotation.from_euler("ZXY", [z, x, y], degrees=True)``. Angles are
  unwrapped over time (no ±180° jumps), so tools that interpolate channels do not spin.
* **Timing**: a BVH has one fixed frame time, so the poses (timestamped, possibly irregular as from a camera)
  are resampled onto a regular grid starting at the first pose: rotations by quaternion slerp, the hips
  position linearly (:class:`MotionResampler`).

Euler angles appear here only because the BVH format requires them; the motion stays scipy ``Rotation`` /
quaternions until the rows are formatted.

:func:`export_bvh` writes a whole take; :class:`BvhRecorder` writes a take while it happens (``bridge stream
--record-bvh``): frames are appended as they come, and the ``Frames:`` count, a fixed-width field in the
header, is rewritten on every flush and on close, so a file left by Ctrl-C (or even a hard kill) parses.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import numpy as np
import numpy.typing as npt
from scipy.spatial.transform import Rotation

from bridge.core.errors import BridgeError
from bridge.core.files import atomic_write
from bridge.core.pose import BonePose
from bridge.core.rig import Rig
from bridge.export.bvh_file import BvhError, BvhMotion, BvhSkeleton, format_bvh

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

#: File units and their size in metres.
BVH_UNITS: dict[str, float] = {"cm": 0.01, "m": 1.0}

#: Width of the frame-count field a :class:`BvhRecorder` reserves in the header (enough for 300 days at 60 fps).
FRAME_COUNT_WIDTH = 10

#: A grid time this fraction of a frame after a pose's time still counts as that pose's (see MotionResampler).
GRID_SNAP = 0.01

_FRAMES_PLACEHOLDER = "Frames: 0\n"


@dataclass(frozen=True)
class BvhExportConfig:
    """How poses become a BVH file.

    Attributes:
        unit: ``"cm"`` (default) or ``"m"``: the unit of offsets and the Hips position channels.
        rotation_order: the Euler order of every joint's rotation channels, a permutation of ``"XYZ"``
            (default ``"ZXY"``); intrinsic, in the listed order.
        decimals: decimals written per value (6: 1e-6 degree, 1e-8 m in centimetres).
    """

    unit: str = "cm"
    rotation_order: str = "ZXY"
    decimals: int = 6

    def __post_init__(self) -> None:
        if self.unit not in BVH_UNITS:
            raise BridgeError(f"BVH unit {self.unit!r} is not supported; use one of {', '.join(BVH_UNITS)}")
        if sorted(self.rotation_order) != ["X", "Y", "Z"]:
            raise BridgeError(f"BVH rotation order {self.rotation_order!r} must be a permutation of XYZ, e.g. ZXY")
        if not 1 <= self.decimals <= 12:
            raise BridgeError(f"BVH decimals must be 1..12, got {self.decimals}")

    @property
    def scale(self) -> float:
        """File units per metre (100 for centimetres)."""
        return 1.0 / BVH_UNITS[self.unit]

    @property
    def rotation_channels(self) -> tuple[str, ...]:
        """The rotation channel names in file order, e.g. ``("Zrotation", "Xrotation", "Yrotation")``."""
        return tuple(f"{axis}rotation" for axis in self.rotation_order)


# ------------------------------------------------------------------------------------------------ skeleton


def depth_first_order(rig: Rig) -> IntArray:
    """(B,) int: rig bone indices in BVH file order (depth-first from the root, children in rig order)."""
    order: list[int] = []
    stack = [0]
    while stack:
        b = stack.pop()
        order.append(b)
        stack.extend(reversed([int(c) for c in np.flatnonzero(rig.parents == b)]))
    return np.asarray(order, dtype=np.intp)


@dataclass(frozen=True, eq=False)
class BvhLayout:
    """The BVH skeleton for a rig and how rig bones map onto its joints and channel columns.

    Attributes:
        skeleton: the HIERARCHY (file units).
        bone_of_joint: (J,) int, the rig bone index of each BVH joint (J = B; depth-first order).
        config: the export settings it was made with.
    """

    skeleton: BvhSkeleton
    bone_of_joint: IntArray
    config: BvhExportConfig


def bvh_layout(rig: Rig, config: BvhExportConfig = BvhExportConfig()) -> BvhLayout:
    """The BVH skeleton of ``rig`` in file units: offsets from ``offsets_m``, end sites from ``tails_m``."""
    order = depth_first_order(rig)
    if len(order) != len(rig):
        raise BridgeError(f"rig {rig.name} has bones not reachable from Hips; fix the rig file")
    position = order.tolist().index
    parents = np.array([-1 if rig.parents[b] < 0 else position(int(rig.parents[b])) for b in order])
    offsets = rig.offsets_m[order] * config.scale
    offsets[0] = 0.0  # CMU-style root: its position channels are its absolute position
    rot = config.rotation_channels
    channels = [("Xposition", "Yposition", "Zposition", *rot)] + [rot] * (len(order) - 1)
    end_sites: dict[str, FloatArray] = {}
    for b in order:
        name = rig.bones[b]
        if name in rig.tails_m:
            end_sites[name] = rig.tails_m[name] * config.scale
        elif not np.any(rig.parents == b):
            end_sites[name] = 0.25 * rig.offsets_m[b] * config.scale
    skeleton = BvhSkeleton(
        names=tuple(rig.bones[b] for b in order),
        parents=parents,
        offsets=offsets,
        channels=tuple(channels),
        end_sites=end_sites,
    )
    skeleton.validate()
    return BvhLayout(skeleton=skeleton, bone_of_joint=order, config=config)


# ------------------------------------------------------------------------------------------------ channels


def unwrap_degrees(angles_deg: FloatArray, previous_deg: FloatArray | None = None) -> FloatArray:
    """(T, K) angles in degrees shifted by whole turns so consecutive rows never jump by more than 180°.

    ``previous_deg`` (K,), optional: the row written before these (keeps a stream continuous across calls).
    Adding 360° to an Euler angle leaves the rotation unchanged.
    """
    a = np.asarray(angles_deg, dtype=np.float64)
    if len(a) == 0:
        return a.copy()
    seq = a if previous_deg is None else np.concatenate([np.asarray(previous_deg)[None], a])
    out = np.unwrap(seq, period=360.0, axis=0)
    return out[1:] if previous_deg is not None else out  # np.unwrap keeps row 0 as it is


def motion_channels(
    layout: BvhLayout,
    local_quats: FloatArray,
    hips_position_m: FloatArray,
    previous_row: FloatArray | None = None,
) -> FloatArray:
    """BVH MOTION rows for T poses.

    Args:
        layout: from :func:`bvh_layout`.
        local_quats: (T, B, 4) float, scalar-last quaternions, rig frame: each bone's rotation relative to its
            parent (rig bone order).
        hips_position_m: (T, 3) float, rig frame, metres: the Hips joint.
        previous_row: (C,) the row written just before (for continuous angles across calls), or None.

    Returns:
        (T, C) float: Hips position in file units, then every joint's Euler angles in degrees.
    """
    q = np.asarray(local_quats, dtype=np.float64)
    n_t, n_b = q.shape[0], q.shape[1]
    hips = np.asarray(hips_position_m, dtype=np.float64).reshape(n_t, 3)
    if n_t == 0:
        return np.zeros((0, layout.skeleton.num_channels))
    q = q[:, layout.bone_of_joint].reshape(-1, 4)
    with warnings.catch_warnings():
        # At ±90° on the middle axis two angles share one degree of freedom; scipy picks one and warns. Any
        # choice gives the same rotation, which is all a BVH reader needs.
        warnings.simplefilter("ignore", UserWarning)
        euler = Rotation.from_quat(q).as_euler(layout.config.rotation_order, degrees=True).reshape(n_t, n_b * 3)
    euler = unwrap_degrees(euler, None if previous_row is None else previous_row[3:])
    return np.concatenate([hips * layout.config.scale, euler], axis=1)


def channels_to_local_rotations(layout: BvhLayout, rows: FloatArray) -> tuple[Rotation, FloatArray]:
    """Inverse of :func:`motion_channels`: T*B local rotations (rig bone order) and (T, 3) hips in metres."""
    data = np.asarray(rows, dtype=np.float64)
    n_t, n_b = data.shape[0], len(layout.bone_of_joint)
    euler = data[:, 3:].reshape(n_t * n_b, 3)
    quats = Rotation.from_euler(layout.config.rotation_order, euler, degrees=True).as_quat().reshape(n_t, n_b, 4)
    out = np.empty_like(quats)
    out[:, layout.bone_of_joint] = quats
    return Rotation.from_quat(out.reshape(-1, 4)), data[:, :3] / layout.config.scale


# ------------------------------------------------------------------------------------------------ resampling


def slerp_quats(q0: FloatArray, q1: FloatArray, w: FloatArray) -> FloatArray:
    """Spherical interpolation of scalar-last unit quaternions, vectorised.

    ``q0``, ``q1``: (..., 4); ``w``: weights broadcastable to (...,), 0 → q0, 1 → q1. Takes the short way.
    """
    q0 = np.asarray(q0, dtype=np.float64)
    q1 = np.asarray(q1, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)[..., None]
    dot = np.sum(q0 * q1, axis=-1, keepdims=True)
    q1 = np.where(dot < 0.0, -q1, q1)
    dot = np.abs(dot)
    theta = np.arccos(np.clip(dot, -1.0, 1.0))
    sin_t = np.sin(theta)
    small = sin_t < 1e-9
    safe = np.where(small, 1.0, sin_t)
    a = np.where(small, 1.0 - w, np.sin((1.0 - w) * theta) / safe)
    b = np.where(small, w, np.sin(w * theta) / safe)
    out = a * q0 + b * q1
    return out / np.linalg.norm(out, axis=-1, keepdims=True)


#: Longest gap between two poses that resampling fills (interpolating); longer gaps are cut out.
MAX_GAP_S = 2.0


class MotionResampler:
    """Timestamped poses in, poses on a regular grid (``t0 + n / fps``) out; incremental.

    The grid starts at the first pose's time. Each grid time between two poses is interpolated: rotations by
    slerp, the hips linearly. A pose whose time is not after the previous one is ignored. :meth:`finish` ends
    the take: a last grid time at most ``GRID_SNAP`` of a frame after the last pose gets that pose, so
    timestamps rounded to the microsecond (recordings: 229/30 s is stored as 7.633333) keep their last frame.

    Gaps are gaps: when a pose comes more than ``max_gap_s`` after the previous one, the time in between is cut
    out (the pose lands one frame after the previous one), so a pause, a clock jump or a bad timestamp never makes
    more than ``max_gap_s * fps`` frames; :attr:`gaps_cut` and :attr:`gap_s_cut` count what was cut.
    """

    def __init__(self, fps: float, max_gap_s: float = MAX_GAP_S) -> None:
        if not (math.isfinite(fps) and fps > 0):
            raise BridgeError(f"BVH frame rate must be a positive number, got {fps}")
        self.fps = float(fps)
        self.max_gap_s = float(max_gap_s)
        self.gaps_cut = 0
        self.gap_s_cut = 0.0
        self._t0: float | None = None
        self._n = 0  # index of the next grid time to emit
        self._prev: tuple[float, FloatArray, FloatArray] | None = None
        self._cut_s = 0.0  # seconds cut out so far: input time - cut = time on the grid

    def _grid_time(self, n: int) -> float:
        assert self._t0 is not None
        return self._t0 + n / self.fps

    def push(self, t_s: float, quats: FloatArray, hips_m: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Add one pose: (B, 4) scalar-last local quaternions and (3,) hips (metres), at ``t_s`` seconds.

        Returns the grid poses now complete: (N, B, 4) quaternions and (N, 3) hips (N may be 0).
        """
        q = np.asarray(quats, dtype=np.float64)
        h = np.asarray(hips_m, dtype=np.float64)
        none = np.zeros((0, *q.shape)), np.zeros((0, 3))
        if not (math.isfinite(t_s) and np.all(np.isfinite(q)) and np.all(np.isfinite(h))):
            return none
        t_s -= self._cut_s
        if self._prev is not None and t_s - self._prev[0] > self.max_gap_s:
            cut = t_s - self._prev[0] - 1.0 / self.fps
            self._cut_s += cut
            self.gaps_cut += 1
            self.gap_s_cut += cut
            t_s -= cut
        if self._prev is None:
            self._t0, self._n, self._prev = t_s, 1, (t_s, q, h)
            return q[None].copy(), h[None].copy()
        t_prev, q_prev, h_prev = self._prev
        if t_s <= t_prev:
            return none
        self._prev = (t_s, q, h)
        ns: list[int] = []
        while self._grid_time(self._n) <= t_s:  # grid times in (t_prev, t_s]
            ns.append(self._n)
            self._n += 1
        if not ns:
            return none
        times = np.array([self._grid_time(n) for n in ns])
        w = np.clip((times - t_prev) / (t_s - t_prev), 0.0, 1.0)
        shape = (len(w), *q.shape)
        out_q = slerp_quats(np.broadcast_to(q_prev, shape), np.broadcast_to(q, shape), w[:, None])
        out_h = h_prev + w[:, None] * (h - h_prev)
        return out_q, out_h

    def finish(self) -> tuple[FloatArray, FloatArray]:
        """End of the take: the last pose once more if the next grid time is within ``GRID_SNAP`` of a frame."""
        if self._prev is None:
            return np.zeros((0, 0, 4)), np.zeros((0, 3))
        t_prev, q_prev, h_prev = self._prev
        if self._n > 0 and self._grid_time(self._n) - t_prev <= GRID_SNAP / self.fps:
            self._n += 1
            return q_prev[None].copy(), h_prev[None].copy()
        return np.zeros((0, *q_prev.shape)), np.zeros((0, 3))


def resample_poses(poses: Iterable[BonePose], fps: float) -> tuple[FloatArray, FloatArray]:
    """(T, B, 4) local quaternions and (T, 3) hips (metres) of ``poses`` on a regular ``fps`` grid."""
    resampler = MotionResampler(fps)
    qs: list[FloatArray] = []
    hs: list[FloatArray] = []
    n_b = 0
    for pose in poses:
        n_b = len(pose.rig)
        q, h = resampler.push(pose.t_s, pose.local_rotations.as_quat(), pose.hips_position_m)
        qs.append(q)
        hs.append(h)
    q, h = resampler.finish()
    qs.append(q.reshape(-1, n_b, 4))
    hs.append(h)
    return np.concatenate(qs), np.concatenate(hs)


# ------------------------------------------------------------------------------------------------ whole takes


def poses_to_bvh(
    poses: Sequence[BonePose], fps: float, config: BvhExportConfig = BvhExportConfig()
) -> tuple[BvhLayout, BvhMotion]:
    """A whole take as BVH: the layout and the motion resampled at ``fps`` (BridgeError if there are no poses)."""
    if not poses:
        raise BridgeError("there is no motion to export: the input had no frames")
    rig = poses[0].rig
    layout = bvh_layout(rig, config)
    quats, hips = resample_poses(poses, fps)
    rows = motion_channels(layout, quats, hips)
    return layout, BvhMotion(skeleton=layout.skeleton, frame_time_s=1.0 / fps, channels=rows, source="<export>")


def export_bvh(
    path: str | os.PathLike[str],
    poses: Sequence[BonePose],
    fps: float,
    config: BvhExportConfig = BvhExportConfig(),
) -> BvhMotion:
    """Write a take as a BVH file (atomically: a temporary file renamed into place). Returns what was written."""
    layout, motion = poses_to_bvh(poses, fps, config)
    text = format_bvh(layout.skeleton, motion.channels, motion.frame_time_s, config.decimals)
    atomic_write(path, text, "BVH file")
    return motion


# ------------------------------------------------------------------------------------------------ live recording


class BvhRecorder:
    """Writes a BVH file while the motion happens; a file cut short by Ctrl-C or a kill still parses.

    The header is written with the first pose, the ``Frames:`` count in a fixed-width field. Poses go through a
    :class:`MotionResampler`; complete frame lines are appended on every :meth:`flush` (every
    ``flush_interval_s`` while adding, and on :meth:`close`), and the count field is then rewritten in place. If
    a write is interrupted half-way, :meth:`close` cuts the file back to the last complete line. The file is
    opened by the first pose (an input that fails at once leaves an existing file alone); a recorder that
    got poses but no frame removes its file on close (a BVH with no frames is of no use to any tool).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        rig: Rig,
        fps: float = 30.0,
        config: BvhExportConfig = BvhExportConfig(),
        flush_interval_s: float = 0.5,
    ) -> None:
        self.path = Path(path)
        self.layout = bvh_layout(rig, config)
        self.resampler = MotionResampler(fps)
        self.flush_interval_s = flush_interval_s
        self.frames_written = 0
        self._pending: list[str] = []
        self._pending_frames = 0
        self._last_row: FloatArray | None = None
        self._last_flush = time.monotonic()
        head = format_bvh(self.layout.skeleton, np.zeros((0, self.layout.skeleton.num_channels)), 1.0 / fps,
                          config.decimals)  # fmt: skip
        if head.count(_FRAMES_PLACEHOLDER) != 1:  # pragma: no cover - format_bvh always writes this line
            raise BvhError("BVH header has no 'Frames:' line")
        before, _, after = head.partition(_FRAMES_PLACEHOLDER)
        prefix = before.encode("utf-8") + b"Frames: "
        self._count_at = len(prefix)
        self._head = prefix + self._count_field(0) + b"\n" + after.encode("utf-8")
        self._file: BinaryIO | None = None  # opened by the first pose: a failing input never touches the path
        self._closed = False
        self._end = len(self._head)  # file size up to the last complete frame line

    def _open(self) -> BinaryIO:
        try:
            f = open(self.path, "wb")  # noqa: SIM115 - kept open while recording
            f.write(self._head)
            f.flush()
        except OSError as exc:
            raise BvhError(
                f"cannot write BVH file {self.path} ({exc.strerror}); check the folder exists and is writable"
            ) from None
        self._file = f
        return f

    @staticmethod
    def _count_field(n: int) -> bytes:
        return f"{n:<{FRAME_COUNT_WIDTH}d}".encode("ascii")

    @property
    def frames(self) -> int:
        """Frames recorded so far (written or waiting for the next flush)."""
        return self.frames_written + self._pending_frames

    def add(self, pose: BonePose) -> None:
        """Record one pose (its ``t_s`` places it in time)."""
        if self._closed:
            raise BridgeError(f"BVH recording {self.path} is already closed")
        if self._file is None:
            self._open()
        self._append(*self.resampler.push(pose.t_s, pose.local_rotations.as_quat(), pose.hips_position_m))
        now = time.monotonic()
        if now - self._last_flush >= self.flush_interval_s:
            self.flush()

    def _append(self, quats: FloatArray, hips: FloatArray) -> None:
        if len(quats):
            rows = motion_channels(self.layout, quats, hips, self._last_row)
            self._last_row = rows[-1]
            d = self.layout.config.decimals
            self._pending.extend(" ".join(f"{v:.{d}f}" for v in row) + "\n" for row in rows.tolist())
            self._pending_frames += len(rows)

    def flush(self) -> None:
        """Append the pending frame lines, then rewrite the frame count."""
        self._last_flush = time.monotonic()
        f = self._file
        if f is None or not self._pending:
            return
        data = "".join(self._pending).encode("ascii")
        n = self._pending_frames
        self._pending.clear()
        self._pending_frames = 0
        try:
            f.seek(self._end)
            f.write(data)
            f.flush()
            self._end += len(data)
            self.frames_written += n
            f.seek(self._count_at)
            f.write(self._count_field(self.frames_written))
            f.flush()
        except OSError as exc:
            raise BvhError(f"cannot write BVH file {self.path} ({exc.strerror}); is the disk full?") from None

    def close(self) -> None:
        """Flush, make the file consistent (count = complete lines), and close it."""
        f = self._file
        self._closed = True
        if f is None:
            return  # no pose came: the path was never opened (an existing file stays as it was)
        try:
            self._append(*self.resampler.finish())
            self.flush()
        finally:
            self._file = None
            try:
                f.seek(self._end)
                f.truncate()
                f.seek(self._count_at)
                f.write(self._count_field(self.frames_written))
            finally:
                f.close()
            if self.frames_written == 0:
                self.path.unlink(missing_ok=True)

    def __enter__(self) -> BvhRecorder:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
