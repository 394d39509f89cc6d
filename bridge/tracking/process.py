"""The tracker: MediaPipe PoseLandmarker in its own process, handing one :class:`LandmarkFrame` per frame.

Why a process: inference takes most of a core; running it in a separate process (``spawn`` start method, the
safe one with MediaPipe's threads) keeps the consumer — filter, solver, OSC, viewer — responsive and lets a
crash in native code end with a message instead of taking the program down. The tracker process opens the
source itself (camera, video, image folder), so images never cross the process boundary; only small
LandmarkFrames (about 2 KB pickled, below the pipe's atomic-write size) travel over a ``multiprocessing`` queue.

Delivery:

* live input (camera): a bounded queue (``live_queue_size``, default 2). When the consumer falls behind, the
  tracker removes the stalest waiting frame before adding the newest one, so latency stays bounded; the
  number of dropped frames is counted (:attr:`LandmarkStream.dropped_frames`).
* files (video, image folder, the demo): every frame, in order (blocking put).

For files the tracker process decodes in a background thread a few frames ahead of inference (OpenCV releases
the GIL while decoding). Measured by ``bench/bench_tracker.py`` on a 2-core machine, Sports2D demo (1768x994):
bare in-process loop over pre-decoded frames ≈ 54 fps, bare loop decoding as it goes ≈ 34 fps, this pipeline
≈ 43 fps received by the consumer (ratio 0.79 to the pre-decoded loop: decoding costs ~5 ms of CPU per frame
that two busy cores cannot hide; 1.26 to the decoding loop).

Stopping: leaving the ``with open_landmarks(...)`` block — normally, by an exception, by Ctrl-C, or by closing
the iterator early — sets a stop event, drains the queue, joins the process with a timeout and terminates
(then kills) it if needed. The tracker process ignores SIGINT (the parent decides when to stop) and stops by
itself if its parent disappears. If the tracker process dies (killed, crashed), the consumer gets a one-line
:class:`BridgeError` within about a second instead of waiting forever: every queue wait has a timeout followed
by an ``is_alive`` check. Errors at start-up in the tracker process (bad model, unreadable video, no camera)
reach the parent as the same one-line BridgeError.

Model and timestamps: PoseLandmarker (Tasks API) in ``RunningMode.VIDEO``, ``num_poses=1``, fed integer
millisecond timestamps derived from the frame timestamps (strictly increasing). ``pose_world_landmarks`` →
``world_xyz_m``, ``pose_landmarks`` → ``image_xy``, per-landmark ``visibility`` and ``presence``; a frame
without a detection is an explicit :meth:`LandmarkFrame.no_person`.

What MediaPipe already smooths (measured, mediapipe 1.2.2, pose_landmarker_full, Sports2D demo, 230 frames):
in VIDEO mode the landmarker tracks the region of interest from the previous frame's landmarks (detector only
when tracking is lost) **and filters the landmarks over time with a timestamp-driven filter**. Feeding the same
frames with different timestamp spacing changes the output: 33 ms (true 30 fps) vs 10 s spacing — world
landmarks identical on only 1 of 221 frames (the first), median per-frame max difference 3.6 cm, max 28 cm;
33 ms vs 1 ms spacing — median 22 cm (heavy lag). IMAGE mode (independent detection per frame) found a person
on only 137 of 230 frames (VIDEO mode: 221) and agreed with VIDEO mode on 1 of the 43 frames where both found
the same person. A prior measurement elsewhere reported VIDEO == IMAGE on 399 of 400 frames; that does not
hold for this version. Consequences: (1) timestamps given to MediaPipe must be real (presentation time for
files, grab time for cameras) — they are; (2) MediaPipe's built-in smoothing is light at real frame rates and
cannot be configured, and bridge's own One-Euro filter (:mod:`bridge.stages.filter`) is the one in control of
jitter vs. lag on top of it. ``bench/bench_tracker.py --smoothing`` repeats the measurement.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.context import SpawnProcess
from multiprocessing.synchronize import Event as EventType
from pathlib import Path
from typing import Any

import numpy as np

from bridge.core.errors import BridgeError
from bridge.core.landmarks import NUM_LANDMARKS, LandmarkFrame
from bridge.tracking.models import model_load_error, pose_model_path
from bridge.tracking.recording import read_recording
from bridge.tracking.sources import Frame, SourceSpec, StreamInfo, open_source, parse_input, quiet_opencv

__all__ = [
    "TrackerConfig",
    "StreamInfo",
    "LandmarkStream",
    "PoseDetector",
    "open_landmarks",
    "track_video_inprocess",
    "put_dropping_stale",
]

#: Frame flag: CLOCK_MONOTONIC seconds when the frame's image was read (grab time for a camera).
READ_TIME_FLAG = "read_mono_s"
#: Frame flag: CLOCK_MONOTONIC seconds when inference on the frame finished.
DETECTED_TIME_FLAG = "detected_mono_s"

#: Seconds the parent waits for the tracker process to load the model and open the source.
STARTUP_TIMEOUT_S = 120.0
#: Seconds between liveness checks while waiting on a queue.
POLL_S = 0.25
#: Seconds given to the tracker process to stop by itself before it is terminated.
STOP_GRACE_S = 3.0


@dataclass(frozen=True)
class TrackerConfig:
    """Settings of the tracker stage.

    Attributes:
        model_path: pose landmarker ``.task`` file; None = the bundled ``pose_landmarker_full.task``.
        min_detection_confidence: MediaPipe ``min_pose_detection_confidence`` in [0, 1].
        min_presence_confidence: MediaPipe ``min_pose_presence_confidence`` in [0, 1].
        min_tracking_confidence: MediaPipe ``min_tracking_confidence`` in [0, 1].
        live_queue_size: frames that may wait for the consumer on live input before the stalest is dropped.
        image_fps: frames per second assigned to an image folder (timestamps ``index / image_fps``).
        realtime: files only: read each frame at its presentation time, as a camera would deliver it, instead
            of as fast as inference goes (``bridge stream`` of a video plays at the video's speed).
        track: which models run: "body" always, "hands" and/or "face" added by ``--track`` (see
            :mod:`bridge.tracking.hand_face_detector`); their results ride in ``LandmarkFrame.hands`` / ``.face``.
    """

    model_path: Path | None = None
    min_detection_confidence: float = 0.5
    min_presence_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    live_queue_size: int = 2
    image_fps: float = 30.0
    realtime: bool = False
    track: tuple[str, ...] = ("body",)


def _make_detector(config: TrackerConfig) -> Any:
    """PoseDetector for the body alone; with hands/face,
    :class:`bridge.tracking.hand_face_detector.VtuberDetector`."""
    if "hands" not in config.track and "face" not in config.track:
        return PoseDetector(config)
    from bridge.tracking.hand_face_detector import make_detector

    return make_detector(config)


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for the block: MediaPipe/TFLite print INFO/WARNING lines at load."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class PoseDetector:
    """MediaPipe PoseLandmarker (VIDEO mode, one pose) turning :class:`Frame` values into LandmarkFrames.

    Create it in the process that uses it. ``close()`` releases the native graph (also via ``with``).
    """

    def __init__(self, config: TrackerConfig = TrackerConfig()) -> None:
        model = pose_model_path(config.model_path)
        import mediapipe as mp
        from mediapipe.tasks.python import BaseOptions, vision

        self._mp = mp
        options = vision.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(model)),
            running_mode=vision.RunningMode.VIDEO,
            num_poses=1,
            min_pose_detection_confidence=config.min_detection_confidence,
            min_pose_presence_confidence=config.min_presence_confidence,
            min_tracking_confidence=config.min_tracking_confidence,
        )
        try:
            with _quiet_stderr():
                self._landmarker = vision.PoseLandmarker.create_from_options(options)
        except Exception as exc:  # MediaPipe raises RuntimeError/FileNotFoundError/ValueError for bad bundles
            raise model_load_error(model, exc) from exc
        self._last_ms = -1

    def detect(self, frame: Frame) -> LandmarkFrame:
        """Landmarks of the most prominent person in ``frame``, or an explicit no-person frame."""
        import cv2

        ms = int(round(frame.t_s * 1000.0))
        if ms <= self._last_ms:
            ms = self._last_ms + 1  # MediaPipe requires strictly increasing timestamps
        self._last_ms = ms
        rgb = cv2.cvtColor(frame.image_bgr, cv2.COLOR_BGR2RGB)
        image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=rgb)
        with _quiet_stderr():  # MediaPipe logs W0000 lines when it first tracks an ROI
            result = self._landmarker.detect_for_video(image, ms)
        return landmark_frame_from_result(result, frame.t_s, frame.image_size, frame.frame_index)

    def close(self) -> None:
        """Release the MediaPipe graph (idempotent)."""
        landmarker = getattr(self, "_landmarker", None)
        if landmarker is not None:
            self._landmarker = None
            with _quiet_stderr():  # mediapipe ≥ 1.2.3 logs INFO lines (DestroyAccelerator) as it tears down
                landmarker.close()

    def __enter__(self) -> PoseDetector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def landmark_frame_from_result(
    result: Any, t_s: float, image_size: tuple[int, int], frame_index: int
) -> LandmarkFrame:
    """Convert a MediaPipe ``PoseLandmarkerResult`` (first pose only) into a :class:`LandmarkFrame`."""
    if not result.pose_world_landmarks or not result.pose_landmarks:
        return LandmarkFrame.no_person(t_s, image_size, frame_index)
    world = result.pose_world_landmarks[0]
    norm = result.pose_landmarks[0]
    if len(world) != NUM_LANDMARKS or len(norm) != NUM_LANDMARKS:
        raise BridgeError(f"the pose model returned {len(world)} landmarks, expected {NUM_LANDMARKS}")
    world_xyz_m = np.array([(p.x, p.y, p.z) for p in world], dtype=np.float64)
    image_xy = np.array([(p.x, p.y) for p in norm], dtype=np.float64)
    visibility = np.array([p.visibility if p.visibility is not None else 0.0 for p in norm], dtype=np.float64)
    presence = np.array([p.presence if p.presence is not None else 0.0 for p in norm], dtype=np.float64)
    return LandmarkFrame(
        t_s=float(t_s),
        world_xyz_m=world_xyz_m,
        image_xy=image_xy,
        visibility=visibility,
        presence=presence,
        image_size=(int(image_size[0]), int(image_size[1])),
        person=True,
        frame_index=int(frame_index),
    )


def track_video_inprocess(
    path: Path | str, config: TrackerConfig = TrackerConfig(), max_frames: int | None = None
) -> tuple[StreamInfo, list[LandmarkFrame]]:
    """Track every frame of a video / image folder / the demo (``path`` is an input string) in this process.

    For tests and benchmarks; the product path is :func:`open_landmarks` (tracker in its own process).
    """
    spec = parse_input(str(path))
    if spec.kind in ("camera", "recording"):
        raise BridgeError(f"track_video_inprocess takes a video or image folder, not {spec.kind} input {path}")
    frames: list[LandmarkFrame] = []
    with open_source(spec, config.image_fps) as source, _make_detector(config) as detector:
        for frame in source:
            if max_frames is not None and len(frames) >= max_frames:
                break
            frames.append(detector.detect(frame))
        return source.info, frames


# --------------------------------------------------------------------------------------------------------------
# Tracker process


def put_dropping_stale(q: Any, item: object, attempts: int = 20) -> int:
    """Put ``item`` on the bounded queue ``q`` without blocking, removing the oldest waiting items if it is full.

    Returns how many items were dropped to make room. Used by the tracker on live input so that the consumer
    always gets the most recent frames.
    """
    dropped = 0
    for _ in range(attempts):
        try:
            q.put_nowait(item)
            return dropped
        except queue.Full:
            try:
                q.get_nowait()
                dropped += 1
            except queue.Empty:
                time.sleep(0.001)  # items are still in the queue's feeder thread; retry
    return dropped + 1  # could not make room: the new item is dropped instead


@dataclass(frozen=True)
class _Startup:
    info: StreamInfo


@dataclass(frozen=True)
class _Failure:
    message: str


@dataclass(frozen=True)
class _End:
    frames: int
    dropped: int


class _Prefetch:
    """Iterate a frame source in a background thread, ``depth`` frames ahead.

    OpenCV releases the GIL while decoding, so decoding the next frame overlaps with inference on this one
    (on the demo video decoding is ~20 % of the work). Exceptions from the source are re-raised in the caller.
    """

    _END = object()

    def __init__(self, frames: Iterator[Frame], depth: int = 4) -> None:
        self._q: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(frames,), name="bridge-decode", daemon=True)
        self._thread.start()

    def _run(self, frames: Iterator[Frame]) -> None:
        item: object = self._END
        try:
            for frame in frames:
                while not self._stop.is_set():
                    try:
                        self._q.put(frame, timeout=POLL_S)
                        break
                    except queue.Full:
                        continue
                if self._stop.is_set():
                    return
        except BaseException as exc:  # handed to the consumer thread
            item = exc
        while not self._stop.is_set():
            try:
                self._q.put(item, timeout=POLL_S)
                return
            except queue.Full:
                continue

    def __iter__(self) -> Iterator[Frame]:
        while True:
            item = self._q.get()
            if item is self._END:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, Frame)
            yield item

    def close(self) -> None:
        """Stop the reader thread and wait for it (it must not read a released capture)."""
        self._stop.set()
        self._thread.join(timeout=5.0)


def _parent_alive() -> bool:
    parent = multiprocessing.parent_process()
    return parent is None or parent.is_alive()


def _tracker_main(
    spec: SourceSpec,
    config: TrackerConfig,
    control_q: Any,
    data_q: Any,
    stop: EventType,
) -> None:
    """Entry point of the tracker process: open source and model, then detect and send until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is handled by the parent, which stops us
    # Inference keeps every core busy; a lower priority lets the consumer's short per-frame work (filter, solve,
    # encode, send) run at once when a frame arrives, instead of queueing behind MediaPipe's threads.
    with contextlib.suppress(OSError):
        os.nice(int(os.environ.get("BRIDGE_TRACKER_NICE", "10")))
    try:
        quiet_opencv()
        with _quiet_stderr():
            source = open_source(spec, config.image_fps)
        detector = _make_detector(config)
    except BridgeError as exc:
        control_q.put(_Failure(str(exc)))
        return
    except Exception as exc:  # unexpected: still one line for the user
        control_q.put(_Failure(f"the tracker could not start: {type(exc).__name__}: {exc}"))
        return
    control_q.put(_Startup(source.info))
    frames = dropped = 0
    # Files: decode ahead in a thread. Live: read synchronously, so each frame is as fresh as possible.
    prefetch = None if spec.live else _Prefetch(iter(source))
    try:
        clock_offset: float | None = None
        for frame in prefetch if prefetch is not None else source:
            if stop.is_set() or not _parent_alive():
                return
            if config.realtime and not spec.live:
                if clock_offset is None:
                    clock_offset = time.monotonic() - frame.t_s
                delay = clock_offset + frame.t_s - time.monotonic()
                if delay > 0 and stop.wait(delay):
                    return
            read_s = frame.t_s if spec.live else time.monotonic()
            item = detector.detect(frame)
            # Clock readings for latency (CLOCK_MONOTONIC is shared by processes): when the image was read
            # (grabbed, for a camera) and when inference finished.
            item.flags[READ_TIME_FLAG] = read_s
            item.flags[DETECTED_TIME_FLAG] = time.monotonic()
            frames += 1
            if spec.live:
                dropped += put_dropping_stale(data_q, item)
            else:
                while not stop.is_set():
                    try:
                        data_q.put(item, timeout=POLL_S)
                        break
                    except queue.Full:
                        if not _parent_alive():
                            return
        _put_until_stopped(data_q, _End(frames, dropped), stop)
    except BridgeError as exc:
        _put_until_stopped(data_q, _Failure(str(exc)), stop)
    except Exception as exc:
        _put_until_stopped(data_q, _Failure(f"the tracker failed: {type(exc).__name__}: {exc}"), stop)
    finally:
        if prefetch is not None:
            prefetch.close()
        with _quiet_stderr():  # MediaPipe logs INFO lines as it tears down
            detector.close()
        source.close()
        # Stay until the parent is done reading (it sets ``stop`` when its block ends), so that the queue's
        # feeder thread delivers every frame; then never block exit on items nobody will read.
        while not stop.wait(POLL_S) and _parent_alive():
            pass
        data_q.cancel_join_thread()


def _put_until_stopped(q: Any, item: object, stop: EventType) -> None:
    while not stop.is_set() and _parent_alive():
        try:
            q.put(item, timeout=POLL_S)
            return
        except queue.Full:
            continue


class LandmarkStream:
    """Iterator over the LandmarkFrames sent by the tracker process (see :func:`open_landmarks`).

    Attributes:
        frames_received: frames handed to the consumer so far.
        dropped_frames: live frames the tracker dropped because the consumer was behind (known at the end).
        pid: process id of the tracker process.
    """

    def __init__(self, process: SpawnProcess, data_q: Any) -> None:
        self._process = process
        self._q = data_q
        self.frames_received = 0
        self.dropped_frames = 0
        self.pid = process.pid
        self._done = False

    def __iter__(self) -> LandmarkStream:
        return self

    def __next__(self) -> LandmarkFrame:
        if self._done:
            raise StopIteration
        while True:
            try:
                item = self._q.get(timeout=POLL_S)
            except queue.Empty:
                if self._process.is_alive():
                    continue
                try:  # it may have sent its last items just before it exited
                    item = self._q.get(timeout=POLL_S)
                except queue.Empty:
                    self._done = True
                    code = self._process.exitcode
                    raise BridgeError(
                        f"the tracker process stopped unexpectedly (exit code {code}) after "
                        f"{self.frames_received} frames; see messages above, or retry"
                    ) from None
            if isinstance(item, LandmarkFrame):
                self.frames_received += 1
                return item
            self._done = True
            if isinstance(item, _End):
                self.dropped_frames = item.dropped
                raise StopIteration
            if isinstance(item, _Failure):
                raise BridgeError(item.message)
            raise BridgeError(f"the tracker sent an unexpected message: {item!r}")


class _RecordingStream:
    """Iterator over a recording's frames with the same attributes as :class:`LandmarkStream`."""

    def __init__(self, frames: Iterator[LandmarkFrame]) -> None:
        self._frames = frames
        self.frames_received = 0
        self.dropped_frames = 0
        self.pid: int | None = None

    def __iter__(self) -> _RecordingStream:
        return self

    def __next__(self) -> LandmarkFrame:
        frame = next(self._frames)
        self.frames_received += 1
        return frame


def _wait_for_startup(process: SpawnProcess, control_q: Any, timeout_s: float) -> StreamInfo:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            msg = control_q.get(timeout=POLL_S)
        except queue.Empty:
            if not process.is_alive():
                try:
                    msg = control_q.get(timeout=POLL_S)
                except queue.Empty:
                    raise BridgeError(
                        f"the tracker process exited while starting (exit code {process.exitcode})"
                    ) from None
            elif time.monotonic() > deadline:
                raise BridgeError(
                    f"the tracker did not start within {timeout_s:.0f} s (model loading or the input is stuck)"
                ) from None
            else:
                continue
        if isinstance(msg, _Startup):
            return msg.info
        if isinstance(msg, _Failure):
            raise BridgeError(msg.message)
        raise BridgeError(f"the tracker sent an unexpected message at start-up: {msg!r}")


def _stop_process(process: SpawnProcess, stop: EventType, queues: tuple[Any, ...]) -> None:
    """Stop the tracker process for sure: ask, drain its queues while it finishes, terminate, kill."""
    stop.set()
    deadline = time.monotonic() + STOP_GRACE_S
    while process.is_alive() and time.monotonic() < deadline:
        for q in queues:
            with contextlib.suppress(queue.Empty, OSError, EOFError, ValueError):
                while True:
                    q.get_nowait()
        process.join(timeout=0.05)
    if process.is_alive():
        process.terminate()
        process.join(timeout=STOP_GRACE_S)
    if process.is_alive():
        process.kill()
        process.join(timeout=STOP_GRACE_S)
    for q in queues:
        q.cancel_join_thread()
        q.close()
    with contextlib.suppress(ValueError):
        process.close()


@contextmanager
def open_landmarks(
    input_text: str | None, config: TrackerConfig = TrackerConfig()
) -> Iterator[tuple[StreamInfo, Iterator[LandmarkFrame]]]:
    """Track ``input_text`` (see :mod:`bridge.tracking.sources`) and yield ``(info, frames)``.

    ``frames`` yields one :class:`LandmarkFrame` per tracked frame (a no-person frame when nothing was found)
    and is a :class:`LandmarkStream` (``dropped_frames``, ``frames_received``, ``pid``). The tracker runs in its
    own process, started here and always stopped when the block ends. A recording input is replayed directly
    (no process, no model). Raises :class:`BridgeError` for any input/model problem, at start-up or later.
    """
    spec = parse_input(input_text)
    if spec.kind == "recording":
        assert spec.path is not None
        header, frames = read_recording(spec.path)
        info = StreamInfo(
            description=f"recording {spec.path.name} ({header.source})" if header.source else spec.path.name,
            live=False,
            fps=header.fps,
            frame_count=None,
            image_size=header.image_size,
            is_demo=False,
        )
        try:
            yield info, _RecordingStream(frames)
        finally:
            close = getattr(frames, "close", None)
            if close is not None:
                close()
        return
    pose_model_path(config.model_path)  # fail fast, before starting a process, on a missing or bad model
    ctx = multiprocessing.get_context("spawn")
    control_q = ctx.Queue()
    data_q = ctx.Queue(maxsize=max(1, config.live_queue_size) if spec.live else 8)
    stop = ctx.Event()
    process = ctx.Process(
        target=_tracker_main,
        args=(spec, config, control_q, data_q, stop),
        name="bridge-tracker",
        daemon=True,
    )
    process.start()
    try:
        info = _wait_for_startup(process, control_q, STARTUP_TIMEOUT_S)
        yield info, LandmarkStream(process, data_q)
    finally:
        _stop_process(process, stop, (data_q, control_q))
