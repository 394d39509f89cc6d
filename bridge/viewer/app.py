"""``bridge view``: run a source of poses and show it in an Open3D window or render it headless.

Sources (:class:`Feed`):

* :class:`PipelineFeed`: a camera, a video or a recording through the same chain as ``bridge stream``
  (``open_landmarks`` → :class:`~bridge.app.stream.Processor`), in a **worker thread**;
* :class:`ReceiverFeed`: VMC over UDP (:mod:`bridge.viewer.receiver`), what an engine would receive;
* :class:`RestFeed`: a rig in its rest pose.

Threads: Open3D (window or offscreen renderer) is only ever touched by the thread that runs :func:`run_view`
(the main thread in the CLI): the renderer aborts the process when called from another thread. Workers hand
over immutable items; closing the window (or Ctrl-C) sets a stop event, the worker leaves its loop and the
tracker process is stopped by ``open_landmarks``' ``with`` block; the receiver's server is shut down.

Headless (``snapshot`` / ``out_dir``): every processed frame is rendered (the worker waits for the renderer),
so images are deterministic for files and recordings; with a window, the newest pose wins and older ones are
dropped, so a slow window never slows the pipeline.
"""

from __future__ import annotations

import contextlib
import os
import queue
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from bridge.app.processor import Processor, ProcessorConfig
from bridge.app.run import open_run
from bridge.core.errors import BridgeError
from bridge.core.landmarks import LandmarkFrame
from bridge.core.pose import BonePose
from bridge.core.rig import Rig, load_rig
from bridge.tracking.config import TrackerConfig
from bridge.viewer.receiver import ReceivedFrame, VmcReceiver
from bridge.viewer.scene import (
    LineLayer,
    SceneContent,
    SphereLayer,
    ViewOptions,
    camera_for,
    floor_grid,
    rig_layers,
    skeleton_from_world,
)


@dataclass(frozen=True)
class ViewConfig:
    """Settings of ``bridge view``.

    Attributes:
        input_text: camera / video / recording to track and solve (None: no input).
        listen: (host, port) to receive VMC on instead (receiver mode).
        rig: the rig solved onto (pipeline) or shown at rest (no input, no listen).
        tracker, processor: the pipeline's settings (as ``bridge stream``).
        options: layout, local axes, mirror, grid.
        width, height: window or image size in pixels.
        snapshot: headless: write one PNG of the last frame here.
        out_dir: headless: write ``frame_00000.png``… here, one per frame (at most ``frames``).
        frames: stop after this many frames (None: until the input ends / the sender goes quiet).
        max_fps: cap on renders per second (window and receiver mode).
        realtime: with a window, play files at their own speed.
        timeout_s: receiver mode, headless: give up when nothing arrives for this long.
        hud: write the status line (tracking state, fps) on rendered images.
        cpu_share: receiver mode: draw with at most this share of one CPU core (:class:`CpuBudget`); 0: no
            limit. Software rendering competes with the tracker for the same cores.
    """

    input_text: str | None = None
    listen: tuple[str, int] | None = None
    rig: Rig = field(default_factory=load_rig)
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    processor: ProcessorConfig = field(default_factory=ProcessorConfig)
    options: ViewOptions = field(default_factory=ViewOptions)
    width: int = 960
    height: int = 720
    snapshot: Path | None = None
    out_dir: Path | None = None
    frames: int | None = None
    max_fps: float = 30.0
    realtime: bool = True
    timeout_s: float = 10.0
    hud: bool = True
    cpu_share: float = 0.1

    @property
    def headless(self) -> bool:
        return self.snapshot is not None or self.out_dir is not None


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


def received_layers(frame: ReceivedFrame, options: ViewOptions) -> list[LineLayer | SphereLayer]:
    """The skeleton an engine would show for ``frame`` (receiver mode)."""
    names, parents, joints, rots = frame.world()
    if not names:
        return []
    lines, spheres, axes = skeleton_from_world("rig", names, parents, joints, rots, None, options.axes_m)
    out: list[LineLayer | SphereLayer] = [lines, spheres]
    return out + ([axes] if axes is not None else [])


def compose_item(item: ViewItem, options: ViewOptions) -> SceneContent:
    """The scene of one :class:`ViewItem`."""
    from bridge.viewer.scene import compose

    if item.received is not None:
        layers: list[LineLayer | SphereLayer] = [floor_grid()] if options.grid else []
        layers += received_layers(item.received, options)
        return SceneContent(
            lines=tuple(x for x in layers if isinstance(x, LineLayer)),
            spheres=tuple(x for x in layers if isinstance(x, SphereLayer)),
            status=item.status,
        )
    return compose(item.pose, item.landmarks, options, item.status)


def make_feed(config: ViewConfig) -> Feed:
    """The feed ``config`` asks for: receiver, pipeline, or rest pose."""
    if config.listen is not None:
        idle = config.timeout_s if config.headless else None
        return ReceiverFeed(config.listen[0], config.listen[1], idle_timeout_s=idle)
    if config.input_text is not None:
        return PipelineFeed(
            config.input_text, config.rig, config.tracker, config.processor,
            lossless=config.headless, realtime=config.realtime and not config.headless,
            max_frames=config.frames if config.headless else None,
        )  # fmt: skip
    return RestFeed(config.rig)


def _note(text: str) -> None:
    print(f"bridge: {text}", file=sys.stderr, flush=True)


@dataclass
class ViewResult:
    """What a headless run wrote: image paths and the number of frames drawn."""

    images: list[Path] = field(default_factory=list)
    frames: int = 0


def run_view(config: ViewConfig, feed: Feed | None = None) -> ViewResult:
    """Run ``bridge view`` with ``config`` on the calling thread (window or headless); returns what was drawn."""
    feed = feed or make_feed(config)
    try:
        if config.headless:
            return _run_headless(config, feed)  # starts the feed once the renderer is warm
        if not display_available():
            raise BridgeError(
                "no display to open a window on (DISPLAY is not set); render headless with --snapshot FILE.png "
                "or --frames N --out-dir DIR"
            )
        return _run_window(config, feed)  # starts the feed once the window is up
    finally:
        feed.close()
        error = getattr(feed, "error", None)
        if error is not None and not isinstance(error, KeyboardInterrupt):
            raise error


def _camera(config: ViewConfig, feed: Feed):  # type: ignore[no-untyped-def]
    return camera_for(config.options.layout, feed.with_landmarks, config.rig.height_m)


class CpuBudget:
    """Keeps drawing under ``share`` of one CPU core and under ``1 / min_interval_s`` frames per second.

    After each frame, the process CPU time it took (compose, render, PNG, the receiver thread) decides when the
    next one may start: a frame that cost 50 ms of CPU with ``share`` 0.1 is followed by 0.5 s without drawing.
    On a machine without a GPU, rendering runs on the same cores as the tracker; this is what keeps a
    receiver-mode viewer from slowing the stream it watches. ``share`` 0 means no CPU limit.
    """

    def __init__(self, share: float, min_interval_s: float = 0.0) -> None:
        self.share = share
        self.min_interval_s = min_interval_s
        self._next_s = 0.0
        self._t0 = 0.0
        self._cpu0 = 0.0

    def wait(self) -> None:
        delay = self._next_s - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    def ready(self) -> bool:
        return time.monotonic() >= self._next_s

    def start(self) -> None:
        self._t0, self._cpu0 = time.monotonic(), time.process_time()

    def spent(self) -> None:
        cost = time.process_time() - self._cpu0
        gap = cost / self.share if self.share > 0 else 0.0
        self._next_s = self._t0 + max(self.min_interval_s, gap)


def _run_headless(config: ViewConfig, feed: Feed) -> ViewResult:
    from bridge.viewer.render import OffscreenView, write_png

    result = ViewResult()
    last: SceneContent | None = None
    receiving = isinstance(feed, ReceiverFeed)
    min_interval = 1.0 / config.max_fps if receiving and config.max_fps > 0 else 0.0
    started = time.monotonic()
    budget = CpuBudget(config.cpu_share if receiving else 0.0, min_interval)
    with OffscreenView(config.width, config.height, _camera(config, feed)) as view:
        # Warm up first (shader compilation on a software renderer costs about a second of CPU), so the first
        # received frame does not, and a receiver starts listening only once it can draw.
        view.render(compose_item(ViewItem(0, pose=BonePose.rest(config.rig)), config.options), hud=False)
        feed.start()
        started = time.monotonic()
        while True:
            if isinstance(feed, PipelineFeed):
                feed.raise_error()
            budget.wait()  # receiver mode: then take the newest frame
            item = feed.next(0.05)
            if item is None:
                if (
                    isinstance(feed, ReceiverFeed) and result.frames == 0
                    and (feed.done or time.monotonic() - started > config.timeout_s)
                ):  # fmt: skip
                    r = feed.receiver
                    raise BridgeError(
                        f"nothing received on {r.host}:{r.port} in {config.timeout_s:g} s; start the sender "
                        f"(e.g. bridge stream --osc {r.host}:{r.port} --protocol vmc) or raise --timeout"
                    )
                if feed.done:
                    break
                continue
            budget.start()
            last = compose_item(item, config.options)
            if config.out_dir is not None or receiving:  # receiver mode draws what arrives, as a window would
                image = view.render(last, hud=config.hud)
                if config.out_dir is not None:
                    path = config.out_dir / f"frame_{result.frames:05d}.png"
                    write_png(path, image)
                    result.images.append(path)
            budget.spent()
            result.frames += 1
            if config.frames is not None and result.frames >= config.frames:
                break
            if config.out_dir is None and config.frames is None and isinstance(feed, ReceiverFeed):
                break  # a snapshot of what is being received: the first complete frame will do
        if isinstance(feed, PipelineFeed):
            feed.raise_error()
        if last is None:
            raise BridgeError("nothing to draw: the input had no frames; check --input")
        if config.snapshot is not None:
            write_png(config.snapshot, view.render(last, hud=config.hud))
            result.images.append(config.snapshot)
    return result


def display_available() -> bool:
    """Whether a window can be opened (Linux needs an X11 or Wayland display; Open3D aborts without one)."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def _run_window(config: ViewConfig, feed: Feed) -> ViewResult:
    """The interactive window: Open3D's GUI on this thread, polling the feed between event ticks.

    The window stays open on the last frame after the input ends, until it is closed; with ``frames`` it
    closes itself after that many frames or when the input ends.
    """
    import open3d.visualization.gui as gui
    import open3d.visualization.rendering as rendering

    from bridge.viewer.render import SceneUpdater

    app = gui.Application.instance
    app.initialize()
    window = app.create_window("bridge view", config.width, config.height)
    widget = gui.SceneWidget()
    widget.scene = rendering.Open3DScene(window.renderer)
    label = gui.Label("starting…")
    window.add_child(widget)
    window.add_child(label)

    def on_layout(_ctx) -> None:  # type: ignore[no-untyped-def]
        r = window.content_rect
        widget.frame = r
        label.frame = gui.Rect(r.x + 8, r.y + 6, max(r.width - 16, 1), 24)

    window.set_on_layout(on_layout)
    closed = threading.Event()

    def on_close() -> bool:
        closed.set()
        return True

    window.set_on_close(on_close)
    updater = SceneUpdater(widget.scene)
    cam = _camera(config, feed)
    import open3d as o3d

    bounds = o3d.geometry.AxisAlignedBoundingBox([-2.0, 0.0, -2.0], [2.0, 2.2, 2.0])  # the floor grid's extent
    widget.setup_camera(cam.fov_deg, bounds, list(cam.centre_m))
    widget.look_at(list(cam.centre_m), list(cam.eye_m), list(cam.up))
    result = ViewResult()
    min_interval = 1.0 / config.max_fps if config.max_fps > 0 else 0.0
    last_draw = 0.0
    ended = False
    # Receiver mode: CPU budget over whole loop iterations (the window renders inside run_one_tick).
    budget = CpuBudget(config.cpu_share if isinstance(feed, ReceiverFeed) else 0.0, min_interval)
    budget.start()
    try:
        feed.start()
        while not closed.is_set() and app.run_one_tick():
            if isinstance(feed, PipelineFeed) and feed.error is not None:
                break
            if feed.done and not ended:
                ended = True
                if config.frames is not None:
                    break
                label.text = label.text + " | input ended: close the window to quit"
            now = time.monotonic()
            if now - last_draw < min_interval or not budget.ready():
                time.sleep(0.002)
                continue
            item = feed.next(0.0 if not isinstance(feed, ReceiverFeed) else 0.001)
            if item is None:
                time.sleep(0.005)
                continue
            last_draw = now
            budget.spent()  # CPU since the previous draw (its render happened in the ticks since)
            budget.start()
            content = compose_item(item, config.options)
            updater.update(content)
            label.text = content.status
            window.post_redraw()
            result.frames += 1
            if config.frames is not None and result.frames >= config.frames:
                break
    finally:
        if not closed.is_set():
            window.close()
            for _ in range(3):
                app.run_one_tick()
    return result


def pose_world_error(received: ReceivedFrame, pose: BonePose) -> tuple[float, float]:
    """Largest joint position error (m) and local rotation error (rad) between a received frame and ``pose``
    (for tests and diagnostics: does what an engine gets match what the sender solved?)."""
    names, _, joints, _ = received.world()
    sent_joints, _ = pose.world()
    pos_err = 0.0
    rot_err = 0.0
    for i, name in enumerate(names):
        k = pose.rig.index(name)
        pos_err = max(pos_err, float(np.linalg.norm(joints[i] - sent_joints[k])))
        delta = received.bones[name].rotation * pose.local_rotations[k].inv()
        rot_err = max(rot_err, float(delta.magnitude()))
    return pos_err, rot_err


__all__ = ["ViewConfig", "run_view", "make_feed", "PipelineFeed", "ReceiverFeed", "RestFeed", "rig_layers"]
