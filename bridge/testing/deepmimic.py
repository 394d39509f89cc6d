"""DeepMimic ``humanoid3d`` motion clips (JSON) as BVH motions, which :mod:`bridge.testing.mocap` turns into
landmarks.

The clips ship in the ``pybullet`` wheel (``pybullet_data/data/motions/humanoid3d_*.txt``, 15 clips, 16–60 fps,
0.8–4.4 s each: walk, run, jump, kick, punch, spin, cartwheel, backflip, crawl, roll, dances, get-ups). They are
training and test material for the temporal lifter (:mod:`bridge.stages.lifter`), never a run-time dependency: this
module only parses JSON and needs no pybullet import.

File format (one JSON object): ``{"Loop": "wrap"|"none", "Frames": [[...44 numbers...], ...]}``; each frame is

    [duration_s, root position (3), root rotation (4), chest (4), neck (4),
     right hip (4), right knee (1), right ankle (4), right shoulder (4), right elbow (1),
     left hip (4), left knee (1), left ankle (4), left shoulder (4), left elbow (1)]

quaternions ``w`` first, the root's in the world, the others local to the parent link; knee and elbow are hinge
angles in radians about the link's z axis. ``duration_s`` is the time to the next frame.

Skeleton: the joint origins of ``pybullet_data/humanoid/humanoid.urdf`` at the ``globalScaling=0.25`` that
pybullet's DeepMimic environment loads it with, so in metres (root position values are metres too: the
pelvis stands 0.85 m above the floor in the walk). Frame: Y up, the character faces +X, its right is +Z. Bone
lengths: pelvis → chest 0.236, chest → neck 0.224, hip half-width 0.085, thigh 0.422, shank 0.410, upper arm
0.275, forearm 0.259, shoulder 0.183 out from the spine; standing height about 1.6 m. The URDF has no head,
hand, or toe joints (the head is a sphere centred 0.175 m above the neck joint, the hands are fixed to the
forearms): this module adds a ``Head`` joint 0.10 m above the neck joint with its End Site 0.175 m above that
(so the head centre :mod:`bridge.testing.mocap` uses, their midpoint, is the sphere's centre), ``Hand`` joints at
the URDF's wrist origins, and no toe joint (mocap then puts FOOT_INDEX 15 cm ahead of and 6 cm below the ankle).
Rest pose (all rotations zero): standing, arms hanging down.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy.spatial.transform import Rotation, Slerp

from bridge.core.errors import BridgeError
from bridge.export.bvh_file import BvhMotion, BvhSkeleton

FloatArray = npt.NDArray[np.float64]

#: Scale pybullet's DeepMimic environment loads ``humanoid.urdf`` with: URDF units → metres.
URDF_SCALE = 0.25

#: Frame layout: joint name → (first column, number of values: 4 = quaternion w-first, 1 = hinge angle).
_LAYOUT: dict[str, tuple[int, int]] = {
    "chest": (8, 4), "neck": (12, 4),
    "right_hip": (16, 4), "right_knee": (20, 1), "right_ankle": (21, 4),
    "right_shoulder": (25, 4), "right_elbow": (29, 1),
    "left_hip": (30, 4), "left_knee": (34, 1), "left_ankle": (35, 4),
    "left_shoulder": (39, 4), "left_elbow": (43, 1),
}  # fmt: skip
FRAME_WIDTH = 44

# BVH joints: (name, parent name, offset in URDF units, DeepMimic joint driving it or None).
_JOINTS: tuple[tuple[str, str | None, tuple[float, float, float], str | None], ...] = (
    ("Hips", None, (0.0, 0.0, 0.0), None),
    ("Spine", "Hips", (0.0, 0.944604, 0.0), "chest"),
    ("Neck", "Spine", (0.0, 0.895576, 0.0), "neck"),
    ("Head", "Neck", (0.0, 0.4, 0.0), None),
    ("RightUpLeg", "Hips", (0.0, 0.0, 0.339548), "right_hip"),
    ("RightLeg", "RightUpLeg", (0.0, -1.686184, 0.0), "right_knee"),
    ("RightFoot", "RightLeg", (0.0, -1.639480, 0.0), "right_ankle"),
    ("RightArm", "Spine", (-0.096200, 0.974000, 0.732440), "right_shoulder"),
    ("RightForeArm", "RightArm", (0.0, -1.099152, 0.0), "right_elbow"),
    ("RightHand", "RightForeArm", (0.0, -1.035788, 0.0), None),
    ("LeftUpLeg", "Hips", (0.0, 0.0, -0.339548), "left_hip"),
    ("LeftLeg", "LeftUpLeg", (0.0, -1.686184, 0.0), "left_knee"),
    ("LeftFoot", "LeftLeg", (0.0, -1.639480, 0.0), "left_ankle"),
    ("LeftArm", "Spine", (-0.096200, 0.974000, -0.732440), "left_shoulder"),
    ("LeftForeArm", "LeftArm", (0.0, -1.099152, 0.0), "left_elbow"),
    ("LeftHand", "LeftForeArm", (0.0, -1.035788, 0.0), None),
)
#: End sites (URDF units): the head top, and the hand tips 8 cm past the wrist along the forearm.
_END_SITES: dict[str, tuple[float, float, float]] = {
    "Head": (0.0, 0.7, 0.0),
    "RightHand": (0.0, -0.32, 0.0),
    "LeftHand": (0.0, -0.32, 0.0),
}
_ROT_CHANNELS = ("Zrotation", "Xrotation", "Yrotation")
_EULER = "ZXY"  # intrinsic, matching _ROT_CHANNELS (bridge.bvh composes Rz @ Rx @ Ry)


def deepmimic_skeleton() -> BvhSkeleton:
    """The ``humanoid3d`` skeleton as a BVH hierarchy in metres (see the module docstring)."""
    names = [j[0] for j in _JOINTS]
    parents = [-1 if p is None else names.index(p) for _, p, _, _ in _JOINTS]
    offsets = np.array([o for _, _, o, _ in _JOINTS]) * URDF_SCALE
    channels: list[tuple[str, ...]] = []
    for name, _, _, drive in _JOINTS:
        if name == "Hips":
            channels.append(("Xposition", "Yposition", "Zposition", *_ROT_CHANNELS))
        elif drive is not None:
            channels.append(_ROT_CHANNELS)
        else:
            channels.append(())
    ends = {k: np.array(v) * URDF_SCALE for k, v in _END_SITES.items()}
    return BvhSkeleton(names=tuple(names), parents=np.array(parents), offsets=offsets, channels=tuple(channels),
                       end_sites=ends)  # fmt: skip


def _quat_wxyz(q: FloatArray) -> Rotation:
    """Rotations from (N, 4) w-first quaternions (normalised; an all-zero row is taken as identity)."""
    q = np.asarray(q, dtype=np.float64)
    bad = np.linalg.norm(q, axis=1) < 1e-9
    q = np.where(bad[:, None], np.array([1.0, 0.0, 0.0, 0.0]), q)
    return Rotation.from_quat(q[:, [1, 2, 3, 0]])


def deepmimic_motion(path: str | os.PathLike[str], fps: float = 30.0) -> BvhMotion:
    """Read a DeepMimic ``humanoid3d`` clip and resample it to ``fps`` (slerp for rotations, linear otherwise).

    Returns a :class:`BvhMotion` on :func:`deepmimic_skeleton`: lengths in metres, Y up, rotations in degrees.

    Raises:
        BridgeError: the file is missing, not JSON, or its frames are not 44 numbers each.
    """
    p = Path(path)
    try:
        data = json.loads(p.read_text())
        frames = np.asarray(data["Frames"], dtype=np.float64)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BridgeError(f"cannot read DeepMimic clip {p}: {exc}; give a humanoid3d_*.txt motion file") from None
    if frames.ndim != 2 or frames.shape[1] != FRAME_WIDTH or frames.shape[0] < 2:
        raise BridgeError(
            f"DeepMimic clip {p} has frames of shape {frames.shape}; a humanoid3d clip has 2 or more rows of "
            f"{FRAME_WIDTH} numbers"
        )
    times = np.concatenate([[0.0], np.cumsum(frames[:-1, 0])])
    if not np.all(np.diff(times) > 0) or not (np.isfinite(fps) and fps > 0):
        raise BridgeError(f"DeepMimic clip {p} has non-increasing frame times (or fps {fps} is not positive)")
    t_new = np.arange(0.0, times[-1] + 1e-9, 1.0 / fps)
    sk = deepmimic_skeleton()
    out = np.zeros((len(t_new), sk.num_channels))
    cols = sk.channel_columns("Hips")
    for axis in range(3):
        out[:, cols[axis]] = np.interp(t_new, times, frames[:, 1 + axis])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # gimbal-lock warnings: the Euler triple still composes exactly
        root = Slerp(times, _quat_wxyz(frames[:, 4:8]))(t_new)
        out[:, cols[3] : cols[3] + 3] = root.as_euler(_EULER, degrees=True)
        for name, _, _, drive in _JOINTS:
            if drive is None:
                continue
            start, width = _LAYOUT[drive]
            jc = sk.channel_columns(name)
            if width == 4:
                rot = Slerp(times, _quat_wxyz(frames[:, start : start + 4]))(t_new)
            else:  # hinge about the link's z axis
                angle = np.interp(t_new, times, frames[:, start])
                rot = Rotation.from_rotvec(np.outer(angle, [0.0, 0.0, 1.0]))
            out[:, jc[0] : jc[0] + 3] = rot.as_euler(_EULER, degrees=True)
    return BvhMotion(skeleton=sk, frame_time_s=1.0 / fps, channels=out, source=str(p))


def deepmimic_clip_dir() -> Path | None:
    """``pybullet_data/data/motions`` of an installed pybullet (the ``train`` extra), or None."""
    import importlib.util

    spec = importlib.util.find_spec("pybullet_data")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "data" / "motions"
    return folder if folder.is_dir() else None


def deepmimic_clips() -> dict[str, Path]:
    """Clip name (``"walk"``, ``"backflip"``…) → path of every ``humanoid3d_*.txt`` clip installed."""
    folder = deepmimic_clip_dir()
    if folder is None:
        return {}
    return {f.stem.removeprefix("humanoid3d_"): f for f in sorted(folder.glob("humanoid3d_*.txt"))}
