"""What following one person among several costs: the pose model looking for 1, 2 or 3 people, and bridge's person
selection (colours of each pose's torso and thighs, matching them to the people seen), on the Sports2D demo.

Every configuration runs over the same pre-decoded frames in this one run, in turns (1, 2, 3, 1, 2, 3 …) so that
a busy machine slows them alike; reported per segment of the clip: frames 0–59 (one person in view) and 60–199
(two). Run: ``PYTHONPATH=$PWD python bench/bench_person.py [--rounds N]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from common import decode_all, sports2d_demo

from bridge.tracking.config import TrackerConfig
from bridge.tracking.pose_detector import PoseDetector
from bridge.tracking.sources import Frame

SEGMENTS = {"one person (frames 0-59)": slice(0, 60), "two people (frames 60-199)": slice(60, 200)}


def run(images: list[np.ndarray], num_poses: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame ms of MediaPipe inference and of bridge's person selection, for one configuration."""
    import cv2
    import mediapipe as mp

    infer, select = [], []
    with PoseDetector(TrackerConfig(num_poses=num_poses)) as detector:
        landmarker = detector._landmarker  # the detector's own model, called directly to time its parts
        for k, image in enumerate(images):
            frame = Frame(k / 30.0, k, image)
            t0 = time.perf_counter()
            rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
            result = landmarker.detect_for_video(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb), k * 33)
            t1 = time.perf_counter()
            detector.follow(result, frame)
            t2 = time.perf_counter()
            infer.append((t1 - t0) * 1000.0)
            select.append((t2 - t1) * 1000.0)
    return np.array(infer), np.array(select)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    images = decode_all(sports2d_demo(), 200)
    results: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {1: [], 2: [], 3: []}
    for _ in range(args.rounds):
        for n in results:
            results[n].append(run(images, n))
    print("| people looked for | segment | inference ms/frame | ratio to 1 | person selection ms/frame |")
    print("|---|---|---|---|---|")
    for name, seg in SEGMENTS.items():
        base = np.median([np.median(inf[seg]) for inf, _ in results[1]])
        for n, runs in results.items():
            inf = np.median([np.median(i[seg]) for i, _ in runs])
            sel = np.median([np.median(s[seg]) for _, s in runs])
            print(f"| {n} | {name} | {inf:.1f} | {inf / base:.2f} | {sel:.2f} |")


if __name__ == "__main__":
    main()
