"""Several inputs: frames paired by time, version-2 recordings (views, calibration, placement), the errors, and
Pose2Sim's demo recorded from two views then replayed through export unchanged."""

from __future__ import annotations

import contextlib
import json
import socket
from pathlib import Path

import numpy as np
import pytest

from bridge.app.multiview import pair_by_time
from bridge.cli.main import main
from bridge.core.landmarks import LandmarkFrame, Placement
from bridge.multiview.calibration import calibration_from_json, calibration_to_json, read_calibration, write_toml
from bridge.tracking.recording import RecordingHeader, RecordingWriter, read_recording
from tests.multiview.demo import demo_dir, demo_video
from tests.multiview.helpers import ring

QCA = demo_dir() / "calibration" / "Calib.qca.txt"


def _frame(t_s: float) -> LandmarkFrame:
    return LandmarkFrame.no_person(t_s, (64, 48))


def test_live_frames_are_paired_by_timestamp_and_stale_ones_dropped() -> None:
    a = iter([_frame(t) for t in (0.00, 0.033, 0.066, 0.100)])
    b = iter([_frame(t) for t in (0.030, 0.064, 0.099)])  # b started a frame late
    pairs = [[round(f.t_s, 3) for f in p] for p in pair_by_time([a, b], tolerance_s=0.015)]
    assert pairs == [[0.033, 0.03], [0.066, 0.064], [0.1, 0.099]]


def test_version_2_recording_keeps_views_calibration_and_placement(tmp_path: Path) -> None:
    cal = ring(2)
    header = RecordingHeader(
        "two views", 30.0, (640, 480), version=2,
        extra={"views": [{"name": c.name, "size": list(c.size)} for c in cal.cameras],
               "calibration": calibration_to_json(cal)},
    )  # fmt: skip
    frame = LandmarkFrame(
        0.0, np.zeros((33, 3)), np.zeros((33, 2)), np.ones(33), np.ones(33), (640, 480),
        placement=Placement(np.array([0.1, 0.9, -2.5]), source="triangulated"),
    )  # fmt: skip
    path = tmp_path / "two.bridgerec.jsonl"
    with RecordingWriter(path, header) as writer:
        writer.write(frame)
    back_header, frames = read_recording(path)
    back = list(frames)
    assert back_header.version == 2 and back_header.extra["views"][1]["name"] == "cam2"
    again = calibration_from_json(back_header.extra["calibration"])
    np.testing.assert_allclose(again.cameras[1].R, cal.cameras[1].R, atol=1e-12)
    assert back[0].placement is not None and back[0].placement.source == "triangulated"
    np.testing.assert_allclose(back[0].placement.hips_m, [0.1, 0.9, -2.5])


def test_several_inputs_bad_uses_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    one = tmp_path / "one.toml"
    full = read_calibration(QCA)
    write_toml(full.select(["cam01"]), one)
    v1, v2 = str(demo_video("cam01")), str(demo_video("cam02"))
    cases = [
        (["record", "--input", v1, "--input", v2, "-o", str(tmp_path / "a.jsonl")], "need --calibration"),
        (["record", "--input", v1, "--input", v2, "--calibration", str(one), "-o", str(tmp_path / "b.jsonl")],
         "names 1 camera(s) but 2 inputs"),
        (["stream", "--input", v1, "--input", v2], "need --calibration"),
        (["export", "--input", v1, "--input", v2, "--bvh", str(tmp_path / "c.bvh")], "need --calibration"),
        (["track", "--input", v1, "--input", v2, "--calibration", str(QCA)], "for this command record them first"),
    ]  # fmt: skip
    for argv, message in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err
        errors = [line for line in err.splitlines() if line.startswith("bridge: error:")]
        assert len(errors) == 1 and message in errors[0] and "Traceback" not in err, err
    assert not (tmp_path / "a.jsonl").exists() and not (tmp_path / "b.jsonl").exists()


@pytest.mark.slow
def test_two_demo_views_record_then_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rec = tmp_path / "two.bridgerec.jsonl"
    argv = ["record", "--input", str(demo_video("cam02")), "--input", str(demo_video("cam04"))]
    assert main([*argv, "--calibration", str(QCA), "-o", str(rec), "--max-frames", "30"]) == 0
    header = json.loads(rec.read_text().splitlines()[0])
    assert header["version"] == 2 and [v["name"] for v in header["views"]] == ["cam02", "cam04"]
    _, frames = read_recording(rec)
    frames = list(frames)
    assert len(frames) >= 25 and all(f.person and f.placement is not None for f in frames)
    heights = [f.placement.hips_m[1] for f in frames if f.placement is not None]
    assert 0.7 < float(np.median(heights)) < 1.2  # hips above the Qualisys floor, metres
    assert all(f.flags["views"] == 2 for f in frames)
    bvh = tmp_path / "two.bvh"
    assert main(["export", "--input", str(rec), "--bvh", str(bvh)]) == 0
    assert bvh.read_text().startswith("HIERARCHY") and "Frames:" in bvh.read_text()


@pytest.mark.slow
def test_two_demo_views_stream_triangulated_vmc() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(0.5)
        port = sock.getsockname()[1]
        argv = ["stream", "--input", str(demo_video("cam02")), "--input", str(demo_video("cam04"))]
        argv += ["--calibration", str(QCA), "--max-frames", "8", "--osc", f"127.0.0.1:{port}", "--protocol", "vmc"]
        assert main(argv) == 0
        received = []
        with contextlib.suppress(TimeoutError):
            while True:
                received.append(sock.recv(65536))
    assert len(received) >= 4 and any(b"/VMC/Ext/Root/Pos" in d for d in received)


@pytest.mark.slow
def test_a_view_that_never_sees_the_person_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import cv2

    black = tmp_path / "black.mp4"
    writer = cv2.VideoWriter(str(black), cv2.VideoWriter_fourcc(*"mp4v"), 60.0, (270, 480))
    for _ in range(20):
        writer.write(np.zeros((480, 270, 3), np.uint8))
    writer.release()
    out = tmp_path / "x.jsonl"
    argv = ["record", "--input", str(demo_video("cam02")), "--input", str(black), "--calibration", str(QCA)]
    assert main([*argv, "-o", str(out), "--max-frames", "20"]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("bridge: error:")]
    assert len(errors) == 1 and "never shows the person" in errors[0]
    assert not out.exists()
