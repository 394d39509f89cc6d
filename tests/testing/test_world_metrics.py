"""Known-answer tests of the world metrics (bridge.testing.world_metrics)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from bridge.testing import world_metrics as wm


def _walk(n: int = 90, fps: float = 30.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A root walking +Z at 1 m/s after standing for the first second; facing +Z; t_s."""
    t = np.arange(n) / fps
    path = np.zeros((n, 3))
    path[:, 1] = 0.9
    path[:, 2] = np.maximum(t - 1.0, 0.0)
    fwd = np.tile([0.0, 0.0, 1.0], (n, 1))
    return path, fwd, t


def test_root_path_error_is_zero_for_a_turned_shifted_copy_and_the_travel_for_a_root_in_place() -> None:
    path, fwd, t = _walk()
    turn = wm.yaw_rotation(np.radians(70.0))
    out = path @ turn.T + [3.0, 0.0, -2.0]
    mean, worst = wm.root_path_error_m(out, fwd @ turn.T, path, fwd, t)
    assert worst < 1e-9
    in_place = np.tile(path[0], (len(t), 1))
    mean, worst = wm.root_path_error_m(in_place, fwd, path, fwd, t)
    assert worst == pytest.approx(path[-1, 2], abs=1e-9)  # the whole travel: 2 m
    assert wm.root_path_error_m(path + [0.0, 0.1, 0.0], fwd, path, fwd, t)[1] < 1e-9  # a constant offset aligns
    late_rise = path + np.where(t > 1.0, 0.1, 0.0)[:, None] * [0.0, 1.0, 0.0]  # rises 10 cm after the first second
    assert wm.root_path_error_m(late_rise, fwd, path, fwd, t)[1] == pytest.approx(0.1)


def test_contact_runs_and_foot_skate() -> None:
    contacts = np.array([0, 1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 1, 1], dtype=bool)
    assert wm.contact_runs(contacts) == [(1, 5), (10, 13)]
    foot = np.zeros((13, 3))
    foot[1:5, 0] = [0.0, 0.01, 0.03, 0.02]  # slides 3 cm then back 1 cm: farthest 3 cm
    foot[1:5, 1] = [0.0, 0.5, 0.0, 0.0]  # height changes do not count
    foot[10:13, 2] = 0.2  # planted still (the offset from elsewhere does not count)
    np.testing.assert_allclose(wm.foot_skate_m(foot, contacts), [0.03, 0.0])


def test_floor_penetration() -> None:
    pts = np.zeros((4, 2, 3))
    pts[:, :, 1] = 0.5
    pts[1, 0, 1] = -0.005  # 5 mm: deepest of nothing beyond tolerance
    pts[2, 1, 1] = -0.03
    pts[3, 0, 1] = -0.02
    deepest, frames = wm.floor_penetration(pts)
    assert deepest == pytest.approx(0.03) and frames == 2


def test_hinge_against_flags_a_knee_bent_forwards_only() -> None:
    down, back = np.array([0.0, -1.0, 0.0]), np.array([0.0, 0.0, -1.0])
    bends = np.radians([0.0, 10.0, 60.0, -60.0, -30.0])  # + = shank swings back (flexion), - = forwards
    child = np.stack([[0.0, -np.cos(b), -np.sin(b)] for b in bends])
    thigh = np.tile(np.eye(3), (len(bends), 1, 1))
    np.testing.assert_array_equal(wm.hinge_against(thigh, child, down, back), [False, False, False, True, True])
    # The same legs turned as a whole (the parent's rotation carries the rest frame): same answers.
    r = Rotation.from_euler("yx", [120.0, 30.0], degrees=True).as_matrix()
    turned = wm.hinge_against(np.tile(r, (len(bends), 1, 1)), child @ r.T, down, back)
    np.testing.assert_array_equal(turned, [False, False, False, True, True])


def test_a_thigh_twisted_half_a_turn_against_the_pelvis_has_its_knee_bent_backwards() -> None:
    down, back = np.array([0.0, -1.0, 0.0]), np.array([0.0, 0.0, -1.0])
    pelvis = np.tile(np.eye(3), (3, 1, 1))
    thigh_dir = np.array(
        [[0.0, -1.0, 0.0], [0.0, -0.8, 0.6], [0.0, -0.8, 0.6]]
    )  # down; swung forward (hip flexed)
    bend = np.radians(60.0)
    normal = np.array([0.0, -np.cos(bend), -np.sin(bend)])  # the shank swings back: a knee pointing forwards
    shank = np.stack([normal, Rotation.from_rotvec([np.arcsin(0.6), 0, 0]).apply(normal), [0.0, -0.2, 0.98]])
    frames = wm.swing_frames(pelvis, down, thigh_dir)
    np.testing.assert_allclose(frames[1] @ down, thigh_dir[1] / np.linalg.norm(thigh_dir[1]), atol=1e-12)
    # 2: the shank swings forwards of a flexed thigh: a knee pointing backwards (the thigh turned 180°).
    np.testing.assert_array_equal(wm.hinge_against(frames, shank, down, back), [False, False, True])


def test_direction_error_and_pa_mpjpe() -> None:
    rng = np.random.default_rng(1)
    dirs = rng.normal(size=(20, 6, 3))
    r = Rotation.from_euler("y", 50.0, degrees=True).as_matrix()
    assert wm.direction_error_deg(dirs @ r.T, dirs).max() < 1e-4
    bent = dirs.copy()
    bent[:, 0] = dirs[:, 0] @ Rotation.from_rotvec(np.radians(30.0) * np.array([1.0, 0, 0])).as_matrix().T
    assert np.median(wm.direction_error_deg(bent, dirs)[:, 0]) > 15.0  # one limb turned 30°: it shows
    joints = rng.normal(size=(5, 12, 3))
    similar = 1.7 * joints @ r.T + [1.0, 2.0, 3.0]
    assert wm.pa_mpjpe_m(similar, joints).max() < 1e-9
    moved = joints.copy()
    moved[:, 0] += [0.0, 0.0, 0.12]  # one of 12 joints 12 cm off: > 0, at most the RMS of no alignment
    err = wm.pa_mpjpe_m(moved, joints)
    assert np.all(err > 0.003) and np.all(err <= np.sqrt(0.12**2 / 12) + 1e-9)


def test_jitter_and_lag() -> None:
    steady = np.linspace(0, 1, 50)[:, None] * [1.0, 0.0, 0.0]
    assert wm.jitter_m(steady) == pytest.approx(0.0, abs=1e-12)
    shaky = steady.copy()
    shaky[::2, 1] += 0.001  # ±: second differences of 2 mm (+1, -2, +1 mm)
    assert wm.jitter_m(shaky) == pytest.approx(0.002)
    dt = 1 / 30
    t = np.arange(150) * dt
    ref = np.sin(2 * np.pi * 0.7 * t) + 0.3 * np.sin(2 * np.pi * 1.9 * t)
    late = np.interp(t - 0.1, t, ref)  # 100 ms late (3 frames)
    assert wm.lag_s(ref, late, dt) == pytest.approx(0.1, abs=0.01)
    assert wm.lag_s(ref, np.interp(t - 0.05, t, ref), dt) == pytest.approx(0.05, abs=0.01)
    assert wm.lag_s(ref, ref, dt) == pytest.approx(0.0, abs=1e-9)


def test_resample_rows() -> None:
    t_src = np.array([0.0, 1.0, 2.0])
    rows = np.array([[0.0, 10.0], [1.0, 20.0], [2.0, 40.0]])
    np.testing.assert_allclose(
        wm.resample_rows(t_src, rows, np.array([0.5, 1.5, 3.0])), [[0.5, 15], [1.5, 30], [2, 40]]
    )


def test_support_skate_follows_the_bearing_point_of_a_rolling_foot() -> None:
    """A foot that rolls heel → ball without sliding: its ankle travels forward, its bearing point does not;
    the same foot sliding 5 cm reads 5 cm."""
    n = 20
    roll = np.linspace(0.0, 1.0, n)
    ankle = np.stack([np.zeros(n), 0.08 + 0.1 * np.clip(roll - 0.5, 0, 1), 0.12 * np.clip(roll - 0.5, 0, 1)], 1)
    ball = np.tile([0.0, 0.03, 0.15], (n, 1))
    ankle[: n // 2, 2] = 0.0
    points = np.stack([ankle, ball], axis=1)
    contacts = np.ones(n, dtype=bool)
    assert wm.foot_skate_m(ankle, contacts)[0] > 0.05  # the ankle's travel reads as skate
    assert wm.support_skate_m(points, contacts)[0] < 0.005
    slid = points + np.linspace(0.0, 0.05, n)[:, None, None] * np.array([1.0, 0.0, 0.0])
    assert wm.support_skate_m(slid, contacts)[0] == pytest.approx(0.05, abs=0.005)


def test_support_height_reads_a_foot_floating_while_it_stands() -> None:
    """A foot standing flat for 10 frames, then 10 frames of the same stance 12 cm higher: the first contact
    stands 0 above its flat height, the second 12 cm; a foot rolling onto its ball stands on the ball (~0)."""
    n = 10
    flat = np.tile([[0.0, 0.08, 0.0], [0.0, 0.03, 0.15]], (n, 1, 1))
    points = np.concatenate([flat, flat, flat + [0.0, 0.12, 0.0]])
    contacts = np.ones(3 * n, dtype=bool)
    contacts[n : 2 * n] = False
    heights = wm.support_height_m(points, contacts)
    np.testing.assert_allclose(heights, [0.0, 0.12], atol=1e-9)
    rolled = flat.copy()
    rolled[:, 0, 1] += np.linspace(0.0, 0.1, n)  # the heel rises, the ball stays down
    assert wm.support_height_m(np.concatenate([flat, rolled]), np.ones(2 * n, dtype=bool))[0] < 1e-9


def test_root_path_error_with_a_known_yaw_ignores_the_facing() -> None:
    path, fwd, t = _walk()
    turn = wm.yaw_rotation(np.radians(40.0))
    out = path @ turn.T
    wrong_facing = fwd @ wm.yaw_rotation(np.radians(25.0)).T @ turn.T  # the pelvis' heading 25° off
    assert wm.root_path_error_m(out, wrong_facing, path, fwd, t)[1] > 0.5  # turned by the facing: off
    assert wm.root_path_error_m(out, wrong_facing, path, fwd, t, yaw_rad=np.radians(-40.0))[1] < 1e-9


def test_hinges_lag_leaves_out_a_hinge_held_still() -> None:
    dt = 1.0 / 30.0
    t = np.arange(0.0, 4.0, dt)
    bend = 40.0 + 30.0 * np.sin(2 * np.pi * 0.7 * t)
    truth = np.stack([bend, bend[::-1]], axis=1)  # two moving hinges
    out = np.stack([np.interp(t - 0.1, t, bend), 1e-7 * np.random.default_rng(0).normal(size=len(t))], axis=1)
    assert wm.hinges_lag_s(truth, out, dt) == pytest.approx(0.1, abs=0.01)  # the still hinge would read noise
    assert np.isnan(wm.hinges_lag_s(truth, np.zeros_like(truth), dt))  # nothing moves: no lag to report
