"""Rotation helpers against scipy and known answers."""

from __future__ import annotations

import math

import numpy as np
from scipy.spatial.transform import Rotation

from bridge.core import rotations as r

RNG = np.random.default_rng(11)


def test_align_two_matches_scipy_align_vectors() -> None:
    for _ in range(20):
        obs, rest = RNG.normal(size=(2, 3)), RNG.normal(size=(2, 3))
        expected, _ = Rotation.align_vectors(obs, rest, weights=[np.inf, 1])
        np.testing.assert_allclose(r.align_two(obs[0], obs[1], rest[0], rest[1]), expected.as_matrix(), atol=1e-9)


def test_vector_helpers() -> None:
    a, b = RNG.normal(size=(5, 3)), RNG.normal(size=(5, 3))
    np.testing.assert_allclose(r.cross(a, b), np.cross(a, b), atol=1e-15)
    np.testing.assert_allclose(r.norm(a), np.linalg.norm(a, axis=1))
    np.testing.assert_allclose(r.norm(r.unit(a)), 1.0)
    np.testing.assert_allclose(np.einsum("ij,ij->i", r.perp(a, r.unit(b)), b), 0.0, atol=1e-12)
    m = r.basis(a, b)
    np.testing.assert_allclose(m @ r.transpose(m), np.broadcast_to(np.eye(3), m.shape), atol=1e-12)


def test_angles_axes_fractions_and_twists() -> None:
    rot = Rotation.random(10, random_state=3)
    m = rot.as_matrix()
    np.testing.assert_allclose(r.angle_of(m), rot.magnitude(), atol=1e-7)
    rv = rot.as_rotvec()
    axis = rv / np.linalg.norm(rv, axis=1, keepdims=True)
    np.testing.assert_allclose(r.axis_angle_matrix(axis, rot.magnitude()), m, atol=1e-12)
    half = r.fraction(m, 0.5)
    np.testing.assert_allclose(half @ half, m, atol=1e-9)
    clamped = r.clamp_angle(m, 0.5)
    assert np.all(r.angle_of(clamped) <= 0.5 + 1e-9)
    # a pure twist of 40° about z, then a swing: the twist about z reads 40°
    twist = Rotation.from_euler("z", 40, degrees=True)
    swing = Rotation.from_euler("x", 25, degrees=True)
    np.testing.assert_allclose(math.degrees(float(r.twist_angle(twist.as_matrix(), r.Z_AXIS))), 40.0, atol=1e-9)
    assert abs(math.degrees(float(r.twist_angle(swing.as_matrix(), r.Z_AXIS)))) < 1e-9


def test_min_rotation_takes_a_onto_b_even_when_opposite() -> None:
    a = RNG.normal(size=(6, 3))
    b = RNG.normal(size=(6, 3))
    b[0] = -a[0]
    got = np.einsum("nij,nj->ni", r.min_rotation(a, b), r.unit(a))
    np.testing.assert_allclose(got, r.unit(b), atol=1e-9)


def test_continuous_quaternions_remove_every_sign_flip_and_keep_the_rotations() -> None:
    rng = np.random.default_rng(3)
    # A smooth path through w = 0 (a full turn) for 4 bones, then random signs as a solver may give them.
    angles = np.linspace(0.0, 2.0 * np.pi, 50)[:, None] * np.array([1.0, 0.5, 1.5, 2.0])
    axes = r.unit(rng.normal(size=(4, 3)))
    smooth = Rotation.from_rotvec((angles[..., None] * axes).reshape(-1, 3)).as_quat().reshape(50, 4, 4)
    noisy = smooth * rng.choice([-1.0, 1.0], size=(50, 4, 1))
    assert np.any(np.sum(noisy[1:] * noisy[:-1], axis=-1) < 0)
    out = r.continuous_quaternions(noisy)
    assert np.all(np.sum(out[1:] * out[:-1], axis=-1) >= 0)
    np.testing.assert_allclose(np.abs(out), np.abs(noisy))  # only signs change …
    np.testing.assert_allclose(out[0], noisy[0])  # … and the first frame stays as it was
    # Across calls: frame by frame gives what the whole sequence gives.
    keeper = r.QuaternionContinuity()
    streamed = np.stack([keeper(Rotation.from_quat(frame)).as_quat() for frame in noisy])
    np.testing.assert_allclose(streamed, out, atol=1e-12)
    # Continuing after a previous frame keeps its hemisphere.
    again = r.continuous_quaternions(noisy[10:], previous_xyzw=out[9])
    np.testing.assert_allclose(again, out[10:], atol=1e-12)
