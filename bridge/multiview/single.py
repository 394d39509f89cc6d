"""One camera of a calibration for a single view: ``--calibration FILE[:CAMERA]`` with one ``--input`` gives the
body-state stage that camera's intrinsics (:class:`bridge.stages.camera_model.PinholeCamera`, undistorted)."""

from __future__ import annotations

from pathlib import Path

from bridge.core.errors import BridgeError
from bridge.multiview.calibration import Calibration, Camera, read_calibration
from bridge.stages.camera_model import PinholeCamera


def pinhole_camera(camera: Camera) -> PinholeCamera:
    """The intrinsics of ``camera`` (pixels of its images; distortion left out)."""
    k = camera.K
    return PinholeCamera(float(k[0, 0]), float(k[1, 1]), float(k[0, 2]), float(k[1, 2]), camera.size)


def split_calibration_spec(spec: str | Path) -> tuple[Path, str]:
    """``FILE[:CAMERA]`` → (file, camera name or ''); a file whose own name has a colon is taken whole."""
    text = str(spec)
    if Path(text).exists() or ":" not in text:
        return Path(text), ""
    path_text, _, name = text.rpartition(":")
    return Path(path_text), name


def choose_camera(calibration: Calibration, name: str, input_name: str | None = None) -> Camera:
    """The camera called ``name``; without a name the calibration's only camera, else the one named like the
    input file (``cam01.mp4`` → ``cam01``, underscores ignored). BridgeError naming the cameras otherwise."""
    names = calibration.names
    if not name:
        stem = Path(input_name).stem.lower().replace("_", "") if input_name else ""
        matches = [c for c in names if c.lower().replace("_", "") == stem]
        name = names[0] if len(names) == 1 else (matches[0] if matches else "")
    if name not in names:
        where = calibration.source or "the calibration"
        raise BridgeError(f"{where} has cameras {', '.join(sorted(names))}; say which: --calibration FILE:NAME")
    return calibration.cameras[names.index(name)]


def load_single_camera(spec: str | Path, input_name: str | None = None) -> PinholeCamera:
    """``--calibration FILE[:CAMERA]`` for one view: that camera's intrinsics (BridgeError for a missing or
    unreadable file, or when the camera cannot be told)."""
    path, name = split_calibration_spec(spec)
    if not path.is_file():
        raise BridgeError(
            f"calibration file {path} not found; give --calibration FILE.qca.txt or FILE.toml[:CAMERA]"
        )
    return pinhole_camera(choose_camera(read_calibration(path), name, input_name))
