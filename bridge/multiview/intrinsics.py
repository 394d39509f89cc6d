"""Intrinsics from a checkerboard: find its inner corners in images, fit OpenCV's pinhole model to them.

Images are (H, W) uint8 grey or (H, W, 3) BGR arrays (reading files is the command line's job). The board has
``columns × rows`` inner corners ``square_m`` apart (Pose2Sim's demo board: 4 × 7, 60 mm).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from bridge.core.errors import BridgeError
from bridge.multiview.calibration import Camera

FloatArray = npt.NDArray[np.float64]

_FIND_FLAGS = cv2.CALIB_CB_ADAPTIVE_THRESH + cv2.CALIB_CB_NORMALIZE_IMAGE + cv2.CALIB_CB_FAST_CHECK
_SUBPIX = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 30, 0.001)


@dataclass(frozen=True, eq=False)
class IntrinsicsResult:
    """A fitted camera and how well it fits.

    Attributes:
        camera: the camera (its pose: the identity, at the origin; only K, dist and size are measured).
        rms_px: root-mean-square reprojection error of every corner, pixels.
        used: how many images had the board found.
        images: how many images were looked at.
    """

    camera: Camera
    rms_px: float
    used: int
    images: int


def find_board(image: npt.NDArray[np.uint8], board: tuple[int, int]) -> FloatArray | None:
    """(K, 2) sub-pixel inner corners of the ``board`` (columns, rows) in ``image``, pixels; None if not found."""
    grey = np.asarray(image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), dtype=np.uint8)
    ok, corners = cv2.findChessboardCorners(grey, board, None, flags=_FIND_FLAGS)
    if not ok:
        return None
    corners = cv2.cornerSubPix(grey, corners, (11, 11), (-1, -1), _SUBPIX)  # type: ignore[call-overload]
    return np.asarray(corners, dtype=np.float64).reshape(-1, 2)


def board_points(board: tuple[int, int], square_m: float) -> FloatArray:
    """(K, 3) the board's inner corners in its own plane (z = 0), metres, in OpenCV's corner order."""
    cols, rows = board
    grid = np.mgrid[0:cols, 0:rows].T.reshape(-1, 2) * square_m
    return np.hstack([grid, np.zeros((len(grid), 1))])


def calibrate_intrinsics(
    images: Sequence[npt.NDArray[np.uint8]], board: tuple[int, int], square_m: float, name: str = "cam"
) -> IntrinsicsResult:
    """Fit K and ``k1 k2 p1 p2 k3`` to the board seen in ``images`` (at least 3 views of it)."""
    if not images:
        raise BridgeError("no images to calibrate from; give a folder of board images or a video of the board")
    size = (int(images[0].shape[1]), int(images[0].shape[0]))
    found = [c for c in (find_board(im, board) for im in images) if c is not None]
    if len(found) < 3:
        raise BridgeError(
            f"the {board[0]}x{board[1]} board was found in {len(found)} of {len(images)} images (3 needed); "
            "check --board (inner corners, columns x rows) and that the whole board is in view"
        )
    obj = board_points(board, square_m).astype(np.float32)
    rms, k, dist, _, _ = cv2.calibrateCamera(
        [obj] * len(found), [c.astype(np.float32) for c in found], size, None, None
    )
    k_px = np.asarray(k, dtype=np.float64)
    dist5 = np.asarray(dist, dtype=np.float64).ravel()[:5]
    camera = Camera(name, size, k_px, dist5, np.eye(3), np.zeros(3))
    return IntrinsicsResult(camera, float(rms), len(found), len(images))
