"""Calibration files: Pose2Sim's Qualisys demo calibration, the camera TOML both ways, and broken files."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from bridge.core.errors import BridgeError
from bridge.multiview.calibration import (
    distort,
    parse_toml,
    project,
    read_calibration,
    toml_text,
    undistort,
    write_toml,
)
from tests.multiview.helpers import ring


def demo_dir() -> Path:
    spec = importlib.util.find_spec("Pose2Sim")
    assert spec is not None and spec.origin is not None
    return Path(spec.origin).parent / "Demo_SinglePerson"


QCA = demo_dir() / "calibration" / "Calib.qca.txt"


def test_qualisys_demo_calibration_reads_as_pose2sim_converts_it() -> None:
    cal = read_calibration(QCA)
    assert cal.names == ("cam01", "cam02", "cam03", "cam04")
    cam = cal.cameras[0]
    assert cam.size == (1088, 1920)
    # Pose2Sim's Calib_qualisys.toml: fx = 107599.671875 / 64, cx = 34110.316406 / 64 - 0.
    assert cam.K[0, 0] == pytest.approx(107599.671875 / 64) and cam.K[0, 2] == pytest.approx(34110.316406 / 64)
    assert cam.dist[0] == pytest.approx(-0.046183 / 64)
    np.testing.assert_allclose(cam.centre_m, [1.4602323709, -1.9091590482, 1.8965058524])
    np.testing.assert_allclose(cal.up, [0, 0, 1])
    for c in cal.cameras:
        assert np.linalg.det(c.R) == pytest.approx(1.0)
        # The middle of the capture volume (1 m above the floor's origin) is in front of every camera, in its
        # image, and the point above it is higher in the image (the world's +Z is up).
        low, high = project(c, np.array([[0.0, 0.0, 1.0], [0.0, 0.0, 1.5]]))
        assert 0 < low[0] < c.size[0] and 0 < low[1] < c.size[1]
        assert high[1] < low[1]


def test_toml_round_trip_and_pose2sim_layout(tmp_path: Path) -> None:
    cal = read_calibration(QCA)
    path = tmp_path / "calib.toml"
    write_toml(cal, path)
    text = path.read_text()
    assert '[cam_1]\nname = "cam01"\nsize = [ 1088, 1920]' in text and "[metadata]" in text
    back = read_calibration(path)
    assert back.names == cal.names
    for a, b in zip(cal.cameras, back.cameras, strict=True):
        np.testing.assert_allclose(a.K, b.K)
        np.testing.assert_allclose(a.R, b.R, atol=1e-12)
        np.testing.assert_allclose(a.t, b.t, atol=1e-12)
        np.testing.assert_allclose(a.dist, b.dist)


def test_a_synchronised_rig_says_so_in_its_toml() -> None:
    """``[metadata] synchronised = true`` (videos that start together: the files are not synchronised from the
    motion) survives a round trip; a file without it is not synchronised; a wrong value is one line."""
    cal = dataclasses.replace(ring(2), synchronised=True)
    assert parse_toml(toml_text(cal)).synchronised
    assert not parse_toml(toml_text(ring(2))).synchronised
    with pytest.raises(BridgeError, match="synchronised must be true or false"):
        parse_toml(toml_text(cal).replace("synchronised = true", 'synchronised = "yes"'))


def test_anipose_style_toml_without_metadata_guesses_up_from_the_cameras() -> None:
    cal = ring(3)
    text = toml_text(cal).split("[metadata]")[0].replace("fisheye = false\n", "")
    back = parse_toml(text, "anipose.toml")
    assert back.up @ np.array([0.0, 0.0, 1.0]) > 0.95  # cameras look slightly down, image-up ≈ world up


def test_undistort_inverts_distort() -> None:
    cam = ring(1).cameras[0]
    xy = np.random.default_rng(1).uniform(-0.5, 0.5, size=(50, 2))
    np.testing.assert_allclose(undistort(cam, distort(cam, xy)), xy, atol=1e-9)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[cam_1\nname=1", "not valid TOML"),
        ("[metadata]\nadjusted = false\n", "no camera tables"),
        ('[cam_1]\nname = "a"\nsize = [1, 2]\nmatrix = [[1, 0, 0], [0, 1, 0]]\nrotation = [0, 0, 0]\n'
         "translation = [0, 0, 0]\n", "'matrix' must be (3, 3)"),
        ('[cam_1]\nname = "a"\nsize = [1, 2]\nmatrix = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]\n'
         "translation = [0, 0, 0]\n", "no 'rotation'"),
        ("".join(f'[cam_{i}]\nname = "a"\nsize = [1, 2]\nmatrix = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]\n'
                 "rotation = [0, 0, 0]\ntranslation = [0, 0, 0]\n" for i in (1, 2)), "names a camera twice"),
    ],
)  # fmt: skip
def test_broken_toml_is_one_line_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(BridgeError, match=message.replace("(", r"\(").replace(")", r"\)")) as err:
        read_calibration(path)
    assert "\n" not in str(err.value)


def test_fewer_cameras_than_inputs_and_unknown_names() -> None:
    cal = read_calibration(QCA)
    with pytest.raises(BridgeError, match="names 4 camera"):
        cal.for_views(5)
    assert cal.for_views(2, ["cam03", "cam01"]).names == ("cam03", "cam01")
    assert cal.for_views(2).names == ("cam01", "cam02")
    with pytest.raises(BridgeError, match="no camera named 'cam09'"):
        cal.select(["cam09"])
    with pytest.raises(BridgeError, match="cannot read calibration"):
        read_calibration(QCA.with_name("missing.toml"))


def test_a_toml_without_floor_leaves_it_to_the_feet(tmp_path: Path) -> None:
    cal = ring(2)
    text = toml_text(cal).replace("floor_m = 0.0\n", "")
    back = parse_toml(text, "no-floor.toml")
    assert not back.floor_known and "floor_m" not in toml_text(back)
    assert parse_toml(toml_text(cal)).floor_known
