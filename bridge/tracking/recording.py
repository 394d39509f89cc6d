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
from typing import IO, Any, TypeGuard

import numpy as np

from bridge.core.errors import BridgeError
from bridge.core.hand_face import face_from_json, face_to_json, hands_from_json, hands_to_json
from bridge.core.landmarks import NUM_LANDMARKS, LandmarkFrame, Placement

#: Frame flag the reader sets on a frame with NaN/infinite values: where it came from (the run loop treats such
#: a frame as no person and says so once).
INVALID_FLAG = "invalid"

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


# ------------------------------------------------------------------------------------------------ the schema
# One hand-written schema for both kinds of line: each check raises ValueError naming the field, which the
# reader turns into "<file> line N: field …". Numbers are JSON numbers (true/false are not numbers).


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


#: The types of JSON numbers as the json module reads them.
_JSON_NUMBERS = frozenset((int, float))


def _is_count(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _size(value: Any, field: str, allow_zero: bool = False) -> tuple[int, int]:
    lo = 0 if allow_zero else 1
    ok = isinstance(value, list) and len(value) == 2 and all(_is_count(v) and lo <= v < 1 << 20 for v in value)
    if not ok:
        raise ValueError(f"field {field!r} must be [width, height] in whole pixels, got {value!r}")
    return int(value[0]), int(value[1])


def _number_rows(value: Any, field: str, shape: tuple[int, ...]) -> np.ndarray:
    """A list (of lists) of JSON numbers of ``shape`` as a float array (NaN/Infinity tokens kept: the run loop
    treats such a frame as no person)."""
    rows = value if len(shape) == 2 else [value]
    width = shape[-1]
    # JSON numbers are exactly int or float (true/false are bool): each row's element types as one set, in C
    # (an element-by-element check cost 0.17 ms a frame, a fifth of exporting a recording).
    if not (
        isinstance(value, list)
        and len(value) == shape[0]
        and all(isinstance(r, list) and len(r) == width and _JSON_NUMBERS.issuperset(map(type, r)) for r in rows)
    ):
        raise ValueError(f"field {field!r} must be {' x '.join(map(str, shape))} numbers")
    return np.asarray(value, dtype=np.float64)


#: Header fields and their checks; version 2 adds the optional ``views`` and ``calibration`` fields.
SUPPORTED_VERSIONS = READ_VERSIONS


def validate_header(obj: dict[str, Any]) -> None:
    """Check a header object (``format`` already matched); ValueError names the first bad field."""
    version = obj.get("version")
    if not _is_count(version) or version not in SUPPORTED_VERSIONS:
        raise ValueError(f"field 'version' must be one of {SUPPORTED_VERSIONS}, got {version!r}")
    for key in ("source", "created", "landmarks"):
        if key in obj and not isinstance(obj[key], str):
            raise ValueError(f"field {key!r} must be text, got {obj[key]!r}")
    fps = obj.get("fps")
    if fps is not None and not (_is_number(fps) and math.isfinite(fps) and 0 < fps <= 10_000):
        raise ValueError(f"field 'fps' must be a frame rate above 0 (at most 10000) or null, got {fps!r}")
    if obj.get("image_size") is not None:
        _size(obj["image_size"], "image_size")
    if version == 1:
        return
    views = obj.get("views")
    if views is not None:
        if not isinstance(views, list):
            raise ValueError(f"field 'views' must be a list of {{name, size}} objects, got {views!r}")
        for k, view in enumerate(views):
            if not (isinstance(view, dict) and isinstance(view.get("name"), str)):
                raise ValueError(f"field 'views[{k}].name' must be text")
            _size(view.get("size"), f"views[{k}].size")
    if obj.get("calibration") is not None and not isinstance(obj["calibration"], dict):
        raise ValueError(f"field 'calibration' must be an object, got {obj['calibration']!r}")


def validate_frame(obj: object) -> None:
    """Check a frame object's fields and types; ValueError names the first bad field."""
    if not isinstance(obj, dict):
        raise ValueError("a frame line must be a JSON object")
    t_s = obj.get("t_s")
    if not (_is_number(t_s) and math.isfinite(t_s)):
        raise ValueError(f"field 't_s' must be a finite number of seconds, got {t_s!r}")
    if "frame_index" in obj and not _is_count(obj["frame_index"]):
        raise ValueError(f"field 'frame_index' must be a whole number, got {obj['frame_index']!r}")
    if not isinstance(obj.get("person"), bool):
        raise ValueError(f"field 'person' must be true or false, got {obj.get('person')!r}")
    _size(obj.get("image_size"), "image_size", allow_zero=True)
    if "flags" in obj and not isinstance(obj["flags"], dict | None):
        raise ValueError(f"field 'flags' must be an object, got {obj['flags']!r}")
    if obj["person"]:
        for key, shape in _ARRAYS.items():
            if key not in obj:
                raise ValueError(f"field {key!r} is missing (a frame with a person has {', '.join(_ARRAYS)})")
            _number_rows(obj[key], key, shape)


_ARRAYS = {
    "world_xyz_m": (NUM_LANDMARKS, 3),
    "image_xy": (NUM_LANDMARKS, 2),
    "visibility": (NUM_LANDMARKS,),
    "presence": (NUM_LANDMARKS,),
}


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


def frame_is_finite(frame: LandmarkFrame) -> bool:
    """True when every number of the frame (landmarks, hands, face) is finite (a no-person frame: always)."""
    arrays: list[Any] = []
    if frame.person:
        arrays += [frame.world_xyz_m, frame.image_xy, frame.visibility, frame.presence]
    if frame.hands is not None:
        arrays += [a for h in frame.hands.hands for a in (h.world_xyz_m, h.image_xy)]
    if frame.face is not None:
        arrays += [frame.face.blendshapes, frame.face.transform, frame.face.image_xy]
    return all(bool(np.isfinite(a).all()) for a in arrays)


def _parse_header(line: bytes, path: Path) -> RecordingHeader:
    try:
        obj = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError):
        obj = None
    if not isinstance(obj, dict) or obj.get("format") != FORMAT_NAME:
        raise BridgeError(f"{path} is not a bridge landmark recording (line 1 is not a {FORMAT_NAME} header)")
    version = obj.get("version")
    if _is_count(version) and version > max(SUPPORTED_VERSIONS):
        raise BridgeError(
            f"{path} is a {FORMAT_NAME} recording of version {version!r}; this bridge reads versions "
            f"{', '.join(map(str, SUPPORTED_VERSIONS))} (upgrade bridge or re-record)"
        )
    try:
        validate_header(obj)
    except ValueError as exc:
        raise BridgeError(f"{path} line 1 (header): {exc}; fix the header or re-record") from None
    size = obj.get("image_size")
    fps = obj.get("fps")
    known = {"format", "version", "source", "fps", "image_size", "created", "landmarks"}
    return RecordingHeader(
        source=str(obj.get("source", "")),
        fps=float(fps) if fps is not None else None,
        image_size=(int(size[0]), int(size[1])) if size else None,
        created=str(obj.get("created", "")),
        version=int(obj["version"]),
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
                    validate_frame(obj)
                    frame = frame_from_json(obj)
                except (ValueError, KeyError, TypeError, IndexError, OverflowError) as exc:
                    if not following and not pending.endswith(b"\n"):
                        return  # the last line was cut short (Ctrl-C / crash while writing): ignore it
                    raise BridgeError(
                        f"{path} line {line_no} is not a valid landmark frame: {exc}; fix or remove that line"
                    ) from None
                if not frame_is_finite(frame):
                    frame = frame.with_flags(**{INVALID_FLAG: f"{path.name} line {line_no}: non-finite values"})
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
    cut off, and ``header`` is ignored); otherwise the file is created or replaced. Appended frames continue the
    time line: if the new take's first time is not after the recording's last frame, every appended time (and
    frame index) is shifted so that it starts one frame period (``1 / fps``, else 1/30 s) after it, so readers
    see one take with increasing times.
    """

    def __init__(self, path: Path | str, header: RecordingHeader, append: bool = False) -> None:
        self.path = Path(path)
        self.frames_written = 0
        self._fh: IO[bytes]
        self._last: tuple[float, int] | None = None  # (t_s, frame_index) of the last frame before appending
        self._shift: tuple[float, int] = (0.0, 0)
        try:
            if append and self.path.exists() and self.path.stat().st_size > 0:
                self.header = read_header(self.path)
                self._fh = self.path.open("r+b")
                self._cut_partial_last_line()
                self._last = self._last_frame_time()
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

    def _last_frame_time(self) -> tuple[float, int] | None:
        """(t_s, frame_index) of the last complete frame line, None when there is none (file at its end)."""
        fh = self._fh
        end = fh.tell()
        start = max(0, end - (1 << 20))
        fh.seek(start)
        tail = fh.read(end - start).rstrip(b"\n").rsplit(b"\n", 1)[-1]
        fh.seek(end)
        try:
            obj = json.loads(tail)
            t_s, index = float(obj["t_s"]), int(obj.get("frame_index", -1))
        except (ValueError, KeyError, TypeError):
            return None  # only the header (or a line too long to be a frame): nothing to continue
        return (t_s, index) if math.isfinite(t_s) and "format" not in obj else None

    def _continue_time_line(self, frame: LandmarkFrame) -> LandmarkFrame:
        if self._last is not None and self.frames_written == 0:
            last_t, last_index = self._last
            step = 1.0 / self.header.fps if self.header.fps else 1.0 / 30.0
            if frame.t_s <= last_t:
                self._shift = (last_t + step - frame.t_s, max(0, last_index + 1 - frame.frame_index))
        dt, di = self._shift
        if dt == 0.0 and di == 0:
            return frame
        return frame.replace(t_s=frame.t_s + dt, frame_index=frame.frame_index + di)

    def _write_line(self, obj: dict[str, Any]) -> None:
        self._fh.write(json.dumps(obj, separators=(",", ":")).encode("utf-8") + b"\n")
        self._fh.flush()

    def write(self, frame: LandmarkFrame) -> None:
        """Append one frame and flush it to the OS."""
        try:
            self._write_line(frame_to_json(self._continue_time_line(frame)))
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
