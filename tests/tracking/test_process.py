"""The tracker with the real MediaPipe model on real video.

Most checks share one run of the tracker process over the Sports2D demo (``sports2d_tracked``, conftest): a man
stands on a box facing the camera with his arms out (frames ~5–95), walks along the box in profile and jumps
down; a woman walks past in profile; the tracker (num_poses=1) follows one of them at a time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from bridge.core.errors import BridgeError
from bridge.core.landmarks import NUM_LANDMARKS, LandmarkFrame
from bridge.core.landmarks import PoseLandmark as L
from bridge.tracking.config import TrackerConfig
from bridge.tracking.models import (
    bundled_model_path,
    check_model,
    face_model_path,
    hand_model_path,
    pose_model_path,
)
from bridge.tracking.pose_detector import PoseDetector
from bridge.tracking.process import open_landmarks, put_dropping_stale, track_video_inprocess
from bridge.tracking.sources import StreamInfo, demo_video_path
from tests.conftest import REPO, process_exists, spawned_children, tracker_children


def found(frames: list[LandmarkFrame]) -> list[LandmarkFrame]:
    return [f for f in frames if f.person]


# --------------------------------------------------------------------------------------------------------------
# Real model, real video


def test_every_frame_in_order_with_presentation_timestamps(sports2d_tracked) -> None:  # type: ignore[no-untyped-def]
    info, frames = sports2d_tracked
    assert isinstance(info, StreamInfo)
    assert not info.live and info.fps == pytest.approx(30.0) and info.image_size == (1768, 994)
    assert len(frames) == info.frame_count == 230
    assert [f.frame_index for f in frames] == list(range(230))
    np.testing.assert_allclose([f.t_s for f in frames], np.arange(230) / 30.0, atol=1e-9)
    assert all(f.image_size == (1768, 994) for f in frames)


def test_person_found_on_most_frames(sports2d_tracked) -> None:  # type: ignore[no-untyped-def]
    """The man is followed on most frames; a frame without him either has nobody found in it, or falls in the
    backflip (frames 160-210), where the model turns to the woman walking past and bridge does not follow."""
    from bridge.core.person import PEOPLE_FLAG

    _, frames = sports2d_tracked
    share = len(found(frames)) / len(frames)
    assert share >= 0.80, f"person found on only {share:.1%} of frames"
    others = [f.frame_index for f in frames if not f.person and f.flags.get(PEOPLE_FLAG)]
    assert all(160 <= k <= 210 for k in others), others
    for f in frames:
        if f.person:
            assert f.world_xyz_m.shape == (NUM_LANDMARKS, 3) and np.isfinite(f.world_xyz_m).all()
            assert f.image_xy.shape == (NUM_LANDMARKS, 2)
            assert ((f.visibility >= 0) & (f.visibility <= 1)).all()
            assert ((f.presence >= 0) & (f.presence <= 1)).all()
        else:  # explicit no-person frames, not gaps
            assert not f.world_xyz_m.any() and not f.visibility.any()


def test_body_size_is_adult(sports2d_tracked) -> None:  # type: ignore[no-untyped-def]
    """World landmarks are metric: ankle→knee→hip→shoulder-mid→nose chain and head-to-foot vertical extent."""
    frames = found(sports2d_tracked[1])
    xyz = np.stack([f.world_xyz_m for f in frames])  # (T, 33, 3) MediaPipe world frame, metres

    def dist(a: L, b: L) -> np.ndarray:
        return np.linalg.norm(xyz[:, a] - xyz[:, b], axis=1)

    legs_m = (
        dist(L.LEFT_ANKLE, L.LEFT_KNEE)
        + dist(L.LEFT_KNEE, L.LEFT_HIP)
        + dist(L.RIGHT_ANKLE, L.RIGHT_KNEE)
        + dist(L.RIGHT_KNEE, L.RIGHT_HIP)
    ) / 2
    mid_hip = (xyz[:, L.LEFT_HIP] + xyz[:, L.RIGHT_HIP]) / 2
    mid_shoulder = (xyz[:, L.LEFT_SHOULDER] + xyz[:, L.RIGHT_SHOULDER]) / 2
    trunk_m = np.linalg.norm(mid_shoulder - mid_hip, axis=1)
    chain_m = legs_m + trunk_m + np.linalg.norm(xyz[:, L.NOSE] - mid_shoulder, axis=1)
    assert np.mean((chain_m > 1.2) & (chain_m < 2.1)) >= 0.9, np.percentile(chain_m, [5, 50, 95])
    extent_m = xyz[:, :, 1].max(axis=1) - xyz[:, :, 1].min(axis=1)  # vertical (y down) head-to-foot extent
    assert np.mean((extent_m > 1.2) & (extent_m < 2.1)) >= 0.8, np.percentile(extent_m, [5, 50, 95])
    # hip-centred: the mid-hip point is the origin
    assert np.abs(mid_hip).max() < 0.05


def test_left_landmarks_are_on_the_persons_left(sports2d_tracked) -> None:  # type: ignore[no-untyped-def]
    """A person facing the camera has their left side on the image's right: LEFT_SHOULDER x > RIGHT_SHOULDER x.

    Facing is decided without the left/right labels: the nose is nearer the camera (smaller world z) than the
    middle of the shoulders. Back-facing frames (nose farther) must show the opposite. And during the frames
    where the man stands on the box facing the camera with his arms out (5–95, seen in the video), the labels
    must agree on nearly all of them.
    """
    frames = found(sports2d_tracked[1])
    xyz = np.stack([f.world_xyz_m for f in frames])
    img = np.stack([f.image_xy for f in frames])
    index = np.array([f.frame_index for f in frames])
    nose_z = xyz[:, L.NOSE, 2]
    shoulder_z = (xyz[:, L.LEFT_SHOULDER, 2] + xyz[:, L.RIGHT_SHOULDER, 2]) / 2
    left_on_image_right = img[:, L.LEFT_SHOULDER, 0] > img[:, L.RIGHT_SHOULDER, 0]
    facing = nose_z < shoulder_z - 0.05
    assert facing.sum() >= 50
    assert left_on_image_right[facing].mean() >= 0.95
    away = nose_z > shoulder_z + 0.05
    if away.sum() >= 3:
        assert (~left_on_image_right[away]).mean() >= 0.8
    on_box = (index >= 5) & (index <= 95)
    assert on_box.sum() >= 80
    assert left_on_image_right[on_box].mean() >= 0.85
    # world x agrees with the image: left shoulder at larger x (x right) when facing the camera
    assert (xyz[facing, L.LEFT_SHOULDER, 0] > xyz[facing, L.RIGHT_SHOULDER, 0]).mean() >= 0.95


@pytest.mark.slow
def test_process_gives_the_same_landmarks_as_in_process_tracking() -> None:
    """The process pipeline changes nothing: equal to a plain in-process loop on the demo clip."""
    info_in, direct = track_video_inprocess("demo")
    with open_landmarks(None) as (info, frames):
        via_process = list(frames)
    assert info.is_demo and info_in.is_demo and info.image_size == (1768, 994)
    assert len(via_process) == len(direct) == 230
    assert all(a.equals(b, atol=1e-5) for a, b in zip(via_process, direct, strict=True))
    assert len(found(direct)) / len(direct) >= 0.80  # the demo clip is a useful demo (the man; not the woman)


@pytest.mark.slow
def test_video_without_person_gives_explicit_no_person_frames(tmp_path: Path) -> None:
    path = tmp_path / "noise.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 25.0, (320, 240))
    rng = np.random.default_rng(7)
    for i in range(20):
        noise = rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)
        image = noise if i % 2 else np.full((240, 320, 3), 40 * (i % 6), np.uint8)  # noise or plain colour
        writer.write(image)
    writer.release()
    with open_landmarks(str(path)) as (info, stream):
        frames = list(stream)
    assert info.fps == pytest.approx(25.0)
    assert len(frames) == 20
    assert not any(f.person for f in frames)
    assert [f.frame_index for f in frames] == list(range(20))
    assert all(f.image_size == (320, 240) and not f.world_xyz_m.any() for f in frames)


@pytest.mark.slow
def test_image_folder_in_name_order_with_timestamps_from_fps(tmp_path: Path) -> None:
    cap = cv2.VideoCapture(str(demo_video_path()))
    images = [cap.read()[1] for _ in range(30)]  # the first second of the demo clip, as lossless PNGs
    cap.release()
    for i in np.random.default_rng(3).permutation(30):  # written in shuffled order: names decide the order
        cv2.imwrite(str(tmp_path / f"img_{i:03d}.png"), images[i])
    (tmp_path / "notes.txt").write_text("not an image, ignored\n")
    with open_landmarks(str(tmp_path), TrackerConfig(image_fps=10.0)) as (info, stream):
        frames = list(stream)
    assert info.frame_count == 30 and info.fps == 10.0 and info.image_size == (1768, 994)
    assert [f.frame_index for f in frames] == list(range(30))
    np.testing.assert_allclose([f.t_s for f in frames], np.arange(30) / 10.0)
    assert len(found(frames)) >= 24
    # at the video's own rate the folder gives exactly what the video gives (same pixels, same timestamps)
    _, from_folder = track_video_inprocess(str(tmp_path), TrackerConfig(image_fps=30.0))
    _, from_video = track_video_inprocess("demo", max_frames=30)
    assert all(a.equals(b, atol=1e-5) for a, b in zip(from_folder, from_video, strict=True))


# --------------------------------------------------------------------------------------------------------------
# Process lifetime


@pytest.mark.slow
def test_consumer_leaving_early_stops_the_tracker_process(sports2d_video: Path) -> None:
    with open_landmarks(str(sports2d_video)) as (_, frames):
        pid = frames.pid  # type: ignore[attr-defined]
        assert pid in tracker_children() and pid in spawned_children(os.getpid())
        first = [next(frames) for _ in range(3)]
    assert [f.frame_index for f in first] == [0, 1, 2]
    assert pid not in tracker_children()
    assert not process_exists(pid)  # ended and reaped, not left running or as a zombie
    assert not spawned_children(os.getpid())


@pytest.mark.slow
def test_exception_in_consumer_stops_the_tracker_process(sports2d_video: Path) -> None:
    with pytest.raises(ZeroDivisionError), open_landmarks(str(sports2d_video)) as (_, frames):
        pid = frames.pid  # type: ignore[attr-defined]
        next(frames)
        _ = 1 / 0
    assert pid not in tracker_children()
    assert not process_exists(pid)


@pytest.mark.slow
def test_killed_tracker_process_is_a_clear_error_not_a_hang(sports2d_video: Path) -> None:
    start = time.monotonic()
    with open_landmarks(str(sports2d_video)) as (_, frames):
        next(frames)
        os.kill(frames.pid, signal.SIGKILL)  # type: ignore[attr-defined]
        with pytest.raises(BridgeError, match="tracker process stopped unexpectedly"):
            for _ in frames:  # frames already in the queue may still arrive, then the error
                pass
    assert time.monotonic() - start < 60  # generous: the point is that it returns at all
    assert not tracker_children() and not spawned_children(os.getpid())


@pytest.mark.parametrize(
    ("make_input", "message"),
    [
        (lambda d: _write(d / "notes.mp4", b"this is not a video\n" * 10), "as a video"),
        (lambda d: _write(d / "empty.mp4", b""), "video"),
        (lambda d: "camera:7", "no camera at index 7"),
    ],
    ids=["text-file", "empty-file", "no-camera"],
)
def test_startup_errors_in_the_tracker_process_reach_the_caller(tmp_path: Path, make_input, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(BridgeError, match=message) as err, open_landmarks(str(make_input(tmp_path))):
        pass
    assert "\n" not in str(err.value)
    assert not tracker_children()


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_live_queue_keeps_the_newest_frames_and_counts_drops() -> None:
    import multiprocessing

    q = multiprocessing.get_context("spawn").Queue(maxsize=2)
    dropped = sum(put_dropping_stale(q, i) for i in range(10))
    got = [q.get(timeout=2) for _ in range(2)]
    assert got == [8, 9]
    assert dropped == 8
    q.close()


# --------------------------------------------------------------------------------------------------------------
# Models


def test_bundled_models_are_found_and_valid() -> None:
    assert pose_model_path().name == "pose_landmarker_full.task"
    assert hand_model_path().name == "hand_landmarker.task"
    assert face_model_path().name == "face_landmarker.task"


def test_bad_model_files_are_one_line_errors(tmp_path: Path) -> None:
    text = tmp_path / "notes.task"
    text.write_text("not a model\n")
    with pytest.raises(BridgeError, match="not a MediaPipe model bundle"):
        pose_model_path(text)
    with pytest.raises(BridgeError, match="model file not found"):
        pose_model_path(tmp_path / "missing.task")
    with pytest.raises(BridgeError, match="not a MediaPipe pose landmarker model"):
        check_model(bundled_model_path("hand"), "pose")


def test_corrupt_model_inside_a_valid_bundle_is_reported_from_mediapipe(tmp_path: Path) -> None:
    """Passes the cheap zip check; MediaPipe's own load error becomes a one-line BridgeError."""
    fake = tmp_path / "fake_pose.task"
    with zipfile.ZipFile(fake, "w") as bundle:
        bundle.writestr("pose_detector.tflite", b"garbage" * 100)
        bundle.writestr("pose_landmarks_detector.tflite", b"garbage" * 100)
    with pytest.raises(BridgeError, match="MediaPipe could not load the pose model") as err:
        PoseDetector(TrackerConfig(model_path=fake))
    assert "\n" not in str(err.value)
    config = TrackerConfig(model_path=fake)
    with pytest.raises(BridgeError, match="could not load"), open_landmarks("demo", config):
        pass


@pytest.mark.slow
def test_tracker_process_ends_when_its_parent_is_killed(sports2d_video: Path, tmp_path: Path) -> None:
    """SIGKILL gives the parent no chance to clean up: the tracker process notices and exits by itself."""
    script = (
        "import sys, time\n"
        "from bridge.tracking.process import open_landmarks\n"
        "with open_landmarks(sys.argv[1]) as (info, frames):\n"
        "    next(frames)\n"
        "    print(frames.pid, flush=True)\n"
        "    time.sleep(60)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script, str(sports2d_video)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    assert process_running(child)
    parent.kill()
    parent.wait(timeout=10)
    deadline = time.monotonic() + 15
    while process_running(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not process_running(child)


def process_running(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie (an exited child its new parent has not reaped yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"
