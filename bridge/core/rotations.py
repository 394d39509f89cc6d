"""Rotation and vector helpers on numpy arrays, vectorised over any leading shape.

Every function takes and returns plain arrays: vectors (..., 3), rotation matrices (..., 3, 3), angles in
radians. They are the solver's building blocks (:mod:`bridge.solve`); each is exact where the maths is (tested
against scipy's :class:`~scipy.spatial.transform.Rotation`), and cheap on the tiny arrays of one frame, where
numpy's general routines (``np.cross``, ``np.linalg.norm``) cost tens of microseconds a call.

Quaternion continuity (:func:`continuous_quaternions`, :class:`QuaternionContinuity`): ``q`` and ``−q`` are the
same rotation, and a solver that builds rotations from matrices picks either; whatever writes poses out over
time (VMC frames, glTF keys) keeps each bone's quaternion in the hemisphere of its previous frame.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.spatial.transform import Rotation

FloatArray = npt.NDArray[np.float64]

X_AXIS = np.array([1.0, 0.0, 0.0])
Y_AXIS = np.array([0.0, 1.0, 0.0])
Z_AXIS = np.array([0.0, 0.0, 1.0])
EPS = 1e-9
_EYE = np.eye(3)
#: (3, 9): a (..., 3) @ _HAT, reshaped (..., 3, 3), is the cross-product matrix [a]x (so [a]x v = a × v).
_HAT_3 = np.zeros((3, 3, 3))
_HAT_3[2, 1, 0], _HAT_3[1, 0, 2], _HAT_3[0, 2, 1] = 1.0, 1.0, 1.0
_HAT_3[2, 0, 1], _HAT_3[1, 2, 0], _HAT_3[0, 1, 2] = -1.0, -1.0, -1.0
_HAT = _HAT_3.reshape(3, 9)
#: Cyclic shifts (y, z, x) and (z, x, y) of a vector's components, for the cross product.
_YZX = np.array([1, 2, 0])
_ZXY = np.array([2, 0, 1])
#: Flat (row-major) indices of m21, m02, m10 and of m12, m20, m01 (see :func:`skew_part`).
_SKEW_PLUS = np.array([7, 2, 3])
_SKEW_MINUS = np.array([5, 6, 1])


if hasattr(np, "matvec"):  # numpy >= 2.2: ufuncs, one cheap call each

    def dot(a: FloatArray, b: FloatArray) -> FloatArray:
        """Dot products of (..., 3) vectors, broadcast (one ufunc call: cheaper than einsum on tiny arrays)."""
        return np.asarray(np.vecdot(a, b), dtype=np.float64)

    def matvec(m: FloatArray, v: FloatArray) -> FloatArray:
        """(..., 3): matrices (..., 3, 3) times vectors (..., 3), broadcast."""
        return np.asarray(np.matvec(m, v), dtype=np.float64)

else:  # pragma: no cover - older numpy

    def dot(a: FloatArray, b: FloatArray) -> FloatArray:
        """Dot products of (..., 3) vectors, broadcast."""
        return np.asarray(np.einsum("...i,...i->...", a, b), dtype=np.float64)

    def matvec(m: FloatArray, v: FloatArray) -> FloatArray:
        """(..., 3): matrices (..., 3, 3) times vectors (..., 3), broadcast."""
        return np.asarray(np.einsum("...ij,...j->...i", m, v), dtype=np.float64)


def any_true(mask: npt.NDArray[np.bool_]) -> bool:
    """Whether any element of a bool array is True (``np.count_nonzero``: a fraction of ``ndarray.any``'s cost on
    tiny arrays)."""
    return bool(np.count_nonzero(mask))


def clip(x: FloatArray, lo: float | FloatArray, hi: float | FloatArray) -> FloatArray:
    """``np.clip`` as two ufunc calls (np.clip's Python wrapper costs more than the clipping on tiny arrays)."""
    return np.minimum(np.maximum(x, lo), hi)


def norm(v: FloatArray) -> FloatArray:
    """Lengths of (..., 3) vectors (cheaper than np.linalg.norm on tiny arrays)."""
    return np.sqrt(dot(v, v))


def unit(v: FloatArray) -> FloatArray:
    """(..., 3) vectors scaled to length 1 (zero vectors stay zero)."""
    return v / np.maximum(norm(v), EPS)[..., None]


def cross(a: FloatArray, b: FloatArray) -> FloatArray:
    """Cross product of (..., 3) vectors, broadcast (np.cross costs ~40 µs a call on tiny arrays).

    The cyclic shifts of each vector are gathered with ``take``: seven cheap numpy calls instead of fifteen, and
    the same arithmetic per component (a_y b_z − a_z b_y, …).
    """
    return a.take(_YZX, axis=-1) * b.take(_ZXY, axis=-1) - a.take(_ZXY, axis=-1) * b.take(_YZX, axis=-1)


def perp(v: FloatArray, axis_unit: FloatArray) -> FloatArray:
    """Part of (..., 3) ``v`` perpendicular to the unit ``axis_unit``."""
    return v - dot(v, axis_unit)[..., None] * axis_unit


def basis(primary: FloatArray, secondary: FloatArray) -> FloatArray:
    """(..., 3, 3) orthonormal frames whose columns are primary, secondary ⟂ primary, and their cross."""
    n1 = norm(primary)
    e1 = primary / np.maximum(n1, EPS)[..., None]
    # A zero primary (no person: all landmarks at the origin) gives an arbitrary but valid frame; such bones are
    # untracked and replaced by hold/rest later. (|e1| < 0.5 exactly where |primary| < EPS / 2.)
    zero = n1 < 0.5 * EPS
    if any_true(zero):
        e1 = np.where(zero[..., None], X_AXIS, e1)
    p2 = perp(secondary, e1)
    n2 = norm(p2)
    e2 = p2 / np.maximum(n2, EPS)[..., None]
    # A secondary parallel to the primary leaves the twist undefined: pick any perpendicular.
    bad = n2 < 0.5 * EPS
    if any_true(bad):
        alt = np.where(np.abs(e1[..., :1]) < 0.9, X_AXIS, Y_AXIS)
        e2 = np.where(bad[..., None], unit(perp(alt, e1)), e2)
    out = np.empty(e1.shape + (3,))
    out[..., 0] = e1
    out[..., 1] = e2
    out[..., 2] = cross(e1, e2)
    return out


def align_two(
    primary_obs: FloatArray, secondary_obs: FloatArray, primary_rest: FloatArray, secondary_rest: FloatArray
) -> FloatArray:
    """Rotation matrices R (..., 3, 3) with R·primary_rest ∥ primary_obs exactly and R·secondary_rest as
    close as possible to secondary_obs.

    Equal to ``Rotation.align_vectors([primary_obs, secondary_obs], [primary_rest, secondary_rest],
    weights=[np.inf, 1])`` (tested), but vectorised over any leading shape.
    """
    return basis(primary_obs, secondary_obs) @ np.swapaxes(basis(primary_rest, secondary_rest), -1, -2)


def axis_angle_matrix(axis_unit: FloatArray, angle_rad: FloatArray) -> FloatArray:
    """(..., 3, 3) rotations by ``angle_rad`` (...,) about unit axes (..., 3) or one axis (3,) (Rodrigues)."""
    angle = np.asarray(angle_rad, dtype=np.float64)
    c = np.cos(angle)[..., None, None]
    s = np.sin(angle)[..., None, None]
    # The cross-product matrix [a]x as one product with a constant (3, 9) map (entries exactly ±a_i or 0).
    k = (np.asarray(axis_unit, dtype=np.float64) @ _HAT).reshape(np.shape(axis_unit)[:-1] + (3, 3))
    return _EYE + s * k + (1.0 - c) * (k @ k)  # broadcast over the angles (one axis for many angles)


def min_rotation(a: FloatArray, b: FloatArray) -> FloatArray:
    """(..., 3, 3) shortest rotations taking the directions of ``a`` onto those of ``b`` (both (..., 3), broadcast;
    for opposite directions, a half turn about an axis perpendicular to ``a``)."""
    au, bu = unit(np.asarray(a, dtype=np.float64)), unit(b)
    axis = cross(au, bu)
    s = norm(axis)
    c = dot(au, bu)
    axis_u = axis / np.maximum(s, EPS)[..., None]
    parallel = s <= 1e-9
    if any_true(parallel):
        fallback = unit(perp(np.where(np.abs(au[..., :1]) < 0.9, X_AXIS, Y_AXIS), au))
        axis_u = np.where(parallel[..., None], fallback, axis_u)
    return axis_angle_matrix(axis_u, np.arctan2(s, c))


def angle_of(m: FloatArray) -> FloatArray:
    """Rotation angle (radians) of (..., 3, 3) rotation matrices."""
    tr = m[..., 0, 0] + m[..., 1, 1] + m[..., 2, 2]
    return np.arccos(clip((tr - 1.0) / 2.0, -1.0, 1.0))


def clamp_angle(m: FloatArray, max_rad: float | FloatArray) -> FloatArray:
    """Rotations (..., 3, 3) whose angle exceeds ``max_rad`` (a number, or one per trailing rotation) scaled
    down to it, keeping the axis."""
    ang = angle_of(m)
    over = ang > max_rad
    if not any_true(over):
        return m
    if any_true(over & (ang > 3.0)):  # near 180° the skew part loses the axis: let scipy find it
        limit = np.broadcast_to(max_rad, ang.shape)
        rv = Rotation.from_matrix(m[over], assume_valid=True).as_rotvec()
        rv *= (limit[over] / np.maximum(np.linalg.norm(rv, axis=-1), EPS))[:, None]
        out = m.copy()
        out[over] = Rotation.from_rotvec(rv).as_matrix()
        return out
    clamped = axis_angle_matrix(unit(skew_part(m)), np.asarray(max_rad, dtype=np.float64))
    return np.where(over[..., None, None], clamped, m)


def skew_part(m: FloatArray) -> FloatArray:
    """(..., 3): (m21 - m12, m02 - m20, m10 - m01) = 2 sin(angle) · axis of rotations (..., 3, 3)."""
    flat = np.reshape(m, m.shape[:-2] + (9,))
    return flat.take(_SKEW_PLUS, axis=-1) - flat.take(_SKEW_MINUS, axis=-1)


def fraction(m: FloatArray, fraction: float) -> FloatArray:
    """(..., 3, 3) rotations with their angle multiplied by ``fraction`` (same axis)."""
    ang = angle_of(m)
    if any_true(ang > 3.0):  # near 180° the skew part loses the axis: let scipy do it
        shape = m.shape[:-2]
        rv = Rotation.from_matrix(m.reshape(-1, 3, 3), assume_valid=True).as_rotvec() * fraction
        return Rotation.from_rotvec(rv).as_matrix().reshape(shape + (3, 3))
    axis = unit(skew_part(m))
    return axis_angle_matrix(axis, ang * fraction)


def twist_angle(m: FloatArray, axis_unit: FloatArray) -> FloatArray:
    """Angle (radians, in (-π, π]) of the twist part of rotations (..., 3, 3) about the unit ``axis_unit``
    (swing-twist decomposition): 2·atan2(q_vec·a, q_w), written with the matrix's own entries since
    q_vec = skew / (4 q_w) and 4 q_w² = 1 + trace."""
    along = dot(skew_part(m), axis_unit)
    return 2.0 * np.arctan2(along, 1.0 + (m[..., 0, 0] + m[..., 1, 1] + m[..., 2, 2]))


def transpose(m: FloatArray) -> FloatArray:
    """(..., 3, 3) matrices transposed (for rotations: inverted)."""
    return m.swapaxes(-1, -2)


def continuous_quaternions(quats_xyzw: FloatArray, previous_xyzw: FloatArray | None = None) -> FloatArray:
    """(T, ..., 4) quaternions over time T made sign-continuous: each is negated where needed so that its dot
    product with the one before it (the same bone in the previous frame) is never negative. ``q`` and ``−q`` are
    the same rotation, so the rotations are unchanged; only what a receiver that filters or interpolates
    quaternion components sees is (it sees no jump through the 4-D sphere). ``previous_xyzw`` (..., 4): the
    quaternions sent just before the first row (continuity across calls); None starts from the first row as is.
    """
    q = np.array(quats_xyzw, dtype=np.float64, copy=True)
    if len(q) == 0:
        return q
    first = q[:1] if previous_xyzw is None else np.asarray(previous_xyzw, dtype=np.float64)[None]
    before = np.concatenate([first, q[:-1]])  # row 0 against itself (no previous) or against the previous
    # q[t] is flipped relative to q[t-1] when their dot is negative; the flips accumulate along time.
    signs = np.cumprod(np.where(np.sum(q * before, axis=-1) < 0.0, -1.0, 1.0), axis=0)
    return q * signs[..., None]


class QuaternionContinuity:
    """Keeps each bone's quaternion in the hemisphere of its previous frame, frame after frame (see
    :func:`continuous_quaternions`). Call it with one frame's B rotations; it returns the same rotations with
    continuous quaternion signs. A frame with another number of rotations starts afresh."""

    def __init__(self) -> None:
        self._previous: FloatArray | None = None

    def __call__(self, rotations: Rotation) -> Rotation:
        q = rotations.as_quat()
        single = q.ndim == 1
        q = np.atleast_2d(q)
        prev = self._previous
        if prev is None or prev.shape != q.shape:
            self._previous = q
            return rotations if not single else Rotation.from_quat(q)
        flip = (q * prev).sum(axis=-1) < 0.0
        if not any_true(flip):  # the common case: nothing to change, no new Rotation to build
            self._previous = q
            return rotations if not single else Rotation.from_quat(q)
        out = np.where(flip[:, None], -q, q)
        self._previous = out
        return Rotation.from_quat(out)
