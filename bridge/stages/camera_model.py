"""A pinhole camera, and where a body of known metric shape stands in front of it.

Frames and units:

* **camera frame**: the MediaPipe world frame's axes with the camera at the origin — x to the image's right, y
  down, z along the optical axis (away from the camera), metres. MediaPipe's world landmarks are expressed in
  these axes (only their origin is the hips instead of the camera), so a body's world landmarks plus the hips'
  camera-frame position are its camera-frame points.
* **pixels**: x right, y down, origin at the image's top-left corner.

:func:`hips_from_image` finds the hips' camera-frame position from the 2-D landmarks and the metric 3-D ones:
the translation that projects the body onto what the image shows (weighted linear least squares of the pinhole
equations ``(u − cx)·(Z + tz) = fx·(X + tx)``, same for v), so depth comes from the body's metric size.
:func:`read_qca_cameras` reads the intrinsics of a Qualisys ``.qca.txt`` calibration (Pose2Sim's demo).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bridge.core.errors import BridgeError

FloatArray = npt.NDArray[np.float64]

#: Horizontal field of view assumed for a camera nobody described (``--fov``): a typical webcam (Logitech C920
#: 70° horizontal at 16:9, laptop cameras 55–65°, phones 60–70°).
DEFAULT_FOV_DEG = 65.0


@dataclass(frozen=True)
class PinholeCamera:
    """An undistorted pinhole camera.

    Attributes:
        fx_px, fy_px: focal lengths, pixels.
        cx_px, cy_px: principal point, pixels (x right, y down from the top-left corner).
        image_size: (width, height) pixels the intrinsics are for.
    """

    fx_px: float
    fy_px: float
    cx_px: float
    cy_px: float
    image_size: tuple[int, int]

    @staticmethod
    def from_fov(image_size: tuple[int, int], fov_deg: float = DEFAULT_FOV_DEG) -> PinholeCamera:
        """A camera of horizontal field of view ``fov_deg`` (square pixels, centred principal point)."""
        if not 1.0 <= fov_deg <= 179.0:
            raise BridgeError(f"field of view {fov_deg:g}° is not a camera's; give --fov from 1 to 179 degrees")
        w, h = image_size
        f = 0.5 * w / math.tan(math.radians(fov_deg) / 2.0)
        return PinholeCamera(f, f, 0.5 * w, 0.5 * h, (int(w), int(h)))

    def for_image(self, image_size: tuple[int, int]) -> PinholeCamera:
        """The same camera for frames of another size (scaled intrinsics), e.g. a resized video."""
        if tuple(image_size) == self.image_size:
            return self
        sx, sy = image_size[0] / self.image_size[0], image_size[1] / self.image_size[1]
        size = (int(image_size[0]), int(image_size[1]))
        return PinholeCamera(self.fx_px * sx, self.fy_px * sy, self.cx_px * sx, self.cy_px * sy, size)

    def project(self, xyz_cam_m: FloatArray) -> FloatArray:
        """(..., 3) camera-frame points, metres → (..., 2) pixels."""
        p = np.asarray(xyz_cam_m, dtype=np.float64)
        z = p[..., 2]
        return np.stack([self.fx_px * p[..., 0] / z + self.cx_px, self.fy_px * p[..., 1] / z + self.cy_px], -1)

    def unproject(self, pixels_xy: FloatArray, depth_m: FloatArray | float) -> FloatArray:
        """Inverse of :meth:`project` given each point's depth z: (..., 2) pixels, (...) metres → (..., 3)."""
        px = np.asarray(pixels_xy, dtype=np.float64)
        z = np.broadcast_to(np.asarray(depth_m, dtype=np.float64), px.shape[:-1])
        x = (px[..., 0] - self.cx_px) / self.fx_px * z
        y = (px[..., 1] - self.cy_px) / self.fy_px * z
        return np.stack([x, y, z], -1)


def hips_from_image(
    camera: PinholeCamera, body_m: FloatArray, image_px: FloatArray, weights: FloatArray
) -> FloatArray | None:
    """The translation ``t`` (3,) camera frame, metres, that puts the body where the image shows it.

    Args:
        body_m: (N, 3) the body's points relative to its hips, camera axes (MediaPipe world landmarks), metres.
        image_px: (N, 2) where the image shows them, pixels.
        weights: (N,) ≥ 0, how much to trust each point (visibility).

    Returns:
        the hips' camera-frame position (``body_m + t`` are the points' camera-frame positions), or None when
        fewer than 3 points carry weight or the solution lies behind the camera.
    """
    w = np.sqrt(np.clip(np.asarray(weights, dtype=np.float64), 0.0, None))
    ok = (w > 0) & np.isfinite(image_px).all(-1) & np.isfinite(body_m).all(-1)
    if ok.sum() < 3:
        return None
    x, y, z = body_m[ok, 0], body_m[ok, 1], body_m[ok, 2]
    du = image_px[ok, 0] - camera.cx_px
    dv = image_px[ok, 1] - camera.cy_px
    # Each point gives two rows, fx·t_x − du·t_z = du·z − fx·x and fy·t_y − dv·t_z = dv·z − fy·y, weighted by
    # w (its squared weight w² in the normal equations, written out: the rows' sparsity makes them a 3 × 3
    # system of six sums; np.linalg.lstsq on the 2N × 3 rows gave the same to rounding at ten times the cost).
    fx, fy, w2 = camera.fx_px, camera.fy_px, w[ok] ** 2
    bu, bv = du * z - fx * x, dv * z - fy * y
    s_w, s_du, s_dv = w2.sum(), w2 @ du, w2 @ dv
    ata = np.array(
        [
            [fx * fx * s_w, 0.0, -fx * s_du],
            [0.0, fy * fy * s_w, -fy * s_dv],
            [-fx * s_du, -fy * s_dv, w2 @ (du * du + dv * dv)],
        ]
    )
    atb = np.array([fx * (w2 @ bu), fy * (w2 @ bv), -(w2 @ (du * bu + dv * bv))])
    try:
        t = np.linalg.solve(ata, atb)
    except np.linalg.LinAlgError:
        return None
    if not np.isfinite(t).all() or t[2] <= 0.1:
        return None
    return np.asarray(t, dtype=np.float64)
