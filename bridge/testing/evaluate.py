"""Accuracy of solved poses against ground truth (motion capture): what the solver's tests and benchmarks report.

Every measure compares a *direction* or an *angle*, so the rig's proportions need not match the subject's.
Ground truth comes as joint positions and landmarks in MediaPipe's world frame (see :mod:`bridge.testing.mocap`);
they are brought into the rig frame with :func:`bridge.core.frames.mediapipe_to_rig`, the same conversion the
solver uses.

Segments compared (truth → solved rig):

======================  ==============================  ==========================================
measure                 truth (mocap joints/landmarks)  solved (rig forward kinematics)
======================  ==============================  ==========================================
LeftUpperArm …          shoulder → elbow                UpperArm joint → LowerArm joint
LeftLowerArm …          elbow → wrist                   LowerArm joint → Hand joint
LeftHand …              wrist → knuckles mid            Hand world rotation · rest hand direction
LeftUpperLeg …          hip → knee                      UpperLeg joint → LowerLeg joint
LeftLowerLeg …          knee → ankle                    LowerLeg joint → Foot joint
LeftFoot …              ankle → toe tip (FOOT_INDEX)    Foot joint → toe tip (Toes joint + tail)
Trunk                   hips mid → shoulders mid        UpperLeg joints mid → UpperArm joints mid
Hips (lateral)          right hip → left hip            RightUpperLeg joint → LeftUpperLeg joint
Shoulders (lateral)     right → left shoulder           RightUpperArm joint → LeftUpperArm joint
Head (lateral)          right ear → left ear            Head world X axis
======================  ==============================  ==========================================

Flexion: elbow = angle between upper arm and forearm; knee = between thigh and shank (0° straight).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy.spatial.transform import Rotation

from bridge.core.frames import mediapipe_to_rig
from bridge.core.landmarks import PoseLandmark as L
from bridge.core.pose import BonePose
from bridge.core.rig import forward_kinematics

FloatArray = npt.NDArray[np.float64]


def _angle_deg(a: FloatArray, b: FloatArray) -> FloatArray:
    """(T,) angles in degrees between (T, 3) vectors."""
    cos = np.einsum("ti,ti->t", a, b) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1) + 1e-12)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def solved_world(poses: Sequence[BonePose]) -> tuple[FloatArray, FloatArray]:
    """(T, B, 3) joint positions and (T, B, 3, 3) world rotations of solved poses (rig frame)."""
    rig = poses[0].rig
    quats = np.concatenate([p.local_rotations.as_quat() for p in poses])
    hips = np.stack([p.hips_position_m for p in poses])
    pos, rot = forward_kinematics(rig, Rotation.from_quat(quats), hips)
    return pos.reshape(len(poses), len(rig.bones), 3), rot.reshape(len(poses), len(rig.bones), 3, 3)


def direction_errors(
    poses: Sequence[BonePose], truth_joints_mp: dict[str, FloatArray], truth_landmarks_mp: FloatArray
) -> dict[str, FloatArray]:
    """Per-measure (T,) angle errors in degrees between solved poses and ground truth.

    Args:
        poses: T solved poses (one rig).
        truth_joints_mp: ground-truth joints, each (T, 3), MediaPipe world frame, metres, keys as in
            :data:`bridge.testing.mocap.JOINT_KEYS` (``left_shoulder``, ``left_elbow``, …).
        truth_landmarks_mp: (T, 33, 3) ground-truth landmarks, MediaPipe world frame.
    """
    rig = poses[0].rig
    pos, rot = solved_world(poses)
    j = {k: mediapipe_to_rig(v) for k, v in truth_joints_mp.items()}
    lm = mediapipe_to_rig(truth_landmarks_mp)

    def P(bone: str) -> FloatArray:
        return pos[:, rig.index(bone)]

    out: dict[str, FloatArray] = {}
    for side in ("Left", "Right"):
        s = side.lower()
        up = side.upper()
        out[f"{side}UpperArm"] = _angle_deg(
            j[f"{s}_elbow"] - j[f"{s}_shoulder"], P(f"{side}LowerArm") - P(f"{side}UpperArm")
        )
        out[f"{side}LowerArm"] = _angle_deg(
            j[f"{s}_wrist"] - j[f"{s}_elbow"], P(f"{side}Hand") - P(f"{side}LowerArm")
        )
        knuckles = (lm[:, L[f"{up}_INDEX"]] + lm[:, L[f"{up}_PINKY"]]) / 2 - lm[:, L[f"{up}_WRIST"]]
        hand_rest = rig.tails_m.get(f"{side}Hand", rig.offsets_m[rig.index(f"{side}Hand")])
        out[f"{side}Hand"] = _angle_deg(knuckles, rot[:, rig.index(f"{side}Hand")] @ hand_rest)
        out[f"{side}UpperLeg"] = _angle_deg(
            j[f"{s}_knee"] - j[f"{s}_hip"], P(f"{side}LowerLeg") - P(f"{side}UpperLeg")
        )
        out[f"{side}LowerLeg"] = _angle_deg(
            j[f"{s}_ankle"] - j[f"{s}_knee"], P(f"{side}Foot") - P(f"{side}LowerLeg")
        )
        toes = rig.index(f"{side}Toes")
        tip = P(f"{side}Toes") + rot[:, toes] @ rig.tails_m.get(f"{side}Toes", np.zeros(3))
        out[f"{side}Foot"] = _angle_deg(
            lm[:, L[f"{up}_FOOT_INDEX"]] - lm[:, L[f"{up}_ANKLE"]], tip - P(f"{side}Foot")
        )
    hips_mid = (j["left_hip"] + j["right_hip"]) / 2
    sh_mid = (j["left_shoulder"] + j["right_shoulder"]) / 2
    rig_hips = (P("LeftUpperLeg") + P("RightUpperLeg")) / 2
    rig_sh = (P("LeftUpperArm") + P("RightUpperArm")) / 2
    out["Trunk"] = _angle_deg(sh_mid - hips_mid, rig_sh - rig_hips)
    out["Hips"] = _angle_deg(j["left_hip"] - j["right_hip"], P("LeftUpperLeg") - P("RightUpperLeg"))
    out["Shoulders"] = _angle_deg(j["left_shoulder"] - j["right_shoulder"], P("LeftUpperArm") - P("RightUpperArm"))
    out["Head"] = _angle_deg(lm[:, L.LEFT_EAR] - lm[:, L.RIGHT_EAR], rot[:, rig.index("Head"), :, 0])
    return out


def flexion_errors(poses: Sequence[BonePose], truth_joints_mp: dict[str, FloatArray]) -> dict[str, FloatArray]:
    """(T,) signed errors (solved − truth, degrees) of elbow and knee flexion, per side."""
    rig = poses[0].rig
    pos, _ = solved_world(poses)

    def P(bone: str) -> FloatArray:
        return pos[:, rig.index(bone)]

    out: dict[str, FloatArray] = {}
    for side in ("Left", "Right"):
        s = side.lower()
        for name, (a, b, c), (ra, rb, rc) in (
            ("Elbow", (f"{s}_shoulder", f"{s}_elbow", f"{s}_wrist"), ("UpperArm", "LowerArm", "Hand")),
            ("Knee", (f"{s}_hip", f"{s}_knee", f"{s}_ankle"), ("UpperLeg", "LowerLeg", "Foot")),
        ):
            truth = _angle_deg(truth_joints_mp[b] - truth_joints_mp[a], truth_joints_mp[c] - truth_joints_mp[b])
            got = _angle_deg(P(side + rb) - P(side + ra), P(side + rc) - P(side + rb))
            out[f"{side}{name}"] = got - truth
    return out


def summarise(errors: dict[str, FloatArray]) -> dict[str, tuple[float, float]]:
    """measure → (mean, 95th percentile) of absolute errors."""
    return {k: (float(np.mean(np.abs(v))), float(np.percentile(np.abs(v), 95))) for k, v in errors.items()}
