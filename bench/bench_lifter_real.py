"""The refiner lifter against raw MediaPipe, bridge's default and the 2-D temporal lifter, on truth it never saw.

    python bench/bench_lifter_real.py [--stride 2] [--max-frames 1200]

(a) Held-out rendered clips: the cached pairs (tools/make_refiner_data.py) of the motions in
    bridge.testing.lifter_data.HELD_OUT (CMU 01_03, DeepMimic dance_b, getup_faceup, kick), the real tracker on
    renders, against the exact truth; (a') the renders among them made as one of several views, against the
    reference triangulated from the other views (bridge/testing/lifter_data_views.py), built as (b)'s.
(b) Real video: Pose2Sim Demo_SinglePerson (``single``) and Demo_Batch Trial_2 (``batch2``), each of the 4
    views lifted alone against a reference triangulated
    from the 3 other views (bridge.testing.analysis_validation.reference_for, low-passed at 6 Hz), the 60 fps
    views taken every ``--stride``-th frame (the refiner is trained at 30 fps).

Measures (bridge.testing.lifter_data_real.pose_errors, 12 body landmarks): PA-MPJPE (mm), limb-direction error
after the same per-frame similarity alignment (°), knee and elbow flexion error (°), jitter (mm/frame²).
Estimates: ``mediapipe`` (raw world landmarks; on Pose2Sim after flip repair, as ``analyze`` tracks), ``default``
(bridge's live default: flip repair + One-Euro filter), ``temporal`` (the 2-D lifter rf27_causal),
``refine`` (refine_rf27_causal, live, its correction scaled as shipped), ``refine_whole`` (the same with the
whole correction, scale 1), ``refine+filter`` (what ``--lifter refine`` streams: refiner then One-Euro),
``refine_sym`` (refine_rf27, batch, looks ahead).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bridge.core.landmarks import NUM_LANDMARKS, LandmarkFrame  # noqa: E402
from bridge.stages.filter import LandmarkFilter  # noqa: E402
from bridge.stages.flips import FlipRepair  # noqa: E402
from bridge.stages.lifter import (  # noqa: E402
    DEFAULT_CAUSAL_MODEL,
    REFINE_CAUSAL_MODEL,
    REFINE_SYMMETRIC_MODEL,
    CausalLifter,
    LifterConfig,
    lift_frames,
    load_lifter,
)
from bridge.testing.lifter_data import HELD_OUT  # noqa: E402
from bridge.testing.lifter_data_real import load_pairs, pair_frames, pose_errors  # noqa: E402

METHODS = ("mediapipe", "default", "temporal", "refine", "refine_whole", "refine+filter", "refine_sym")
COLUMNS = (("pa_mpjpe_mm", "PA-MPJPE mm", 1), ("limb_deg", "limb °", 1), ("knee_deg", "knee flex °", 1),
           ("elbow_deg", "elbow flex °", 1), ("jitter_mm", "jitter mm/f²", 2))  # fmt: skip


def points(frames: list[LandmarkFrame]) -> np.ndarray:
    """(T, 33, 3) world landmarks, NaN where no person."""
    return np.stack([f.world_xyz_m if f.person else np.full((NUM_LANDMARKS, 3), np.nan) for f in frames])


def estimates(frames: list[LandmarkFrame], flips_done: bool) -> dict[str, np.ndarray]:
    """Every method's (T, 33, 3) estimates of one sequence of frames."""
    flipped = frames if flips_done else [s(f) for s in [FlipRepair()] for f in frames]
    filt = LandmarkFilter()
    temporal = CausalLifter(LifterConfig(DEFAULT_CAUSAL_MODEL))
    refine = CausalLifter(LifterConfig(REFINE_CAUSAL_MODEL))
    refined = [refine(f) for f in flipped]
    whole = CausalLifter(model=load_lifter(REFINE_CAUSAL_MODEL).with_correction_scale(1.0))
    filt2 = LandmarkFilter()
    return {
        "mediapipe": points(frames),
        "default": points([filt(f) for f in flipped]),
        "temporal": points([temporal(f) for f in flipped]),
        "refine": points(refined),
        "refine_whole": points([whole(f) for f in flipped]),
        "refine+filter": points([filt2(f) for f in refined]),
        "refine_sym": points(lift_frames(flipped, load_lifter(REFINE_SYMMETRIC_MODEL))),
    }


def table(title: str, rows: dict[str, dict[str, dict[str, float]]]) -> None:
    print(f"\n{title}\n")
    print("| set | estimate | frames | " + " | ".join(c[1] for c in COLUMNS) + " |")
    print("|---|---|---|" + "---|" * len(COLUMNS))
    for name, per in rows.items():
        for m in METHODS:
            r = per[m]
            cells = " | ".join(f"{r[k]:.{d}f}" for k, _, d in COLUMNS)
            print(f"| {name} | {m} | {int(r['frames'])} | {cells} |")


def held_out_table(against: str = "truth") -> dict[str, dict[str, dict[str, float]]]:
    """Per held-out clip and overall, every method against the exact truth (``truth``) or, for the pairs made as
    one of several views, against the reference triangulated from the other views (``reference``)."""
    pairs = [p for p in load_pairs() if p.clip in HELD_OUT and (against == "truth" or p.reference_m is not None)]
    if not pairs:
        print("bench_lifter_real: no held-out pairs cached; run tools/make_refiner_data.py")
        return {}
    per_clip: dict[str, dict[str, list[np.ndarray]]] = {}
    truth: dict[str, list[np.ndarray]] = {}
    for p in pairs:
        est = estimates(pair_frames(p), flips_done=False)
        for m in METHODS:
            per_clip.setdefault(p.clip, {}).setdefault(m, []).append(est[m])
        truth.setdefault(p.clip, []).append(p.truth_m if against == "truth" else p.reference_m)
    rows: dict[str, dict[str, dict[str, float]]] = {}
    for clip, per in sorted(per_clip.items()):
        t = np.concatenate(truth[clip])
        rows[f"{clip} ({len(truth[clip])} cams)"] = {m: pose_errors(np.concatenate(per[m]), t) for m in METHODS}
    t_all = np.concatenate([np.concatenate(v) for _, v in sorted(truth.items())])
    rows["all held-out"] = {
        m: pose_errors(np.concatenate([np.concatenate(per_clip[c][m]) for c in sorted(per_clip)]), t_all)
        for m in METHODS
    }
    return rows


def real_video_table(
    trial_name: str, stride: int, max_frames: int | None, cache: Path
) -> dict[str, dict[str, dict[str, float]]]:
    from bridge.testing.analysis_validation import aligned_frames, load_trial, reference_for
    from bridge.testing.pose2sim_demo import trials

    found = [t for t in trials() if t.name == trial_name]
    if not found:
        print(f"bench_lifter_real: Pose2Sim trial {trial_name!r} is not installed (pip install pose2sim)")
        return {}
    views = load_trial(found[0], cache, max_frames)
    rows = {}
    for v in range(len(views.calibration.cameras)):
        ref = reference_for(views, v).points_m[::stride]
        frames = aligned_frames(views, v)[::stride]
        est = estimates(frames, flips_done=True)
        rows[f"{trial_name} view {v + 1}"] = {m: pose_errors(est[m], ref) for m in METHODS}
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stride", type=int, default=2, help="take every N-th frame of the 60 fps views")
    parser.add_argument("--max-frames", type=int, default=None, help="first N frames of each view (default all)")
    parser.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "analysis_cache"))
    parser.add_argument("--skip-real", action="store_true")
    parser.add_argument("--trials", default="single,batch2", help="Pose2Sim demo trials (pose2sim_demo.trials)")
    args = parser.parse_args()
    t0 = time.monotonic()
    rows = held_out_table()
    if rows:
        table(f"(a) Held-out rendered clips ({', '.join(HELD_OUT)}), real tracker vs exact truth", rows)
    rows = held_out_table("reference")
    if rows:
        table(
            "(a') The same clips' renders made as one of several views, against the reference triangulated "
            "from the other views (as on real video)",
            rows,
        )
    if not args.skip_real:
        for name in args.trials.split(","):
            real = real_video_table(name.strip(), args.stride, args.max_frames, Path(args.cache))
            if real:
                table(f"(b) Pose2Sim {name.strip()}, each view against the other 3 views triangulated", real)
    print(f"\nbench_lifter_real: {time.monotonic() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
