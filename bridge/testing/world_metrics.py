"""Measures of a body standing in the world, on solved poses (rig frame): backwards knees, floor penetration, the
hips' path and yaw. Used by the body-state tests and by ``bench/bench_world_state.py``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from bridge.core.pose import BonePose
from bridge.stages.plausible import knee_against_pelvis_deg, pelvis_forward

FloatArray = npt.NDArray[np.float64]


def backwards_knee_frames(poses: Sequence[BonePose], max_deg: float = 100.0, min_flexion_deg: float = 15.0) -> int:
    """Tracked frames in which a knee bent more than ``min_flexion_deg`` bends more than ``max_deg`` away from the
    pelvis' forward direction (a knee against its joint)."""
    bad = 0
    for pose in poses:
        if not pose.tracking:
            continue
        joints, _ = pose.world()
        rig = pose.rig
        idx = {b: rig.index(b) for b in ("LeftUpperLeg", "RightUpperLeg", "Spine")}
        up = joints[idx["Spine"]] - joints[rig.index("Hips")]
        fwd = pelvis_forward(joints[idx["LeftUpperLeg"]], joints[idx["RightUpperLeg"]], up)
        for side in ("Left", "Right"):
            hip, knee, ankle = (joints[rig.index(f"{side}{b}")] for b in ("UpperLeg", "LowerLeg", "Foot"))
            angle, flexion = knee_against_pelvis_deg(hip, knee, ankle, fwd)
            if flexion > min_flexion_deg and angle > max_deg:
                bad += 1
                break
    return bad


def hips_path_m(poses: Sequence[BonePose]) -> FloatArray:
    """(T, 3) the hips' positions, rig frame, metres."""
    return np.stack([p.hips_position_m for p in poses])


def floor_penetration_m(poses: Sequence[BonePose]) -> tuple[float, int]:
    """(deepest joint below the floor y = 0 in metres, frames with a joint more than 1 cm below it)."""
    lows = np.array([float(p.world()[0][:, 1].min()) for p in poses if p.tracking] or [0.0])
    return float(max(0.0, -lows.min())), int((lows < -0.01).sum())


def start_spin_deg(poses: Sequence[BonePose], seconds: float = 0.5) -> float:
    """The hips' largest yaw change (degrees) over the first ``seconds`` of tracked frames."""
    tracked = [p for p in poses if p.tracking]
    if not tracked:
        return 0.0
    t0 = tracked[0].t_s
    yaws = []
    for p in tracked:
        if p.t_s - t0 > seconds:
            break
        fwd = p.local_rotations[0].apply([0.0, 0.0, 1.0])
        yaws.append(np.degrees(np.arctan2(fwd[0], fwd[2])))
    y = np.unwrap(np.radians(yaws))
    return float(np.degrees(y.max() - y.min())) if len(y) else 0.0
