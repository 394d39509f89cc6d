"""Metrics of a body in the world, against truth or on their own: pure functions on numpy arrays.

Frames: every position is in a world frame with Y up and the floor at y = 0, metres, one row per frame
(``(T, 3)`` a point's path, ``(T, N, 3)`` N points). Truth and the output being judged share the frame rate
(resample first: :func:`resample_rows`).

* :func:`root_path_error_m`: the output's root path against the truth's after aligning the first second
  (yaw from the body's facing, offset from the mean position in that second).
* :func:`foot_skate_m`: how far a foot (its ankle) travels along the floor while the truth says it is planted;
  :func:`support_skate_m`: how far its bearing point (ankle or ball, the lower) slides.
* :func:`floor_penetration`: how deep and how often points go below the floor.
* :func:`hinge_against`: frames where a knee or elbow bends the way its joint cannot.
* :func:`direction_error_deg`, :func:`pa_mpjpe_m`: pose against truth, after a global rotation / per frame
  similarity alignment.
* :func:`jitter_m`: mean second difference (metres per frame²).
* :func:`lag_s`: the delay of one signal behind another (cross-correlation peak, sub-frame).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def resample_rows(t_src_s: npt.ArrayLike, rows: npt.ArrayLike, t_dst_s: npt.ArrayLike) -> FloatArray:
    """``rows`` ((T_src, ...) float) linearly interpolated at the times ``t_dst_s`` (held at the ends)."""
    src = np.asarray(rows, dtype=np.float64)
    t_src, t_dst = np.asarray(t_src_s, dtype=np.float64), np.asarray(t_dst_s, dtype=np.float64)
    flat = src.reshape(len(src), -1)
    out = np.stack([np.interp(t_dst, t_src, flat[:, k]) for k in range(flat.shape[1])], axis=1)
    return np.asarray(out.reshape((len(t_dst), *src.shape[1:])))


def yaw_rotation(angle_rad: float) -> FloatArray:
    """(3, 3): rotation by ``angle_rad`` about +Y (counter-clockwise seen from above: +Z turns to +X)."""
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _heading(forward: FloatArray) -> FloatArray:
    """(T,) radians: heading of horizontal forward vectors, atan2(x, z)."""
    f = np.asarray(forward, dtype=np.float64)
    return np.asarray(np.arctan2(f[:, 0], f[:, 2]))


def align_first_second(
    out_path_m: FloatArray, out_forward: FloatArray, true_path_m: FloatArray, true_forward: FloatArray,
    t_s: FloatArray, window_s: float = 1.0, yaw_rad: float | None = None,
) -> FloatArray:  # fmt: skip
    """(T, 3) the output path turned and shifted onto the truth over the first ``window_s`` seconds.

    The yaw is ``yaw_rad`` where the output's frame is known (bridge's room frame is its camera's: give the
    yaw that turns it into the truth's), else the mean heading difference of the forward vectors ((T, 3),
    world) in the window (a single view's pelvis heading can be 20° off, and the whole path turns with it);
    the shift the mean offset of the turned path from the truth in the window (vertically too: the output's
    root may be a rig's hips at another height; its rise and fall after the first second still count).
    """
    first = np.asarray(t_s) - t_s[0] <= window_s
    d = _heading(true_forward[first]) - _heading(out_forward[first])
    yaw = float(np.arctan2(np.sin(d).mean(), np.cos(d).mean())) if yaw_rad is None else float(yaw_rad)
    turned = np.asarray(out_path_m, dtype=np.float64) @ yaw_rotation(yaw).T
    shift = (true_path_m[first] - turned[first]).mean(axis=0)
    return np.asarray(turned + shift)


def root_path_error_m(
    out_path_m: FloatArray, out_forward: FloatArray, true_path_m: FloatArray, true_forward: FloatArray,
    t_s: FloatArray, window_s: float = 1.0, yaw_rad: float | None = None,
) -> tuple[float, float]:  # fmt: skip
    """(mean, max) metres: distance of the aligned output root from the true root (:func:`align_first_second`)."""
    aligned = align_first_second(out_path_m, out_forward, true_path_m, true_forward, t_s, window_s, yaw_rad)
    err = np.linalg.norm(aligned - true_path_m, axis=1)
    return float(err.mean()), float(err.max())


def contact_runs(contacts: BoolArray, min_frames: int = 3) -> list[tuple[int, int]]:
    """[(start, stop)) frame ranges where ``contacts`` ((T,) bool) is true for at least ``min_frames``."""
    c = np.concatenate([[False], np.asarray(contacts, dtype=bool), [False]])
    edges = np.flatnonzero(np.diff(c.astype(np.int8)))
    runs = [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]
    return [(a, b) for a, b in runs if b - a >= min_frames]


def foot_skate_m(foot_m: FloatArray, contacts: BoolArray, min_frames: int = 3) -> FloatArray:
    """(R,) metres, one per contact: the farthest the foot ((T, 3) world path) gets, on the floor plane, from
    where it was when the contact began, during each run of ``contacts`` ((T,) bool)."""
    out = []
    for a, b in contact_runs(contacts, min_frames):
        xz = np.asarray(foot_m[a:b])[:, [0, 2]]
        out.append(float(np.linalg.norm(xz - xz[0], axis=1).max()))
    return np.asarray(out, dtype=np.float64)


def support_height_m(points_m: FloatArray, contacts: BoolArray, min_frames: int = 3) -> FloatArray:
    """(R,) metres, one per contact: how high the foot's bearing point stands, on average over each run of
    ``contacts`` ((T,) bool), above where it stands when the foot is flat (its lowest height of the clip).

    ``points_m``: (T, P, 3) world frame (Y up), as :func:`support_skate_m`. A body floating over the floor while
    it stands shows here (a walking foot's heel rise, a few centimetres, shows in the truth's figure too).
    """
    pts_all = np.asarray(points_m, dtype=np.float64)
    lowest = np.nanmin(pts_all[:, :, 1], axis=0) if len(pts_all) else np.zeros(pts_all.shape[1])
    runs = contact_runs(contacts, min_frames)
    return np.asarray([np.min(pts_all[a:b, :, 1] - lowest, axis=1).mean() for a, b in runs], dtype=np.float64)


def support_skate_m(points_m: FloatArray, contacts: BoolArray, min_frames: int = 3) -> FloatArray:
    """(R,) metres, one per contact: how far the foot's bearing point slides over the floor during each run of
    ``contacts`` ((T,) bool).

    ``points_m``: (T, P, 3) world frame (Y up), the foot's points that can bear the weight (ankle, ball). In each
    frame the one nearest its own lowest height of the clip (where it is when the foot stands flat) bears it;
    the skate is the path length on the floor plane of the bearing point from frame to frame (each step
    measured on the point that bears the weight at its end). A walking foot rolls heel → ball while planted:
    its ankle travels 10–12 cm of a true stance (:func:`foot_skate_m` reads that as skate).
    """
    pts_all = np.asarray(points_m, dtype=np.float64)
    lowest = np.nanmin(pts_all[:, :, 1], axis=0) if len(pts_all) else np.zeros(pts_all.shape[1])
    out = []
    for a, b in contact_runs(contacts, min_frames):
        pts = pts_all[a:b]
        bearing = np.argmin(pts[:, :, 1] - lowest, axis=1)  # (n,)
        rows = np.arange(1, len(pts))
        step = pts[rows, bearing[1:]][:, [0, 2]] - pts[rows - 1, bearing[1:]][:, [0, 2]]
        out.append(float(np.linalg.norm(step, axis=1).sum()))
    return np.asarray(out, dtype=np.float64)


def floor_penetration(points_m: FloatArray, tolerance_m: float = 0.01) -> tuple[float, int]:
    """(deepest metres below the floor (0 if none), frames with a point more than ``tolerance_m`` below it)
    of points ((T, N, 3), world, Y up, floor y = 0)."""
    lowest = np.asarray(points_m)[..., 1].reshape(len(points_m), -1).min(axis=1)
    return float(max(0.0, -lowest.min())), int(np.count_nonzero(lowest < -tolerance_m))


def _unit(v: FloatArray) -> FloatArray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.asarray(np.where(n > 1e-12, v / np.where(n > 1e-12, n, 1.0), 0.0))


def hinge_against(
    parent_rotations: FloatArray, child_dir_world: FloatArray, rest_axis: FloatArray, flex_dir: FloatArray,
    min_bend_deg: float = 20.0, max_off_deg: float = 90.0,
) -> BoolArray:  # fmt: skip
    """(T,) bool: frames where a hinge (knee, elbow) bends against its joint.

    Args:
        parent_rotations: (T, 3, 3): the parent bone's world rotation from its rest pose (thigh, upper arm).
        child_dir_world: (T, 3), world: direction of the child bone (shank, forearm).
        rest_axis: (3,), parent rest frame: the child bone's direction at rest (straight limb).
        flex_dir: (3,), parent rest frame: where the child swings when the joint flexes (knee: backwards,
            elbow in a palms-down T-pose: forwards).
        min_bend_deg: bends smaller than this are a straight limb, never implausible.
        max_off_deg: a bend more than this far from ``flex_dir`` (about the rest axis) is implausible.
    """
    local = np.einsum("tji,tj->ti", np.asarray(parent_rotations), _unit(np.asarray(child_dir_world)))
    axis = _unit(np.asarray(rest_axis, dtype=np.float64))
    flex = _unit(np.asarray(flex_dir, dtype=np.float64) - np.dot(flex_dir, axis) * axis)
    along = local @ axis
    bend = np.degrees(np.arccos(np.clip(along, -1.0, 1.0)))
    side = _unit(local - along[:, None] * axis)
    off = np.degrees(np.arccos(np.clip(side @ flex, -1.0, 1.0)))
    return np.asarray((bend > min_bend_deg) & (off > max_off_deg))


def swing_frames(base_rotations: FloatArray, rest_dir: FloatArray, current_dir: FloatArray) -> FloatArray:
    """(T, 3, 3): a bone's frame without twist of its own: ``base`` (its parent's world rotation from rest, (T,
    3, 3)) followed by the smallest turn taking the bone's rest direction (``rest_dir``, (3,), parent's rest
    frame) onto its current one (``current_dir``, (T, 3), world). A knee judged in this frame of the thigh bends
    the way the pelvis faces, however the thigh is twisted (hips turn a thigh by ±45°, not 180°)."""
    base = np.asarray(base_rotations, dtype=np.float64)
    a = _unit(np.einsum("tij,j->ti", base, np.asarray(rest_dir, dtype=np.float64)))
    b = _unit(np.asarray(current_dir, dtype=np.float64))
    v = np.cross(a, b)
    c = np.einsum("ti,ti->t", a, b)
    vx = np.zeros((len(a), 3, 3))
    vx[:, 0, 1], vx[:, 0, 2], vx[:, 1, 2] = -v[:, 2], v[:, 1], -v[:, 0]
    vx -= np.transpose(vx, (0, 2, 1))
    k = np.where(c > -1 + 1e-9, 1.0 / np.maximum(1.0 + c, 1e-9), 0.0)[:, None, None]
    swing = np.eye(3) + vx + vx @ vx * k  # Rodrigues for unit vectors; straight opposite: left unturned
    return np.asarray(swing @ base)


def kabsch_rotation(source: FloatArray, target: FloatArray) -> FloatArray:
    """(3, 3): the rotation R minimising Σ |R s - t|² over rows of (N, 3) ``source`` / ``target``."""
    h = np.asarray(source).T @ np.asarray(target)
    u, _, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(vt.T @ u.T))
    return np.asarray(vt.T @ np.diag([1.0, 1.0, d]) @ u.T)


def direction_error_deg(out_dirs: FloatArray, true_dirs: FloatArray) -> FloatArray:
    """(T, K) degrees: angle between output and true limb directions ((T, K, 3)) after one rotation of the
    output fitted to all of them (the two world frames may differ by a turn)."""
    o, t = _unit(np.asarray(out_dirs)), _unit(np.asarray(true_dirs))
    r = kabsch_rotation(o.reshape(-1, 3), t.reshape(-1, 3))
    dots = np.einsum("tki,tki->tk", o @ r.T, t)
    return np.asarray(np.degrees(np.arccos(np.clip(dots, -1.0, 1.0))))


def pa_mpjpe_m(out_m: FloatArray, true_m: FloatArray) -> FloatArray:
    """(T,) metres: per-frame mean joint error after the best similarity transform (rotation, scale, shift)
    of the output joints ((T, N, 3)) onto the true ones."""
    errs = np.empty(len(out_m))
    for k, (p, q) in enumerate(zip(np.asarray(out_m), np.asarray(true_m), strict=True)):
        p0, q0 = p - p.mean(axis=0), q - q.mean(axis=0)
        r = kabsch_rotation(p0, q0)
        rp = p0 @ r.T
        scale = float((rp * q0).sum() / max((rp * rp).sum(), 1e-12))
        errs[k] = np.linalg.norm(scale * rp - q0, axis=1).mean()
    return errs


def jitter_m(points_m: FloatArray) -> float:
    """Mean length of the second difference of points ((T, ...,  3)) over frames: metres per frame²."""
    p = np.asarray(points_m, dtype=np.float64)
    if len(p) < 3:
        return 0.0
    return float(np.linalg.norm(p[2:] - 2 * p[1:-1] + p[:-2], axis=-1).mean())


def hinges_lag_s(true_deg: FloatArray, out_deg: FloatArray, dt_s: float, min_std_deg: float = 2.0) -> float:
    """Median seconds by which the output's hinge angles ``out_deg`` (T, H) trail the truth's ``true_deg`` (T, H)
    (:func:`lag_s` per hinge), over the hinges that move in both (standard deviation above ``min_std_deg``); NaN
    where none does. A hinge the output holds still (an arm hidden in a side view) has no lag to find: its
    correlation peak is float rounding, which read 17 or 78 ms for bit-identical rotations."""
    moving = [
        k for k in range(out_deg.shape[1]) if min(np.std(out_deg[:, k]), np.std(true_deg[:, k])) > min_std_deg
    ]
    lags = [lag_s(true_deg[:, k], out_deg[:, k], dt_s) for k in moving]
    return float(np.median(lags)) if lags else float("nan")


def lag_s(reference: FloatArray, delayed: FloatArray, dt_s: float, max_lag_s: float = 0.5) -> float:
    """Seconds by which ``delayed`` ((T,) float) trails ``reference`` ((T,) float): the shift maximising
    their correlation (means removed), refined between frames by a parabola through the peak."""
    a = np.asarray(reference, dtype=np.float64) - np.mean(reference)
    b = np.asarray(delayed, dtype=np.float64) - np.mean(delayed)
    n, max_k = len(a), int(round(max_lag_s / dt_s))
    lags = list(range(-max_k, max_k + 1))
    score = np.array(
        [np.dot(a[max(0, -k) : n - max(0, k)], b[max(0, k) : n - max(0, -k)]) / (n - abs(k)) for k in lags]
    )
    i = int(np.argmax(score))
    shift = float(lags[i])
    if 0 < i < len(lags) - 1:
        y0, y1, y2 = score[i - 1], score[i], score[i + 1]
        denom = y0 - 2 * y1 + y2
        if abs(denom) > 1e-12:
            shift += 0.5 * (y0 - y2) / denom
    return shift * dt_s
