"""Rotation helpers of one vector (3,) or one matrix (3, 3), compiled with numba for the body kernel.

The same maths as :mod:`bridge.core.rotations` (whose functions are vectorised over any leading shape for the
batch solve), one rotation at a time: a compiled call costs nanoseconds where a numpy call on a tiny array
costs about a microsecond. Conventions as there: rig frame vectors, rotation matrices act on column vectors,
angles in radians. Each is tested against its vectorised twin (``tests/solve/test_body_kernel.py``).
"""

from __future__ import annotations

import math

import numba
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

EPS = 1e-9
#: Compiled once, cached on disk by numba (the next process loads it in a fraction of a second).
jit = numba.njit(cache=True, nogil=True, error_model="numpy")


@jit
def vec_dot(a: FloatArray, b: FloatArray) -> float:
    """a · b of (3,) vectors."""
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


@jit
def vec_norm(a: FloatArray) -> float:
    """|a| of a (3,) vector."""
    return math.sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2])


@jit
def mat_mul(a: FloatArray, b: FloatArray) -> FloatArray:
    """(3, 3) product a @ b (written out: numba's matmul goes through BLAS, slow on 3 × 3)."""
    out = np.empty((3, 3))
    for r in range(3):
        for c in range(3):
            out[r, c] = a[r, 0] * b[0, c] + a[r, 1] * b[1, c] + a[r, 2] * b[2, c]
    return out


@jit
def mat_t_mul(a: FloatArray, b: FloatArray) -> FloatArray:
    """(3, 3) product aᵀ @ b (for rotations: b relative to a)."""
    out = np.empty((3, 3))
    for r in range(3):
        for c in range(3):
            out[r, c] = a[0, r] * b[0, c] + a[1, r] * b[1, c] + a[2, r] * b[2, c]
    return out


@jit
def mat_vec(m: FloatArray, v: FloatArray) -> FloatArray:
    """(3,) product m @ v."""
    out = np.empty(3)
    for r in range(3):
        out[r] = m[r, 0] * v[0] + m[r, 1] * v[1] + m[r, 2] * v[2]
    return out


@jit
def mat_t_vec(m: FloatArray, v: FloatArray) -> FloatArray:
    """(3,) product mᵀ @ v."""
    out = np.empty(3)
    for r in range(3):
        out[r] = m[0, r] * v[0] + m[1, r] * v[1] + m[2, r] * v[2]
    return out


@jit
def vec_unit(a: FloatArray) -> FloatArray:
    """(3,) ``a`` scaled to length 1 (a zero vector stays zero)."""
    return a / max(vec_norm(a), EPS)


@jit
def vec_cross(a: FloatArray, b: FloatArray) -> FloatArray:
    """a × b of (3,) vectors."""
    out = np.empty(3)
    out[0] = a[1] * b[2] - a[2] * b[1]
    out[1] = a[2] * b[0] - a[0] * b[2]
    out[2] = a[0] * b[1] - a[1] * b[0]
    return out


@jit
def vec_perp(v: FloatArray, axis_unit: FloatArray) -> FloatArray:
    """The part of (3,) ``v`` perpendicular to the unit ``axis_unit``."""
    return v - vec_dot(v, axis_unit) * axis_unit


@jit
def _any_perpendicular(e1: FloatArray) -> FloatArray:
    """A unit vector ⟂ unit ``e1``: X (or Y where ``e1`` is close to X) made perpendicular."""
    alt = np.zeros(3)
    if abs(e1[0]) < 0.9:
        alt[0] = 1.0
    else:
        alt[1] = 1.0
    return vec_unit(vec_perp(alt, e1))


@jit
def mat_basis(primary: FloatArray, secondary: FloatArray) -> FloatArray:
    """(3, 3) orthonormal frame whose columns are primary, secondary ⟂ primary, and their cross (see
    :func:`bridge.core.rotations.basis`, whose fallbacks for zero or parallel vectors it shares)."""
    n1 = vec_norm(primary)
    e1 = primary / max(n1, EPS)
    if n1 < 0.5 * EPS:
        e1 = np.array([1.0, 0.0, 0.0])
    p2 = vec_perp(secondary, e1)
    n2 = vec_norm(p2)
    e2 = p2 / max(n2, EPS)
    if n2 < 0.5 * EPS:
        e2 = _any_perpendicular(e1)
    e3 = vec_cross(e1, e2)
    out = np.empty((3, 3))
    for r in range(3):
        out[r, 0] = e1[r]
        out[r, 1] = e2[r]
        out[r, 2] = e3[r]
    return out


@jit
def mat_axis_angle(axis_unit: FloatArray, angle_rad: float) -> FloatArray:
    """(3, 3) rotation by ``angle_rad`` about the unit (3,) ``axis_unit`` (Rodrigues)."""
    k = np.zeros((3, 3))
    k[0, 1], k[0, 2] = -axis_unit[2], axis_unit[1]
    k[1, 0], k[1, 2] = axis_unit[2], -axis_unit[0]
    k[2, 0], k[2, 1] = -axis_unit[1], axis_unit[0]
    return np.eye(3) + math.sin(angle_rad) * k + (1.0 - math.cos(angle_rad)) * mat_mul(k, k)


@jit
def mat_min_rotation(a: FloatArray, b: FloatArray) -> FloatArray:
    """(3, 3) shortest rotation taking the direction of ``a`` onto that of ``b`` (a half turn about an axis ⟂
    ``a`` for opposite directions)."""
    au, bu = vec_unit(a), vec_unit(b)
    axis = vec_cross(au, bu)
    s = vec_norm(axis)
    axis_u = axis / max(s, EPS)
    if s <= 1e-9:
        axis_u = _any_perpendicular(au)
    return mat_axis_angle(axis_u, math.atan2(s, vec_dot(au, bu)))


@jit
def mat_angle(m: FloatArray) -> float:
    """Rotation angle (radians) of a (3, 3) rotation matrix."""
    c = (m[0, 0] + m[1, 1] + m[2, 2] - 1.0) / 2.0
    return math.acos(min(max(c, -1.0), 1.0))


@jit
def mat_skew(m: FloatArray) -> FloatArray:
    """(3,): (m21 - m12, m02 - m20, m10 - m01) = 2 sin(angle) · axis."""
    return np.array([m[2, 1] - m[1, 2], m[0, 2] - m[2, 0], m[1, 0] - m[0, 1]])


@jit
def mat_rotvec(m: FloatArray) -> FloatArray:
    """(3,) rotation vector (axis × angle, angle in [0, π]) of a (3, 3) rotation, by way of its quaternion
    (the largest of its four components first: exact near a half turn, where the skew part loses the axis)."""
    tr = m[0, 0] + m[1, 1] + m[2, 2]
    q = np.empty(4)  # x, y, z, w
    best = max(tr, m[0, 0], m[1, 1], m[2, 2])
    if best == tr:
        q[3] = 1.0 + tr
        q[0], q[1], q[2] = m[2, 1] - m[1, 2], m[0, 2] - m[2, 0], m[1, 0] - m[0, 1]
    else:
        i = 0 if best == m[0, 0] else (1 if best == m[1, 1] else 2)
        j, k = (i + 1) % 3, (i + 2) % 3
        q[i] = 1.0 - tr + 2.0 * m[i, i]
        q[j] = m[j, i] + m[i, j]
        q[k] = m[k, i] + m[i, k]
        q[3] = m[k, j] - m[j, k]
    if q[3] < 0.0:
        q = -q
    v = q[:3]
    s = vec_norm(v)
    if s < 1e-300:
        return np.zeros(3)
    return (2.0 * math.atan2(s, q[3]) / s) * v


@jit
def mat_from_rotvec(rv: FloatArray) -> FloatArray:
    """(3, 3) rotation of a (3,) rotation vector."""
    angle = vec_norm(rv)
    return mat_axis_angle(rv / max(angle, EPS), angle)


@jit
def mat_clamp_angle(m: FloatArray, max_rad: float) -> FloatArray:
    """``m`` (3, 3), or, where its angle exceeds ``max_rad``, the rotation about the same axis by ``max_rad``."""
    ang = mat_angle(m)
    if ang <= max_rad:
        return m
    if ang > 3.0:  # near a half turn the skew part loses the axis
        rv = mat_rotvec(m)
        return mat_from_rotvec(rv * (max_rad / max(vec_norm(rv), EPS)))
    return mat_axis_angle(vec_unit(mat_skew(m)), max_rad)


@jit
def mat_fraction(m: FloatArray, fraction: float) -> FloatArray:
    """(3, 3) rotation about the axis of ``m`` by ``fraction`` of its angle."""
    ang = mat_angle(m)
    if ang > 3.0:
        return mat_from_rotvec(mat_rotvec(m) * fraction)
    return mat_axis_angle(vec_unit(mat_skew(m)), ang * fraction)


@jit
def mat_twist_angle(m: FloatArray, axis_unit: FloatArray) -> float:
    """Angle (radians, in (-π, π]) of the twist part of the (3, 3) rotation ``m`` about the unit ``axis_unit``."""
    along = vec_dot(mat_skew(m), axis_unit)
    return 2.0 * math.atan2(along, 1.0 + m[0, 0] + m[1, 1] + m[2, 2])
