"""Several rendered views of one clip, and their calibration: ground truth for several cameras.

The same mocap frames (:func:`~bridge.testing.render.render_clip`) filmed by cameras at other yaws around the
body (each one backs off until the clip is in view, so they stand at different distances), frame-aligned, with
a camera TOML (:func:`~bridge.multiview.calibration.write_toml`) that says exactly where each camera is, where
the floor is (the render's world: Y up, floor y = 0) and that the videos start together (``synchronised``): what
``bridge export --input A --input B --calibration F`` needs. Each camera is named after its video, so views
match cameras by name. The first view is the reference: bridge's room frame is that camera's
(:attr:`~bridge.testing.render.RenderCamera.room_yaw_rad`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bridge.multiview.calibration import Calibration, Camera, write_toml
from bridge.testing.render import ClipSpec, RenderedClip, render_clip

#: Yaws (degrees) of the other cameras from the first, about the body: a pair of webcams each side of it.
VIEW_YAWS_DEG = (0.0, 70.0, -70.0)


def view_specs(spec: ClipSpec, yaws_deg: Sequence[float] = VIEW_YAWS_DEG) -> list[ClipSpec]:
    """``spec`` from each camera: its own yaw turned by each of ``yaws_deg`` (the first 0: ``spec`` itself)."""
    return [dataclasses.replace(spec, yaw_deg=spec.yaw_deg + float(y)) for y in yaws_deg]


def render_calibration(views: Sequence[RenderedClip]) -> Calibration:
    """The calibration of rendered views (pinhole, no distortion, world Y up, floor at 0), cameras named after
    their videos' stems."""
    cameras = []
    for rc in views:
        cam = rc.truth.camera
        size = (cam.width, cam.height)
        ext = cam.world_to_camera
        cameras.append(Camera(rc.video.stem, size, cam.intrinsics, np.zeros(5), ext[:3, :3], ext[:3, 3]))
    return Calibration(
        tuple(cameras), np.array([0.0, 1.0, 0.0]), 0.0, source="rendered views", synchronised=True
    )  # the same mocap frames: frame-aligned


def render_views(
    spec: ClipSpec, calibration_path: Path, yaws_deg: Sequence[float] = VIEW_YAWS_DEG, folder: Path | None = None
) -> list[RenderedClip]:
    """Render ``spec`` from every camera (:func:`view_specs`; cached as any render) and write their calibration
    to ``calibration_path``."""
    views = [render_clip(s, folder) for s in view_specs(spec, yaws_deg)]
    write_toml(render_calibration(views), calibration_path)
    return views
