"""A take written as it is solved: poses in one at a time, BVH (and glTF) out, memory bounded by a chunk.

``bridge export`` pushes every solved :class:`~bridge.core.pose.BonePose` into a :class:`TakeWriter`. Poses go
through one :class:`~bridge.export.bvh.MotionResampler` (gaps longer than ``max_gap_s`` are cut, so no input time
makes unbounded work); every ``chunk_frames`` grid frames the BVH rows are formatted and appended to a hidden
body file next to the target. :meth:`TakeWriter.finish` writes the header (with the final frame count) and the
body into a second hidden file and renames it into place, so an existing file is replaced only by a complete
one, and memory does not grow with the take's length. The bytes are those of
:func:`bridge.export.bvh.export_bvh` on the whole take.

The glTF binary holds every keyframe in one buffer, so for ``--glb`` the resampled (T, B, 4) quaternions and
(T, 3) hips are kept (about 1.8 KB a frame for the default rig, not the poses themselves).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

from bridge.core.errors import BridgeError
from bridge.core.files import fsync_path, temporary_name
from bridge.core.pose import BonePose
from bridge.core.rig import Rig
from bridge.export.bvh import MAX_GAP_S, BvhExportConfig, MotionResampler, bvh_layout, motion_channels
from bridge.export.bvh_file import format_bvh
from bridge.export.gltf import export_glb_motion

FloatArray = npt.NDArray[np.float64]

#: Grid frames formatted and written at a time.
CHUNK_FRAMES = 1024


@dataclass(frozen=True)
class TakeSummary:
    """What :meth:`TakeWriter.finish` wrote: grid frames, glTF keyframes, and the gaps cut out of the time line."""

    frames: int
    glb_keys: int
    gaps_cut: int
    gap_s_cut: float


def _row_text(rows: FloatArray, decimals: int) -> bytes:
    return "".join(" ".join(f"{v:.{decimals}f}" for v in row) + "\n" for row in rows.tolist()).encode("ascii")


class TakeWriter:
    """Streams a take to ``bvh_path`` and/or ``glb_path`` (see the module docstring); use as a context manager
    (leaving the block without :meth:`finish` removes the hidden files and touches no existing file)."""

    def __init__(
        self,
        rig: Rig,
        fps: float,
        bvh_path: Path | None = None,
        glb_path: Path | None = None,
        config: BvhExportConfig | None = None,
        chunk_frames: int = CHUNK_FRAMES,
        max_gap_s: float = MAX_GAP_S,
    ) -> None:
        self.rig, self.fps, self.config = rig, float(fps), config or BvhExportConfig()
        self.bvh_path, self.glb_path = bvh_path, glb_path
        self.chunk_frames = max(1, int(chunk_frames))
        self.layout = bvh_layout(rig, self.config)
        self.resampler = MotionResampler(fps, max_gap_s)
        self.frames = 0
        self._chunk_q: list[FloatArray] = []
        self._chunk_h: list[FloatArray] = []
        self._chunk_n = 0
        self._last_row: FloatArray | None = None
        self._glb_q: list[FloatArray] = []
        self._glb_h: list[FloatArray] = []
        self._body: BinaryIO | None = None
        self._body_path = temporary_name(bvh_path, "body") if bvh_path is not None else None
        if self._body_path is not None:
            try:
                self._body = open(self._body_path, "w+b")  # noqa: SIM115 - closed in finish/close
            except OSError as exc:
                raise BridgeError(f"cannot write BVH file {bvh_path} ({exc.strerror}); check the folder") from None

    def add(self, pose: BonePose) -> None:
        """Push one solved pose (its ``t_s`` places it in time)."""
        q, h = self.resampler.push(pose.t_s, pose.local_rotations.as_quat(), pose.hips_position_m)
        self._take(q, h)

    def _take(self, q: FloatArray, h: FloatArray) -> None:
        if not len(q):
            return
        self._chunk_q.append(q)
        self._chunk_h.append(h)
        self._chunk_n += len(q)
        if self._chunk_n >= self.chunk_frames:
            self._write_chunk()

    def _write_chunk(self) -> None:
        if not self._chunk_n:
            return
        q, h = np.concatenate(self._chunk_q), np.concatenate(self._chunk_h)
        self._chunk_q, self._chunk_h, self._chunk_n = [], [], 0
        self.frames += len(q)
        if self.glb_path is not None:
            self._glb_q.append(q)
            self._glb_h.append(h)
        if self._body is not None:
            rows = motion_channels(self.layout, q, h, self._last_row)
            self._last_row = rows[-1]
            try:
                self._body.write(_row_text(rows, self.config.decimals))
            except OSError as exc:
                raise BridgeError(f"cannot write BVH file {self.bvh_path} ({exc.strerror}); disk full?") from None

    def finish(self, name: str = "take") -> TakeSummary:
        """Write the files (each complete or not at all); BridgeError when there is no frame."""
        self._take(*self.resampler.finish())
        self._write_chunk()
        if self.frames == 0:
            raise BridgeError("there is no motion to export: the input had no usable frames")
        keys = 0
        if self.bvh_path is not None:
            self._write_bvh(self.bvh_path)
        if self.glb_path is not None:
            quats, hips = np.concatenate(self._glb_q), np.concatenate(self._glb_h)
            self._glb_q, self._glb_h = [], []
            keys = export_glb_motion(self.glb_path, self.rig, quats, hips, self.fps, name)
        r = self.resampler
        return TakeSummary(self.frames, keys, r.gaps_cut, r.gap_s_cut)

    def _write_bvh(self, path: Path) -> None:
        assert self._body is not None
        head = format_bvh(self.layout.skeleton, np.zeros((0, self.layout.skeleton.num_channels)), 1.0 / self.fps,
                          self.config.decimals)  # fmt: skip
        head = head.replace("\nFrames: 0\n", f"\nFrames: {self.frames}\n", 1)
        tmp = temporary_name(path, "export")
        try:
            with open(tmp, "wb") as out:
                out.write(head.encode("utf-8"))
                self._body.flush()
                self._body.seek(0)
                shutil.copyfileobj(self._body, out, 1 << 20)
            fsync_path(tmp)
            os.replace(tmp, path)
            fsync_path(path.parent)
        except OSError as exc:
            raise BridgeError(f"cannot write BVH file {path} ({exc.strerror or exc}); check the folder") from None
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)

    def close(self) -> None:
        """Remove the hidden body file (idempotent)."""
        if self._body is not None:
            self._body.close()
            self._body = None
        if self._body_path is not None:
            with contextlib.suppress(OSError):
                self._body_path.unlink(missing_ok=True)

    def __enter__(self) -> TakeWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
