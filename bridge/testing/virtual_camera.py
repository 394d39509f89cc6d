"""The virtual pinhole camera through which :func:`bridge.testing.mocap.mocap_landmarks` sees a mocap subject."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bridge.core.errors import BridgeError

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class VirtualCamera:
    """A pinhole camera looking horizontally at the mocap subject.

    It stands ``distance_m`` from the subject's starting position (hips midpoint at the first selected frame,
    on the floor), ``height_m`` above the floor, and looks horizontally at the vertical line through that
    position. ``yaw_deg = 0`` puts it in front of the subject as they face at the start of the clip; positive
    yaw walks it counter-clockwise seen from above, so ``yaw_deg = 90`` looks at the subject's left side and
    180 at their back. The default 4 m keeps a standing adult whole in the image: at 3 m, with a 60°
    horizontal field of view on a 16:9 image (36° vertically) and the camera 1 m up, the feet of a subject at
    the start position fall on the image's bottom edge.

    Attributes:
        yaw_deg: where the camera stands around the subject, degrees (see above).
        distance_m: horizontal distance from the subject's start position, metres.
        height_m: height of the optical centre above the floor, metres.
        hfov_deg: horizontal field of view, degrees.
        width: image width, pixels.
        height: image height, pixels.
        follow: when True the camera dollies along with the subject (it keeps its direction and its
            distance from the hips' current position on the floor), so a subject that walks far, like the
            one in CMU 01_01 who jumps 3.7 m toward the camera, stays in view; only ``image_xy``,
            ``in_image`` and ``hips_camera_m`` change, the world landmarks do not.
    """

    yaw_deg: float = 0.0
    distance_m: float = 4.0
    height_m: float = 1.0
    hfov_deg: float = 60.0
    width: int = 1280
    height: int = 720
    follow: bool = False

    def __post_init__(self) -> None:
        ok = (
            all(math.isfinite(v) for v in (self.yaw_deg, self.distance_m, self.height_m, self.hfov_deg))
            and self.distance_m > 0
            and 0 < self.hfov_deg < 180
            and self.width > 0
            and self.height > 0
        )
        if not ok:
            raise BridgeError(
                f"virtual camera {self} is not usable; distance and image size must be positive and the "
                "field of view between 0 and 180 degrees"
            )

    @property
    def focal_px(self) -> float:
        """Focal length in pixels (square pixels): ``width / 2 / tan(hfov / 2)``."""
        return self.width / 2.0 / math.tan(math.radians(self.hfov_deg) / 2.0)

    @property
    def image_size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return (self.width, self.height)

    @property
    def intrinsics(self) -> FloatArray:
        """(3, 3) float, pixels: the pinhole matrix K (principal point at the image centre)."""
        f = self.focal_px
        return np.array([[f, 0.0, self.width / 2.0], [0.0, f, self.height / 2.0], [0.0, 0.0, 1.0]])

    def project(self, points_camera_m: FloatArray, near_m: float = 0.05) -> FloatArray:
        """Normalised image coordinates (x right, y down, 0..1 inside the image) of camera-frame points.

        Args:
            points_camera_m: (..., 3) float, camera frame (x right, y down, z along the optical axis), metres.
            near_m: depths below this are clamped to it so points behind the camera stay finite.

        Returns:
            (..., 2) float, normalised image coordinates (may leave [0, 1]).
        """
        p = np.asarray(points_camera_m, dtype=np.float64)
        z = np.maximum(p[..., 2], near_m)
        f = self.focal_px
        u = (f * p[..., 0] / z + self.width / 2.0) / self.width
        v = (f * p[..., 1] / z + self.height / 2.0) / self.height
        return np.stack([u, v], axis=-1)
