"""Tracker throughput: the product pipeline vs a bare MediaPipe loop, measured in the same run.

* pipeline: ``bridge.tracking.process.open_landmarks`` on the Sports2D demo video (tracker process decodes the
video,
  runs PoseLandmarker in VIDEO mode, sends LandmarkFrames over the queue; this process drains them);
* bare: the same video decoded into memory first, then a plain loop of BGR→RGB + ``detect_for_video`` in this
  process (no decoding, no queue, no conversion to LandmarkFrame) — the best the model can do here;
* bare+decode: the same plain loop, decoding the video as it goes (what any single-process tracker pays).

Prints the rates in frames per second and the ratios (goal: pipeline / bare ≥ 0.95). On a 2-core machine
decoding the 1768x994 H.264 demo costs ~5 ms of CPU per frame that cannot overlap with inference (MediaPipe
already uses both cores), so pipeline / bare is bounded by decode cost; pipeline / bare+decode shows the cost of
the process, queue and conversion themselves.

``--smoothing`` also measures whether VIDEO mode filters landmarks over time: it runs VIDEO mode on the same
frames with 33 ms and 10 s timestamp spacing and IMAGE mode, and prints how often world landmarks agree.

Usage: ``python bench/bench_tracker.py [--video PATH] [--repeat 2] [--smoothing]``
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import decode_all, sports2d_demo  # noqa: E402

from bridge.tracking.models import pose_model_path  # noqa: E402
from bridge.tracking.process import open_landmarks  # noqa: E402


def make_landmarker(mode: str):  # type: ignore[no-untyped-def]
    from mediapipe.tasks.python import BaseOptions, vision

    options = vision.PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(pose_model_path())),
        running_mode=getattr(vision.RunningMode, mode),
        num_poses=1,
    )
    return vision.PoseLandmarker.create_from_options(options)


def bare_fps(frames: list[np.ndarray] | Path, fps: float) -> float:
    """Frames per second of a plain in-process VIDEO-mode loop (model load not timed).

    ``frames`` is either the already-decoded frames, or the video path (then the loop decodes as it goes).
    """
    import mediapipe as mp

    def source() -> Iterator[np.ndarray]:
        if isinstance(frames, Path):
            cap = cv2.VideoCapture(str(frames))
            while True:
                ok, image = cap.read()
                if not ok:
                    break
                yield image
            cap.release()
        else:
            yield from frames

    landmarker = make_landmarker("VIDEO")
    try:
        count = 0
        start = time.perf_counter()
        for i, bgr in enumerate(source()):
            image = mp.Image(image_format=mp.ImageFormat.SRGB, data=cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            landmarker.detect_for_video(image, int(round(i * 1000 / fps)))
            count += 1
        return count / (time.perf_counter() - start)
    finally:
        landmarker.close()


def pipeline_fps(video: Path) -> tuple[float, int]:
    """Frames per second the consumer receives from the tracker process (from the first frame to the last)."""
    with open_landmarks(str(video)) as (_, frames):
        first = next(frames)
        start = time.perf_counter()
        count = 1 + sum(1 for _ in frames)
        elapsed = time.perf_counter() - start
    _ = first
    return (count - 1) / elapsed, count


def smoothing(frames: list[np.ndarray], fps: float) -> None:
    """Compare VIDEO mode at true vs stretched timestamps, and IMAGE mode, on world landmarks."""
    import mediapipe as mp

    def run(mode: str, step_ms: float) -> np.ndarray:
        landmarker = make_landmarker(mode)
        out = np.full((len(frames), 33, 3), np.nan)
        for i, bgr in enumerate(frames):
            image = mp.Image(image_format=mp.ImageFormat.SRGB, data=cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            result = (
                landmarker.detect_for_video(image, int(round(i * step_ms)))
                if mode == "VIDEO"
                else landmarker.detect(image)
            )
            if result.pose_world_landmarks:
                out[i] = [(p.x, p.y, p.z) for p in result.pose_world_landmarks[0]]
        landmarker.close()
        return out

    true_ms = 1000.0 / fps
    video = run("VIDEO", true_ms)
    for name, other in (("VIDEO, 10 s spacing", run("VIDEO", 10_000.0)), ("IMAGE", run("IMAGE", true_ms))):
        both = np.isfinite(video[:, 0, 0]) & np.isfinite(other[:, 0, 0])
        diff_m = np.abs(video - other).max(axis=(1, 2))[both]
        print(
            f"VIDEO ({true_ms:.1f} ms spacing) vs {name}: both found {both.sum()}, world landmarks equal "
            f"(<1e-6 m) on {(diff_m < 1e-6).sum()}, median max-diff {np.median(diff_m) * 100:.1f} cm, "
            f"max {diff_m.max() * 100:.1f} cm"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description="tracker throughput: pipeline vs bare MediaPipe loop")
    parser.add_argument("--video", type=Path, default=None, help="video (default: the Sports2D demo)")
    parser.add_argument("--repeat", type=int, default=2, help="alternating runs of each (best is kept)")
    parser.add_argument("--smoothing", action="store_true", help="also measure VIDEO-mode smoothing")
    args = parser.parse_args()
    video = args.video or sports2d_demo()
    frames = decode_all(video)
    cap = cv2.VideoCapture(str(video))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    cap.release()
    h, w = frames[0].shape[:2]
    print(f"video {video.name}: {len(frames)} frames {w}x{h} @ {fps:g} fps; {os.cpu_count()} CPUs")
    bare, bare_dec, pipe = [], [], []
    for _ in range(max(1, args.repeat)):
        bare.append(bare_fps(frames, fps))
        bare_dec.append(bare_fps(video, fps))
        rate, count = pipeline_fps(video)
        pipe.append(rate)
        print(
            f"  run: bare {bare[-1]:.1f} fps, bare+decode {bare_dec[-1]:.1f} fps, "
            f"pipeline {pipe[-1]:.1f} fps ({count} frames received)"
        )
    print(f"bare MediaPipe VIDEO loop over pre-decoded frames: {max(bare):.1f} fps")
    print(f"bare MediaPipe VIDEO loop decoding the video as it goes: {max(bare_dec):.1f} fps")
    print(f"bridge tracker process pipeline (decode + track + queue + consumer): {max(pipe):.1f} fps")
    print(f"ratio pipeline / bare (pre-decoded): {max(pipe) / max(bare):.3f} (goal >= 0.95)")
    print(f"ratio pipeline / bare+decode: {max(pipe) / max(bare_dec):.3f}")
    if args.smoothing:
        smoothing(frames, fps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
