"""Temporal lifter cost: live per-frame cost (causal model, ring buffer) and batch throughput, against MediaPipe
pose-model inference measured in the same run.

* live: :class:`bridge.stages.lifter.CausalLifter` called frame by frame on LandmarkFrames (normalisation, ring
buffer,
  one strided window evaluation, hip re-centring, frame copy) — goal ≤ 1 ms per frame;
* batch: :meth:`LifterModel.lift` (dilated convolutions over a whole sequence) with the symmetric and causal
  models, frames per second;
* pose model: bare MediaPipe PoseLandmarker (VIDEO mode) on the Sports2D demo frames decoded in memory, the
  cost the lifter adds to; its 2-D output is what the lifter then runs on.

Usage: ``python bench/bench_lifter.py [--frames 120] [--repeat 3]``. Prints medians and ratios from one run;
the machine may be shared, so compare ratios, not absolute times, between runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import bare_inference, decode_all, sports2d_demo  # noqa: E402

from bridge.core.landmarks import NUM_LANDMARKS, LandmarkFrame  # noqa: E402
from bridge.stages.lifter import (  # noqa: E402
    DEFAULT_CAUSAL_MODEL,
    DEFAULT_SYMMETRIC_MODEL,
    CausalLifter,
    available_lifters,
    load_lifter,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=120, help="video frames for the pose-model baseline")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    images = decode_all(sports2d_demo(), args.frames)
    pose_fps, pose_ms = bare_inference(images)
    pose_med = float(np.median(pose_ms))
    print(f"pose model (MediaPipe full, VIDEO mode, {len(images)} frames): median {pose_med:.1f} ms/frame, "
          f"{pose_fps:.1f} fps")  # fmt: skip

    # 2-D input: a smooth synthetic walk-like sequence in the image (the cost does not depend on the values).
    rng = np.random.default_rng(0)
    n = 3000
    base = rng.uniform(0.35, 0.65, size=(NUM_LANDMARKS, 2))
    t = np.arange(n)[:, None, None] / 30.0
    xy = base[None] + 0.03 * np.sin(2 * np.pi * 1.0 * t + base[None] * 7.0)
    frames = [
        LandmarkFrame(
            t_s=k / 30.0,
            world_xyz_m=np.zeros((NUM_LANDMARKS, 3)),
            image_xy=xy[k],
            visibility=np.ones(NUM_LANDMARKS),
            presence=np.ones(NUM_LANDMARKS),
            image_size=(1280, 720),
        )  # fmt: skip
        for k in range(n)
    ]

    print("\nlive, causal, per frame (CausalLifter on LandmarkFrames):")
    names = [m for m in available_lifters() if m.endswith("_causal")]
    for name in names:
        best = []
        for _ in range(args.repeat):
            lifter = CausalLifter(model=load_lifter(name))
            times = []
            for f in frames[:1000]:
                t0 = time.perf_counter()
                lifter(f)
                times.append((time.perf_counter() - t0) * 1000.0)
            best.append(float(np.median(times[10:])))
        med = min(best)
        mark = "  <- live default" if name == DEFAULT_CAUSAL_MODEL else ""
        print(f"  {name:14s} RF {load_lifter(name).receptive_field:3d}: {med * 1000:7.1f} µs/frame "
              f"({med / pose_med * 100:.2f}% of the pose model's {pose_med:.1f} ms){mark}")  # fmt: skip

    print("\nbatch, whole sequence (LifterModel.lift, dilated convolutions):")
    for name in available_lifters():
        model = load_lifter(name)
        rates = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            model.lift(xy, (1280, 720))
            rates.append(n / (time.perf_counter() - t0))
        rate = max(rates)
        mark = "  <- batch default" if name == DEFAULT_SYMMETRIC_MODEL else ""
        print(f"  {name:14s} RF {model.receptive_field:3d}: {rate:9.0f} frames/s = {rate / pose_fps:6.0f}× the "
              f"pose model's {pose_fps:.1f} fps{mark}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
