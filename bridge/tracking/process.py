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
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.context import SpawnProcess
from multiprocessing.synchronize import Event as EventType
from pathlib import Path
from typing import Any

from bridge.core.errors import BridgeError
from bridge.core.landmarks import LandmarkFrame
from bridge.tracking.config import TrackerConfig
from bridge.tracking.detectors import make_detector
from bridge.tracking.models import pose_model_path
from bridge.tracking.quiet import quiet_stderr
from bridge.tracking.recording import read_recording
from bridge.tracking.sources import Frame, SourceSpec, StreamInfo, open_source, parse_input, quiet_opencv

__all__ = ["LandmarkStream", "open_landmarks", "track_video_inprocess", "put_dropping_stale"]

#: Frame flag: CLOCK_MONOTONIC seconds when the frame's image was read (grab time for a camera).
READ_TIME_FLAG = "read_mono_s"
#: Frame flag: CLOCK_MONOTONIC seconds when inference on the frame finished.
DETECTED_TIME_FLAG = "detected_mono_s"
#: Flag on live frames: int, how many earlier frames the tracker dropped because the consumer was behind (the
#: machine cannot keep up); the status line shows it while streaming.
DROPPED_FLAG = "dropped_before"

#: Seconds the parent waits for the tracker process to load the model and open the source.
STARTUP_TIMEOUT_S = 120.0
#: Seconds between liveness checks while waiting on a queue.
POLL_S = 0.25
#: Seconds given to the tracker process to stop by itself before it is terminated.
STOP_GRACE_S = 3.0


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
    with open_source(spec, config.image_fps) as source, make_detector(config) as detector:
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
    if not os.environ.get("BRIDGE_TRACKER_STDERR"):  # FFmpeg/MediaPipe log lines (e.g. "[mjpeg] overread" on a
        with contextlib.suppress(OSError):  # damaged video) never reach the user: this process reports through
            devnull = os.open(os.devnull, os.O_WRONLY)  # its queues (set BRIDGE_TRACKER_STDERR=1 to see them)
            os.dup2(devnull, 2)
            os.close(devnull)
    try:
        quiet_opencv()
        with quiet_stderr():
            source = open_source(spec, config.image_fps, config.camera_size, config.camera_fps)
        detector = make_detector(config)
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
            # Clock readings for latency (CLOCK_MONOTONIC is shared by processes): when the image was read
            # (grabbed, for a camera) and when inference finished.
            item = detector.detect(frame)
            item = item.with_flags(**{READ_TIME_FLAG: read_s, DETECTED_TIME_FLAG: time.monotonic()})
            frames += 1
            if spec.live:
                dropped += put_dropping_stale(data_q, item.with_flags(**{DROPPED_FLAG: dropped}))
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
        with quiet_stderr():  # MediaPipe logs INFO lines as it tears down
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
