"""Square regions of a frame that a model looks at more closely (hands, face, a person far away), and how to
cut them out.

Frames: pixel coordinates of the source image (x right, y down, origin at the top-left corner); a crop's
normalised coordinates run 0..1 over its side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Crop:
    """A square region of the source image: top-left corner and side in pixels (may reach outside the image)."""

    x0_px: float
    y0_px: float
    side_px: float

    def to_image(self, xy_crop: FloatArray, image_size: tuple[int, int]) -> FloatArray:
        """(N, 2) normalised crop coordinates → (N, 2) normalised whole-image coordinates."""
        w, h = image_size
        out = np.empty_like(xy_crop)
        out[:, 0] = (self.x0_px + xy_crop[:, 0] * self.side_px) / w
        out[:, 1] = (self.y0_px + xy_crop[:, 1] * self.side_px) / h
        return out


def square(center_px: FloatArray, half_px: float) -> Crop:
    """The square of half-side ``half_px`` (at least 8 px) centred on ``center_px`` (2,) pixels."""
    half = max(float(half_px), 8.0)
    return Crop(float(center_px[0]) - half, float(center_px[1]) - half, 2.0 * half)


def cut(rgb: npt.NDArray[np.uint8], crop: Crop, out_px: int) -> npt.NDArray[np.uint8]:
    """The ``crop`` of the (H, W, 3) image resampled to (out_px, out_px, 3); outside the image is black."""
    import cv2

    s = out_px / crop.side_px
    m = np.array([[s, 0.0, -crop.x0_px * s], [0.0, s, -crop.y0_px * s]])
    interp = cv2.INTER_AREA if s < 1.0 else cv2.INTER_LINEAR
    return np.ascontiguousarray(
        cv2.warpAffine(rgb, m, (out_px, out_px), flags=interp, borderMode=cv2.BORDER_CONSTANT)
    )
