"""Biovision BVH motion files: reader and writer (forward kinematics: :mod:`bridge.export.bvh_kinematics`).

A BVH file has a HIERARCHY (``ROOT``/``JOINT``/``End Site`` blocks with an ``OFFSET`` and ``CHANNELS``) and a
MOTION section (``Frames:``, ``Frame Time:``, then one line of channel values per frame).

Conventions this module implements (the ones Blender, MotionBuilder and the CMU conversions use):

* Units and axes are the file's own: nothing here converts them (:mod:`bridge.testing.mocap` does, for its
  purpose). In the rest (bind) pose every rotation is zero and each joint sits at its parent's joint plus its
  ``OFFSET``, expressed in the parent's frame.
* Rotation channels are Euler angles in degrees that compose **intrinsically in the listed order**:
  ``CHANNELS 3 Zrotation Xrotation Yrotation`` gives the local rotation ``R = Rz(z) @ Rx(x) @ Ry(y)``, the
  same as scipy ``Rotation.from_euler("ZXY", [z, x, y], degrees=True)`` (uppercase = intrinsic).
* Position channels, when a joint has them (normally only the root), **replace** the matching component of
  its ``OFFSET`` as its translation from the parent (Blender's reading; CMU and most files have a zero root
  offset, for which every reading agrees).
* A joint's world rotation ``W_j = W_parent @ R_j``; its world position ``p_j = p_parent + W_parent @ t_j``
  (``t_j`` its translation); an End Site of joint ``j`` is at ``p_j + W_j @ offset``.

Malformed files raise :class:`BvhError` (a :class:`~bridge.core.errors.BridgeError`) whose one-line message names
the file and line.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bridge.core.errors import BridgeError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

#: Channel names a BVH file may use, in their canonical spelling.
CHANNEL_NAMES: tuple[str, ...] = (
    "Xposition", "Yposition", "Zposition", "Xrotation", "Yrotation", "Zrotation",
)  # fmt: skip
_CANONICAL_CHANNEL = {c.lower(): c for c in CHANNEL_NAMES}

#: What the functions of :mod:`bridge.export.bvh_kinematics` accept to pick frames: all (None), a slice or indices.
FrameSelection = slice | Sequence[int] | npt.NDArray[np.integer] | None


class BvhError(BridgeError):
    """A BVH file or BVH data that cannot be used; the message names the file/line and what is wrong."""


@dataclass(frozen=True, eq=False)
class BvhSkeleton:
    """The HIERARCHY of a BVH file.

    Attributes:
        names: joint names in file order (depth-first, every parent before its children).
        parents: (J,) int, index of each joint's parent in ``names``; -1 for the root.
        offsets: (J, 3) float, file units, parent's frame: each joint's ``OFFSET`` from its parent's joint.
        channels: per joint, its channel names in file order (canonical spelling, e.g. ``"Zrotation"``);
            empty for a joint without channels.
        end_sites: joint name → (3,) float, file units, that joint's frame: the ``OFFSET`` of the joint's
            ``End Site`` (the tip of a leaf bone: head top, finger and toe tips).
    """

    names: tuple[str, ...]
    parents: IntArray
    offsets: FloatArray
    channels: tuple[tuple[str, ...], ...]
    end_sites: dict[str, FloatArray] = field(default_factory=dict)
    _index: dict[str, int] = field(init=False, repr=False, compare=False)
    _starts: IntArray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Accept lists too (e.g. a skeleton built from a rig for export); store the documented types.
        object.__setattr__(self, "names", tuple(self.names))
        object.__setattr__(self, "parents", np.asarray(self.parents, dtype=np.intp))
        object.__setattr__(self, "offsets", np.asarray(self.offsets, dtype=np.float64))
        object.__setattr__(self, "channels", tuple(tuple(c) for c in self.channels))
        object.__setattr__(
            self, "end_sites", {k: np.asarray(v, dtype=np.float64) for k, v in self.end_sites.items()}
        )
        starts = np.zeros(len(self.names) + 1, dtype=np.intp)
        starts[1:] = np.cumsum([len(c) for c in self.channels], dtype=np.intp)
        object.__setattr__(self, "_index", {n: i for i, n in enumerate(self.names)})
        object.__setattr__(self, "_starts", starts)

    def __len__(self) -> int:
        return len(self.names)

    @property
    def num_channels(self) -> int:
        """Total number of channels: the number of values on each MOTION line."""
        return int(self._starts[-1])

    def channel_columns(self, joint: int | str) -> range:
        """Columns of a joint's channels in a MOTION row (in the order of ``channels[joint]``)."""
        j = self.index(joint) if isinstance(joint, str) else joint
        return range(int(self._starts[j]), int(self._starts[j + 1]))

    def index(self, name: str) -> int:
        """Index of joint ``name`` (KeyError if there is none)."""
        return self._index[name]

    def has(self, name: str) -> bool:
        """Whether the skeleton has a joint called ``name``."""
        return name in self._index

    def children(self, joint: int | str) -> list[int]:
        """Indices of a joint's direct children, in file order."""
        j = self.index(joint) if isinstance(joint, str) else joint
        return [int(i) for i in np.flatnonzero(self.parents == j)]

    def equals(self, other: BvhSkeleton, atol: float = 0.0) -> bool:
        """Same joints, parents, channels and end-site joints, offsets equal within ``atol``."""
        return (
            self.names == other.names
            and np.array_equal(self.parents, other.parents)
            and self.channels == other.channels
            and self.end_sites.keys() == other.end_sites.keys()
            and np.allclose(self.offsets, other.offsets, atol=atol, rtol=0)
            and all(np.allclose(v, other.end_sites[k], atol=atol, rtol=0) for k, v in self.end_sites.items())
        )

    def validate(self) -> None:
        """Raise :class:`BvhError` unless this is a skeleton a BVH file can hold."""
        n = len(self.names)
        if n == 0:
            raise BvhError("BVH skeleton has no joints; a BVH needs at least a ROOT")
        if len(set(self.names)) != n:
            dup = sorted({x for x in self.names if self.names.count(x) > 1})
            raise BvhError(f"BVH skeleton has duplicate joint names {dup}; rename them")
        for name in self.names:
            if not name or any(ch.isspace() for ch in name) or "{" in name or "}" in name:
                raise BvhError(f"BVH joint name {name!r} is empty or has spaces or braces; rename it")
        if self.parents.shape != (n,) or self.offsets.shape != (n, 3) or len(self.channels) != n:
            raise BvhError(
                f"BVH skeleton arrays disagree: {n} names, parents {self.parents.shape}, offsets "
                f"{self.offsets.shape}, {len(self.channels)} channel lists; they must all have one entry per joint"
            )
        if int(self.parents[0]) != -1 or np.any(self.parents[1:] < 0):
            raise BvhError("BVH skeleton must have exactly one root, the first joint (parent -1)")
        if np.any(self.parents[1:] >= np.arange(1, n)):
            raise BvhError("BVH skeleton joints must be ordered parent before child")
        if not np.all(np.isfinite(self.offsets)):
            raise BvhError("BVH skeleton has a non-finite OFFSET; fix the offsets")
        for name, chans in zip(self.names, self.channels, strict=True):
            bad = [c for c in chans if c not in CHANNEL_NAMES]
            if bad or len(set(chans)) != len(chans):
                raise BvhError(f"BVH joint {name} has invalid or repeated channels {list(chans)}")
        for name, off in self.end_sites.items():
            if name not in self._index or np.shape(off) != (3,) or not np.all(np.isfinite(off)):
                raise BvhError(f"BVH end site of {name!r} is not a finite 3-vector on a joint of the skeleton")


@dataclass(frozen=True, eq=False)
class BvhMotion:
    """A parsed BVH file: its skeleton and its MOTION data.

    Attributes:
        skeleton: the HIERARCHY.
        frame_time_s: seconds between frames (``Frame Time``).
        channels: (T, C) float, one row per frame, columns in the skeleton's channel order; positions in the
            file's units, rotations in degrees.
        source: where it came from (file path or ``"<bvh>"``), for messages.
    """

    skeleton: BvhSkeleton
    frame_time_s: float
    channels: FloatArray
    source: str = "<bvh>"

    def __post_init__(self) -> None:
        shape = np.shape(self.channels)
        if len(shape) != 2 or shape[1] != self.skeleton.num_channels:
            raise BvhError(
                f"BVH motion {self.source}: channels must be (frames, {self.skeleton.num_channels}), got {shape}"
            )
        if not (math.isfinite(self.frame_time_s) and self.frame_time_s > 0):
            raise BvhError(f"BVH motion {self.source}: frame time must be > 0 seconds, got {self.frame_time_s}")

    @property
    def num_frames(self) -> int:
        """Number of frames T."""
        return int(self.channels.shape[0])

    @property
    def fps(self) -> float:
        """Frames per second, ``1 / frame_time_s``."""
        return 1.0 / self.frame_time_s

    @property
    def duration_s(self) -> float:
        """``num_frames * frame_time_s``."""
        return self.num_frames * self.frame_time_s

    def frame_indices(self, frames: FrameSelection = None) -> IntArray:
        """(T',) int: the frame indices a selection picks (None: all); BvhError when out of range."""
        return _frame_indices(self.num_frames, frames, self.source)

    def times_s(self, frames: FrameSelection = None) -> FloatArray:
        """(T',) float, seconds: clip time of the selected frames, ``index * frame_time_s``."""
        return self.frame_indices(frames).astype(np.float64) * self.frame_time_s

    def subset(self, frames: FrameSelection) -> BvhMotion:
        """A motion holding only the selected frames (same skeleton and frame time)."""
        return BvhMotion(self.skeleton, self.frame_time_s, self.channels[self.frame_indices(frames)], self.source)


# --------------------------------------------------------------------------------------------------- reading


def _frame_indices(n: int, frames: FrameSelection, source: str) -> IntArray:
    if frames is None:
        return np.arange(n, dtype=np.intp)
    if isinstance(frames, slice):
        return np.arange(n, dtype=np.intp)[frames]
    idx = np.asarray(frames)
    if idx.ndim != 1 or (idx.size and not np.issubdtype(idx.dtype, np.integer)):
        raise BvhError(f"frame selection for {source} must be a slice or a 1-D list of frame numbers")
    idx = idx.astype(np.intp)
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise BvhError(f"frame selection for {source} is outside 0..{n - 1}; pick frames the file has")
    return np.where(idx < 0, idx + n, idx)


class _Tokens:
    """Whitespace tokens of the HIERARCHY section with their 1-based line numbers."""

    def __init__(self, lines: list[str], first_line: int, source: str) -> None:
        self.items: list[tuple[str, int]] = []
        for k, line in enumerate(lines):
            for tok in line.replace("{", " { ").replace("}", " } ").split():
                self.items.append((tok, first_line + k))
        self.pos = 0
        self.source = source
        self.last_line = first_line + max(len(lines) - 1, 0)

    def error(self, message: str, line: int | None = None) -> BvhError:
        where = self.last_line if line is None else line
        return BvhError(f"BVH file {self.source} line {where}: {message}; the file is not valid BVH")

    def peek(self) -> tuple[str, int] | None:
        return self.items[self.pos] if self.pos < len(self.items) else None

    def next(self, what: str) -> tuple[str, int]:
        item = self.peek()
        if item is None:
            raise self.error(f"the HIERARCHY ends where {what} was expected")
        self.pos += 1
        return item

    def expect(self, word: str) -> int:
        tok, line = self.next(repr(word))
        if tok.lower() != word.lower():
            raise self.error(f"expected {word!r}, found {tok!r}", line)
        return line

    def number(self, what: str) -> float:
        tok, line = self.next(what)
        try:
            value = float(tok)
        except ValueError:
            raise self.error(f"{what} must be a number, found {tok!r}", line) from None
        if not math.isfinite(value):
            raise self.error(f"{what} is not finite ({tok!r})", line)
        return value


class _Builder:
    def __init__(self) -> None:
        self.names: list[str] = []
        self.parents: list[int] = []
        self.offsets: list[list[float]] = []
        self.channels: list[tuple[str, ...]] = []
        self.end_sites: dict[str, FloatArray] = {}


def _parse_joint(tk: _Tokens, b: _Builder, parent: int, name_line: int) -> None:
    """Parse ``NAME { OFFSET .. CHANNELS .. children }`` after a ROOT/JOINT keyword."""
    name, line = tk.next("a joint name")
    if name in ("{", "}"):
        raise tk.error("a ROOT/JOINT needs a name", line)
    if name in b.names:
        raise tk.error(f"joint name {name!r} is used twice", line)
    j = len(b.names)
    b.names.append(name)
    b.parents.append(parent)
    tk.expect("{")
    tk.expect("OFFSET")
    b.offsets.append([tk.number(f"OFFSET of {name}") for _ in range(3)])
    chans: list[str] = []
    item = tk.peek()
    if item is not None and item[0].upper() == "CHANNELS":
        tk.next("CHANNELS")
        count_f = tk.number(f"CHANNELS count of {name}")
        if count_f != int(count_f) or not 0 <= count_f <= 6:
            raise tk.error(f"CHANNELS count of {name} must be a whole number 0..6, found {count_f:g}")
        for _ in range(int(count_f)):
            tok, cline = tk.next(f"a channel name of {name}")
            canon = _CANONICAL_CHANNEL.get(tok.lower())
            if canon is None:
                raise tk.error(f"unknown channel {tok!r} of {name} (use Xposition..Zrotation)", cline)
            if canon in chans:
                raise tk.error(f"channel {canon} of {name} is listed twice", cline)
            chans.append(canon)
    b.channels.append(tuple(chans))
    while True:
        tok, line = tk.next(f"'}}' closing joint {name} (opened line {name_line})")
        word = tok.upper()
        if tok == "}":
            return
        if word == "JOINT":
            _parse_joint(tk, b, j, line)
        elif word == "END":
            tk.expect("Site")
            tk.expect("{")
            tk.expect("OFFSET")
            off = np.array([tk.number(f"End Site OFFSET of {name}") for _ in range(3)])
            tk.expect("}")
            if name in b.end_sites:
                raise tk.error(f"joint {name} has two End Sites", line)
            b.end_sites[name] = off
        else:
            raise tk.error(f"expected JOINT, End Site or '}}' inside joint {name}, found {tok!r}", line)


def parse_bvh(text: str, source: str = "<bvh>") -> BvhMotion:
    """Parse the text of a BVH file (see the module docstring for the conventions).

    Raises:
        BvhError: naming ``source`` and the offending line for anything malformed.
    """
    lines = text.splitlines()
    motion_at = next((k for k, ln in enumerate(lines) if ln.strip().upper() == "MOTION"), None)

    def fail(line_no: int, message: str) -> BvhError:
        return BvhError(f"BVH file {source} line {line_no}: {message}; the file is not valid BVH")

    first = next((k for k, ln in enumerate(lines) if ln.strip()), None)
    if first is None:
        raise BvhError(f"BVH file {source} is empty; pass a .bvh motion file")
    if lines[first].strip().upper() != "HIERARCHY":
        raise fail(first + 1, f"expected HIERARCHY, found {lines[first].strip()[:40]!r}")
    if motion_at is None:
        raise BvhError(f"BVH file {source} has no MOTION section; the file is truncated or not BVH")
    tk = _Tokens(lines[first + 1 : motion_at], first + 2, source)
    b = _Builder()
    line = tk.expect("ROOT")
    _parse_joint(tk, b, -1, line)
    extra = tk.peek()
    if extra is not None:
        raise tk.error(
            f"found {extra[0]!r} after the ROOT joint's closing brace (only one ROOT is supported)", extra[1]
        )

    skeleton = BvhSkeleton(
        names=tuple(b.names),
        parents=np.array(b.parents, dtype=np.intp),
        offsets=np.array(b.offsets, dtype=np.float64).reshape(-1, 3),
        channels=tuple(b.channels),
        end_sites=b.end_sites,
    )

    # MOTION header: "Frames: N" and "Frame Time: t" on the next non-empty lines.
    k = motion_at + 1
    header: list[tuple[int, str]] = []
    while k < len(lines) and len(header) < 2:
        if lines[k].strip():
            header.append((k, lines[k].strip()))
        k += 1
    if len(header) < 2:
        raise BvhError(f"BVH file {source} ends before 'Frames:' and 'Frame Time:'; the file is truncated")
    (k_frames, s_frames), (k_time, s_time) = header
    n_frames = _header_value(s_frames, "frames:", k_frames + 1, fail)
    frame_time = _header_value(s_time, "frame time:", k_time + 1, fail)
    if n_frames != int(n_frames) or n_frames < 0:
        raise fail(k_frames + 1, f"Frames must be a whole number >= 0, found {n_frames:g}")
    if not frame_time > 0:
        raise fail(k_time + 1, f"Frame Time must be > 0 seconds, found {frame_time:g}")

    channels = _frame_values(lines, k, int(n_frames), skeleton.num_channels, fail)
    return BvhMotion(skeleton=skeleton, frame_time_s=float(frame_time), channels=channels, source=source)


def _frame_values(lines: list[str], k: int, n: int, n_ch: int, fail: Callable[[int, str], BvhError]) -> FloatArray:
    """(n, n_ch) float: the first ``n`` non-empty lines from ``lines[k]`` on, one frame of channel values each."""
    data_rows = [(i + 1, ln) for i, ln in enumerate(lines[k:], start=k) if ln.strip()]
    if len(data_rows) < n:
        raise fail(len(lines), f"Frames says {n} but the file has only {len(data_rows)} frame lines")
    # Some exporters write one line more than they declare (Boxing_Toes.bvh: 3070 lines, "Frames: 3069");
    # like assimp, trust the header and ignore well-formed extra lines.
    data_rows = data_rows[:n]
    try:
        values = np.array(" ".join(ln for _, ln in data_rows).split(), dtype=np.float64)
    except ValueError:
        values = None
    if values is None or values.size != n * n_ch or not np.all(np.isfinite(values)):
        for line_no, ln in data_rows:
            toks = ln.split()
            if len(toks) != n_ch:
                raise fail(line_no, f"a frame has {len(toks)} values but the HIERARCHY has {n_ch} channels")
            for tok in toks:
                try:
                    v = float(tok)
                except ValueError:
                    raise fail(line_no, f"frame value {tok!r} is not a number") from None
                if not math.isfinite(v):
                    raise fail(line_no, f"frame value {tok!r} is not finite")
        raise fail(len(lines), "frame data could not be read")  # pragma: no cover - every case is caught above
    return values.reshape(n, n_ch)


def _header_value(text: str, key: str, line_no: int, fail: Callable[[int, str], BvhError]) -> float:
    if not text.lower().startswith(key):
        raise fail(line_no, f"expected {key.title()!r}, found {text[:40]!r}")
    rest = text[len(key) :].strip()
    try:
        value = float(rest)
    except ValueError:
        raise fail(line_no, f"{key.title()} value {rest!r} is not a number") from None
    if not math.isfinite(value):
        raise fail(line_no, f"{key.title()} value {rest!r} is not finite")
    return value


def read_bvh(path: str | os.PathLike[str]) -> BvhMotion:
    """Read and parse a BVH file; :class:`BvhError` if it is missing, unreadable or malformed."""
    p = Path(path)
    if not p.is_file():
        raise BvhError(f"BVH file {p} not found; pass the path of a .bvh motion file")
    try:
        text = p.read_text(encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        text = p.read_text(encoding="latin-1")
    except OSError as exc:
        raise BvhError(f"BVH file {p} cannot be read ({exc.strerror}); check its permissions") from None
    return parse_bvh(text, str(p))


# --------------------------------------------------------------------------------------------------- writing


def _fmt(v: float, decimals: int | None) -> str:
    v = float(v)
    if decimals is None:
        return repr(v + 0.0)  # shortest text that reads back to exactly this float; -0.0 prints as 0.0
    return f"{v:.{decimals}f}"


def format_bvh(
    skeleton: BvhSkeleton, channels: FloatArray, frame_time_s: float, decimals: int | None = None
) -> str:
    """The text of a BVH file holding ``skeleton`` and the (T, C) ``channels`` rows.

    With ``decimals=None`` every number is written as the shortest text that reads back as exactly the same
    float, so :func:`parse_bvh` returns equal arrays; an int writes fixed-point values with that many
    decimals (smaller files).
    """
    skeleton.validate()
    data = np.asarray(channels, dtype=np.float64)
    if data.ndim != 2 or data.shape[1] != skeleton.num_channels:
        raise BvhError(
            f"BVH channels must be (frames, {skeleton.num_channels}) for this skeleton, got {data.shape}"
        )
    if not np.all(np.isfinite(data)):
        raise BvhError("BVH channels hold a non-finite value (NaN or inf); fill or drop those frames first")
    if not (math.isfinite(frame_time_s) and frame_time_s > 0):
        raise BvhError(f"BVH frame time must be a positive number of seconds, got {frame_time_s}")
    # BVH nests children inside their parent, so the file order is depth-first; reorder if needed.
    order: list[int] = []

    def visit(j: int) -> None:
        order.append(j)
        for c in skeleton.children(j):
            visit(c)

    visit(0)
    if order != list(range(len(skeleton))):
        cols = np.concatenate([np.asarray(skeleton.channel_columns(j), dtype=np.intp) for j in order])
        data = data[:, cols]

    out: list[str] = ["HIERARCHY"]

    def emit(j: int, depth: int) -> None:
        ind = "\t" * depth
        kw = "ROOT" if j == 0 else "JOINT"
        name = skeleton.names[j]
        out.append(f"{ind}{kw} {name}")
        out.append(f"{ind}{{")
        out.append(f"{ind}\tOFFSET " + " ".join(_fmt(v, decimals) for v in skeleton.offsets[j]))
        chans = skeleton.channels[j]
        out.append(f"{ind}\tCHANNELS {len(chans)}" + "".join(f" {c}" for c in chans))
        for c in skeleton.children(j):
            emit(c, depth + 1)
        if name in skeleton.end_sites:
            out.append(f"{ind}\tEnd Site")
            out.append(f"{ind}\t{{")
            out.append(f"{ind}\t\tOFFSET " + " ".join(_fmt(v, decimals) for v in skeleton.end_sites[name]))
            out.append(f"{ind}\t}}")
        out.append(f"{ind}}}")

    emit(0, 0)
    out.append("MOTION")
    out.append(f"Frames: {data.shape[0]}")
    out.append(f"Frame Time: {_fmt(frame_time_s, None if decimals is None else max(decimals, 7))}")
    out.extend(" ".join(_fmt(v, decimals) for v in row) for row in data.tolist())
    return "\n".join(out) + "\n"


def write_bvh(
    path: str | os.PathLike[str],
    skeleton: BvhSkeleton,
    channels: FloatArray,
    frame_time_s: float,
    decimals: int | None = None,
) -> None:
    """Write a BVH file that :func:`read_bvh` reads back as the same skeleton and channel values.

    The joints are written depth-first (the only order BVH can express); a skeleton already in that order,
    like every one :func:`read_bvh` returns, round-trips exactly (with ``decimals=None``).
    """
    text = format_bvh(skeleton, channels, frame_time_s, decimals)
    p = Path(path)
    try:
        p.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise BvhError(
            f"cannot write BVH file {p} ({exc.strerror}); check the folder exists and is writable"
        ) from None
