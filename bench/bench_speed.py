"""The bridge's own work per frame against bare pose inference on the same frames, before and after, in one run.

* inference: bare MediaPipe PoseLandmarker (VIDEO mode) over the decoded Sports2D demo (the denominator);
* live: flip repair + One-Euro filter + body solver (+ quaternion continuity), one frame at a time, and the same
  with the body-state stage, as ``bridge stream`` runs them (:class:`bridge.app.processor.Processor`, default
  rig), on the landmarks MediaPipe gave for that clip; with ``--root-motion full``, the foot lock on and off;
  also each stage alone;
* batch: ``Solver.solve_frames`` over a long recording (the clip's landmarks repeated ``--long`` times, 230 × 20 =
  4600 frames by default) in one call, and the stateless ``solve_arrays`` alone.

Each code version runs in its own worker process (``--before DIR`` puts another checkout's ``bridge`` first on
the path, e.g. ``--before /work/main``), the versions alternating round by round on the same pickled frames, so
both see the same machine load; the figures are the minimum over rounds of each round's median (the least
disturbed round). Goals (issue 18): live ≤ 0.35 ms (≤ 2 % of inference), batch ≤ 20 µs/frame.

Usage: ``python bench/bench_speed.py [--before DIR] [--rounds 5] [--long 20]``
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def _worker(frames_path: str, long_repeats: int) -> dict[str, float]:
    """One round of every measurement with whatever ``bridge`` is first on the path; ms or µs per frame."""
    from bridge.app.processor import Processor, ProcessorConfig
    from bridge.core.frames import mediapipe_to_rig
    from bridge.core.rig import load_rig
    from bridge.solve.body import Solver
    from bridge.solve.body_arrays import solve_arrays
    from bridge.stages.body_state import BodyState, BodyStateConfig, rig_foot_slope_deg
    from bridge.stages.filter import LandmarkFilter
    from bridge.stages.flips import FlipRepair

    with open(frames_path, "rb") as fh:
        frames = pickle.load(fh)
    rig = load_rig()

    def per_frame_ms(stage: object) -> float:
        times = []
        for f in frames:
            t = time.perf_counter()
            stage(f)  # type: ignore[operator]
            times.append(time.perf_counter() - t)
        return 1000.0 * float(np.median(times))

    Processor(rig)(frames[0])  # warm caches and lazy imports
    out = {
        "live_ms": per_frame_ms(Processor(rig)),
        "live_body_only_ms": per_frame_ms(Processor(rig, ProcessorConfig(hands=None, face=None))),
        "live_stream_ms": per_frame_ms(Processor(rig, ProcessorConfig(body=BodyStateConfig()))),
        "body_state_ms": per_frame_ms(BodyState(BodyStateConfig(rig_foot_slope_deg=rig_foot_slope_deg(rig)))),
        "flips_ms": per_frame_ms(FlipRepair()),
        "filter_ms": per_frame_ms(LandmarkFilter()),
        "solve_ms": per_frame_ms(Solver(rig)),
    }
    from bridge.core.rig import forward_kinematics
    from bridge.solve.body_config import SolverConfig

    full = SolverConfig(root_motion="full")  # a stream with --root-motion full: root motion and the foot lock
    out["live_full_ms"] = per_frame_ms(Processor(rig, ProcessorConfig(body=BodyStateConfig(), solver=full)))
    if "foot_lock" in {f.name for f in dataclasses.fields(SolverConfig)}:  # not in older checkouts
        unlocked = dataclasses.replace(full, foot_lock=False)
        out["live_full_unlocked_ms"] = per_frame_ms(
            Processor(rig, ProcessorConfig(body=BodyStateConfig(), solver=unlocked))
        )

    export_config = ProcessorConfig(body=BodyStateConfig(), solver=SolverConfig(root_motion="planar"))
    Processor(rig, export_config).process_offline(frames[:30])  # warm: scipy.signal's import, first allocations
    t = time.perf_counter()
    Processor(rig, export_config).process_offline(frames)  # what bridge export runs (its default root motion)
    out["export_ms"] = 1000.0 * (time.perf_counter() - t) / len(frames)
    poses = [r.pose for r in Processor(rig).process_offline(frames) if r.pose is not None]
    t = time.perf_counter()
    for pose in poses:
        forward_kinematics(rig, pose.local_rotations, pose.hips_position_m)
    out["fk_ms"] = 1000.0 * (time.perf_counter() - t) / max(len(poses), 1)
    period = frames[-1].t_s - frames[0].t_s + 1.0
    long = [f.replace(t_s=f.t_s + r * period) for r in range(long_repeats) for f in frames]
    t = time.perf_counter()
    Solver(rig).solve_frames(long)
    out["batch_us"] = 1e6 * (time.perf_counter() - t) / len(long)
    arrays = getattr(Solver(rig), "solve_to_arrays", None)  # not in older checkouts
    if arrays is not None:
        t = time.perf_counter()
        arrays(long)
        out["batch_arrays_us"] = 1e6 * (time.perf_counter() - t) / len(long)
    solver = Solver(rig)
    xyz = mediapipe_to_rig(np.stack([f.world_xyz_m for f in long]))
    visible = np.stack([f.visibility for f in long]) >= 0.5
    t = time.perf_counter()
    solve_arrays(rig, xyz, visible, solver.config, solver._geometry)
    out["solve_arrays_us"] = 1e6 * (time.perf_counter() - t) / len(long)
    out["long_frames"] = float(len(long))
    return out


def _run_worker(code_dir: Path, frames_path: str, long_repeats: int) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(code_dir))
    cmd = [sys.executable, str(HERE / "bench_speed.py"), "--worker", frames_path, "--long", str(long_repeats)]
    done = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True, cwd=str(code_dir))
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", type=Path, help="another checkout (its bridge/ is measured as 'before')")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--long", type=int, default=20, help="repeats of the clip for the batch figure")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(_worker(args.worker, args.long)))
        return

    sys.path.insert(0, str(HERE))
    from common import bare_inference, decode_all, sports2d_demo

    from bridge.tracking.process import track_video_inprocess

    video = sports2d_demo()
    _, infer_ms = bare_inference(decode_all(video))
    infer = float(np.median(infer_ms))
    _, frames = track_video_inprocess(str(video))
    versions = {"after": HERE.parent}
    if args.before is not None:
        versions = {"before": args.before.resolve(), **versions}
    with tempfile.TemporaryDirectory() as tmp:
        frames_path = str(Path(tmp) / "frames.pkl")
        with open(frames_path, "wb") as fh:
            pickle.dump(frames, fh)
        rounds: dict[str, list[dict[str, float]]] = {k: [] for k in versions}
        for _ in range(args.rounds):
            for name, code in versions.items():
                rounds[name].append(_run_worker(code, frames_path, args.long))
    best = {name: {k: min(r[k] for r in rs) for k in rs[0]} for name, rs in rounds.items()}
    if "before" in best:  # an older checkout has no array path: its batch path is its whole cost
        best["before"].setdefault("batch_arrays_us", best["before"]["batch_us"])
    load = os.getloadavg()[0]
    print(f"clip: {video.name}, {len(frames)} frames; {args.rounds} rounds; load average {load:.1f}")
    print(f"inference (bare MediaPipe pose, median): {infer:.2f} ms/frame")
    rows = [
        ("live: repair + filter + solve (Processor)", "live_ms", "ms"),
        ("live, hands and face solvers off", "live_body_only_ms", "ms"),
        ("live as stream runs it (+ body state)", "live_stream_ms", "ms"),
        ("live as stream --root-motion full runs it (+ foot lock)", "live_full_ms", "ms"),
        ("  the same, --no-foot-lock", "live_full_unlocked_ms", "ms"),
        ("  body-state stage alone", "body_state_ms", "ms"),
        ("  flip repair alone", "flips_ms", "ms"),
        ("  One-Euro filter alone", "filter_ms", "ms"),
        ("  body solver alone", "solve_ms", "ms"),
        ("offline chain as bridge export runs it (root motion planar)", "export_ms", "ms"),
        ("forward kinematics of one pose (root motion, VRChat, viewer)", "fk_ms", "ms"),
        (f"batch Solver.solve_frames ({int(best['after']['long_frames'])} frames)", "batch_us", "us"),
        ("  Solver.solve_to_arrays (no BonePose objects)", "batch_arrays_us", "us"),
        ("  solve_arrays alone (stateless)", "solve_arrays_us", "us"),
    ]
    names = list(versions)
    head = "".join(f"{n:>12s}" for n in names)
    print(f"{'per frame':62s}{head}   % of inference (after){'   after/before' if len(names) > 1 else ''}")
    for label, key, unit in rows:
        vals = [best[n].get(key, float("nan")) for n in names]
        ms = best["after"][key] / (1000.0 if unit == "us" else 1.0)
        cells = "".join(f"{v:9.3f} {unit}" for v in vals)
        ratio = f"   {vals[-1] / vals[0]:.2f}" if len(names) > 1 else ""
        print(f"{label:62s}{cells}   {100 * ms / infer:6.2f} %{ratio}")


if __name__ == "__main__":
    main()
