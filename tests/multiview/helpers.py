"""Shared test material for bridge.multiview: synthetic rings of cameras around a mocap body."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bridge.core.landmarks import LandmarkFrame, PoseLandmark
from bridge.export.bvh_file import read_bvh
from bridge.multiview.calibration import Calibration, Camera, project
from bridge.testing.mocap import mocap_landmarks

FloatArray = npt.NDArray[np.float64]

BVH = Path("/usr/share/assimp/models/BVH/01_01.bvh")


def look_at(name: str, centre_m: FloatArray, target_m: FloatArray, up: FloatArray, size=(640, 480)) -> Camera:
    """A camera at ``centre_m`` looking at ``target_m`` with image-up along ``up`` (world frame, metres)."""
    z = target_m - centre_m
    z = z / np.linalg.norm(z)
    x = np.cross(z, up)
    x = x / np.linalg.norm(x)
    y = np.cross(z, x)
    rotation = np.stack([x, y, z])
    k = np.array([[600.0, 0, size[0] / 2], [0, 600.0, size[1] / 2], [0, 0, 1]])
    dist = np.array([-0.05, 0.02, 0.0005, -0.0003, 0.0])
    return Camera(name, size, k, dist, rotation, -rotation @ centre_m)


def ring(count: int, radius_m: float = 3.5, height_m: float = 1.2) -> Calibration:
    """``count`` cameras on a ring around the origin (world: +Z up, floor at z = 0)."""
    up = np.array([0.0, 0.0, 1.0])
    cams = []
    for i in range(count):
        a = min(2 * np.pi / count, np.pi / 2) * i + 0.3
        centre = np.array([radius_m * np.cos(a), radius_m * np.sin(a), height_m])
        cams.append(look_at(f"cam{i + 1}", centre, np.array([0.0, 0.0, 0.9]), up))
    return Calibration(tuple(cams), up)


@cache
def mocap_world(frames: int = 40) -> FloatArray:
    """(F, 33, 3) landmarks of a CMU walk in a +Z-up world, feet on z = 0, metres."""
    m = mocap_landmarks(read_bvh(BVH), frames=slice(0, frames * 4, 4))
    p = m.world_xyz_m  # MediaPipe frame of its camera: x right, y down, z away
    world = np.stack([p[..., 0], p[..., 2], -p[..., 1]], axis=-1)
    world[..., 2] -= world[..., 2].min()
    return world - np.array([world[..., 0].mean(), world[..., 1].mean(), 0.0])


def view_frames(calibration: Calibration, world_m: FloatArray, fps: float = 30.0) -> list[list[LandmarkFrame]]:
    """LandmarkFrames of every camera of ``calibration`` seeing (F, 33, 3) world points exactly (monocular world
    landmarks: the points in the camera's axes, hip-centred, as MediaPipe reports them)."""
    views = []
    for cam in calibration.cameras:
        pixels = project(cam, world_m)
        cam_pts = world_m @ cam.R.T + cam.t
        hips = 0.5 * (cam_pts[:, PoseLandmark.LEFT_HIP] + cam_pts[:, PoseLandmark.RIGHT_HIP])
        size = np.asarray(cam.size, dtype=np.float64)
        views.append(
            [
                LandmarkFrame(
                    t_s=j / fps,
                    world_xyz_m=cam_pts[j] - hips[j],
                    image_xy=pixels[j] / size,
                    visibility=np.ones(33),
                    presence=np.ones(33),
                    image_size=cam.size,
                    frame_index=j,
                )
                for j in range(len(world_m))
            ]
        )
    return views
