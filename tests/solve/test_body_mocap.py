"""The solver against real motion capture: CMU BVH clips from Debian's assimp-testmodels.

Mocap joints → 33 landmarks (bridge.mocap) → solve → forward kinematics of the solved rig → compare directions
and flexion angles with the mocap's own joints (bridge.evaluate). Every 4th frame of each clip (30 fps).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bridge.core.rig import Rig, load_rig, scaled
from bridge.export.bvh_file import read_bvh
from bridge.solve.body import solve_frames
from bridge.testing.evaluate import direction_errors, flexion_errors, summarise
from bridge.testing.mocap import MocapLandmarks, mocap_landmarks, to_landmark_frames

BVH_DIR = Path("/usr/share/assimp/models/BVH")
CLIPS = ["01_01", "01_03"]
LIMBS = [
    f"{s}{b}" for s in ("Left", "Right") for b in ("UpperArm", "LowerArm", "Hand", "UpperLeg", "LowerLeg", "Foot")
]

pytestmark = pytest.mark.skipif(not BVH_DIR.is_dir(), reason="Debian package assimp-testmodels is not installed")


@pytest.fixture(scope="module", params=CLIPS)
def clip(request: pytest.FixtureRequest) -> MocapLandmarks:
    motion = read_bvh(BVH_DIR / f"{request.param}.bvh")
    return mocap_landmarks(motion, frames=slice(1, None, 4))  # frame 0 is the converter's T-pose


def solve_clip(rig: Rig, clip: MocapLandmarks):  # type: ignore[no-untyped-def]
    # The virtual camera may be walked past; world landmarks stay valid, so every point counts as visible.
    frames = [f.replace(visibility=np.ones(33)) for f in to_landmark_frames(clip)]
    return solve_frames(rig, frames)


def check_accuracy(rig: Rig, clip: MocapLandmarks) -> dict[str, tuple[float, float]]:
    poses = solve_clip(rig, clip)
    directions = summarise(direction_errors(poses, clip.joints_m, clip.world_xyz_m))
    flexion = summarise(flexion_errors(poses, clip.joints_m))
    for bone in LIMBS + ["Hips", "Head"]:
        mean, p95 = directions[bone]
        assert mean < 0.5 and p95 < 1.5, (bone, mean, p95)
    # Spine curvature is not observable from hips and shoulders alone: the trunk chord stays within a few degrees.
    assert directions["Trunk"][0] < 5.0 and directions["Trunk"][1] < 10.0, directions["Trunk"]
    assert directions["Shoulders"][0] < 1.0, directions["Shoulders"]
    for joint, (mean, p95) in flexion.items():
        assert mean < 0.5 and p95 < 1.5, (joint, mean, p95)
    return directions


def test_solver_matches_cmu_mocap(clip: MocapLandmarks) -> None:
    check_accuracy(load_rig(), clip)


def test_accuracy_holds_on_a_rig_of_other_proportions(clip: MocapLandmarks) -> None:
    """A shorter rig with long arms, short legs and a longer spine solves the same motion as well."""
    base = scaled(load_rig(), 0.9)
    offsets = base.offsets_m.copy()
    for i, b in enumerate(base.bones):
        if "Arm" in b or b.endswith("Hand"):
            offsets[i] *= 1.25
        elif "Leg" in b:
            offsets[i] *= 0.85
        elif b in ("Spine", "Chest", "UpperChest"):
            offsets[i] *= 1.2
    odd = Rig(name="odd", bones=base.bones, parents=base.parents, offsets_m=offsets, tails_m=base.tails_m)
    check_accuracy(odd, clip)


def test_mocap_clip_turns_the_hips(clip: MocapLandmarks) -> None:
    """Guard against a vacuous pass: the clips do contain large motion (hips yaw range > 90°)."""
    poses = solve_clip(load_rig(), clip)
    yaw = np.array([p.rotation_of("Hips").as_euler("YXZ", degrees=True)[0] for p in poses])
    assert np.ptp(np.unwrap(np.radians(yaw))) > np.radians(90)
