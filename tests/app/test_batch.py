"""``bridge batch`` on a folder of real videos: short cuts of the Sports2D demo and the Pose2Sim cameras (made
here with cv2.VideoWriter, 20 frames each, small), plus a corrupt file.

Checked: the local pool writes every output (recording, BVH, analysis report, manifest) and reports the corrupt
file without stopping; Ray's outputs are identical to the local pool's; a second run skips everything already
done; a batch killed (SIGINT, SIGTERM, SIGKILL) after its first video is finished by the next run without
redoing the finished videos; what a killed batch leaves never looks complete.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest

from bridge.app.batch import SUMMARY_NAME, BatchProgress
from bridge.app.batch_jobs import (
    MANIFEST_SUFFIX,
    RECORDING_SUFFIX,
    BatchJob,
    completed_result,
    file_sha256,
    find_videos,
    output_stems,
)
from bridge.export.bvh_file import read_bvh
from bridge.tracking.recording import read_recording
from tests.conftest import REPO, process_exists, spawned_children

FRAMES = 20
GOOD = ("cams/cam01.mp4", "cams/cam02.mp4", "jump_a.mp4", "jump_b.mp4")
BROKEN = "broken.mp4"
HAS_RAY = importlib.util.find_spec("ray") is not None


def _cut(src: Path, dst: Path, start: int, frames: int, width: int) -> None:
    """Write ``frames`` frames of ``src`` from ``start``, scaled to ``width`` pixels, as an MPEG-4 video."""
    cap = cv2.VideoCapture(str(src))
    fps = cap.get(cv2.CAP_PROP_FPS)
    cap.set(cv2.CAP_PROP_POS_FRAMES, start)
    writer = None
    for _ in range(frames):
        ok, image = cap.read()
        assert ok, f"{src} has fewer than {start + frames} frames"
        height = int(round(image.shape[0] * width / image.shape[1] / 2) * 2)
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
        if writer is None:
            writer = cv2.VideoWriter(str(dst), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
            assert writer.isOpened()
        writer.write(image)
    assert writer is not None
    writer.release()
    cap.release()


@pytest.fixture(scope="module")
def video_dir(tmp_path_factory: pytest.TempPathFactory, sports2d_video: Path, pose2sim_videos: list[Path]) -> Path:
    """INPUT_DIR: two cuts of the Sports2D demo, two Pose2Sim cameras in a sub-folder, one corrupt file."""
    folder = tmp_path_factory.mktemp("videos")
    (folder / "cams").mkdir()
    _cut(sports2d_video, folder / "jump_a.mp4", 0, FRAMES, 480)
    _cut(sports2d_video, folder / "jump_b.mp4", 100, FRAMES, 480)
    _cut(pose2sim_videos[0], folder / "cams" / "cam01.mp4", 20, FRAMES, 270)
    _cut(pose2sim_videos[1], folder / "cams" / "cam02.mp4", 20, FRAMES, 270)
    # An MP4 signature followed by noise: looks like a video by name and first bytes, decodes to nothing.
    (folder / BROKEN).write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 16)
    (folder / "notes.txt").write_text("not a video: ignored\n")
    return folder


def _summary(out: Path) -> dict:
    return json.loads((out / SUMMARY_NAME).read_text())


def _by_file(summary: dict) -> dict[str, dict]:
    return {f["file"]: f for f in summary["files"]}


def _frame_lines(path: Path) -> list[str]:
    """The frame lines of a recording (the header holds the time it was made)."""
    return path.read_text().splitlines()[1:]


@pytest.fixture(scope="module")
def local_run(video_dir: Path, tmp_path_factory: pytest.TempPathFactory, run_bridge) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("out_local")
    proc = run_bridge("batch", str(video_dir), "--out", str(out), "--bvh", "--analyze", "--engine", "local",
                      "--workers", "2", timeout=600)  # fmt: skip
    return out, proc


@pytest.mark.slow
def test_local_batch_writes_every_output_and_reports_the_corrupt_file(local_run, video_dir: Path) -> None:
    out, proc = local_run
    assert proc.returncode == 1, proc.stderr  # some file failed
    assert all(line.startswith("bridge: ") for line in proc.stderr.splitlines()), proc.stderr  # no library noise
    summary = _summary(out)
    files = _by_file(summary)
    assert sorted(files) == sorted((BROKEN, *GOOD))  # notes.txt is not a video
    assert files[BROKEN]["status"] == "failed"
    assert "cannot open" in files[BROKEN]["error"] and "broken.mp4" in files[BROKEN]["error"]
    assert f"FAILED {BROKEN}" in proc.stderr
    assert BROKEN in proc.stdout and "failed" in proc.stdout  # the summary table
    assert not list(out.glob("broken*"))  # nothing written for it
    assert summary["totals"] == {**summary["totals"], "files": 5, "done": 4, "failed": 1, "frames": 4 * FRAMES}
    for rel in GOOD:
        assert files[rel]["status"] == "done"
        assert files[rel]["frames"] == FRAMES
        assert files[rel]["tracked_frames"] >= FRAMES // 2  # a person is in every clip
        stem = out / rel.removesuffix(".mp4")
        header, frames = read_recording(f"{stem}{RECORDING_SUFFIX}")
        frames = list(frames)
        assert len(frames) == FRAMES and [f.frame_index for f in frames] == list(range(FRAMES))
        assert header.fps is not None and header.fps == pytest.approx(60.0 if "cam" in rel else 30.0, rel=0.01)
        assert sum(f.person for f in frames) == files[rel]["tracked_frames"]
        motion = read_bvh(f"{stem}.bvh")
        assert motion.num_frames == FRAMES  # resampled at the video's own rate
        assert (out / f"{stem}_report.html").is_file() and (out / f"{stem}_angles.csv").is_file()
        manifest = json.loads(Path(f"{stem}{MANIFEST_SUFFIX}").read_text())
        assert manifest["input_sha256"] == file_sha256(video_dir / rel)
        for name, meta in manifest["outputs"].items():
            assert file_sha256(out / name) == meta["sha256"]
        assert set(manifest["outputs"]) >= {f"{rel.removesuffix('.mp4')}{s}" for s in (RECORDING_SUFFIX, ".bvh")}
    assert not list(out.rglob("*.batch-tmp-*"))  # no temporary left behind


@pytest.mark.slow
def test_outputs_equal_bridge_export_and_bridge_analyze_of_the_same_video(
    local_run, video_dir: Path, tmp_path: Path, run_bridge
) -> None:
    """The batch wires the same stages as the single-file commands: byte-identical BVH and angle CSV."""
    out, _ = local_run
    video = video_dir / "jump_b.mp4"
    proc = run_bridge("export", str(video), "--bvh", str(tmp_path / "jump_b.bvh"))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "jump_b.bvh").read_bytes() == (out / "jump_b.bvh").read_bytes()
    proc = run_bridge("analyze", str(video), "--out", str(tmp_path / "analysis"))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "analysis" / "jump_b_angles.csv").read_bytes() == (out / "jump_b_angles.csv").read_bytes()


@pytest.mark.slow
def test_second_run_skips_what_is_done_and_retries_failures(local_run, video_dir: Path, run_bridge) -> None:
    out, _ = local_run
    manifests = {rel: out / f"{rel.removesuffix('.mp4')}{MANIFEST_SUFFIX}" for rel in GOOD}
    before = {rel: p.stat().st_mtime_ns for rel, p in manifests.items()}
    proc = run_bridge("batch", str(video_dir), "--out", str(out), "--bvh", "--analyze", "--workers", "2",
                      timeout=300)  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    files = _by_file(_summary(out))
    assert {rel: files[rel]["status"] for rel in GOOD} == dict.fromkeys(GOOD, "skipped")
    assert files[BROKEN]["status"] == "failed"  # failures are tried again
    assert {rel: p.stat().st_mtime_ns for rel, p in manifests.items()} == before


@pytest.mark.slow
@pytest.mark.skipif(not HAS_RAY, reason="the optional ray package is not installed (pip install ray)")
def test_ray_engine_writes_the_same_outputs_as_the_local_pool(
    local_run, video_dir: Path, tmp_path: Path, run_bridge
) -> None:
    out_local, _ = local_run
    out = tmp_path / "out_ray"
    proc = run_bridge("batch", str(video_dir), "--out", str(out), "--bvh", "--analyze", "--engine", "ray",
                      "--workers", "2", timeout=600)  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert all(line.startswith("bridge: ") for line in proc.stderr.splitlines()), proc.stderr  # Ray kept quiet
    summary = _summary(out)
    assert summary["engine"] == "ray" and summary["workers"] == 2
    files = _by_file(summary)
    assert files[BROKEN]["status"] == "failed" and "cannot open" in files[BROKEN]["error"]
    local_files = _by_file(_summary(out_local))
    for rel in GOOD:
        stem = rel.removesuffix(".mp4")
        assert files[rel]["status"] == "done"
        assert files[rel]["tracked_frames"] == local_files[rel]["tracked_frames"]
        recording = f"{stem}{RECORDING_SUFFIX}"
        assert _frame_lines(out / recording) == _frame_lines(out_local / recording)
        assert (out / f"{stem}.bvh").read_bytes() == (out_local / f"{stem}.bvh").read_bytes()
        assert (out / f"{stem}_angles.csv").read_bytes() == (out_local / f"{stem}_angles.csv").read_bytes()
        ray_manifest = json.loads((out / f"{stem}{MANIFEST_SUFFIX}").read_text())
        local_manifest = json.loads((out_local / f"{stem}{MANIFEST_SUFFIX}").read_text())
        assert ray_manifest["settings_sha256"] == local_manifest["settings_sha256"]
        assert ray_manifest["input_sha256"] == local_manifest["input_sha256"]


def _start_batch(video_dir: Path, out: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen(
        [sys.executable, "-m", "bridge", "batch", str(video_dir), "--out", str(out), "--workers", "1"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _complete(out: Path) -> dict[str, int]:
    """Videos that look complete (a manifest whose outputs all exist): manifest path → mtime in ns."""
    done = {}
    for manifest in out.rglob(f"*{MANIFEST_SUFFIX}"):
        obj = json.loads(manifest.read_text())
        assert all((out / name).is_file() for name in obj["outputs"]), f"{manifest} lists a missing output"
        done[str(manifest.relative_to(out))] = manifest.stat().st_mtime_ns
    return done


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=lambda s: s.name.lower())
def test_killed_batch_resumes_without_redoing_finished_videos(
    video_dir: Path, tmp_path: Path, run_bridge, sig: signal.Signals
) -> None:
    out = tmp_path / "out"
    proc = _start_batch(video_dir, out)
    try:
        deadline = time.monotonic() + 300
        while not list(out.rglob(f"*{MANIFEST_SUFFIX}")):
            assert proc.poll() is None, f"the batch ended before finishing a video: {proc.communicate()}"
            assert time.monotonic() < deadline, "no video finished in time"
            time.sleep(0.05)
        workers = spawned_children(proc.pid)
        assert workers, "the local engine runs its videos in worker processes"
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    if sig != signal.SIGKILL:  # Ctrl-C and kill: workers stopped, summary written
        assert proc.returncode == 130 and "interrupted" in stderr and "Traceback" not in stderr
        assert _summary(out)["interrupted"] is True
    else:
        assert proc.returncode == -signal.SIGKILL
    deadline = time.monotonic() + 10  # workers end with the batch: nothing keeps writing afterwards
    while any(process_exists(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(process_exists(pid) for pid in workers)
    finished = _complete(out)
    assert 1 <= len(finished) < len(GOOD)  # the kill came midway

    again = run_bridge("batch", str(video_dir), "--out", str(out), "--workers", "1", timeout=300)
    assert again.returncode == 1, again.stderr  # only the corrupt file fails
    files = _by_file(_summary(out))
    assert sorted(r for r, f in files.items() if f["status"] in ("done", "skipped")) == sorted(GOOD)
    skipped = {r for r, f in files.items() if f["status"] == "skipped"}
    assert {f"{r.removesuffix('.mp4')}{MANIFEST_SUFFIX}" for r in skipped} == set(finished)
    after = _complete(out)
    assert len(after) == len(GOOD)
    assert {k: after[k] for k in finished} == finished  # finished videos were not redone
    assert not list(out.rglob("*.batch-tmp-*"))


@pytest.mark.slow
def test_a_worker_that_dies_fails_its_video_and_the_batch_goes_on(video_dir: Path, tmp_path: Path) -> None:
    """A native crash in a worker (here: SIGKILL while it works on a video) fails that video only."""
    out = tmp_path / "out"
    proc = _start_batch(video_dir, out)
    try:
        deadline = time.monotonic() + 300
        victim = None
        while victim is None:
            assert proc.poll() is None, f"the batch ended before a video was in flight: {proc.communicate()}"
            assert time.monotonic() < deadline, "no video was in flight in time"
            for tmp in out.rglob("*.batch-tmp-*"):  # a worker's temporary folder: .<stem>.batch-tmp-<pid>
                pid = int(tmp.name.rpartition("-")[2])
                stem = tmp.name.removeprefix(".").partition(".batch-tmp-")[0]
                if tmp.is_dir() and stem != Path(BROKEN).stem and pid in spawned_children(proc.pid):
                    victim = (pid, stem)
                    break
            time.sleep(0.02)
        os.kill(victim[0], signal.SIGKILL)
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 1, stderr
    files = _by_file(_summary(out))
    crashed = [r for r in GOOD if Path(r).stem == victim[1]]
    assert len(crashed) == 1
    assert files[crashed[0]]["status"] == "failed" and "worker process died" in files[crashed[0]]["error"]
    assert all(files[r]["status"] == "done" for r in GOOD if r not in crashed)  # the batch went on
    assert not (out / f"{crashed[0].removesuffix('.mp4')}{MANIFEST_SUFFIX}").exists()
    assert not list(out.rglob("*.batch-tmp-*"))  # its temporary folder was removed at the end


# ---------------------------------------------------------------------------------------------- small parts


def test_completed_result_needs_same_input_settings_and_outputs(local_run, video_dir: Path) -> None:
    out, _ = local_run
    manifest = json.loads((out / f"jump_a{MANIFEST_SUFFIX}").read_text())
    job = BatchJob(video_dir / "jump_a.mp4", "jump_a.mp4", out, "jump_a", manifest["input_sha256"],
                   manifest["settings_sha256"], FRAMES)  # fmt: skip
    done = completed_result(job, out)
    assert done is not None and done.status == "skipped" and done.frames == FRAMES
    assert completed_result(BatchJob(**{**job.__dict__, "input_sha256": "0" * 64}), out) is None
    assert completed_result(BatchJob(**{**job.__dict__, "settings_sha256": "0" * 64}), out) is None
    bvh = out / "jump_a.bvh"
    saved = bvh.read_bytes()
    try:
        bvh.write_bytes(saved[:-10])  # an output cut short: not done
        assert completed_result(job, out) is None
    finally:
        bvh.write_bytes(saved)
    assert completed_result(job, out) is not None


def test_find_videos_and_output_names(tmp_path: Path) -> None:
    for name in ("b.mp4", "a.MOV", "a.mp4", "sub/c.mkv", ".hidden/d.mp4", "e.txt", "sub/.f.mp4"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    videos = find_videos(tmp_path)
    assert [v.relative_to(tmp_path).as_posix() for v in videos] == ["a.MOV", "a.mp4", "b.mp4", "sub/c.mkv"]
    assert output_stems(videos) == ["a_mov", "a_mp4", "b", "c"]


def test_progress_line_counts_files_and_frames() -> None:
    bar = BatchProgress(files=4, frames=200, stream=open(os.devnull, "w"))  # noqa: SIM115
    bar.files_done, bar.frames_done, bar.failed = 1, 50, 1
    line = bar.line(width=20)
    assert line.startswith("[" + "#" * 5 + "." * 15 + "] 1/4 files (1 failed) | 50/200 frames")
    bar.status.stream.close()


@pytest.mark.slow
def test_bad_batch_arguments_are_one_line_errors(tmp_path: Path, run_bridge) -> None:
    proc = run_bridge("batch", str(tmp_path / "missing"), "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and proc.stderr.strip().startswith("bridge: error: input folder not found")
    (tmp_path / "empty").mkdir()
    proc = run_bridge("batch", str(tmp_path / "empty"), "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and "no videos in" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_bridge("batch", str(tmp_path / "empty"), "--out", str(tmp_path / "o"), "--ray-address", "auto")
    assert proc.returncode == 2 and "--ray-address needs --engine ray" in proc.stderr


@pytest.mark.slow
@pytest.mark.skipif(not HAS_RAY, reason="the optional ray package is not installed (pip install ray)")
def test_unreachable_ray_cluster_is_a_one_line_error(video_dir: Path, tmp_path: Path, run_bridge) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on: bound, never listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        proc = run_bridge("batch", str(video_dir), "--out", str(tmp_path / "o"), "--engine", "ray",
                          "--ray-address", f"127.0.0.1:{port}", timeout=60)  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines()[-1].startswith(f"bridge: error: no Ray cluster answers at 127.0.0.1:{port}")
    assert "Traceback" not in proc.stderr
