"""The world metrics (:mod:`bridge.testing.world_metrics`) of an exported BVH, against rendered truth
(:class:`~bridge.testing.render.RenderTruth`) or on its own.

The BVH is one ``bridge export`` wrote (rig bones named as Unity's HumanBodyBones, every rotation zero = the
rig's T-pose facing +Z, Y up, floor y = 0); its frame ``i`` is taken at ``i × frame time`` from the video's
first frame and resampled onto the truth's frame times. Truth bones are the body's CMU names.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bridge.export.bvh_file import BvhMotion
from bridge.export.bvh_kinematics import bvh_forward_kinematics, bvh_rest_positions
from bridge.testing import world_metrics as wm
from bridge.testing.render import RenderTruth
from bridge.testing.render_mesh import load_body

FloatArray = npt.NDArray[np.float64]

#: Compared joints: output rig bone → truth body bone (joint centres: shoulders, elbows, wrists, hips, knees,
#: ankles).
JOINTS: dict[str, str] = {
    f"{S}{rig}": f"{S}{body}"
    for S in ("Left", "Right")
    for rig, body in (("UpperArm", "Arm"), ("LowerArm", "ForeArm"), ("Hand", "Hand"),
                      ("UpperLeg", "UpLeg"), ("LowerLeg", "Leg"), ("Foot", "Foot"))
}  # fmt: skip
#: The ball of each foot (its toes' base), output bone → truth bone: with the ankle, the points that bear weight.
BALLS: dict[str, str] = {"LeftToes": "LeftToeBase", "RightToes": "RightToeBase"}
#: Limbs (from joint, to joint) by output names: upper arms, forearms, thighs, shanks.
LIMBS: tuple[tuple[str, str], ...] = tuple(
    (f"{S}{a}", f"{S}{b}")
    for S in ("Left", "Right")
    for a, b in (("UpperArm", "LowerArm"), ("LowerArm", "Hand"), ("UpperLeg", "LowerLeg"), ("LowerLeg", "Foot"))
)
#: Hinges: (parent bone, hinge joint, its child joint, flex direction in the parent's rest frame) by output
#: names; the knee flexes backwards (-Z), the elbow of a palms-down T-pose forwards (+Z). A straight limb is
#: the child continuing its parent's rest direction (the body's rest is an A-pose with bent elbows).
HINGES: tuple[tuple[str, str, str, tuple[float, float, float]], ...] = tuple(
    (f"{S}Upper{limb}", f"{S}Lower{limb}", f"{S}{end}", flex)
    for S in ("Left", "Right")
    for limb, end, flex in (("Leg", "Foot", (0.0, 0.0, -1.0)), ("Arm", "Hand", (0.0, 0.0, 1.0)))
)


@dataclass(frozen=True, eq=False)
class BodyTrack:
    """One body's motion in metres, world frame (Y up, floor y = 0), one row per frame.

    Attributes:
        t_s: (T,) float, seconds.
        joints_m: output joint name (:data:`JOINTS` keys) → (T, 3) float: joint centres.
        hips_m: (T, 3) float: the root joint.
        forward: (T, 3) float: the pelvis' forward direction.
        points_m: (T, N, 3) float: every point of the body (all joints and end sites, or every vertex's
            lowest point), for floor penetration.
        hinge_against: (T,) bool: a knee or elbow bent against its joint (:func:`world_metrics.hinge_against`).
        balls_m: :data:`BALLS` key → (T, 3) float: the balls of the feet (absent: the ankles stand in).
    """

    t_s: FloatArray
    joints_m: dict[str, FloatArray]
    hips_m: FloatArray
    forward: FloatArray
    points_m: FloatArray
    hinge_against: npt.NDArray[np.bool_]
    balls_m: dict[str, FloatArray] | None = None

    def bearing_points(self, side: str) -> FloatArray:
        """(T, 2, 3): the ``side`` (``Left``/``Right``) foot's ankle and ball (the ankle twice without a ball)."""
        ankle = self.joints_m[f"{side}Foot"]
        ball = (self.balls_m or {}).get(f"{side}Toes", ankle)
        return np.stack([ankle, ball], axis=1)


def hinge_frames(
    joints_m: dict[str, FloatArray], rotations: dict[str, FloatArray], rest_dirs: dict[str, FloatArray]
) -> npt.NDArray[np.bool_]:
    """(T,) bool: a knee or elbow bent against its joint. Knees are judged in the thigh's twist-free frame from
    the pelvis (:func:`world_metrics.swing_frames`: a leg turned backwards shows), elbows in the upper arm's.

    Args:
        joints_m: output joint name → (T, 3) world positions (the HINGES' joints and ``Hips``).
        rotations: ``Hips`` and the HINGES' parents → (T, 3, 3) world rotations from rest.
        rest_dirs: each HINGES parent → (3,) its rest direction (parent joint → hinge joint) in its rest frame.
    """
    out = np.zeros(len(joints_m["Hips"]), dtype=bool)
    for parent, joint, child, flex in HINGES:
        frame = rotations[parent]
        if "Leg" in parent:
            frame = wm.swing_frames(rotations["Hips"], rest_dirs[parent], joints_m[joint] - joints_m[parent])
        out |= wm.hinge_against(frame, joints_m[child] - joints_m[joint], rest_dirs[parent], np.array(flex))
    return out


def _hinges(
    names: list[str], positions: FloatArray, rotations: FloatArray, rest: FloatArray
) -> npt.NDArray[np.bool_]:
    used = {n for h in HINGES for n in h[:3]} | {"Hips"}
    joints = {n: positions[:, names.index(n)] for n in used}
    rots = {n: rotations[:, names.index(n)] for n in used}
    dirs = {h[0]: rest[names.index(h[1])] - rest[names.index(h[0])] for h in HINGES}  # straight: child continues
    return hinge_frames(joints, rots, dirs)


def bvh_track(motion: BvhMotion, t_s: FloatArray, unit_m: float = 1.0) -> BodyTrack:
    """The exported motion (file units × ``unit_m`` = metres) resampled at the times ``t_s`` (seconds from its
    first frame)."""
    fk = bvh_forward_kinematics(motion)
    names = list(motion.skeleton.names)
    t_out = np.arange(motion.num_frames) * motion.frame_time_s
    pos = wm.resample_rows(t_out, fk.positions * unit_m, t_s)
    rot = wm.resample_rows(t_out, fk.rotations, t_s)  # close frames: a blend of near rotations is fine here
    ends = [wm.resample_rows(t_out, e * unit_m, t_s) for e in fk.end_sites.values()]
    rest, _ = bvh_rest_positions(motion.skeleton)
    hips = names.index("Hips")
    return BodyTrack(
        t_s=np.asarray(t_s, dtype=np.float64),
        joints_m={k: pos[:, names.index(k)] for k in JOINTS},
        hips_m=pos[:, hips],
        forward=rot[:, hips] @ np.array([0.0, 0.0, 1.0]),
        points_m=np.concatenate([pos, np.stack(ends, axis=1)], axis=1) if ends else pos,
        hinge_against=_hinges(names, pos, rot, rest),
        balls_m={k: pos[:, names.index(k)] for k in BALLS if k in names},
    )


def truth_track(truth: RenderTruth) -> BodyTrack:
    """The rendered body's own track (output joint names; the body's hinges judged from its rest pose)."""
    body = load_body()
    names = list(truth.bone_names)
    to_body = {**JOINTS, "Hips": "Hips"}
    idx = {k: names.index(v) for k, v in to_body.items()}
    pos = {k: truth.joints_m[:, i] for k, i in idx.items()}
    rots = {k: truth.rotations[:, i] for k, i in idx.items()}
    dirs = {h[0]: body.heads_m[idx[h[1]]] - body.heads_m[idx[h[0]]] for h in HINGES}
    against = hinge_frames(pos, rots, dirs)
    lowest = np.zeros((len(truth.t_s), 1, 3))
    lowest[:, 0, 1] = truth.lowest_m
    return BodyTrack(
        t_s=truth.t_s, joints_m={k: pos[k] for k in JOINTS}, hips_m=pos["Hips"],
        forward=truth.rotations[:, idx["Hips"]] @ np.array([0.0, 0.0, 1.0]), points_m=lowest,
        hinge_against=against, balls_m={k: truth.joints_m[:, names.index(v)] for k, v in BALLS.items()},
    )  # fmt: skip


def _stack(track: BodyTrack) -> FloatArray:
    return np.stack([track.joints_m[k] for k in JOINTS], axis=1)


def _limb_dirs(track: BodyTrack) -> FloatArray:
    return np.stack([track.joints_m[b] - track.joints_m[a] for a, b in LIMBS], axis=1)


def _flexion_deg(track: BodyTrack) -> FloatArray:
    """(T, 4) degrees: flexion of the four hinges (0 = straight)."""
    out = []
    for parent, joint, child, _ in HINGES:
        a = track.joints_m[joint] - track.joints_m[parent]
        b = track.joints_m[child] - track.joints_m[joint]
        cos = np.einsum("ti,ti->t", a, b) / np.maximum(
            np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12
        )
        out.append(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))
    return np.stack(out, axis=1)


def lone_metrics(track: BodyTrack, fps: float) -> dict[str, float]:
    """Metrics that need no truth: floor penetration (cm, frames), implausible-hinge frames, jitter (m/s²)."""
    deepest, frames = wm.floor_penetration(track.points_m)
    return {
        "floor_cm": 100.0 * deepest,
        "floor_frames": float(frames),
        "hinge_frames": float(np.count_nonzero(track.hinge_against)),
        "jitter_m_s2": wm.jitter_m(_stack(track)) * fps * fps,
    }


def truth_metrics(
    out: BodyTrack,
    truth: BodyTrack,
    contacts: npt.NDArray[np.bool_],
    fps: float,
    room_yaw_rad: float | None = None,
) -> dict[str, float]:
    """Every metric of ``out`` against ``truth`` (same frame times) and the contacts ((T, 2) bool, left/right).

    ``room_yaw_rad``: the yaw that turns the output's frame into the truth's (bridge's room frame is its camera's:
    :attr:`~bridge.testing.render.RenderCamera.room_yaw_rad`); the root path is aligned with it (and, as
    ``root_facing_*``, by the pelvis' heading in the first second, which counts a heading error as path error).
    """
    mean, worst = wm.root_path_error_m(
        out.hips_m, out.forward, truth.hips_m, truth.forward, truth.t_s, yaw_rad=room_yaw_rad
    )
    facing_mean, _ = wm.root_path_error_m(out.hips_m, out.forward, truth.hips_m, truth.forward, truth.t_s)
    skate = np.concatenate(
        [wm.foot_skate_m(out.joints_m[f"{s}Foot"], contacts[:, k]) for k, s in enumerate(("Left", "Right"))]
    )
    bearing = np.concatenate(
        [wm.support_skate_m(out.bearing_points(s), contacts[:, k]) for k, s in enumerate(("Left", "Right"))]
    )
    true_bearing = np.concatenate(
        [wm.support_skate_m(truth.bearing_points(s), contacts[:, k]) for k, s in enumerate(("Left", "Right"))]
    )
    true_ankle = np.concatenate(
        [wm.foot_skate_m(truth.joints_m[f"{s}Foot"], contacts[:, k]) for k, s in enumerate(("Left", "Right"))]
    )
    hover, true_hover = (
        np.concatenate(
            [wm.support_height_m(track.bearing_points(s), contacts[:, k]) for k, s in enumerate(("Left", "Right"))]
        )
        for track in (out, truth)
    )
    rise_true = np.ptp(truth.hips_m[:, 1])
    rise_out = np.ptp(out.hips_m[:, 1])
    flex_out, flex_true = _flexion_deg(out), _flexion_deg(truth)
    lag_s = wm.hinges_lag_s(flex_true, flex_out, 1.0 / fps)
    return {
        "root_mean_cm": 100.0 * mean,
        "root_max_cm": 100.0 * worst,
        "root_facing_mean_cm": 100.0 * facing_mean,
        "hips_rise_cm": 100.0 * float(rise_out),
        "hips_rise_true_cm": 100.0 * float(rise_true),
        "skate_mean_cm": 100.0 * float(skate.mean()) if len(skate) else 0.0,
        "skate_max_cm": 100.0 * float(skate.max()) if len(skate) else 0.0,
        "contacts": float(len(skate)),
        "skate_true_cm": 100.0 * float(true_ankle.mean()) if len(true_ankle) else 0.0,
        "slide_mean_cm": 100.0 * float(bearing.mean()) if len(bearing) else 0.0,
        "slide_max_cm": 100.0 * float(bearing.max()) if len(bearing) else 0.0,
        "slide_true_cm": 100.0 * float(true_bearing.mean()) if len(true_bearing) else 0.0,
        "hover_mean_cm": 100.0 * float(hover.mean()) if len(hover) else 0.0,
        "hover_true_cm": 100.0 * float(true_hover.mean()) if len(true_hover) else 0.0,
        **lone_metrics(out, fps),
        "limb_deg": float(wm.direction_error_deg(_limb_dirs(out), _limb_dirs(truth)).mean()),
        "pa_mpjpe_mm": 1000.0 * float(wm.pa_mpjpe_m(_stack(out), _stack(truth)).mean()),
        "jitter_true_m_s2": wm.jitter_m(_stack(truth)) * fps * fps,
        "lag_ms": 1000.0 * lag_s,
    }
