"""``bridge view``: run a source of poses and show it in an Open3D window or render it headless.

Sources (:class:`~bridge.viewer.feeds.Feed`, in :mod:`bridge.viewer.feeds`): the run loop over an input in a
worker thread, VMC received over UDP (what an engine would receive), or a rig in its rest pose. With an avatar
(:attr:`ViewConfig.avatar`) the frames are drawn as the avatar skinned (:mod:`bridge.viewer.avatar`).

Threads: Open3D (window or offscreen renderer) is only ever touched by the thread that runs :func:`run_view`
(the main thread in the CLI): the renderer aborts the process when called from another thread. Workers hand
over immutable items; closing the window (or Ctrl-C) sets a stop event, the worker leaves its loop and the
tracker process is stopped by the run loop's ``with`` block; the receiver's server is shut down.

Headless (``snapshot`` / ``out_dir``): every processed frame is rendered (the worker waits for the renderer),
so images are deterministic for files and recordings; in receiver mode with ``out_dir`` every received frame
is drawn in order (they wait their turn under the CPU budget). The snapshot of an input shows its last frame
with a person (or the frame at ``snapshot_at_s``). With a window, the newest pose wins and older ones are
dropped, so a slow window never slows the pipeline.
"""

from __future__ import annotations

import time

import numpy as np

from bridge.core.errors import BridgeError
from bridge.core.pose import BonePose
from bridge.viewer.budget import CpuBudget
from bridge.viewer.compose import Composer, received_layers
from bridge.viewer.config import ViewConfig, ViewResult
from bridge.viewer.feeds import Feed, PipelineFeed, ReceiverFeed, RestFeed, ViewItem
from bridge.viewer.receiver import ReceivedFrame
from bridge.viewer.scene import CameraSpec, camera_for
from bridge.viewer.window import display_available, run_window


def make_feed(config: ViewConfig) -> Feed:
    """The feed ``config`` asks for: receiver, pipeline, or rest pose."""
    if config.listen is not None:
        idle = config.timeout_s if config.headless else None
        return ReceiverFeed(config.listen[0], config.listen[1], idle_timeout_s=idle,
                            lossless=config.out_dir is not None)  # fmt: skip
    if config.input_text is not None:
        return PipelineFeed(
            config.input_text, config.rig, config.tracker, config.processor,
            lossless=config.headless, realtime=config.realtime and not config.headless,
            max_frames=config.frames if config.headless else None, views=config.views,
            calibration=config.calibration,
        )  # fmt: skip
    return RestFeed(config.rig)


def run_view(config: ViewConfig, feed: Feed | None = None) -> ViewResult:
    """Run ``bridge view`` with ``config`` on the calling thread (window or headless); returns what was drawn."""
    feed = feed or make_feed(config)
    compose = Composer(config.options, config.avatar if config.mesh else None, config.bone_space)
    try:
        if config.headless:
            result = _run_headless(config, feed, compose)  # starts the feed once the renderer is warm
        elif not display_available():
            raise BridgeError(
                "no display to open a window on (DISPLAY is not set); render headless with --snapshot FILE.png "
                "or --frames N --out-dir DIR"
            )
        else:
            result = run_window(config, feed, _camera(config, feed), compose)  # starts the feed once it is up
        result.avatar_ms = list(compose.avatar_ms)
    finally:
        feed.close()
        error = getattr(feed, "error", None)
        if error is not None and not isinstance(error, KeyboardInterrupt):
            raise error
    return result


def _camera(config: ViewConfig, feed: Feed) -> CameraSpec:
    return camera_for(config.options.layout, feed.with_landmarks, config.rig.height_m)


def snapshot_choice(chosen: ViewItem | None, item: ViewItem, at_s: float | None) -> tuple[ViewItem, bool]:
    """The frame a snapshot shows, updated with the next ``item``, and whether it is final: the frame nearest to
    ``at_s`` seconds (final once a frame at or after it came), else the last one with a person (the last one
    while nobody has been seen)."""
    if at_s is None:
        return (item if chosen is None or item.person or not chosen.person else chosen), False
    t = item.t_s if item.t_s is not None else float("-inf")
    if t < at_s:
        return item, False
    before = chosen.t_s if chosen is not None and chosen.t_s is not None else None
    return (chosen if before is not None and at_s - before < t - at_s else item), True  # type: ignore[return-value]


def _nothing_received(feed: ReceiverFeed, timeout_s: float) -> BridgeError:
    r = feed.receiver
    return BridgeError(
        f"nothing received on {r.host}:{r.port} in {timeout_s:g} s; start the sender "
        f"(e.g. bridge stream --osc {r.host}:{r.port} --protocol vmc) or raise --timeout"
    )


def _finish_snapshot(config: ViewConfig, chosen: ViewItem | None, reached: bool, result: ViewResult) -> None:
    """Check the chosen snapshot frame against what was asked; fill in the result's snapshot fields."""
    if chosen is None:
        raise BridgeError("nothing to draw: the input had no frames; check --input")
    at = config.snapshot_at_s
    if at is not None and not reached:
        last = f"{chosen.t_s:.3f} s" if chosen.t_s is not None else "unknown"
        raise BridgeError(f"--at {at:g}: the input ends before that (its last frame is at {last}); give an "
                          "earlier time")  # fmt: skip
    result.snapshot_frame, result.snapshot_t_s = chosen.seq, chosen.t_s
    if at is None and not chosen.person and isinstance(chosen.pose, BonePose) and chosen.landmarks is not None:
        result.note = "nobody was seen in the input: the snapshot shows its last frame"


def _run_headless(config: ViewConfig, feed: Feed, compose: Composer) -> ViewResult:
    from bridge.viewer.render import OffscreenView, write_png

    result = ViewResult()
    chosen: ViewItem | None = None
    reached = False
    receiving = isinstance(feed, ReceiverFeed)
    min_interval = 1.0 / config.max_fps if receiving and config.max_fps > 0 else 0.0
    budget = CpuBudget(config.cpu_share if receiving else 0.0, min_interval)
    with OffscreenView(config.width, config.height, _camera(config, feed)) as view:
        # Warm up first (shader compilation on a software renderer costs about a second of CPU), so the first
        # received frame does not, and a receiver starts listening only once it can draw.
        view.render(compose(ViewItem(0, pose=BonePose.rest(config.rig))), hud=False)
        compose.avatar_ms.clear()  # (not a frame of the feed)
        feed.start()
        started = time.monotonic()
        while True:
            if isinstance(feed, PipelineFeed):
                feed.raise_error()
            budget.wait()  # receiver mode: then take the newest frame (or the next one, lossless)
            item = feed.next(0.05)
            if item is None:
                if (
                    isinstance(feed, ReceiverFeed)
                    and result.frames == 0
                    and (feed.done or time.monotonic() - started > config.timeout_s)
                ):
                    raise _nothing_received(feed, config.timeout_s)
                if feed.done:
                    break
                continue
            budget.start()
            if config.out_dir is not None or receiving:  # receiver mode draws what arrives, as a window would
                image = view.render(compose(item), hud=config.hud)
                if config.out_dir is not None:
                    path = config.out_dir / f"frame_{result.frames:05d}.png"
                    write_png(path, image)
                    result.images.append(path)
            budget.spent()
            result.frames += 1
            if not reached:
                chosen, reached = snapshot_choice(chosen, item, config.snapshot_at_s)
            if config.frames is not None and result.frames >= config.frames:
                break
            if config.out_dir is None and ((receiving and config.frames is None) or reached):
                break  # a snapshot of what is being received (the first frame), or the asked time is reached
        if isinstance(feed, PipelineFeed):
            feed.raise_error()
        if config.snapshot is not None:
            _finish_snapshot(config, chosen, reached, result)
            assert chosen is not None
            write_png(config.snapshot, view.render(compose(chosen), hud=config.hud))
            result.images.append(config.snapshot)
        elif chosen is None:
            raise BridgeError("nothing to draw: the input had no frames; check --input")
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


__all__ = ["RestFeed", "ViewConfig", "ViewResult", "make_feed", "received_layers", "run_view"]
