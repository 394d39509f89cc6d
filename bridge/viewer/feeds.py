"""What ``bridge view`` draws, frame by frame: feeds of :class:`ViewItem` values, polled by the viewer's thread.

* :class:`PipelineFeed`: a camera, a video or a recording through the same chain as ``bridge stream`` (the run
  loop of :mod:`bridge.app.run`, fingers and face included), in a **worker thread**;
* :class:`ReceiverFeed`: VMC over UDP (:mod:`bridge.viewer.receiver`), what an engine would receive;
* :class:`RestFeed`: a rig in its rest pose.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bridge.app.processor import Processor, ProcessorConfig
from bridge.app.run import open_run
from bridge.core.errors import BridgeError
from bridge.core.landmarks import LandmarkFrame
from bridge.core.pose import BonePose
from bridge.core.rig import Rig
from bridge.tracking.config import TrackerConfig
from bridge.viewer.receiver import ReceivedFrame, VmcReceiver


@dataclass(frozen=True, eq=False)
class ViewItem:
    """One thing to draw: the solved pose and/or the filtered landmarks with the blend shapes the stream would
    send, or received transforms (and blend shapes); a status."""

    seq: int
    pose: BonePose | None = None
    landmarks: LandmarkFrame | None = None
    received: ReceivedFrame | None = None
    status: str = ""
    blendshapes: Mapping[str, float] | None = None

    @property
    def t_s(self) -> float | None:
        """The frame's time (the pose's, or the sender's ``/VMC/Ext/T``)."""
        if self.pose is not None:
            return self.pose.t_s
        return self.received.t_s if self.received is not None else None

    @property
    def person(self) -> bool:
        """Whether a person is in this frame (landmarks found, else a tracking pose or received tracking)."""
        if self.landmarks is not None:
            return bool(self.landmarks.person)
        if self.pose is not None:
            return bool(self.pose.tracking)
        return bool(self.received is not None and self.received.tracking)


class Feed(Protocol):
    """What :func:`run_view` polls on its own thread."""

    with_landmarks: bool

    def start(self) -> None: ...
    def next(self, timeout_s: float) -> ViewItem | None: ...
    @property
    def done(self) -> bool: ...
    def close(self) -> None: ...


class RateMeter:
    """Frames per second from the last ``window`` (time, frames counted so far) samples.

    Several frames may arrive at one instant (a receiver that was busy drawing finds a batch): :meth:`tick` takes
    their count, so the rate is frames over elapsed time, never frames over a zero interval. Until two samples
    span at least ``min_span_s``, the rate is unknown (0.0).
    """

    def __init__(self, window: int = 30, min_span_s: float = 0.05) -> None:
        self._samples: deque[tuple[float, int]] = deque(maxlen=window)
        self._total = 0
        self.min_span_s = min_span_s

    def tick(self, now_s: float | None = None, frames: int = 1) -> float:
        """Count ``frames`` frames arrived at ``now_s`` (default: now); returns :attr:`fps`."""
        now = time.monotonic() if now_s is None else now_s
        self._total += frames
        if self._samples and self._samples[-1][0] == now:
            self._samples[-1] = (now, self._total)
        else:
            self._samples.append((now, self._total))
        return self.fps

    @property
    def fps(self) -> float:
        if len(self._samples) < 2:
            return 0.0
        (t0, n0), (t1, n1) = self._samples[0], self._samples[-1]
        return (n1 - n0) / (t1 - t0) if t1 - t0 >= self.min_span_s else 0.0


class RestFeed:
    """The rig in its rest pose, once."""

    with_landmarks = False

    def __init__(self, rig: Rig) -> None:
        self.rig = rig
        self._given = False

    def start(self) -> None:
        pass

    def next(self, timeout_s: float) -> ViewItem | None:
        if self._given:
            return None
        self._given = True
        status = f"rest pose | rig {self.rig.name} ({len(self.rig)} bones)"
        return ViewItem(0, pose=BonePose.rest(self.rig), status=status)

    @property
    def done(self) -> bool:
        return self._given

    def close(self) -> None:
        pass


class PipelineFeed:
    """Track and solve ``input_text`` in a worker thread (the run loop of :mod:`bridge.app.run`, the whole chain
    including fingers and the face-driven head); hand (landmarks, pose) items to the viewer.

    ``lossless``: the worker waits until the viewer took each item (headless rendering of every frame);
    otherwise only the newest item is kept (a window never slows the pipeline).
    """

    with_landmarks = True

    def __init__(
        self,
        input_text: str,
        rig: Rig,
        tracker: TrackerConfig,
        processor: ProcessorConfig,
        lossless: bool,
        realtime: bool,
        max_frames: int | None = None,
        views: tuple[str, ...] = (),
        calibration: str | Path | None = None,
    ) -> None:
        self.input_text = input_text
        self.views = views
        self.calibration = calibration
        self.rig = rig
        self.tracker = tracker
        self.processor_config = processor
        self.lossless = lossless
        self.realtime = realtime
        self.max_frames = max_frames
        self._queue: queue.Queue[ViewItem] = queue.Queue(maxsize=2 if lossless else 1)
        self._stop = threading.Event()
        self._started = threading.Event()
        self._finished = threading.Event()
        self.error: BaseException | None = None
        self.description = input_text
        self.frames = 0
        self._thread = threading.Thread(target=self._run, name="bridge-view-pipeline", daemon=True)

    def start(self, timeout_s: float = 120.0) -> None:
        """Start the worker and wait until the input is open (so input errors surface here, as BridgeError)."""
        self._thread.start()
        while not self._started.wait(0.1):
            if self._finished.is_set() or not self._thread.is_alive():
                break
            timeout_s -= 0.1
            if timeout_s <= 0:
                raise BridgeError(f"{self.input_text} did not start within 120 s; check the input")
        self.raise_error()

    def raise_error(self) -> None:
        if self.error is not None:
            err, self.error = self.error, None
            raise err

    def _offer(self, item: ViewItem) -> bool:
        """Hand ``item`` over; False when asked to stop."""
        if self.lossless:
            while not self._stop.is_set():
                try:
                    self._queue.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False
        with contextlib.suppress(queue.Empty):
            self._queue.get_nowait()  # drop the stale one: the newest pose wins
        self._queue.put_nowait(item)
        return not self._stop.is_set()

    def _run(self) -> None:
        try:
            processor = Processor(self.rig, self.processor_config)
            with open_run(
                self.input_text, self.tracker, processor, realtime=self.realtime, max_frames=self.max_frames,
                stop=self._stop, views=self.views, calibration=self.calibration,
            ) as (info, run):  # fmt: skip
                self.description = info.description
                self._started.set()
                meter = RateMeter()
                for result in run:
                    pose = result.pose
                    assert pose is not None
                    fps = meter.tick()
                    status = (
                        f"{info.description} | {'tracking' if pose.tracking else 'no person'} | "
                        f"{f'{fps:.1f}' if fps > 0 else '-'} fps | frame {self.frames}"
                    )
                    item = ViewItem(self.frames, pose=pose, landmarks=result.landmarks, status=status,
                                    blendshapes=result.blendshapes)  # fmt: skip
                    if not self._offer(item):
                        break
                    self.frames += 1
        except BaseException as exc:  # handed to the viewer's thread, re-raised there
            self.error = exc
        finally:
            self._started.set()
            self._finished.set()

    def next(self, timeout_s: float) -> ViewItem | None:
        try:
            return self._queue.get(timeout=timeout_s)
        except queue.Empty:
            return None

    @property
    def done(self) -> bool:
        return self._finished.is_set() and self._queue.empty()

    def close(self) -> None:
        """Stop the worker (and with it the tracker process); wait for it."""
        self._stop.set()
        self._thread.join(timeout=15.0)


class ReceiverFeed:
    """VMC received on UDP: the newest complete frame whenever one arrived since the last call or, ``lossless``,
    every completed frame in order (kept by the receiver until drawn, at most :data:`LOSSLESS_HISTORY`).

    The socket is bound by :meth:`start`, once the viewer can draw (senders see "nobody listening" until then).
    """

    with_landmarks = False

    def __init__(
        self, host: str, port: int, idle_timeout_s: float | None = None, history: int = 0, lossless: bool = False
    ) -> None:
        self.host, self.port, self.lossless = host, port, lossless
        self.history = max(history, LOSSLESS_HISTORY) if lossless else history
        self._receiver: VmcReceiver | None = None
        self.idle_timeout_s = idle_timeout_s
        self._last_frame = 0
        self._pending: deque[ReceivedFrame] = deque()
        self._last_change = time.monotonic()
        self._meter = RateMeter()
        self._meter_frames = 0
        self._idle = False
        self.given = 0

    @property
    def receiver(self) -> VmcReceiver:
        if self._receiver is None:
            raise RuntimeError("ReceiverFeed.start() was not called")
        return self._receiver

    @property
    def state(self):  # type: ignore[no-untyped-def]
        return self.receiver.state

    def start(self) -> None:
        if self._receiver is None:
            self._receiver = VmcReceiver(self.host, self.port, history=self.history)
        self._last_change = time.monotonic()

    def _take(self, timeout_s: float) -> ReceivedFrame | None:
        state = self.receiver.state
        if not self._pending and not state.wait_frames(self._last_frame + 1, timeout_s):
            return None
        now = time.monotonic()
        if self.lossless:
            if not self._pending:
                self._pending.extend(state.frames_after(self._last_frame))
            frame = self._pending.popleft() if self._pending else state.snapshot()
        else:
            frame = state.snapshot()
        arrived = state.counts.frames
        if arrived > self._meter_frames:
            self._meter.tick(now, arrived - self._meter_frames)
            self._meter_frames = arrived
        self._last_frame = frame.frame
        self._last_change = now
        return frame

    def next(self, timeout_s: float) -> ViewItem | None:
        snap = self._take(timeout_s)
        if snap is None:
            if self.idle_timeout_s is not None and time.monotonic() - self._last_change > self.idle_timeout_s:
                self._idle = True
            return None
        self.given += 1
        c = self.receiver.state.counts
        tracking = {True: "tracking", False: "tracking lost", None: "no OK message"}[snap.tracking]
        fps = self._meter.fps
        status = (
            f"VMC on {self.receiver.host}:{self.receiver.port} | {tracking} | "
            f"{f'{fps:.1f}' if fps > 0 else '-'} fps received | drawn {self.given} of {c.frames} | "
            f"frame {snap.frame} | {len(snap.bones)} bones, {len(snap.blendshapes)} blend shapes | ignored: "
            f"{c.malformed_datagrams + c.malformed_messages} malformed, {c.unknown_messages} unknown"
        )
        return ViewItem(snap.frame, received=snap, status=status)

    @property
    def done(self) -> bool:
        return self._idle and not self._pending

    def close(self) -> None:
        if self._receiver is not None:
            self._receiver.close()


#: Frames a lossless receiver feed keeps until they are drawn (then the oldest are dropped).
LOSSLESS_HISTORY = 5000
