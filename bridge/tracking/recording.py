"""Landmark recordings: a small, versioned, append-safe file format for
:class:`~bridge.core.landmarks.LandmarkFrame`.

A recording lets the rest of the pipeline (filter, solver, encoders, viewer) run again on exactly the same
landmarks without a camera or the model: ``bridge record --input clip.mp4 --out take.bridgerec.jsonl``, then
``--input take.bridgerec.jsonl`` anywhere an input is accepted.

Format ``bridge-landmarks``, version 1 (JSON Lines, UTF-8, one JSON object per line, ``\\n`` line ends):

* Line 1, the header::

      {"format": "bridge-landmarks", "version": 1, "source": "video demo.mp4", "fps": 30.0,
       "image_size": [960, 540], "created": "2026-11-24T12:00:00+00:00", "landmarks": "mediapipe-pose-33"}

  ``fps`` (nominal frames per second) and ``image_size`` ([width, height] in pixels) may be ``null``. Readers
  ignore header keys they do not know.

* Every further line, one frame::

      {"t_s": 0.033333, "frame_index": 1, "person": true, "image_size": [960, 540],
       "world_xyz_m": [[x, y, z], ... 33 rows], "image_xy": [[x, y], ... 33 rows],
       "visibility": [... 33 values], "presence": [... 33 values]}

  ``t_s`` seconds (monotonic clock for live input, presentation time for files); ``world_xyz_m`` metres in the
  MediaPipe world frame (x right, y down, z away from the camera, origin between the hips); ``image_xy``
  normalised image coordinates (x right, y down, 0..1); rows in :class:`~bridge.core.landmarks.PoseLandmark` order.
  Values are rounded to 6 decimals (1 µm, far below the model's noise). A frame without a person is
  ``{"t_s": ..., "frame_index": ..., "person": false, "image_size": [...]}`` (its arrays read back as zeros).
  An optional ``"flags"`` object carries the frame's JSON-representable flags. Optional ``"hands"`` (a list
  of ``{"world_xyz_m": 21×3, "image_xy": 21×2, "label", "score"}``) and ``"face"`` (``{"blendshapes": 52,
  "transform": 4×4, "image_xy": 2×2}``) carry what ``--track hands,face`` found (see :mod:`bridge.core.hand_face`);
  files without them read as before, and older readers ignore them.

Version 2 (:data:`MULTIVIEW_VERSION`, written by ``bridge record`` from several views): the same lines; the header
adds optional ``"views": [{"name", "size"}]`` and ``"calibration"`` (the cameras), and frames may carry
``"placement": {"hips_m": [x, y, z], "source", "confidence"}`` (room frame, metres). Version 1 reads as before.

Robustness: the writer flushes after every frame, so a recording cut by Ctrl-C or a crash loses at most the line
being written; the reader ignores an incomplete last line (no trailing newline and not valid JSON). A damaged
line anywhere else, a file that is not a recording, or a newer version is a one-line
:class:`~bridge.core.errors.BridgeError`. ``RecordingWriter(path, append=True)`` continues an existing recording
(after checking its header and cutting a partial last line).
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import numpy as np

from bridge.core.errors import BridgeError
from bridge.core.hand_face import face_from_json, face_to_json, hands_from_json, hands_to_json
from bridge.core.landmarks import NUM_LANDMARKS, LandmarkFrame, Placement

FORMAT_NAME = "bridge-landmarks"
FORMAT_VERSION = 1
#: Version 2: a recording triangulated from several views (``bridge record --input A --input B --calibration C``):
#: the header adds optional ``views`` (``[{"name", "size"}]``) and ``calibration`` (the cameras, as
#: :func:`bridge.multiview.calibration.calibration_to_json`); frames may carry ``placement``. Frames are the same.
MULTIVIEW_VERSION = 2
READ_VERSIONS = (FORMAT_VERSION, MULTIVIEW_VERSION)
LANDMARK_SET = "mediapipe-pose-33"
DECIMALS = 6


@dataclass(frozen=True)
class RecordingHeader:
    """The first line of a recording.

    Attributes:
        version: format version (1).
        source: description of what was recorded, e.g. ``"camera 0"``.
        fps: nominal frames per second of the source, None when unknown.
        image_size: (width, height) in pixels of the source images, None when unknown.
        created: ISO 8601 UTC time the recording was started.
        extra: header keys this reader does not know, kept as they were.
    """

    source: str
    fps: float | None = None
    image_size: tuple[int, int] | None = None
    created: str = ""
    version: int = FORMAT_VERSION
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The header as the JSON object written on line 1."""
        return {
            "format": FORMAT_NAME,
            "version": self.version,
            "source": self.source,
            "fps": self.fps,
            "image_size": list(self.image_size) if self.image_size is not None else None,
            "created": self.created,
            "landmarks": LANDMARK_SET,
            **self.extra,
        }


def _round(values: np.ndarray) -> list[Any]:
    """Nested lists of floats rounded to :data:`DECIMALS` (``-0.0`` written as ``0.0``)."""
    return (np.round(np.asarray(values, dtype=np.float64), DECIMALS) + 0.0).tolist()  # type: ignore[no-any-return]


def _json_flags(flags: Mapping[str, object]) -> dict[str, Any]:
    """The flags whose values JSON represents exactly (bool, int, float, str, None), less the clock readings
    of the run that made them (``*_mono_s``: meaningless when replayed)."""
    return {
        str(k): v
        for k, v in flags.items()
        if not str(k).endswith("_mono_s")
        and (v is None or isinstance(v, bool | int | str) or (isinstance(v, float) and math.isfinite(v)))
    }


def frame_to_json(frame: LandmarkFrame) -> dict[str, Any]:
    """One frame as the JSON object of a recording line."""
    obj: dict[str, Any] = {
        "t_s": round(float(frame.t_s), DECIMALS),
        "frame_index": int(frame.frame_index),
        "person": bool(frame.person),
        "image_size": [int(frame.image_size[0]), int(frame.image_size[1])],
    }
    if frame.person:
        obj["world_xyz_m"] = _round(frame.world_xyz_m)
        obj["image_xy"] = _round(frame.image_xy)
        obj["visibility"] = _round(frame.visibility)
        obj["presence"] = _round(frame.presence)
    flags = _json_flags(frame.flags)
    if flags:
        obj["flags"] = flags
    if frame.hands is not None:
        obj["hands"] = hands_to_json(frame.hands)
    if frame.face is not None:
        obj["face"] = face_to_json(frame.face)
    if frame.placement is not None and frame.person:
        p = frame.placement
        obj["placement"] = {"hips_m": _round(p.hips_m), "source": p.source, "confidence": float(p.confidence)}
    return obj


def _array(obj: dict[str, Any], key: str, shape: tuple[int, ...]) -> np.ndarray:
    arr = np.asarray(obj[key], dtype=np.float64)
    if arr.shape != shape:
        raise ValueError(f"{key} has shape {arr.shape}, expected {shape}")
    return arr


def frame_from_json(obj: dict[str, Any]) -> LandmarkFrame:
    """Inverse of :func:`frame_to_json`. Raises ValueError/KeyError/TypeError on a malformed object."""
    size = obj["image_size"]
    image_size = (int(size[0]), int(size[1]))
    t_s = float(obj["t_s"])
    index = int(obj.get("frame_index", -1))
    flags = dict(obj.get("flags") or {})
    extras: dict[str, Any] = {}
    if "hands" in obj:
        extras["hands"] = hands_from_json(obj["hands"])
    if "face" in obj:
        extras["face"] = face_from_json(obj["face"])
    if "placement" in obj:
        p = obj["placement"]
        hips = _array(p, "hips_m", (3,))
        extras["placement"] = Placement(hips, str(p.get("source", "camera")), float(p.get("confidence", 1.0)))
    if not obj["person"]:
        frame = LandmarkFrame.no_person(t_s, image_size, index)
        return frame.replace(flags=flags, **extras) if flags or extras else frame
    return LandmarkFrame(
        t_s=t_s,
        world_xyz_m=_array(obj, "world_xyz_m", (NUM_LANDMARKS, 3)),
        image_xy=_array(obj, "image_xy", (NUM_LANDMARKS, 2)),
        visibility=_array(obj, "visibility", (NUM_LANDMARKS,)),
        presence=_array(obj, "presence", (NUM_LANDMARKS,)),
        image_size=image_size,
        person=True,
        frame_index=index,
        flags=flags,
        **extras,
    )


def _parse_header(line: bytes, path: Path) -> RecordingHeader:
    try:
        obj = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError):
        obj = None
    if not isinstance(obj, dict) or obj.get("format") != FORMAT_NAME:
        raise BridgeError(f"{path} is not a bridge landmark recording (line 1 is not a {FORMAT_NAME} header)")
    version = obj.get("version")
    if version not in READ_VERSIONS or isinstance(version, bool):
        raise BridgeError(
            f"{path} is a {FORMAT_NAME} recording of version {version!r}; this bridge reads versions "
            f"{', '.join(map(str, READ_VERSIONS))} only (upgrade bridge or re-record)"
        )
    size = obj.get("image_size")
    fps = obj.get("fps")
    known = {"format", "version", "source", "fps", "image_size", "created", "landmarks"}
    return RecordingHeader(
        source=str(obj.get("source", "")),
        fps=float(fps) if fps is not None else None,
        image_size=(int(size[0]), int(size[1])) if size else None,
        created=str(obj.get("created", "")),
        version=int(version),
        extra={k: v for k, v in obj.items() if k not in known},
    )


def read_header(path: Path | str) -> RecordingHeader:
    """The header of the recording at ``path``. Raises BridgeError if it is missing or not a recording."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            first = fh.readline()
    except OSError as exc:
        raise BridgeError(f"cannot read recording {path}: {exc.strerror or exc}") from exc
    if not first.strip():
        raise BridgeError(f"{path} is empty, not a bridge landmark recording")
    return _parse_header(first, path)


def _iter_frames(path: Path) -> Iterator[LandmarkFrame]:
    with path.open("rb") as fh:
        fh.readline()  # header, checked by read_recording
        line_no = 1
        pending = fh.readline()
        while pending:
            line_no += 1
            following = fh.readline()
            if pending.strip():
                try:
                    obj = json.loads(pending)
                    frame = frame_from_json(obj)
                except (ValueError, KeyError, TypeError, IndexError) as exc:
                    if not following and not pending.endswith(b"\n"):
                        return  # the last line was cut short (Ctrl-C / crash while writing): ignore it
                    raise BridgeError(f"{path} line {line_no} is not a valid landmark frame ({exc})") from exc
                yield frame
            pending = following


def read_recording(path: Path | str) -> tuple[RecordingHeader, Iterator[LandmarkFrame]]:
    """Open a recording: its header now (errors raised at once), its frames lazily, in file order.

    Raises:
        BridgeError: missing/unreadable file, not a recording, unknown version; later, while iterating, a
            damaged line that is not the (possibly cut) last line.
    """
    path = Path(path)
    header = read_header(path)
    return header, _iter_frames(path)


def now_iso() -> str:
    """The current UTC time, ISO 8601, to the second."""
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()


class RecordingWriter:
    """Writes a recording frame by frame, flushing each line; use as a context manager.

    ``append=True`` continues an existing recording at ``path`` (its header is checked, a partial last line is
    cut off, and ``header`` is ignored); otherwise the file is created or replaced.
    """

    def __init__(self, path: Path | str, header: RecordingHeader, append: bool = False) -> None:
        self.path = Path(path)
        self.frames_written = 0
        self._fh: IO[bytes]
        try:
            if append and self.path.exists() and self.path.stat().st_size > 0:
                self.header = read_header(self.path)
                self._fh = self.path.open("r+b")
                self._cut_partial_last_line()
            else:
                self.header = header
                self._fh = self.path.open("wb")
                self._write_line(header.to_json())
        except OSError as exc:
            raise BridgeError(f"cannot write recording {self.path}: {exc.strerror or exc}") from exc

    def _cut_partial_last_line(self) -> None:
        fh = self._fh
        size = fh.seek(0, 2)
        pos = size
        while pos > 0:
            step = min(4096, pos)
            fh.seek(pos - step)
            chunk = fh.read(step)
            newline = chunk.rfind(b"\n")
            if newline >= 0:
                end = pos - step + newline + 1
                break
            pos -= step
        else:
            end = 0
        if end < size:
            fh.truncate(end)
        fh.seek(end)

    def _write_line(self, obj: dict[str, Any]) -> None:
        self._fh.write(json.dumps(obj, separators=(",", ":")).encode("utf-8") + b"\n")
        self._fh.flush()

    def write(self, frame: LandmarkFrame) -> None:
        """Append one frame and flush it to the OS."""
        try:
            self._write_line(frame_to_json(frame))
        except OSError as exc:
            raise BridgeError(f"cannot write recording {self.path}: {exc.strerror or exc}") from exc
        self.frames_written += 1

    def close(self) -> None:
        """Flush and close the file (idempotent)."""
        if not self._fh.closed:
            self._fh.close()

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
