"""Hostile inputs (issue 19): every bad input a hostile user tried, generated here (nothing committed), run as
``python -m bridge`` under a memory limit (RLIMIT_AS); each case checks the exit status, that stderr has exactly
one ``bridge: error:`` line (or none) and no traceback, and that no file that existed before changed
(checksums of the whole folder before and after)."""

from __future__ import annotations

import hashlib
import json
import os
import resource
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from bridge.avatar.load import load_rig_or_avatar
from bridge.core.pose import BonePose
from bridge.export.bvh_file import read_bvh
from bridge.testing.synth import frame_from_pose
from bridge.tracking.recording import RecordingHeader, frame_to_json

REPO = Path(__file__).resolve().parents[2]
#: Address space each command may use: far above what a good run needs, far below "until the disk fills".
MEMORY_LIMIT_BYTES = 6 * 2**30
#: A port nobody listens on (the stream cases send VMC into the void).
PORT = "127.0.0.1:39591"

pytestmark = pytest.mark.slow  # subprocesses


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))


def run_limited(args: list[str], cwd: Path, timeout: float = 90.0) -> subprocess.CompletedProcess[str]:
    """``python -m bridge ARGS`` in ``cwd`` with at most :data:`MEMORY_LIMIT_BYTES` of address space."""
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run(
        [sys.executable, "-m", "bridge", *args], capture_output=True, text=True, timeout=timeout, cwd=cwd,
        env=env, preexec_fn=_limit_memory,
    )  # fmt: skip


def checksums(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def assert_clean(result: subprocess.CompletedProcess[str], rc: int, fragment: str | None) -> None:
    """Exit status ``rc``; no traceback or warning; exactly one ``bridge: error:`` line containing ``fragment``
    (``fragment`` None: no error line); every stderr line is bridge's own or its status line."""
    assert result.returncode == rc, result.stderr[-3000:]
    assert "Traceback" not in result.stderr and "Warning" not in result.stderr, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("bridge: error:")]
    if fragment is None:
        assert errors == [], result.stderr
    else:
        assert len(errors) == 1, result.stderr
        assert fragment in errors[0], errors[0]
    assert "usage:" not in result.stderr, result.stderr


# ------------------------------------------------------------------------------------------------ material

FPS = 30.0


def write_take(path: Path, n: int = 40, t0: float = 0.0, edit: Callable[[int, dict], dict] | None = None) -> Path:
    """A recording of ``n`` frames of the default rig at rest, 30 fps; ``edit(i, obj)`` may change line i."""
    frame = frame_from_pose(BonePose.rest(load_rig_or_avatar("default")))
    header = RecordingHeader(source="hostile", fps=FPS, image_size=(1280, 720), created="test").to_json()
    lines = [json.dumps(header)]
    for i in range(n):
        obj = frame_to_json(frame.replace(t_s=t0 + i / FPS, frame_index=i))
        lines.append(json.dumps(edit(i, obj) if edit else obj))
    path.write_text("\n".join(lines) + "\n")
    return path


def edit_header(path: Path, **fields: object) -> Path:
    lines = path.read_text().splitlines()
    header = json.loads(lines[0])
    header.update(fields)
    path.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    return path


def nan_world(i: int, obj: dict) -> dict:
    if i in (5, 6):
        obj["world_xyz_m"] = [[float("nan")] * 3 for _ in obj["world_xyz_m"]]
    return obj


def nan_face(i: int, obj: dict) -> dict:
    obj["face"] = {
        "blendshapes": [0.1] * 52,
        "transform": [[float("inf") if i == 7 else float(r == c) for c in range(4)] for r in range(4)],
        "image_xy": [[0.4, 0.4], [0.6, 0.4]],
    }
    return obj


def late_frame(seconds: float) -> Callable[[int, dict], dict]:
    def edit(i: int, obj: dict) -> dict:
        if i == 39:
            obj["t_s"] = seconds
        return obj

    return edit


def bad_rig(d: Path) -> Path:
    doc = json.loads((REPO / "avatars" / "default.json").read_text())
    doc["bones"][1]["offset"] = [0.0, 1e150, 0.0]
    path = d / "huge.json"
    path.write_text(json.dumps(doc))
    return path


def bad_glb(d: Path, field: str, value: list[float]) -> Path:
    import pygltflib

    from tests.helpers.avatar_files import write_vrm

    path = write_vrm(d / "ok.vrm", 1)
    gltf = pygltflib.GLTF2.load_binary(str(path))
    setattr(gltf.nodes[2], field, value)
    out = d / f"bad_{field}.glb"
    gltf.save_binary(str(out))
    path.unlink()
    return out


def many_nodes_gltf(d: Path, n: int = 300_000) -> Path:
    path = d / "crowd.gltf"
    nodes = [{"name": f"n{i}"} for i in range(n)]
    path.write_text(
        json.dumps({"asset": {"version": "2.0"}, "scene": 0, "scenes": [{"nodes": [0]}], "nodes": nodes})
    )
    return path


def batch_folder(d: Path, names: tuple[str, ...]) -> Path:
    folder = d / "videos"
    folder.mkdir()
    for name in names:
        (folder / name).write_bytes(b"\0" * 64)
    return folder


# ------------------------------------------------------------------------------------------------ cases


@dataclass(frozen=True)
class Case:
    """A hostile command: ``setup(folder)`` writes its material and returns the arguments."""

    setup: Callable[[Path], list[str]]
    rc: int
    fragment: str | None


CASES: dict[str, Case] = {
    "record-out-is-input": Case(
        lambda d: ["record", "-i", str(write_take(d / "r.jsonl")), "--out", str(d / "r.jsonl"), "--force"],
        2,
        "is the input",
    ),
    "record-append-to-input": Case(
        lambda d: ["record", "-i", str(write_take(d / "r.jsonl")), "--out", str(d / "r.jsonl"), "--append"],
        2,
        "is the input",
    ),
    "export-bvh-is-input": Case(
        lambda d: ["export", str(write_take(d / "r.jsonl")), "--bvh", str(d / "r.jsonl"), "--force"],
        2,
        "is the input",
    ),
    "export-bvh-is-glb": Case(
        lambda d: ["export", str(write_take(d / "r.jsonl")), "--bvh", str(d / "x.bvh"), "--glb", str(d / "x.bvh")],
        2,
        "same file",
    ),
    "export-existing-bvh": Case(
        lambda d: [
            (d / "x.bvh").write_text("mine\n"),
            "export",
            str(write_take(d / "r.jsonl")),
            "--bvh",
            str(d / "x.bvh"),
        ][1:],
        2,
        "--force",
    ),  # fmt: skip
    "stream-record-bvh-is-input": Case(
        lambda d: [
            "stream",
            "-i",
            str(write_take(d / "r.jsonl")),
            "--fast",
            "--osc",
            PORT,
            "--protocol",
            "vmc",
            "--record-bvh",
            str(d / "r.jsonl"),
            "--force",
        ],
        2,
        "is the input",
    ),  # fmt: skip
    "stream-bad-input-keeps-take": Case(
        lambda d: [
            (d / "take.bvh").write_text("HIERARCHY mine\n"),
            (d / "bad.mp4").write_text("not a video\n"),
            "stream",
            "-i",
            str(d / "bad.mp4"),
            "--osc",
            PORT,
            "--protocol",
            "vmc",
            "--record-bvh",
            str(d / "take.bvh"),
            "--force",
        ][2:],
        2,
        "as a video",
    ),  # fmt: skip
    "batch-case-collision": Case(
        lambda d: ["batch", str(batch_folder(d, ("a.mp4", "a.MP4"))), "--out", str(d / "out")],
        2,
        "rename one",
    ),
    "batch-suffix-collision": Case(
        lambda d: ["batch", str(batch_folder(d, ("k.mp4", "k.avi", "k_mp4.avi"))), "--out", str(d / "out")],
        2,
        "rename one",
    ),
    "header-fps-text": Case(
        lambda d: ["export", str(edit_header(write_take(d / "r.jsonl"), fps="thirty")), "--bvh", str(d / "o.bvh")],
        2,
        "line 1 (header): field 'fps'",
    ),
    "header-size-number": Case(
        lambda d: ["export", str(edit_header(write_take(d / "r.jsonl"), image_size=5)), "--bvh", str(d / "o.bvh")],
        2,
        "field 'image_size'",
    ),
    "header-size-text": Case(
        lambda d: [
            "export",
            str(edit_header(write_take(d / "r.jsonl"), image_size="wide")),
            "--bvh",
            str(d / "o.bvh"),
        ],
        2,
        "field 'image_size'",
    ),  # fmt: skip
    "header-version-true": Case(
        lambda d: ["export", str(edit_header(write_take(d / "r.jsonl"), version=True)), "--bvh", str(d / "o.bvh")],
        2,
        "field 'version'",
    ),
    "header-bad-views": Case(
        lambda d: [
            "export",
            str(edit_header(write_take(d / "r.jsonl"), version=2, views=[{"name": 3}])),
            "--bvh",
            str(d / "o.bvh"),
        ],
        2,
        "views[0].name",
    ),  # fmt: skip
    "frame-person-text": Case(
        lambda d: [
            "export",
            str(write_take(d / "r.jsonl", edit=lambda i, o: {**o, "person": "no"} if i == 3 else o)),
            "--bvh",
            str(d / "o.bvh"),
        ],
        2,
        "line 5 is not a valid landmark frame: field 'person'",
    ),  # fmt: skip
    "bad-rig-offset-stream": Case(
        lambda d: [
            "stream",
            "-i",
            str(write_take(d / "r.jsonl")),
            "--fast",
            "--osc",
            PORT,
            "--protocol",
            "vmc",
            "--rig",
            str(bad_rig(d)),
        ],
        2,
        "finite size",
    ),
    "bad-rig-offset-export": Case(
        lambda d: ["export", str(write_take(d / "r.jsonl")), "--bvh", str(d / "o.bvh"), "--rig", str(bad_rig(d))],
        2,
        "finite size",
    ),
    "glb-rotation-3": Case(
        lambda d: ["avatar", "import", str(bad_glb(d, "rotation", [0.1, 0.2, 0.3])), "--out", str(d / "r.json")],
        2,
        "rotation",
    ),
    "glb-scale-2": Case(
        lambda d: [
            "export",
            str(write_take(d / "r.jsonl")),
            "--bvh",
            str(d / "o.bvh"),
            "--avatar",
            str(bad_glb(d, "scale", [1.0, 1.0])),
        ],
        2,
        "scale",
    ),  # fmt: skip
    "gltf-300k-nodes": Case(
        lambda d: ["avatar", "info", str(many_nodes_gltf(d))], 2, "nodes, more than any avatar"
    ),
    "arg-rate-0": Case(lambda d: ["stream", "--rate", "0"], 2, "--rate"),
    "arg-height-0": Case(lambda d: ["stream", "--height", "0"], 2, "--height"),
    "arg-hold-negative": Case(lambda d: ["export", "x.jsonl", "--hold", "-1"], 2, "--hold"),
    "arg-protocol": Case(lambda d: ["stream", "--protocol", "osc9"], 2, "--protocol"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_input_is_one_line_and_touches_nothing(tmp_path: Path, name: str) -> None:
    case = CASES[name]
    args = case.setup(tmp_path)
    before = checksums(tmp_path)
    result = run_limited(args, tmp_path)
    assert_clean(result, case.rc, case.fragment)
    after = checksums(tmp_path)
    assert {k: after.get(k) for k in before} == before, "an existing file was changed or deleted"


# ------------------------------------------------------------------------------------------------ survivals


def _bvh_frames(path: Path) -> np.ndarray:
    motion = read_bvh(path)
    assert np.all(np.isfinite(motion.channels))
    return motion.channels


@pytest.mark.parametrize("edit", [nan_world, nan_face], ids=["nan-landmarks", "inf-face-transform"])
def test_non_finite_frames_are_no_person_said_once(tmp_path: Path, edit: Callable[[int, dict], dict]) -> None:
    take = write_take(tmp_path / "r.jsonl", edit=edit)
    result = run_limited(["export", str(take), "--bvh", str(tmp_path / "o.bvh")], tmp_path)
    assert_clean(result, 0, None)
    assert result.stderr.count("NaN or infinite") == 1, result.stderr
    assert len(_bvh_frames(tmp_path / "o.bvh")) == 40
    result = run_limited(["stream", "-i", str(take), "--fast", "--osc", PORT, "--protocol", "vmc"], tmp_path)
    assert_clean(result, 0, None)
    assert "done: 40 frames" in result.stderr, result.stderr


@pytest.mark.parametrize("late_s", [1e9, 3600.0], ids=["1e9-s", "one-hour"])
def test_time_gap_is_cut_not_filled(tmp_path: Path, late_s: float) -> None:
    take = write_take(tmp_path / "r.jsonl", edit=late_frame(late_s))
    result = run_limited(["export", str(take), "--bvh", str(tmp_path / "o.bvh"), "--glb", str(tmp_path / "o.glb")],
                         tmp_path, timeout=60)  # fmt: skip
    assert_clean(result, 0, None)
    assert "gap" in result.stderr
    assert len(_bvh_frames(tmp_path / "o.bvh")) == 40  # 39 frames, then the late one a frame later


def test_record_append_continues_the_time_line(tmp_path: Path) -> None:
    take = write_take(tmp_path / "r.jsonl")
    out = tmp_path / "takes.jsonl"
    for extra in ([], ["--append"]):
        assert_clean(run_limited(["record", "-i", str(take), "--out", str(out), *extra], tmp_path), 0, None)
    times = [json.loads(line)["t_s"] for line in out.read_text().splitlines()[1:]]
    assert len(times) == 80 and all(b > a for a, b in zip(times, times[1:], strict=False))
    result = run_limited(["export", str(out), "--bvh", str(tmp_path / "o.bvh")], tmp_path)
    assert_clean(result, 0, None)
    assert len(_bvh_frames(tmp_path / "o.bvh")) == 80


def test_long_export_memory_does_not_grow_with_length(tmp_path: Path) -> None:
    """An export of 3 times more frames needs about the same memory (peak RSS of the child): the offline chain
    looks ahead within --offline-window seconds (here 20 s, 600 frames; default 10 minutes), the poses are
    written in chunks."""
    peaks = []
    for n in (1500, 4500):
        take = write_take(tmp_path / f"r{n}.jsonl", n=n)
        out = tmp_path / f"o{n}.bvh"
        code = (
            "import resource, sys; from bridge.cli.main import main; rc = main(sys.argv[1:]); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(rc)"
        )
        env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        result = subprocess.run(
            [sys.executable, "-c", code, "export", str(take), "--bvh", str(out), "--no-filter",
             "--offline-window", "20"],
            capture_output=True, text=True, timeout=300, env=env, preexec_fn=_limit_memory,
        )  # fmt: skip
        assert_clean(result, 0, None)
        peaks.append(int(result.stdout.split()[-1]) * 1024)
        assert len(_bvh_frames(out)) == n
    assert peaks[1] - peaks[0] < 20 * 2**20, peaks  # whole takes grew ~18 KB a frame (53 MB here)


def test_truncated_video_says_how_many_frames_were_read(tmp_path: Path) -> None:
    import cv2

    video = tmp_path / "whole.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (96, 96))
    rng = np.random.default_rng(0)
    for _ in range(60):
        writer.write(rng.integers(0, 255, (96, 96, 3), dtype=np.uint8))
    writer.release()
    data = video.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])  # the header still announces 60 frames
    result = run_limited(["track", "--input", str(cut)], tmp_path)
    assert_clean(result, 0, None)
    assert "read 30 of the 60 frames" in result.stderr, result.stderr
    assert "overread" not in result.stderr  # FFmpeg's own complaint stays in the tracker process
