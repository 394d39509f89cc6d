"""Body state on the registry videos: before (the live chain as it was: no body state) and after (the body-state
stage, live and offline), per clip: backwards-knee frames, deepest floor penetration, the start-up hips spin, the
hips' travel in x (start → end, metres) and its correlation with the hips' image x, and the frames in which a
seen arm (visibility ≥ 0.15) is not driven (held or at rest).

Then, on CMU motion capture seen by a virtual camera (exact landmarks), the mean bone-direction error of the
live chain (One-Euro: all of its error is lag) against the offline chain ``export`` and ``batch`` now use.

Usage: ``python bench/bench_world_state.py [RECORDING.jsonl ...]`` (make recordings with ``bridge record``; the
registry clips: the Sports2D demo and the four Pose2Sim demo views). Nothing was tuned on Pose2Sim cam03/cam04.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from bridge.app.processor import Processor, ProcessorConfig
from bridge.core.landmarks import PoseLandmark as L
from bridge.core.pose import BoneState
from bridge.core.rig import load_rig
from bridge.solve.body_config import SolverConfig
from bridge.stages.body_state import BodyStateConfig
from bridge.testing.world_metrics import backwards_knee_frames, floor_penetration_m, hips_path_m, start_spin_deg
from bridge.tracking.recording import read_recording

ARM = ("LeftUpperArm", "LeftLowerArm", "RightUpperArm", "RightLowerArm")


def _frames(path: Path) -> list:  # type: ignore[type-arg]
    _, frames = read_recording(path)
    return list(frames)


def measure(frames: list, mode: str) -> dict[str, float]:  # type: ignore[type-arg]
    rig = load_rig("default")
    if mode == "before":
        results = [r for r in map(Processor(rig, ProcessorConfig()), frames)]
    else:
        cfg = ProcessorConfig(body=BodyStateConfig(), solver=SolverConfig(root_motion="planar"))
        proc = Processor(rig, cfg)
        results = proc.process_offline(frames) if mode == "offline" else [proc(f) for f in frames]
    poses = [r.pose for r in results if r.pose is not None]
    hips = hips_path_m(poses)
    seen = [k for k, f in enumerate(frames) if f.person]
    image_x = np.array(
        [0.5 * (frames[k].image_xy[L.LEFT_HIP, 0] + frames[k].image_xy[L.RIGHT_HIP, 0]) for k in seen]
    )
    corr = float(np.corrcoef(hips[seen, 0], image_x)[0, 1]) if np.std(hips[seen, 0]) > 1e-6 else float("nan")
    frozen = 0
    for f, p in zip(frames, poses, strict=True):
        arm_seen = f.person and min(f.visibility[i] for i in (L.LEFT_ELBOW, L.LEFT_WRIST)) >= 0.15
        if arm_seen and any(p.bone_state[rig.index(b)] != BoneState.TRACKED for b in ARM[:2]):
            frozen += 1
    depth, _ = floor_penetration_m(poses)
    feet = [rig.index("LeftFoot"), rig.index("RightFoot")]
    rest_ankle = float(rig.rest_world_m[feet, 1].min())
    ankle = [float(p.world()[0][feet, 1].min()) - rest_ankle for p in poses if p.tracking]
    return {
        "lower_ankle_above_rest_cm": 100 * float(np.median(ankle)) if ankle else 0.0,
        "backwards_knee_frames": backwards_knee_frames(poses),
        "floor_below_cm": 100 * depth,
        "start_spin_deg": start_spin_deg(poses),
        "hips_travel_x_m": float(hips[seen[-1], 0] - hips[seen[0], 0]) if seen else 0.0,
        "hips_x_vs_image_x_corr": corr,
        "left_arm_not_driven_frames": frozen,
    }


def mocap_lag(bvh_dir: Path = Path("/usr/share/assimp/models/BVH")) -> None:
    from bridge.export.bvh_file import read_bvh
    from bridge.testing.evaluate import direction_errors, summarise
    from bridge.testing.mocap import mocap_landmarks, to_landmark_frames
    from bridge.testing.virtual_camera import VirtualCamera

    rig = load_rig("default")
    offline = ProcessorConfig(body=BodyStateConfig(), solver=SolverConfig(root_motion="planar"))
    for clip in ("01_01", "01_03", "Boxing_Toes"):
        if not (bvh_dir / f"{clip}.bvh").is_file():
            continue
        camera = VirtualCamera(yaw_deg=20.0, follow=True)
        m = mocap_landmarks(read_bvh(bvh_dir / f"{clip}.bvh"), frames=slice(0, 1200, 2), camera=camera)
        frames = to_landmark_frames(m)
        row = []
        for name, cfg, off in (
            ("no_filter", ProcessorConfig(filter=None), False),
            ("live", ProcessorConfig(), False),
            ("offline", offline, True),
        ):
            proc = Processor(rig, cfg)
            poses = [r.pose for r in (proc.process_offline(frames) if off else map(proc, frames))]
            summary = summarise(direction_errors(poses, m.joints_m, m.world_xyz_m))
            row.append(f"{name}={np.mean([v[0] for v in summary.values()]):.2f}deg")
        print(clip, "mean bone-direction error:", " ".join(row), flush=True)


def stage_cost(frames: list) -> float:  # type: ignore[type-arg]
    """Milliseconds per frame of the body-state stage alone (live)."""
    import time

    from bridge.stages.body_state import BodyState

    stage = BodyState(BodyStateConfig())
    start = time.perf_counter()
    for f in frames:
        stage(f)
    return 1000 * (time.perf_counter() - start) / max(len(frames), 1)


def main(paths: list[Path]) -> None:
    if "--no-mocap" not in sys.argv:
        mocap_lag()
    for path in paths:
        frames = _frames(path)
        print(path.stem, f"body state {stage_cost(frames):.2f} ms a frame", flush=True)
        for mode in ("before", "live", "offline"):
            m = measure(frames, mode)
            print(path.stem, mode, " ".join(f"{k}={v:.3g}" for k, v in m.items()), flush=True)


if __name__ == "__main__":
    main([Path(p) for p in sys.argv[1:] if not p.startswith("--")])
