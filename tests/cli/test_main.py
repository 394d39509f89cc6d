"""The ``bridge`` command line, run as ``python -m bridge`` subprocesses (and ``main()`` in-process)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from bridge.cli import main as cli
from bridge.cli.options import tracker_config_from_args
from bridge.tracking.models import bundled_model_path
from bridge.tracking.recording import read_recording
from bridge.tracking.sources import camera_available


def assert_one_line_error(result, fragment: str) -> None:  # type: ignore[no-untyped-def]
    """Exit status 2, no traceback, and stderr is exactly one ``bridge: error:`` line naming the problem."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("bridge: error: ")]
    assert len(errors) == 1, result.stderr
    assert fragment in errors[0], errors[0]
    assert all(line.startswith("bridge: ") for line in lines), result.stderr  # nothing from OpenCV/MediaPipe
    assert result.stdout == ""


def _text_model(d: Path) -> Path:
    path = d / "model.task"
    path.write_text("I am a text file renamed .task\n")
    return path


def _corrupt_model(d: Path) -> Path:
    path = d / "corrupt.task"
    with zipfile.ZipFile(path, "w") as bundle:
        bundle.writestr("pose_detector.tflite", b"x" * 64)
        bundle.writestr("pose_landmarks_detector.tflite", b"x" * 64)
    return path


def _empty_dir(d: Path) -> Path:
    (d / "empty").mkdir()
    return d / "empty"


def _text_video(d: Path) -> Path:
    path = d / "clip.mp4"
    path.write_text("definitely not a video\n" * 20)
    return path


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (lambda d: ["track", "--input", str(d / "missing.mp4")], "input not found"),
        (lambda d: ["track", "--input", str(_text_video(d))], "as a video"),
        (lambda d: ["track", "--input", "camera:7"], "no camera at index 7"),
        (lambda d: ["track", "--input", str(_empty_dir(d))], "no images in folder"),
        (lambda d: ["track", "--input", "demo", "--model", str(_text_model(d))], "not a MediaPipe model bundle"),
        (lambda d: ["track", "--input", "demo", "--model", str(d / "nope.task")], "model file not found"),
        (lambda d: ["track", "--input", "demo", "--model", str(_corrupt_model(d))], "could not load the pose"),
        (
            lambda d: ["track", "--input", "demo", "--model", str(bundled_model_path("hand"))],
            "not a MediaPipe pose landmarker model",
        ),
        (lambda d: ["record", "--input", str(d / "missing.mp4"), "--out", str(d / "o.jsonl")], "input not found"),
        (lambda d: ["record", "--input", "demo", "--out", str(d / "no" / "dir" / "o.jsonl")], "cannot write"),
    ],
    ids=[
        "missing-file",
        "not-a-video",
        "no-camera",
        "empty-folder",
        "text-model",
        "missing-model",
        "corrupt-model",
        "hand-model",
        "record-missing",
        "record-unwritable",
    ],
)
@pytest.mark.slow
def test_bad_input_is_a_one_line_error(run_bridge, tmp_path: Path, args, fragment: str) -> None:  # type: ignore[no-untyped-def]
    assert_one_line_error(run_bridge(*args(tmp_path)), fragment)


@pytest.mark.slow
def test_track_json(run_bridge) -> None:  # type: ignore[no-untyped-def]
    result = run_bridge("track", "--input", "demo", "--json", "--max-frames", "30")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    per_frame, summary = records[:-1], records[-1]["summary"]
    assert [r["frame_index"] for r in per_frame] == list(range(30))
    assert summary["frames"] == 30 and summary["input"] == "demo clip"
    found = sum(r["person"] for r in per_frame)
    assert summary["person_found_percent"] == pytest.approx(100 * found / 30, abs=0.05)
    assert found >= 24 and summary["fps"] > 0
    assert all(1.0 < r["vertical_extent_m"] < 2.2 for r in per_frame if r["person"] and r["frame_index"] > 10)


@pytest.mark.slow
def test_track_text_and_replay_of_a_recording(run_bridge, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "take.jsonl"
    recorded = run_bridge("record", "--input", "demo", "--out", str(out), "--max-frames", "12")
    assert recorded.returncode == 0, recorded.stderr
    assert "wrote 12 frames" in recorded.stderr
    header, frames = read_recording(out)
    assert header.source == "demo clip" and header.fps == pytest.approx(30.0) and header.image_size == (1768, 994)
    assert [f.frame_index for f in frames] == list(range(12))
    replay = run_bridge("track", "--input", str(out))
    assert replay.returncode == 0, replay.stderr
    lines = replay.stdout.splitlines()
    assert len(lines) == 13 and lines[0].startswith("frame     0")
    assert "12 frames" in lines[-1] and lines[-1].startswith("recording take.jsonl (demo clip)")


@pytest.mark.slow
def test_no_input_and_no_camera_uses_the_demo(run_bridge) -> None:  # type: ignore[no-untyped-def]
    if camera_available(0):
        pytest.skip("this machine has a camera: without --input bridge uses it")
    result = run_bridge("track", "--summary-only", "--max-frames", "5")
    assert result.returncode == 0, result.stderr
    assert "using the Sports2D demo clip" in result.stderr
    assert result.stdout.startswith("demo clip: 5 frames")


def test_main_in_process_returns_status_codes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert cli.main(["track", "--input", str(tmp_path / "missing.mp4")]) == 2
    assert capsys.readouterr().err.startswith("bridge: error: input not found")
    assert cli.main([]) == 2  # no command: help on stderr
    with pytest.raises(SystemExit) as exc:
        cli.main(["track", "--max-frames", "0"])  # argparse's own usage error
    assert exc.value.code == 2


def test_main_turns_ctrl_c_into_130(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(args):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    parser_commands = [
        c if c.name != "track" else cli.Command(c.name, c.help, c.configure, interrupted) for c in cli.COMMANDS
    ]
    monkeypatch.setattr(cli, "COMMANDS", parser_commands)
    assert cli.main(["track", "--input", "demo"]) == 130
    assert capsys.readouterr().err.strip() == "bridge: interrupted"


def test_commands_share_the_input_options() -> None:
    parser = cli.build_parser()
    for name in ("track", "record"):
        extra = ["--out", "x.jsonl"] if name == "record" else []
        args = parser.parse_args([name, "--input", "camera:1", "--model", "m.task", "--image-fps", "12", *extra])
        config = tracker_config_from_args(args)
        assert args.input == "camera:1" and config.model_path == Path("m.task") and config.image_fps == 12.0


def test_the_hand_and_face_levers_reach_the_tracker() -> None:
    """``--hand-every`` / ``--face-every`` land in the tracker's config (defaults 2 and 1, with ``pipelined``);
    0 is argparse's error."""
    parser = cli.build_parser()
    args = parser.parse_args(["stream", "--track", "body,hands,face", "--hand-every", "2", "--face-every", "3"])
    config = tracker_config_from_args(args)
    assert (config.hand_every, config.face_every) == (2, 3)
    plain = tracker_config_from_args(parser.parse_args(["stream"]))
    assert (plain.hand_every, plain.face_every, plain.concurrency) == (2, 1, "pipelined")
    with pytest.raises(SystemExit):
        parser.parse_args(["stream", "--hand-every", "0"])


def test_the_second_look_can_be_turned_off() -> None:
    """``--no-second-look`` (issue 18: the second look costs a second inference where the whole frame finds
    nobody) reaches the tracker's config on every command that tracks; on by default."""
    parser = cli.build_parser()
    for command in (["stream"], ["export", "clip.mp4", "--bvh", "out.bvh"], ["track", "--input", "clip.mp4"]):
        assert tracker_config_from_args(parser.parse_args(command)).zoom
        assert not tracker_config_from_args(parser.parse_args([*command, "--no-second-look"])).zoom


def _synthetic_recording(path: Path, frames: int) -> Path:
    """A recording of ``frames`` rest-pose frames (no model needed to replay it)."""
    from bridge.core.pose import BonePose
    from bridge.core.rig import load_rig
    from bridge.testing.synth import frame_from_pose
    from bridge.tracking.recording import RecordingHeader, RecordingWriter

    frame = frame_from_pose(BonePose.rest(load_rig()))
    with RecordingWriter(path, RecordingHeader(source="synthetic", fps=30.0, image_size=(1280, 720))) as writer:
        for k in range(frames):
            writer.write(frame.replace(t_s=k / 30.0, frame_index=k))
    return path


def test_record_refuses_to_overwrite_a_take_without_force(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    source = _synthetic_recording(tmp_path / "source.jsonl", 5)
    take = tmp_path / "take.jsonl"
    take.write_bytes(b"yesterday's take\n")
    assert cli.main(["record", "--input", str(source), "--out", str(take)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("bridge: error: ") and "already exists" in err and "--force" in err
    assert "\n" not in err
    assert take.read_bytes() == b"yesterday's take\n"  # untouched
    assert cli.main(["record", "--input", str(source), "--out", str(take), "--force"]) == 0
    assert [f.frame_index for f in read_recording(take)[1]] == list(range(5))


@pytest.mark.slow
def test_track_json_carries_the_landmarks_and_stops_quietly_when_the_reader_leaves(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    source = _synthetic_recording(tmp_path / "long.jsonl", 600)  # ~2 MB of JSON: far more than a pipe holds
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    proc = subprocess.Popen(
        [sys.executable, "-m", "bridge", "track", "--json", "--input", str(source)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    lines = [proc.stdout.readline() for _ in range(3)]  # what `| head -3` reads
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 0, err
    assert "Traceback" not in err and "closed it" in err, err
    for k, line in enumerate(lines):
        record = json.loads(line)
        assert record["frame_index"] == k and record["person"] is True
        assert len(record["world_xyz_m"]) == 33 and all(len(p) == 3 for p in record["world_xyz_m"])
        assert len(record["image_xy"]) == 33 and len(record["visibility"]) == 33 and len(record["presence"]) == 33


def test_bad_calibration_is_one_line(run_bridge, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "calib.toml"
    bad.write_text("this is = not [ toml\n")
    from bridge.core.landmarks import LandmarkFrame
    from bridge.tracking.recording import RecordingHeader, RecordingWriter

    recording = tmp_path / "r.jsonl"
    with RecordingWriter(recording, RecordingHeader(source="t", fps=30.0, image_size=(64, 48))) as w:
        w.write(LandmarkFrame.no_person(0.0, (64, 48), 0))
    result = run_bridge("export", str(recording), "--bvh", str(tmp_path / "o.bvh"), "--calibration", str(bad))
    assert_one_line_error(result, "is not valid TOML")
    assert not (tmp_path / "o.bvh").exists()
