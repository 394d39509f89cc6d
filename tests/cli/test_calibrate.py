"""``bridge calibrate``: Pose2Sim's demo calibration converted, intrinsics from its checkerboard images."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bridge.cli.main import main
from bridge.multiview.calibration import read_calibration
from tests.multiview.demo import demo_dir

CALIB = demo_dir() / "calibration"


def test_convert_writes_a_toml_that_reads_back(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "calib.toml"
    assert main(["calibrate", "convert", str(CALIB / "Calib.qca.txt"), "-o", str(out)]) == 0
    assert read_calibration(out).names == ("cam01", "cam02", "cam03", "cam04")
    assert main(["calibrate", "convert", str(CALIB / "Calib.qca.txt"), "-o", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err


def test_intrinsics_from_the_demo_board_match_qualisys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cam01.toml"
    args = ["calibrate", "intrinsics", str(CALIB / "intrinsics" / "int_cam01_img"), "--board", "4x7"]
    assert main([*args, "--square-mm", "60", "--compare", str(CALIB / "Calib.qca.txt"), "-o", str(out)]) == 0
    text = capsys.readouterr().out
    rms = float(re.search(r"reprojection error ([0-9.]+) px", text).group(1))  # type: ignore[union-attr]
    percent = float(re.search(r"\(([-+0-9.]+) %\)", text).group(1))  # type: ignore[union-attr]
    assert rms < 1.0 and abs(percent) < 3.0
    assert read_calibration(out).cameras[0].name == "cam01"


def test_intrinsics_with_the_wrong_board_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image = CALIB / "intrinsics" / "int_cam01_img" / "cam01_01_int.jpg"
    (tmp_path / image.name).write_bytes(image.read_bytes())
    assert main(["calibrate", "intrinsics", str(tmp_path), "--board", "5x9"]) == 2
    err = capsys.readouterr().err
    assert "board was found in 0 of 1 images" in err and err.count("\n") == 1
