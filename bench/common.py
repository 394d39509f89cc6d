"""Shared pieces of the benchmarks: the test video, a bare MediaPipe loop to compare against."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def sports2d_demo() -> Path:
    """The Sports2D demo video (pip install --no-deps sports2d==0.8.34), the same file as ``--input demo``."""
    from bridge.tracking.sources import demo_video_path

    return demo_video_path()


def decode_all(path: Path, max_frames: int | None = None) -> list[np.ndarray]:
    """Frames of ``path`` as BGR uint8 arrays."""
    cap = cv2.VideoCapture(str(path))
    frames = []
    while max_frames is None or len(frames) < max_frames:
        ok, image = cap.read()
        if not ok:
            break
        frames.append(image)
    cap.release()
    return frames


def bare_inference(images: list[np.ndarray], fps: float = 30.0) -> tuple[float, list[float]]:
    """Bare MediaPipe PoseLandmarker (VIDEO mode) over decoded frames in this process.

    Returns (frames per second, per-frame inference times in ms).
    """
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    from bridge.tracking.models import pose_model_path

    options = vision.PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(pose_model_path(None))),
        running_mode=vision.RunningMode.VIDEO,
        num_poses=1,
    )
    times = []
    with vision.PoseLandmarker.create_from_options(options) as landmarker:
        t0 = time.perf_counter()
        for k, image in enumerate(images):
            t = time.perf_counter()
            rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
            landmarker.detect_for_video(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb), int(k * 1000 / fps))
            times.append((time.perf_counter() - t) * 1000.0)
        total = time.perf_counter() - t0
    return len(images) / total, times


def bare_inference_decoding(path: Path, fps: float = 30.0) -> float:
    """Frames per second of a plain single-process loop that decodes each frame and runs the model on it."""
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    from bridge.tracking.models import pose_model_path

    options = vision.PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(pose_model_path(None))),
        running_mode=vision.RunningMode.VIDEO,
        num_poses=1,
    )
    n = 0
    with vision.PoseLandmarker.create_from_options(options) as landmarker:
        cap = cv2.VideoCapture(str(path))
        t0 = time.perf_counter()
        while True:
            ok, image = cap.read()
            if not ok:
                break
            rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
            landmarker.detect_for_video(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb), int(n * 1000 / fps))
            n += 1
        total = time.perf_counter() - t0
        cap.release()
    return n / total
