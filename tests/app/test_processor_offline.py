"""The offline chain (``export``, ``batch``): zero-phase smoothing and the body state's offline form instead of
the live One-Euro filter — no lag, so on motion capture it is much closer to the truth than the live chain."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bridge.app.processor import Processor, ProcessorConfig
from bridge.core.rig import load_rig
from bridge.export.bvh_file import read_bvh
from bridge.solve.body_config import SolverConfig
from bridge.stages.body_state import BodyStateConfig
from bridge.testing.evaluate import direction_errors, summarise
from bridge.testing.mocap import mocap_landmarks, to_landmark_frames
from bridge.testing.virtual_camera import VirtualCamera


def _mean_error_deg(poses, m, keep) -> float:  # type: ignore[no-untyped-def]
    """Mean bone-direction error over the frames ``keep`` (the start-up frames the body state holds back are
    no pose to compare)."""
    chosen = [poses[k] for k in keep]
    joints = {name: xyz[keep] for name, xyz in m.joints_m.items()}
    summary = summarise(direction_errors(chosen, joints, m.world_xyz_m[keep]))
    return float(np.mean([mean for mean, _ in summary.values()]))


def test_offline_export_chain_has_no_filter_lag(cmu_bvh_dir: Path) -> None:
    m = mocap_landmarks(read_bvh(cmu_bvh_dir / "Boxing_Toes.bvh"), frames=slice(0, 600, 2), camera=VirtualCamera())
    frames = to_landmark_frames(m)
    rig = load_rig("default")
    live = [r.pose for r in map(Processor(rig, ProcessorConfig()), frames)]
    # The foot lock bends planted legs to keep the feet put: not lag, and left out of this comparison (its cost on
    # exact mocap is tests/solve/test_foot_lock.py's).
    solver = SolverConfig(root_motion="planar", foot_lock=False)
    offline = [
        r.pose
        for r in Processor(rig, ProcessorConfig(body=BodyStateConfig(), solver=solver)).process_offline(frames)
    ]
    keep = np.array([k for k, p in enumerate(offline) if p.tracking])
    assert keep.size > 0.95 * len(frames)
    live_deg, offline_deg = _mean_error_deg(live, m, keep), _mean_error_deg(offline, m, keep)
    assert offline_deg < 0.5 * live_deg  # measured 0.7° against 3.4° (Boxing_Toes, 300 frames)
    assert offline_deg < 1.5


def test_offline_chain_solved_in_chunks_is_the_chain_solved_frame_by_frame(
    cmu_bvh_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The offline path solves the body a chunk at a time (one vectorised pass, with the hold/ease, the grounding
    and the root motion's planted feet carried from chunk to chunk): the same poses as one frame at a time."""
    from bridge.app import processor

    camera = VirtualCamera(yaw_deg=30.0, distance_m=5.0)
    m = mocap_landmarks(read_bvh(cmu_bvh_dir / "01_01.bvh"), frames=slice(0, 1200, 4), camera=camera)
    frames = to_landmark_frames(m)
    rig = load_rig("default")
    body = BodyStateConfig(fov_deg=camera.hfov_deg)
    config = ProcessorConfig(body=body, solver=SolverConfig(root_motion="full"))
    runs = {}
    for chunk in (1, 7, processor.OFFLINE_SOLVE_FRAMES):
        monkeypatch.setattr(processor, "OFFLINE_SOLVE_FRAMES", chunk)
        runs[chunk] = [r.pose for r in Processor(rig, config).process_offline(frames)]
    one = runs[1]
    assert sum(p.tracking for p in one) > 0.9 * len(one)
    assert np.ptp([p.hips_position_m[2] for p in one]) > 0.5  # the hips travel: root motion is in play
    for poses in runs.values():
        for a, b in zip(one, poses, strict=True):
            np.testing.assert_allclose(b.local_rotations.as_quat(), a.local_rotations.as_quat(), atol=1e-9)
            np.testing.assert_allclose(b.hips_position_m, a.hips_position_m, atol=1e-9)
            np.testing.assert_array_equal(b.bone_state, a.bone_state)
