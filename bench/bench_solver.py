"""Filter + solve cost per frame and batch throughput, as a ratio to pose-model inference on the same clip, and
the solver's accuracy on real mocap — all in one run.

* inference: bare MediaPipe PoseLandmarker (VIDEO mode) per frame on the Sports2D demo video;
* live path: flip repair + One-Euro filter + solver, one frame at a time (what ``bridge stream`` does per frame)
  on the landmarks of that same clip;
* batch path: the same frames through ``filter_frames`` + ``Solver.solve_frames`` at once (files, export);
* accuracy: CMU mocap (assimp-testmodels) → landmarks → solve → per-bone direction error vs the mocap joints.

Goal (issue #11): live filter + solve ≤ 2 % of inference.  Usage: ``python bench/bench_solver.py``
"""

from __future__ import annotations

import time

import numpy as np
from common import bare_inference, decode_all, sports2d_demo

from bridge.app.processor import Processor
from bridge.core.rig import load_rig
from bridge.solve.body import Solver
from bridge.stages.filter import filter_frames
from bridge.stages.flips import repair_flips
from bridge.testing.evaluate import direction_errors, flexion_errors, summarise
from bridge.tracking.process import track_video_inprocess


def main() -> None:
    video = sports2d_demo()
    images = decode_all(video)
    fps_bare, infer_ms = bare_inference(images)
    infer = float(np.median(infer_ms))
    _, frames = track_video_inprocess(str(video))
    rig = load_rig()

    repeats = 5
    per_frame = []
    for _ in range(repeats):
        proc = Processor(rig)
        for f in frames:
            t = time.perf_counter()
            proc(f)
            per_frame.append((time.perf_counter() - t) * 1000.0)
    live = float(np.median(per_frame))
    solve_only = []
    for _ in range(repeats):
        solver = Solver(rig)
        for f in frames:
            t = time.perf_counter()
            solver(f)
            solve_only.append((time.perf_counter() - t) * 1000.0)

    t = time.perf_counter()
    for _ in range(repeats):
        Solver(rig).solve_frames(filter_frames(repair_flips(frames)))
    batch_fps = repeats * len(frames) / (time.perf_counter() - t)

    print(f"clip: {video.name}, {len(frames)} frames")
    print(f"inference (bare MediaPipe, median):     {infer:7.2f} ms/frame  ({fps_bare:.1f} fps)")
    print(
        f"live repair+filter+solve (median):      {live:7.3f} ms/frame  = {100 * live / infer:.2f} % of inference"
    )
    print(f"  of which solve alone (median):        {float(np.median(solve_only)):7.3f} ms/frame")
    print(
        f"batch repair+filter+solve:              {batch_fps:7.0f} frames/s  = {1000 / batch_fps:.3f} ms/frame"
        f"  = {100 * (1000 / batch_fps) / infer:.2f} % of inference"
    )

    from pathlib import Path

    from bridge.export.bvh_file import read_bvh
    from bridge.testing.mocap import mocap_landmarks, to_landmark_frames

    for clip in ("01_01", "01_03"):
        path = Path("/usr/share/assimp/models/BVH") / f"{clip}.bvh"
        if not path.is_file():
            print(f"{path} missing (apt-get install assimp-testmodels)")
            continue
        ml = mocap_landmarks(read_bvh(path), frames=slice(1, None, 4))
        poses = Solver(rig).solve_frames([f.replace(visibility=np.ones(33)) for f in to_landmark_frames(ml)])
        dirs = summarise(direction_errors(poses, ml.joints_m, ml.world_xyz_m))
        flex = summarise(flexion_errors(poses, ml.joints_m))
        print(f"\nCMU {clip}: {len(poses)} frames — direction error (deg): mean / 95th percentile")
        for name, (mean, p95) in {**dirs, **flex}.items():
            print(f"  {name:14s} {mean:6.2f} / {p95:6.2f}")


if __name__ == "__main__":
    main()
