"""Camera set-up: ``bridge cameras`` (V4L2 enumeration), ``--camera-size`` / ``--camera-fps``, and the line saying
what a camera delivers. This machine has no camera: only the device is mocked (a V4L2 device answering ioctls,
an OpenCV capture device), everything above it is bridge's own code."""

from __future__ import annotations

import errno
import struct
from pathlib import Path

import numpy as np
import pytest

from bridge.cli import main as cli
from bridge.core.errors import BridgeError
from bridge.tracking import cameras
from bridge.tracking.sources import CameraSource, camera_delivery, parse_camera_size

#: The ioctl numbers as <linux/videodev2.h> defines them on x86-64 and arm64 (independent of bridge's packing).
KERNEL_IOCTLS = {
    "QUERYCAP": 0x80685600,
    "ENUM_FMT": 0xC0405602,
    "FRAMESIZES": 0xC02C564A,
    "FRAMEINTERVALS": 0xC034564B,
}


def fourcc(text: str) -> int:
    return int.from_bytes(text.encode("ascii"), "little")


class FakeV4l2:
    """A UVC-like webcam at fd 10 (MJPG 1280x720 at 30/15, 640x480 at 30; YUYV 640x480 at 30) and its metadata
    node at fd 11 (no video capture), answering the four enumeration ioctls with the kernel's struct layouts."""

    MODES = {fourcc("MJPG"): {(1280, 720): (30, 15), (640, 480): (30,)}, fourcc("YUYV"): {(640, 480): (30,)}}

    def __call__(self, fd: int, request: int, buf: bytes) -> bytes:
        if request == KERNEL_IOCTLS["QUERYCAP"]:
            assert len(buf) == 104
            caps = 0x80000000 | 0x1 | 0x04000000
            device_caps = 0x1 if fd == 10 else 0x00800000  # the metadata node: V4L2_CAP_META_CAPTURE only
            return struct.pack("=16s32s32sIII12x", b"uvcvideo", b"HD Webcam: HD Webcam", b"usb-0000:00:14.0-1",
                               0x60000, caps, device_caps)  # fmt: skip
        if request == KERNEL_IOCTLS["ENUM_FMT"]:
            assert len(buf) == 64
            index, kind = struct.unpack_from("=II", buf)
            formats = list(self.MODES)
            if kind != 1 or index >= len(formats):
                raise OSError(errno.EINVAL, "Invalid argument")
            return struct.pack("=III32sII12x", index, kind, 0, b"format", formats[index], 0)
        if request == KERNEL_IOCTLS["FRAMESIZES"]:
            assert len(buf) == 44
            index, pixel = struct.unpack_from("=II", buf)
            sizes = list(self.MODES[pixel])
            if index >= len(sizes):
                raise OSError(errno.EINVAL, "Invalid argument")
            return struct.pack("=III6I8x", index, pixel, 1, *sizes[index], 0, 0, 0, 0)
        if request == KERNEL_IOCTLS["FRAMEINTERVALS"]:
            assert len(buf) == 52
            index, pixel, w, h = struct.unpack_from("=IIII", buf)
            rates = self.MODES[pixel][(w, h)]
            if index >= len(rates):
                raise OSError(errno.EINVAL, "Invalid argument")
            return struct.pack("=IIIII6I8x", index, pixel, w, h, 1, 1, rates[index], 0, 0, 0, 0)
        raise OSError(errno.ENOTTY, "Inappropriate ioctl for device")


def test_the_ioctls_are_the_kernels() -> None:
    assert KERNEL_IOCTLS["QUERYCAP"] == cameras.VIDIOC_QUERYCAP
    assert KERNEL_IOCTLS["ENUM_FMT"] == cameras.VIDIOC_ENUM_FMT
    assert KERNEL_IOCTLS["FRAMESIZES"] == cameras.VIDIOC_ENUM_FRAMESIZES
    assert KERNEL_IOCTLS["FRAMEINTERVALS"] == cameras.VIDIOC_ENUM_FRAMEINTERVALS


def fake_dev(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A /dev with video0 (the webcam) and video1 (its metadata node); their fds are 10 and 11."""
    for name in ("video0", "video1", "null"):
        (tmp_path / name).write_bytes(b"")
    fds = {str(tmp_path / "video0"): 10, str(tmp_path / "video1"): 11}
    monkeypatch.setattr(cameras.os, "open", lambda path, flags: fds[str(path)])
    monkeypatch.setattr(cameras.os, "close", lambda fd: None)
    return tmp_path


def test_bridge_cameras_lists_the_camera_and_its_modes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    dev = fake_dev(tmp_path, monkeypatch)
    found = cameras.list_cameras(dev, FakeV4l2())
    assert [c.index for c in found] == [0]  # the metadata node is no camera
    cam = found[0]
    assert cam.name == "HD Webcam: HD Webcam" and cam.driver == "uvcvideo"
    assert [str(m) for m in cam.modes] == [
        "MJPG 1280x720 at 30, 15 fps", "MJPG 640x480 at 30 fps", "YUYV 640x480 at 30 fps",
    ]  # fmt: skip
    monkeypatch.setattr("bridge.cli.cameras.list_cameras", lambda: cameras.list_cameras(dev, FakeV4l2()))
    assert cli.main(["cameras"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"camera 0 ({dev / 'video0'}): HD Webcam: HD Webcam, uvcvideo"
    assert out[1:4] == ["  MJPG 1280x720 at 30, 15 fps", "  MJPG 640x480 at 30 fps", "  YUYV 640x480 at 30 fps"]
    assert out[-1] == "choose one with: --input camera:0 --camera-size 1280x720 --camera-fps 30"


class FakeCapture:
    """An OpenCV capture device offering 1280x720 and 640x480, at 30 fps only, MJPG."""

    SIZES = ((1280, 720), (640, 480))

    def __init__(self, index: int) -> None:
        import cv2

        self.cv2 = cv2
        self.size, self.fps, self.asked = (640, 480), 30.0, [0.0, 0.0]

    def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
        return True

    def set(self, prop: int, value: float) -> bool:
        cv2 = self.cv2
        if prop in (cv2.CAP_PROP_FRAME_WIDTH, cv2.CAP_PROP_FRAME_HEIGHT):
            self.asked[prop == cv2.CAP_PROP_FRAME_HEIGHT] = value
            w, h = self.asked
            self.size = min(self.SIZES, key=lambda s: abs(s[0] - w) + abs(s[1] - h))
        return True

    def get(self, prop: int) -> float:
        cv2 = self.cv2
        if prop == cv2.CAP_PROP_FPS:
            return self.fps
        if prop == cv2.CAP_PROP_FOURCC:
            return float(fourcc("MJPG"))
        return 0.0

    def read(self) -> tuple[bool, np.ndarray]:
        return True, np.zeros((self.size[1], self.size[0], 3), np.uint8)

    def grab(self) -> bool:
        return True

    def retrieve(self) -> tuple[bool, np.ndarray]:
        return self.read()

    def release(self) -> None:
        pass


@pytest.mark.parametrize(
    ("size", "fps", "line"),
    [
        ((1280, 720), 30.0, "camera 3 delivers 1280x720 at 30 fps (MJPG)"),
        ((1920, 1080), 60.0, "camera 3 delivers 1280x720 at 30 fps (MJPG); asked for 1920x1080 at 60 fps, "
                             "which it does not offer (bridge cameras lists its modes)"),
        (None, None, "camera 3 delivers 640x480 at 30 fps (MJPG)"),
    ],
)  # fmt: skip
def test_a_camera_is_asked_for_a_mode_and_says_what_it_delivers(
    monkeypatch: pytest.MonkeyPatch, size: tuple[int, int] | None, fps: float | None, line: str
) -> None:
    monkeypatch.setattr("bridge.tracking.sources.cv2.VideoCapture", FakeCapture)
    source = CameraSource(3, size, fps)
    assert source.info.delivery == line
    frame = next(iter(source))
    delivered = tuple(int(v) for v in line.split()[3].split("x"))
    assert frame.image_size == source.info.image_size == delivered


def test_camera_options_reach_the_tracker_and_bad_sizes_are_one_line_errors(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bridge.cli.options import tracker_config_from_args

    args = cli.build_parser().parse_args(["track", "--camera-size", "1280x720", "--camera-fps", "60"])
    config = tracker_config_from_args(args)
    assert config.camera_size == (1280, 720) and config.camera_fps == 60.0
    assert parse_camera_size(" 640X480 ") == (640, 480)
    for bad in ("1280", "1280x", "x720", "wide", "99999x10"):
        with pytest.raises(BridgeError, match="WIDTHxHEIGHT"):
            parse_camera_size(bad)
    with pytest.raises(SystemExit) as exc:
        cli.build_parser().parse_args(["track", "--camera-size", "big"])
    assert exc.value.code == 2 and "--camera-size 'big'" in capsys.readouterr().err
    assert camera_delivery(0, (640, 480), None) == "camera 0 delivers 640x480 at an unreported frame rate"
