"""One camera of a calibration for a single view (``--calibration FILE[:CAMERA]`` with one ``--input``)."""

import pytest

from bridge.core.errors import BridgeError
from bridge.multiview.single import load_single_camera


def test_pose2sim_toml_calibration_and_choosing_a_camera(tmp_path) -> None:  # type: ignore[no-untyped-def]
    toml = tmp_path / "calib.toml"
    toml.write_text(
        "[cam_01]\nsize = [1768, 994]\nmatrix = [[2520.0, 0.0, 884.0], [0.0, 2510.0, 497.0], [0.0, 0.0, 1.0]]\n"
        "distortions = [0.0, 0.0, 0.0, 0.0]\nrotation = [0.0, 0.0, 0.0]\ntranslation = [0.0, 0.0, 3.0]\n"
        "[cam_02]\nsize = [640, 480]\nmatrix = [[500.0, 0.0, 320.0], [0.0, 500.0, 240.0], [0.0, 0.0, 1.0]]\n"
        "distortions = [0.0, 0.0, 0.0, 0.0]\nrotation = [0.0, 0.0, 0.0]\ntranslation = [0.0, 0.0, 3.0]\n"
        "[metadata]\nadjusted = false\n"
    )
    cam = load_single_camera(f"{toml}:cam_01")
    assert (cam.fx_px, cam.fy_px, cam.cx_px, cam.cy_px, cam.image_size) == (
        2520.0,
        2510.0,
        884.0,
        497.0,
        (1768, 994),
    )
    assert load_single_camera(str(toml), "videos/cam02.mp4").fx_px == 500.0  # named like the input
    with pytest.raises(BridgeError, match="cam_01, cam_02; say which"):
        load_single_camera(str(toml), "other.mp4")
    with pytest.raises(BridgeError, match="not found"):
        load_single_camera(str(tmp_path / "missing.toml"))
    # a resized video: the intrinsics scale with it
    assert cam.for_image((884, 497)).fx_px == pytest.approx(1260.0)
