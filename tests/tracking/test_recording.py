"""Recordings: seeded round trips, damaged files, and a real ``bridge record`` interrupted with SIGINT."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from bridge.core.errors import BridgeError
from bridge.core.landmarks import NUM_LANDMARKS, LandmarkFrame
from bridge.tracking.process import open_landmarks
from bridge.tracking.recording import FORMAT_VERSION, RecordingHeader, RecordingWriter, read_header, read_recording
from tests.conftest import REPO


def random_frames(n: int, seed: int = 1) -> list[LandmarkFrame]:
    """Seeded frames with varied values; every 4th one has no person; some carry flags."""
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n):
        t_s = i / 30.0 + rng.uniform(0, 1e-3)
        if i % 4 == 3:
            frames.append(LandmarkFrame.no_person(t_s, (1280, 720), i))
            continue
        frames.append(
            LandmarkFrame(
                t_s=t_s,
                world_xyz_m=rng.normal(0, 0.5, (NUM_LANDMARKS, 3)),
                image_xy=rng.uniform(-0.1, 1.1, (NUM_LANDMARKS, 2)),
                visibility=rng.uniform(0, 1, NUM_LANDMARKS),
                presence=rng.uniform(0, 1, NUM_LANDMARKS),
                image_size=(1280, 720),
                frame_index=i,
                flags={"lr_swapped": True, "note": "x"} if i % 5 == 0 else {},
            )
        )
    return frames


def header() -> RecordingHeader:
    return RecordingHeader(source="test", fps=30.0, image_size=(1280, 720), created="2026-01-01T00:00:00+00:00")


def write(path: Path, frames: list[LandmarkFrame]) -> None:
    with RecordingWriter(path, header()) as writer:
        for frame in frames:
            writer.write(frame)


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "take.jsonl"
    frames = random_frames(40)
    write(path, frames)
    head, read = read_recording(path)
    back = list(read)
    assert head == header()
    assert len(back) == 40
    assert all(a.equals(b, atol=1.01e-6) for a, b in zip(frames, back, strict=True))
    assert not all(a.equals(b, atol=0.0) for a, b in zip(frames, back, strict=True))  # rounding is real
    assert back[0].flags == {"lr_swapped": True, "note": "x"} and back[1].flags == {}
    assert [f.person for f in back] == [f.person for f in frames]
    # the documented layout
    lines = path.read_text().splitlines()
    first = json.loads(lines[0])
    assert first["format"] == "bridge-landmarks" and first["version"] == FORMAT_VERSION
    assert set(json.loads(lines[1])) >= {"t_s", "frame_index", "person", "world_xyz_m", "image_xy", "visibility"}
    assert set(json.loads(lines[4])) == {"t_s", "frame_index", "person", "image_size"}  # frame 3: no person


def test_real_landmarks_round_trip(sports2d_tracked, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, frames = sports2d_tracked
    path = tmp_path / "sports2d.jsonl"
    write(path, frames)
    with open_landmarks(str(path)) as (info, replay):
        back = list(replay)
    assert info.fps == 30.0 and info.image_size == (1280, 720) and not info.live
    assert all(a.equals(b, atol=1.01e-6) for a, b in zip(frames, back, strict=True))
    assert path.stat().st_size < 3000 * len(frames)  # about 2.5 KB per frame


def test_truncated_last_line_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "cut.jsonl"
    frames = random_frames(10)
    write(path, frames)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 500])  # a crash in the middle of writing the last frame
    _, read = read_recording(path)
    back = list(read)
    assert len(back) == 9
    assert all(a.equals(b, atol=1.01e-6) for a, b in zip(frames, back, strict=False))


def test_damaged_line_in_the_middle_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    write(path, random_frames(5))
    lines = path.read_bytes().splitlines(keepends=True)
    lines[2] = lines[2][:100] + b"\n"
    path.write_bytes(b"".join(lines))
    _, read = read_recording(path)
    with pytest.raises(BridgeError, match="line 3 is not a valid landmark frame"):
        list(read)


@pytest.mark.parametrize(("bad", "ok"), [(True, False), ("0.5", False), (None, False), (1, True), (0.25, True)])
def test_landmark_arrays_hold_json_numbers_only(tmp_path: Path, bad: object, ok: bool) -> None:
    """A landmark value that is not a JSON number (true, a string, null) makes the line invalid; whole numbers and
    decimals are numbers."""
    path = tmp_path / "values.jsonl"
    write(path, random_frames(3))
    lines = path.read_bytes().splitlines(keepends=True)
    frame = json.loads(lines[2])
    frame["world_xyz_m"][7][1] = bad
    lines[2] = json.dumps(frame).encode() + b"\n"
    path.write_bytes(b"".join(lines))
    _, read = read_recording(path)
    if ok:
        assert list(read)[1].world_xyz_m[7, 1] == bad
        return
    with pytest.raises(BridgeError, match="line 3 is not a valid landmark frame.*world_xyz_m"):
        list(read)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"hello world\n", "not a bridge landmark recording"),
        (b'{"format": "something-else", "version": 1}\n', "not a bridge landmark recording"),
        (b'{"format": "bridge-landmarks", "version": 99}\n', "version 99"),
        (b"\x00\xff\xfe binary\n", "not a bridge landmark recording"),
    ],
)
def test_not_a_recording_is_an_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(content)
    with pytest.raises(BridgeError, match=message) as err:
        read_recording(path)
    assert "\n" not in str(err.value)


def test_missing_recording_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(BridgeError, match="cannot read recording"):
        read_header(tmp_path / "missing.jsonl")


def test_append_continues_after_a_cut_line(tmp_path: Path) -> None:
    path = tmp_path / "take.jsonl"
    frames = random_frames(8)
    write(path, frames[:5])
    data = path.read_bytes()
    path.write_bytes(data[:-30])  # frame 4 cut short
    other = RecordingHeader(source="ignored")
    with RecordingWriter(path, other, append=True) as writer:
        assert writer.header == header()
        for frame in frames[4:]:
            writer.write(frame)
    _, read = read_recording(path)
    back = list(read)
    assert [f.frame_index for f in back] == list(range(8))
    assert all(a.equals(b, atol=1.01e-6) for a, b in zip(frames, back, strict=True))


@pytest.mark.slow
def test_sigint_during_bridge_record_leaves_a_valid_recording(
    tmp_path: Path,
    sports2d_video: Path,
    sports2d_tracked,  # type: ignore[no-untyped-def]
) -> None:
    """Ctrl-C a real ``bridge record``: exit 130, message, every written frame readable and correct."""
    out = tmp_path / "take.jsonl"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, "-m", "bridge", "record", "--input", str(sports2d_video), "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=env,
    )
    deadline = time.monotonic() + 60
    lines = 0
    while lines < 21 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
        lines = out.read_bytes().count(b"\n") if out.exists() else 0
    assert proc.poll() is None, "bridge record ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr
    assert "bridge: interrupted" in stderr and "Traceback" not in stderr
    head, read = read_recording(out)
    back = list(read)
    assert head.source == f"video {sports2d_video.name}" and head.image_size == (1768, 994)
    assert 20 <= len(back) < 230
    assert [f.frame_index for f in back] == list(range(len(back)))
    _, tracked = sports2d_tracked
    assert all(a.equals(b, atol=1.01e-6) for a, b in zip(back, tracked, strict=False))


def test_clock_readings_of_a_run_are_not_recorded(tmp_path: Path) -> None:
    """Tracker clock flags (``*_mono_s``) mean nothing in a later replay; other flags are kept."""
    from bridge.tracking.recording import RecordingHeader, RecordingWriter, read_recording

    frame = LandmarkFrame.no_person(0.0, (64, 48), 0)
    frame.flags.update({"read_mono_s": 12.5, "detected_mono_s": 12.6, "lr_swapped": True})
    path = tmp_path / "flags.jsonl"
    with RecordingWriter(path, RecordingHeader(source="test")) as writer:
        writer.write(frame)
    _, frames = read_recording(path)
    (back,) = list(frames)
    assert back.flags == {"lr_swapped": True}
