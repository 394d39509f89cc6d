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
from dataclasses import dataclass
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
    """One thing to draw: the solved pose and/or the filtered landmarks, or received transforms; a status."""

    seq: int
    pose: BonePose | None = None
    landmarks: LandmarkFrame | None = None
    received: ReceivedFrame | None = None
    status: str = ""


class Feed(Protocol):
    """What :func:`run_view` polls on its own thread."""

    with_landmarks: bool

    def start(self) -> None: ...
    def next(self, timeout_s: float) -> ViewItem | None: ...
    @property
    def done(self) -> bool: ...
    def close(self) -> None: ...


class RateMeter:
    """Frames per second over the last ``window`` frames."""

    def __init__(self, window: int = 30) -> None:
        self._times: deque[float] = deque(maxlen=window)

    def tick(self, now_s: float | None = None) -> float:
        self._times.append(time.monotonic() if now_s is None else now_s)
        return self.fps

    @property
    def fps(self) -> float:
        if len(self._times) < 2:
            return 0.0
        return (len(self._times) - 1) / max(self._times[-1] - self._times[0], 1e-9)


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
    ) -> None:
        self.input_text = input_text
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
                stop=self._stop,
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
                        f"{fps:4.1f} fps | frame {self.frames}"
                    )
                    if not self._offer(
                        ViewItem(self.frames, pose=pose, landmarks=result.landmarks, status=status)
                    ):
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
    """VMC received on UDP: the newest complete frame whenever one arrived since the last call.

    The socket is bound by :meth:`start`, once the viewer can draw (senders see "nobody listening" until then).
    """

    with_landmarks = False

    def __init__(self, host: str, port: int, idle_timeout_s: float | None = None, history: int = 0) -> None:
        self.host, self.port, self.history = host, port, history
        self._receiver: VmcReceiver | None = None
        self.idle_timeout_s = idle_timeout_s
        self._last_frame = 0
        self._last_change = time.monotonic()
        self._meter = RateMeter()
        self._idle = False

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

    def next(self, timeout_s: float) -> ViewItem | None:
        state = self.receiver.state
        if not state.wait_frames(self._last_frame + 1, timeout_s):
            if self.idle_timeout_s is not None and time.monotonic() - self._last_change > self.idle_timeout_s:
                self._idle = True
            return None
        snap = state.snapshot()
        now = time.monotonic()
        for _ in range(snap.frame - self._last_frame):
            self._meter.tick(now)
        self._last_frame = snap.frame
        self._last_change = now
        c = state.counts
        tracking = {True: "tracking", False: "tracking lost", None: "no OK message"}[snap.tracking]
        status = (
            f"VMC on {self.receiver.host}:{self.receiver.port} | {tracking} | {self._meter.fps:4.1f} fps | "
            f"frame {snap.frame} | {len(snap.bones)} bones | ignored: "
            f"{c.malformed_datagrams + c.malformed_messages} malformed, {c.unknown_messages} unknown"
        )
        return ViewItem(snap.frame, received=snap, status=status)

    @property
    def done(self) -> bool:
        return self._idle

    def close(self) -> None:
        if self._receiver is not None:
            self._receiver.close()
