"""``bridge view``: run a source of poses and show it in an Open3D window or render it headless.

Sources (:class:`~bridge.viewer.feeds.Feed`, in :mod:`bridge.viewer.feeds`): the run loop over an input in a
worker thread, VMC received over UDP (what an engine would receive), or a rig in its rest pose.

Threads: Open3D (window or offscreen renderer) is only ever touched by the thread that runs :func:`run_view`
(the main thread in the CLI): the renderer aborts the process when called from another thread. Workers hand
over immutable items; closing the window (or Ctrl-C) sets a stop event, the worker leaves its loop and the
tracker process is stopped by the run loop's ``with`` block; the receiver's server is shut down.

Headless (``snapshot`` / ``out_dir``): every processed frame is rendered (the worker waits for the renderer),
so images are deterministic for files and recordings; with a window, the newest pose wins and older ones are
dropped, so a slow window never slows the pipeline.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bridge.app.processor import ProcessorConfig
from bridge.core.errors import BridgeError
from bridge.core.pose import BonePose
from bridge.core.rig import Rig, load_rig
from bridge.tracking.config import TrackerConfig
from bridge.viewer.feeds import Feed, PipelineFeed, ReceiverFeed, RestFeed, ViewItem
from bridge.viewer.receiver import ReceivedFrame
from bridge.viewer.scene import (
    LineLayer,
    SceneContent,
    SphereLayer,
    ViewOptions,
    camera_for,
    floor_grid,
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


def _open_window(config: ViewConfig, feed: Feed):  # type: ignore[no-untyped-def]
    """Open3D's application, a window with a scene widget and a status label, aimed like the headless camera.

    Returns (app, window, label, closed event, scene updater)."""
    import open3d as o3d
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
    cam = _camera(config, feed)
    bounds = o3d.geometry.AxisAlignedBoundingBox([-2.0, 0.0, -2.0], [2.0, 2.2, 2.0])  # the floor grid's extent
    widget.setup_camera(cam.fov_deg, bounds, list(cam.centre_m))
    widget.look_at(list(cam.centre_m), list(cam.eye_m), list(cam.up))
    return app, window, label, closed, SceneUpdater(widget.scene)


def _run_window(config: ViewConfig, feed: Feed) -> ViewResult:
    """The interactive window: Open3D's GUI on this thread, polling the feed between event ticks.

    The window stays open on the last frame after the input ends, until it is closed; with ``frames`` it
    closes itself after that many frames or when the input ends.
    """
    app, window, label, closed, updater = _open_window(config, feed)
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


__all__ = ["ViewConfig", "ViewResult", "make_feed", "run_view"]
