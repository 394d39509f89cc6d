"""The compiled body solve (live path) against the vectorised numpy solve (batch path): the same numbers.

On the real tracker's frames of the Sports2D demo, and on every edge case the numpy solve handles: the hips out
of view, nobody in view (all landmarks at the origin), straight limbs, turns past 3 rad (the half-turn branch of
the angle clamps), and rigs without neck, clavicles, upper chest or toes. The rotation helpers are checked one by
one against :mod:`bridge.core.rotations`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from bridge.core import rotations as vec
from bridge.core.landmarks import LandmarkFrame
from bridge.core.landmarks import PoseLandmark as L
from bridge.core.rig import Rig, load_rig, rig_from_json
from bridge.solve import body_kernel_math as one
from bridge.solve.body import COMPILED_MAX_FRAMES, Solver, _frames_to_arrays
from bridge.solve.body_arrays import SolvedArrays, solve_arrays
from bridge.solve.body_config import SolverConfig
from bridge.solve.body_geometry import _RigGeometry
from bridge.solve.body_kernel import kernel_geometry, solve_compiled

TOL = 1e-9


def _both(rig: Rig, xyz: np.ndarray, visible: np.ndarray) -> tuple[SolvedArrays, SolvedArrays]:
    """The numpy solve and the compiled solve of the same frames, default settings."""
    config = SolverConfig()
    g = _RigGeometry(rig, config)
    return solve_arrays(rig, xyz, visible, config, g), solve_compiled(xyz, visible, kernel_geometry(g, config))


def _assert_same(a: SolvedArrays, b: SolvedArrays, rig: Rig) -> None:
    """Same tracked flags, same local rotations, same world rotations of every bone the solve defines."""
    np.testing.assert_array_equal(a.tracked, b.tracked)
    np.testing.assert_allclose(b.local_m, a.local_m, atol=TOL)
    g = _RigGeometry(rig, SolverConfig())
    solved = [g.hips, *g.chain, g.head, *g.shoulders, *g.limbs.upper, *g.limbs.lower, *g.limbs.end, *g.toes]
    solved += [] if g.neck is None else [g.neck]
    np.testing.assert_allclose(b.world_m[:, solved], a.world_m[:, solved], atol=TOL)


@pytest.fixture(scope="module")
def rig() -> Rig:
    return load_rig()


@pytest.mark.slow
def test_real_frames_solve_the_same(rig: Rig, sports2d_tracked: tuple[Any, list[LandmarkFrame]]) -> None:
    _, frames = sports2d_tracked
    xyz, visible, _, _ = _frames_to_arrays(frames, SolverConfig())
    a, b = _both(rig, xyz, visible)
    assert a.tracked.any() and not a.tracked.all()  # some bones lost somewhere: both branches exercised
    _assert_same(a, b, rig)


def _random_frames(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, 33, 3) landmarks of a roughly human layout with large random jitter, (n, 33) random visibility."""
    rng = np.random.default_rng(seed)
    base = np.zeros((33, 3))
    base[[L.LEFT_HIP, L.RIGHT_HIP]] = [[0.1, 0.0, 0.0], [-0.1, 0.0, 0.0]]
    base[[L.LEFT_SHOULDER, L.RIGHT_SHOULDER]] = [[0.18, 0.5, 0.0], [-0.18, 0.5, 0.0]]
    base[[L.NOSE, L.LEFT_EAR, L.RIGHT_EAR]] = [[0.0, 0.65, 0.1], [0.07, 0.66, 0.0], [-0.07, 0.66, 0.0]]
    xyz = base + rng.normal(0.0, 0.25, (n, 33, 3))
    visible = rng.random((n, 33)) < 0.85
    return xyz, visible


def test_random_bodies_solve_the_same(rig: Rig) -> None:
    """Wild poses: limbs folded every way, hinges past their limits, wrists and ankles clamped, lost landmarks."""
    xyz, visible = _random_frames(400, seed=0)
    _assert_same(*_both(rig, xyz, visible), rig)


def test_edge_cases_solve_the_same(rig: Rig) -> None:
    xyz, visible = _random_frames(6, seed=1)
    visible[0, [L.LEFT_HIP, L.RIGHT_HIP]] = False  # a user at a desk: the hips from the shoulders
    visible[0, [L.LEFT_SHOULDER, L.RIGHT_SHOULDER]] = True
    xyz[1], visible[1] = 0.0, False  # nobody in view: zero vectors everywhere
    xyz[2, L.LEFT_ELBOW] = xyz[2, L.LEFT_SHOULDER] + [0.3, 0.0, 0.0]  # a straight arm: the bend is unobservable
    xyz[2, L.LEFT_WRIST] = xyz[2, L.LEFT_SHOULDER] + [0.6, 0.0, 0.0]
    xyz[3, L.NOSE] = xyz[3, L.NOSE] * [1.0, 1.0, -1.0]  # the head turned round: a clamp near a half turn
    xyz[3, [L.LEFT_EAR, L.RIGHT_EAR]] = xyz[3, [L.RIGHT_EAR, L.LEFT_EAR]]
    xyz[4, L.RIGHT_HIP], xyz[4, L.LEFT_HIP] = xyz[4, L.LEFT_HIP], xyz[4, L.RIGHT_HIP]  # the pelvis turned back
    a, b = _both(rig, xyz, visible)
    assert not a.tracked[1].any() and a.tracked[0, rig.index("Hips")]
    _assert_same(a, b, rig)


def _rig_without(rig: Rig, drop: set[str]) -> Rig:
    """``rig`` with the bones ``drop`` removed, their children hung from their parents (offsets summed)."""
    doc = rig.to_json()
    by_name = {e["name"]: e for e in doc["bones"]}
    for e in doc["bones"]:
        while e["parent"] in drop:
            parent = by_name[e["parent"]]
            e["offset"] = list(np.add(e["offset"], parent["offset"]))
            e["parent"] = parent["parent"]
    doc["bones"] = [e for e in doc["bones"] if e["name"] not in drop]
    return rig_from_json(doc)


@pytest.mark.parametrize(
    "drop",
    [
        {"Neck"},
        {"LeftShoulder", "RightShoulder", "UpperChest"},
        {"LeftShoulder"},
        {"LeftToes", "RightToes", "Chest", "UpperChest"},
    ],
    ids=["no-neck", "no-clavicles", "one-clavicle", "one-spine-bone-no-toes"],
)
def test_reduced_rigs_solve_the_same(rig: Rig, drop: set[str]) -> None:
    small = _rig_without(rig, {b for b in drop if rig.has(b)})
    xyz, visible = _random_frames(50, seed=2)
    _assert_same(*_both(small, xyz, visible), small)


def test_live_and_batch_solver_agree(rig: Rig) -> None:
    """The Solver's live frames (compiled) and a long batch (numpy) give the same poses and states."""
    xyz, visible = _random_frames(COMPILED_MAX_FRAMES + 30, seed=3)
    frames = [
        LandmarkFrame(
            t_s=k / 30,
            world_xyz_m=xyz[k],
            image_xy=np.full((33, 2), 0.5),
            visibility=visible[k].astype(float),
            presence=np.ones(33),
            image_size=(640, 480),
        )
        for k in range(len(xyz))
    ]
    batch = Solver(rig).solve_to_arrays(frames)
    live = Solver(rig)
    for k, f in enumerate(frames):
        pose = live.solve_to_arrays([f])
        np.testing.assert_array_equal(pose.bone_state[0], batch.bone_state[k])
        np.testing.assert_allclose(
            np.abs(np.sum(pose.quats_xyzw[0] * batch.quats_xyzw[k], axis=-1)), 1.0, atol=TOL
        )


# --- the one-rotation helpers against the vectorised ones


def _rotations(n: int, seed: int, min_angle: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rv = rng.normal(size=(n, 3))
    rv /= np.linalg.norm(rv, axis=1, keepdims=True)
    return Rotation.from_rotvec(rv * rng.uniform(min_angle, np.pi, (n, 1))).as_matrix()


def test_matrix_helpers_match_the_vectorised_ones() -> None:
    mats = np.concatenate([_rotations(200, 4), _rotations(50, 5, min_angle=3.0), np.eye(3)[None]])
    axis = np.array([0.6, 0.0, 0.8])
    for m in mats:
        np.testing.assert_allclose(one.mat_clamp_angle(m, 0.7), vec.clamp_angle(m[None], 0.7)[0], atol=TOL)
        np.testing.assert_allclose(one.mat_fraction(m, 0.3), vec.fraction(m[None], 0.3)[0], atol=TOL)
        np.testing.assert_allclose(one.mat_rotvec(m), Rotation.from_matrix(m).as_rotvec(), atol=TOL)
        assert one.mat_twist_angle(m, axis) == pytest.approx(float(vec.twist_angle(m, axis)), abs=TOL)


def test_vector_helpers_match_the_vectorised_ones() -> None:
    rng = np.random.default_rng(6)
    pairs = list(rng.normal(size=(100, 2, 3)))
    x = np.array([1.0, 0.0, 0.0])
    pairs += [np.stack([x, x]), np.stack([x, -x]), np.stack([np.zeros(3), x]), np.stack([x, 2 * x])]
    for a, b in pairs:
        np.testing.assert_allclose(one.mat_basis(a, b), vec.basis(a, b), atol=TOL)
        np.testing.assert_allclose(one.mat_min_rotation(a, b), vec.min_rotation(a, b), atol=TOL)
        np.testing.assert_allclose(one.vec_cross(a, b), np.cross(a, b), atol=TOL)
        ang = float(np.linalg.norm(a))
        u = vec.unit(b)
        np.testing.assert_allclose(one.mat_axis_angle(u, ang), vec.axis_angle_matrix(u, ang), atol=TOL)
