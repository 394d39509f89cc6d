"""The cameras of this machine and the modes they offer (``bridge cameras``).

On Linux each ``/dev/videoN`` is asked through Video4Linux2 itself (the ioctls ``VIDIOC_QUERYCAP``,
``VIDIOC_ENUM_FMT``, ``VIDIOC_ENUM_FRAMESIZES``, ``VIDIOC_ENUM_FRAMEINTERVALS``): its name, driver, and every
pixel format × frame size × frame rate it lists. Nodes that capture no video (a UVC camera's metadata node)
are left out. N is the number ``--input camera:N`` opens (OpenCV's V4L2 backend opens ``/dev/videoN``).
Elsewhere, cameras 0..9 are opened with OpenCV and asked for a few common sizes (:func:`probe_cameras`): what
they answer is what they would deliver.
"""

from __future__ import annotations

import contextlib
import errno
import os
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: ``ioctl(fd, request, buffer) -> buffer``: the system call, or a stand-in for a test's camera device.
Ioctl = Callable[[int, int, bytes], bytes]


def _iowr(nr: int, size: int, read_only: bool = False) -> int:
    """A V4L2 ioctl request number (``_IOR`` / ``_IOWR('V', nr, size)``)."""
    direction = 2 if read_only else 3
    return (direction << 30) | (size << 16) | (ord("V") << 8) | nr


_CAPABILITY = struct.Struct("=16s32s32sIII12x")  # struct v4l2_capability: 104 bytes
_FMTDESC = struct.Struct("=III32sII12x")  # struct v4l2_fmtdesc: 64 bytes
_FRMSIZE = struct.Struct("=III6I8x")  # struct v4l2_frmsizeenum: 44 bytes
_FRMIVAL = struct.Struct("=IIIII6I8x")  # struct v4l2_frmivalenum: 52 bytes

VIDIOC_QUERYCAP = _iowr(0, _CAPABILITY.size, read_only=True)
VIDIOC_ENUM_FMT = _iowr(2, _FMTDESC.size)
VIDIOC_ENUM_FRAMESIZES = _iowr(74, _FRMSIZE.size)
VIDIOC_ENUM_FRAMEINTERVALS = _iowr(75, _FRMIVAL.size)

V4L2_BUF_TYPE_VIDEO_CAPTURE = 1
V4L2_CAP_VIDEO_CAPTURE = 0x00000001
V4L2_CAP_DEVICE_CAPS = 0x80000000
_DISCRETE = 1

#: Sizes asked of a camera where V4L2 is not available.
PROBE_SIZES: tuple[tuple[int, int], ...] = ((640, 480), (1280, 720), (1920, 1080))


@dataclass(frozen=True)
class CameraMode:
    """One mode: a pixel format (``MJPG``, ``YUYV`` …), a frame size and the frame rates offered at it."""

    pixel_format: str
    width: int
    height: int
    fps: tuple[float, ...] = ()

    def __str__(self) -> str:
        rates = ", ".join(f"{r:g}" for r in self.fps)
        return f"{self.pixel_format} {self.width}x{self.height}" + (f" at {rates} fps" if rates else "")


@dataclass(frozen=True)
class CameraInfo:
    """A camera: the number ``--input camera:N`` opens, its device, name and driver, and its modes."""

    index: int
    device: str
    name: str
    driver: str = ""
    modes: tuple[CameraMode, ...] = field(default_factory=tuple)


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


def _fourcc(code: int) -> str:
    return "".join(chr((code >> (8 * i)) & 0xFF) for i in range(4)).strip()


def _system_ioctl(fd: int, request: int, buffer: bytes) -> bytes:
    import fcntl

    data = bytearray(buffer)
    fcntl.ioctl(fd, request, data)
    return bytes(data)


def _enumerate(
    ioctl: Ioctl, fd: int, request: int, layout: struct.Struct, fields: tuple[object, ...]
) -> list[tuple[Any, ...]]:
    """Every answer of a V4L2 enumeration ioctl: ``index`` 0, 1, … until the driver says EINVAL."""
    out = []
    for index in range(256):
        try:
            answer = layout.unpack(ioctl(fd, request, layout.pack(index, *fields)))
        except OSError as exc:
            if exc.errno in (errno.EINVAL, errno.ENOTTY):
                break
            raise
        out.append(answer)
    return out


def v4l2_camera(device: str, index: int, ioctl: Ioctl = _system_ioctl, fd: int | None = None) -> CameraInfo | None:
    """What the V4L2 node ``device`` says of itself, None when it captures no video (or cannot be asked)."""
    own = fd is None
    if fd is None:
        try:
            fd = os.open(device, os.O_RDWR | os.O_NONBLOCK)
        except OSError:
            return None
    try:
        answer = ioctl(fd, VIDIOC_QUERYCAP, bytes(_CAPABILITY.size))
        driver, card, _, _, caps, device_caps = _CAPABILITY.unpack(answer)
        if not (device_caps if caps & V4L2_CAP_DEVICE_CAPS else caps) & V4L2_CAP_VIDEO_CAPTURE:
            return None
        modes = []
        for fmt in _enumerate(ioctl, fd, VIDIOC_ENUM_FMT, _FMTDESC, (V4L2_BUF_TYPE_VIDEO_CAPTURE, 0, b"", 0, 0)):
            pixel = fmt[4]
            for size in _enumerate(ioctl, fd, VIDIOC_ENUM_FRAMESIZES, _FRMSIZE, (pixel, 0, 0, 0, 0, 0, 0, 0)):
                if size[2] != _DISCRETE:  # a continuous or stepwise range: its largest size
                    width, height = size[5], size[7]
                else:
                    width, height = size[3], size[4]
                rates = []
                frmival = (pixel, width, height, 0, 0, 0, 0, 0, 0, 0)
                for ival in _enumerate(ioctl, fd, VIDIOC_ENUM_FRAMEINTERVALS, _FRMIVAL, frmival):
                    num, den = ival[5], ival[6]  # discrete: the interval; stepwise: its shortest
                    if num > 0:
                        rates.append(round(den / num, 3))
                modes.append(CameraMode(_fourcc(pixel), width, height, tuple(sorted(set(rates), reverse=True))))
        return CameraInfo(index, device, _text(card), _text(driver), tuple(modes))
    except OSError:
        return None
    finally:
        if own:
            os.close(fd)


def probe_cameras(max_index: int = 10) -> list[CameraInfo]:
    """Cameras 0..``max_index - 1`` that OpenCV opens, with the sizes they accept of :data:`PROBE_SIZES`."""
    import cv2

    from bridge.tracking.sources import quiet_opencv

    quiet_opencv()
    out = []
    for index in range(max_index):
        cap = cv2.VideoCapture(index)
        try:
            if not cap.isOpened():
                continue
            modes = set()
            for w, h in PROBE_SIZES:
                cap.set(cv2.CAP_PROP_FRAME_WIDTH, w)
                cap.set(cv2.CAP_PROP_FRAME_HEIGHT, h)
                got = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
                fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
                modes.add(CameraMode("?", got[0], got[1], (round(fps, 3),) if fps > 0 else ()))
            found = tuple(sorted(modes, key=str))
            out.append(CameraInfo(index, f"camera {index}", cap.getBackendName(), "", found))
        finally:
            cap.release()
    return out


def list_cameras(dev: Path = Path("/dev"), ioctl: Ioctl = _system_ioctl) -> list[CameraInfo]:
    """Every camera found: V4L2 nodes on Linux (see the module docstring), else an OpenCV probe."""
    if not sys.platform.startswith("linux"):
        return probe_cameras()
    out = []
    for node in sorted(dev.glob("video*"), key=lambda p: int(p.name[5:]) if p.name[5:].isdigit() else 1 << 30):
        if node.name[5:].isdigit():
            with contextlib.suppress(OSError):
                info = v4l2_camera(str(node), int(node.name[5:]), ioctl)
                if info is not None:
                    out.append(info)
    return out
