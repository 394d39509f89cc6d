"""The interactive window of ``bridge view``: Open3D's GUI on the calling thread, polling a feed between ticks.

The status text is wrapped to the window's width (:func:`bridge.viewer.hud.wrap_text`) and the colour legend is
shown as one coloured label per entry at the bottom left.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from bridge.viewer.budget import CpuBudget
from bridge.viewer.config import ViewConfig, ViewResult
from bridge.viewer.feeds import Feed, PipelineFeed, ReceiverFeed, ViewItem
from bridge.viewer.hud import wrap_text
from bridge.viewer.scene import CameraSpec, SceneContent


def display_available() -> bool:
    """Whether a window can be opened (Linux needs an X11 or Wayland display; Open3D aborts without one)."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


class _Window:
    """Open3D's application, a window with a scene widget, a status label and legend labels."""

    def __init__(self, config: ViewConfig, camera: CameraSpec) -> None:
        import open3d as o3d
        import open3d.visualization.gui as gui
        import open3d.visualization.rendering as rendering

        from bridge.viewer.render import SceneUpdater

        self.gui = gui
        self.app = gui.Application.instance
        self.app.initialize()
        self.window = window = self.app.create_window("bridge view", config.width, config.height)
        widget = gui.SceneWidget()
        widget.scene = rendering.Open3DScene(window.renderer)
        self.label = gui.Label("starting…")
        window.add_child(widget)
        window.add_child(self.label)
        self.legend: list[Any] = []
        self._legend_key: tuple = ()
        self._lines = 1
        self.widget = widget

        def on_layout(_ctx) -> None:  # type: ignore[no-untyped-def]
            r = window.content_rect
            widget.frame = r
            em = window.theme.font_size
            self.label.frame = gui.Rect(r.x + 8, r.y + 6, max(r.width - 16, 1), int(em * 1.4 * self._lines) + 4)
            y = r.get_bottom() - 6
            for lab in reversed(self.legend):
                y -= int(em * 1.4)
                lab.frame = gui.Rect(r.x + 8, y, max(r.width - 16, 1), int(em * 1.4))

        window.set_on_layout(on_layout)
        self.closed = threading.Event()

        def on_close() -> bool:
            self.closed.set()
            return True

        window.set_on_close(on_close)
        bounds = o3d.geometry.AxisAlignedBoundingBox([-2.0, 0.0, -2.0], [2.0, 2.2, 2.0])  # the floor grid's extent
        widget.setup_camera(camera.fov_deg, bounds, list(camera.centre_m))
        widget.look_at(list(camera.centre_m), list(camera.eye_m), list(camera.up))
        self.updater = SceneUpdater(widget.scene)

    def show(self, content: SceneContent) -> None:
        self.updater.update(content)
        self.set_status(content.status)
        key = tuple(label for label, _ in content.legend)
        if key != self._legend_key:
            self._legend_key = key
            for lab in self.legend:
                lab.visible = False
            self.legend = []
            for label, colour in content.legend:
                lab = self.gui.Label(f"■ {label}")
                lab.text_color = self.gui.Color(*colour)
                self.window.add_child(lab)
                self.legend.append(lab)
            self.window.set_needs_layout()
        self.window.post_redraw()

    def set_status(self, text: str) -> None:
        em = max(float(self.window.theme.font_size), 1.0)
        chars = max(int((self.window.content_rect.width - 16) / (0.55 * em)), 8)
        lines = wrap_text(text, lambda line: len(line) <= chars)
        if len(lines) != self._lines:
            self._lines = max(len(lines), 1)
            self.window.set_needs_layout()
        self.label.text = "\n".join(lines)

    def close(self) -> None:
        if not self.closed.is_set():
            self.window.close()
            for _ in range(3):
                self.app.run_one_tick()


def run_window(
    config: ViewConfig, feed: Feed, camera: CameraSpec, compose: Callable[[ViewItem], SceneContent]
) -> ViewResult:
    """The interactive window: Open3D's GUI on this thread, polling the feed between event ticks.

    The window stays open on the last frame after the input ends, until it is closed; with ``frames`` it
    closes itself after that many frames or when the input ends.
    """
    win = _Window(config, camera)
    result = ViewResult()
    min_interval = 1.0 / config.max_fps if config.max_fps > 0 else 0.0
    last_draw = 0.0
    ended = False
    status = ""
    # Receiver mode: CPU budget over whole loop iterations (the window renders inside run_one_tick).
    budget = CpuBudget(config.cpu_share if isinstance(feed, ReceiverFeed) else 0.0, min_interval)
    budget.start()
    try:
        feed.start()
        while not win.closed.is_set() and win.app.run_one_tick():
            if isinstance(feed, PipelineFeed) and feed.error is not None:
                break
            if feed.done and not ended:
                ended = True
                if config.frames is not None:
                    break
                win.set_status(status + " | input ended: close the window to quit")
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
            content = compose(item)
            status = content.status
            win.show(content)
            result.frames += 1
            if config.frames is not None and result.frames >= config.frames:
                break
    finally:
        win.close()
    return result
