"""Repetitions of any angle (``--reps``): synthetic sequences with known counts (bounces, pauses at the top,
half-way and between repetitions, a wobble at a threshold, a clip ending mid-repetition), the presets
(sit-to-stand, arm raises) with left/right symmetry, real motion capture made into landmarks, and the real
Sports2D demo video."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from bridge.analysis.analyse import analyse
from bridge.analysis.angles import ANGLE_NAMES, SIDES, JointAngles, angles_from_points
from bridge.analysis.config import AnalysisConfig
from bridge.analysis.events import hysteresis_swings
from bridge.analysis.reps import PRESETS, count_reps, parse_rep_spec, symmetry_index
from bridge.core.errors import BridgeError
from bridge.core.landmarks import LandmarkFrame
from bridge.export.bvh_file import read_bvh
from bridge.stages.flips import repair_flips
from bridge.testing.mocap import mocap_landmarks, to_landmark_frames
from tests.analysis.test_analysis import posed_frame, truth_points

FPS = 30.0


class Plan:
    """A commanded angle sequence at 30 fps built from cosine ramps and holds; remembers where each move is."""

    def __init__(self, start: float) -> None:
        self.values: list[float] = [start]
        self.marks: dict[str, float] = {}

    @property
    def t(self) -> float:
        return (len(self.values) - 1) / FPS

    def hold(self, seconds: float) -> None:
        self.values.extend([self.values[-1]] * int(round(seconds * FPS)))

    def ramp(self, to: float, seconds: float) -> None:
        a, n = self.values[-1], int(round(seconds * FPS))
        self.values.extend(a + (to - a) * 0.5 * (1 - np.cos(np.pi * np.arange(1, n + 1) / n)))

    def mark(self, name: str) -> None:
        self.marks[name] = self.t


def frames_of(
    values: list[float], pose: Callable[[float, float], LandmarkFrame], seed: int
) -> list[LandmarkFrame]:
    rng = np.random.default_rng(seed)
    out = []
    for k, v in enumerate(values):
        f = pose(v, k / FPS)
        out.append(f.replace(world_xyz_m=f.world_xyz_m + rng.normal(0.0, 0.005, (33, 3))))
    return out


def curls(elbow_deg: float, t_s: float) -> LandmarkFrame:
    """Arms held out (T-pose), both elbows bending forward: the right by ``elbow_deg`` (from 10° rest), the left
    by 90 % of that excursion."""
    left = 10.0 + 0.9 * (elbow_deg - 10.0)
    return posed_frame({"RightLowerArm": (0.0, elbow_deg, 0.0), "LeftLowerArm": (0.0, -left, 0.0)}, t_s)


@pytest.mark.slow
def test_curls_counted_through_bounces_pauses_and_wobbles() -> None:
    """Four elbow curls (one plain, one held 1.5 s at the top, one bouncing across the active threshold at the
    top, one pausing 1 s half-way), pauses between them, a partial curl and a wobble at the rest threshold that
    must not count, and a fifth curl the clip ends in; 5 mm landmark noise at 30 fps. ``elbow_flexion:40:90``:
    four repetitions per arm, one unfinished each; extremes within 4°, the held top as a hold of 1.5–2.0 s (the
    hold band adds the last 10 % of each ramp), time under tension within 0.4 s of the commanded movement; each
    bilateral pair's symmetry index −10.5 % (the left arm moves 90 % as far)."""
    p = Plan(10.0)
    p.hold(1.0)
    expected = []  # (extreme deg, commanded duration s)
    p.ramp(120.0, 1.0), p.ramp(10.0, 1.0)
    expected.append((120.0, 2.0))
    p.hold(1.0)  # pause at rest
    p.ramp(110.0, 0.8), p.hold(1.5), p.ramp(10.0, 0.8)
    expected.append((110.0, 3.1))
    p.hold(0.7)
    p.ramp(100.0, 1.0), p.ramp(85.0, 0.3), p.ramp(105.0, 0.3), p.ramp(10.0, 1.0)  # bounce across 90
    expected.append((105.0, 2.6))
    p.hold(0.7)
    p.ramp(60.0, 0.6), p.hold(1.0), p.ramp(115.0, 0.5), p.ramp(10.0, 1.0)  # pause half-way up
    expected.append((115.0, 3.1))
    p.hold(0.7)
    p.ramp(50.0, 0.6), p.ramp(10.0, 0.6)  # a partial curl: never reaches 90
    for _ in range(3):  # wobble across the rest threshold (40)
        p.ramp(45.0, 0.3), p.ramp(30.0, 0.3)
    p.ramp(10.0, 0.4), p.hold(0.8)
    p.ramp(110.0, 1.0), p.hold(0.5)  # the clip ends at the top
    result = analyse(frames_of(p.values, curls, 1), AnalysisConfig(reps=(parse_rep_spec("elbow_flexion:40:90"),)))
    (rep_set,) = result.reps
    for side, scale in (("right", 1.0), ("left", 0.9)):
        reps = [r for r in rep_set.reps if r.side == side]
        assert len(reps) == len(expected), side
        for r, (extreme, duration) in zip(reps, expected, strict=True):
            assert r.extreme_deg == pytest.approx(10.0 + scale * (extreme - 10.0), abs=4.0)
            assert r.tut_s == pytest.approx(duration, abs=0.4)  # start/end: within 3° of a rest noisy by ±2°
            assert r.tut_s == pytest.approx(r.out_s + r.hold_s + r.back_s)
            assert r.finished
        assert 1.5 <= reps[1].hold_s <= 2.0
        assert reps[0].hold_s < 0.5
        assert [r.side for r in rep_set.unfinished].count(side) == 1
    assert len(rep_set.pairs) == len(expected)
    for pair in rep_set.pairs:
        assert pair.index_percent == pytest.approx(100 * (0.9 - 1.0) / 0.95, abs=3.0)
    assert rep_set.symmetry is not None
    assert rep_set.symmetry.count_left == rep_set.symmetry.count_right == len(expected)
    assert rep_set.total_tut_s == pytest.approx(2 * sum(d for _, d in expected), abs=1.0)
    # Without hysteresis (one threshold) the bounce and the wobble would add repetitions.
    single = hysteresis_swings(rep_set.signals["right"], 89.9, 90.0, 3.0)
    assert len(single) > len(expected) + 1


def seated(knee_deg: float, t_s: float) -> LandmarkFrame:
    """Hips and knees flexed ``knee_deg`` (90 seated, 0 standing), shanks vertical, arms hanging."""
    return posed_frame(
        {
            "LeftUpperLeg": (-knee_deg, 0.0, 0.0),
            "RightUpperLeg": (-knee_deg, 0.0, 0.0),
            "LeftLowerLeg": (knee_deg, 0.0, 0.0),
            "RightLowerLeg": (knee_deg, 0.0, 0.0),
            "LeftUpperArm": (0.0, 0.0, -80.0),
            "RightUpperArm": (0.0, 0.0, 80.0),
        },
        t_s,
    )


def test_sit_to_stand_preset() -> None:
    """Three chair rises, a failed attempt (up to 45° and back down), a rise that pauses half-way, and a last rise
    the clip ends standing in (it counts, as in the 30-second chair stand test): five repetitions, each from the
    seated posture (≈ 90°) to standing (≈ 0°); a rise-stand-sit cycle's time under tension within 0.25 s."""
    p = Plan(90.0)
    p.hold(1.0)
    for _ in range(3):
        p.ramp(0.0, 1.0), p.hold(0.5), p.ramp(90.0, 1.2), p.hold(0.6)
    p.ramp(45.0, 0.6), p.ramp(90.0, 0.6), p.hold(0.6)  # a failed attempt
    p.ramp(45.0, 0.5), p.hold(0.8), p.ramp(0.0, 0.5), p.hold(0.4), p.ramp(90.0, 1.0), p.hold(0.6)
    p.ramp(0.0, 1.0), p.hold(1.0)
    result = analyse(frames_of(p.values, seated, 2), AnalysisConfig(reps=(PRESETS["sit-to-stand"],)))
    (rep_set,) = result.reps
    assert len(rep_set.reps) == 5
    assert [r.finished for r in rep_set.reps] == [True, True, True, True, False]
    for r in rep_set.reps:
        assert r.start_deg == pytest.approx(90.0, abs=5.0)
        assert r.extreme_deg == pytest.approx(0.0, abs=5.0)
        assert r.range_deg == pytest.approx(90.0, abs=6.0)
        assert r.left_range_deg == pytest.approx(r.right_range_deg, abs=3.0)
    for r in rep_set.reps[:3]:
        assert r.tut_s == pytest.approx(1.0 + 0.5 + 1.2, abs=0.25)
    assert "chair" in rep_set.spec.definition


def arms_raised(abduction_deg: float, t_s: float) -> LandmarkFrame:
    """Both arms abducted from hanging (10°): the left by ``abduction_deg``, the right 90 % as far."""
    right = 10.0 + 0.9 * (abduction_deg - 10.0)
    return posed_frame(
        {"LeftUpperArm": (0.0, 0.0, -(90.0 - abduction_deg)), "RightUpperArm": (0.0, 0.0, 90.0 - right)}, t_s
    )


def test_arm_raise_side_preset_and_symmetry() -> None:
    """Four lateral raises of both arms to 100° (the right arm 90 % as far), one with a 1 s hold at the top:
    four repetitions per side with the preset's thresholds (30°/70°), four bilateral pairs, range symmetry
    index +10.5 % (left larger) within 3 % (within 5 % for each pair)."""
    p = Plan(10.0)
    p.hold(0.8)
    for k in range(4):
        p.ramp(100.0, 0.9)
        p.hold(1.0 if k == 2 else 0.1)
        p.ramp(10.0, 0.9), p.hold(0.6)
    result = analyse(frames_of(p.values, arms_raised, 3), AnalysisConfig(reps=(parse_rep_spec("arm-raise-side"),)))
    (rep_set,) = result.reps
    assert rep_set.symmetry is not None
    assert rep_set.symmetry.count_left == rep_set.symmetry.count_right == 4
    assert len(rep_set.pairs) == 4
    expected_index = 100 * (90.0 - 81.0) / 85.5
    assert rep_set.symmetry.range_index_percent == pytest.approx(expected_index, abs=3.0)
    for pair in rep_set.pairs:  # one repetition's range carries the noise of its two extremes
        assert pair.index_percent == pytest.approx(expected_index, abs=5.0)
    held = [r for r in rep_set.reps if r.hold_s > 0.8]
    assert len(held) == 2  # the third raise, on both sides


def test_thresholds_from_the_clip_and_a_still_angle() -> None:
    """No thresholds given: 30 % / 70 % of the clip's range; an angle that hardly moves gets no repetitions."""
    p = Plan(10.0)
    p.hold(0.5)
    for _ in range(3):
        p.ramp(120.0, 0.8), p.ramp(10.0, 0.8), p.hold(0.4)
    result = analyse(
        frames_of(p.values, curls, 4),
        AnalysisConfig(reps=(parse_rep_spec("right_elbow_flexion"), parse_rep_spec("knee_flexion"))),
    )
    elbow, knee = result.reps
    assert len(elbow.reps) == 3 and elbow.symmetry is None
    assert elbow.rest_deg == pytest.approx(10 + 0.3 * 110, abs=5.0)
    assert elbow.active_deg == pytest.approx(10 + 0.7 * 110, abs=5.0)
    assert knee.reps == () and math.isnan(knee.rest_deg) and "moves only" in knee.note


def test_hysteresis_swings_both_directions() -> None:
    """A falling movement (active below rest) counts like a rising one; a clip that starts active does not make
    a swing; one it ends in is returned unfinished."""
    up = np.array([50, 10, 10, 80, 90, 80, 10, 10, 85, 90, 10, 10, 80, 90], dtype=float)
    swings = hysteresis_swings(up, 20.0, 70.0, 3.0)
    assert [(s.extreme, s.returned) for s in swings] == [(4, True), (9, True), (13, False)]
    down = hysteresis_swings(-up, -20.0, -70.0, 3.0)
    assert [(s.start, s.extreme, s.end, s.returned) for s in down] == [
        (s.start, s.extreme, s.end, s.returned) for s in swings
    ]
    assert hysteresis_swings(np.array([90.0, 95.0, 90.0]), 20.0, 70.0, 3.0) == []


def test_parse_rep_spec() -> None:
    assert parse_rep_spec("elbow_flexion").combine == "sides"
    assert parse_rep_spec("both_knee_flexion:25:40").combine == "mean"
    spec = parse_rep_spec("left_knee_flexion_deg:40:100")
    assert (spec.angle, spec.combine, spec.rest_deg, spec.active_deg) == ("left_knee_flexion", "single", 40, 100)
    preset = parse_rep_spec("Sit-To-Stand:70:15")
    assert preset.angle == "knee_flexion" and preset.rest_deg == 70 and preset.count_unfinished
    for bad in ("elbow", "elbow_flexion:40", "elbow_flexion:a:b", "elbow_flexion:40:40"):
        with pytest.raises(BridgeError):
            parse_rep_spec(bad)
    assert symmetry_index(90.0, 81.0) == pytest.approx(100 * 9 / 85.5)
    assert math.isnan(symmetry_index(0.0, 0.0))


@pytest.mark.slow
@pytest.mark.parametrize("clip, spec", [("01_03", "knee_flexion:30:70"), ("Boxing_Toes", "elbow_flexion:50:120")])
def test_reps_of_motion_capture_seen_by_a_camera(cmu_bvh_dir: Path, clip: str, spec: str) -> None:
    """Real motion capture (CMU 01_03: walking, climbing, jumping; Boxing_Toes: punches) made into landmarks
    seen at 30 fps from 30° off the front, with 5 mm of noise, through flip repair and the analysis: the same
    repetitions per side as the same definition counts on the exact joint angles at the capture rate (120 or
    100 fps), each one spanning its true extreme, the extreme angle within 10°. The thresholds leave a margin:
    no true extreme within 3° of the active threshold, no true dip between repetitions within 9° of the rest
    one."""
    motion = read_bvh(cmu_bvh_dir / f"{clip}.bvh")
    rep = parse_rep_spec(spec)
    full = mocap_landmarks(motion, camera_yaw_deg=30.0, frames=slice(1, None))
    truth = angles_from_points(truth_points(full))
    exact = JointAngles(
        full.t_s, np.arange(full.t_s.size), ANGLE_NAMES, np.stack([truth[n] for n in ANGLE_NAMES], axis=1)
    )
    reference = count_reps(exact, rep)
    step = int(round(1.0 / float(full.t_s[1] - full.t_s[0]) / 30.0))
    seen = mocap_landmarks(motion, camera_yaw_deg=30.0, frames=slice(1, None, step))
    rng = np.random.default_rng(7)
    frames = [
        f.replace(world_xyz_m=f.world_xyz_m + rng.normal(0.0, 0.005, (33, 3))) for f in to_landmark_frames(seen)
    ]
    (measured,) = analyse(repair_flips(frames), AnalysisConfig(reps=(rep,))).reps
    assert rep.rest_deg is not None and rep.active_deg is not None
    for side in SIDES:
        want = [r for r in reference.reps if r.side == side]
        got = [r for r in measured.reps if r.side == side]
        assert len(want) >= 3
        assert min(r.extreme_deg for r in want) >= rep.active_deg + 3.0
        values = truth[f"{side}_{rep.angle}"]
        dips = [
            np.nanmin(values[(full.t_s > a.extreme_s) & (full.t_s < b.extreme_s)])
            for a, b in zip(want[:-1], want[1:], strict=True)
        ]
        assert max(dips) <= rep.rest_deg - 9.0
        assert len(got) == len(want), f"{clip} {side}"
        for a, b in zip(got, want, strict=True):
            assert a.start_s <= b.extreme_s <= a.end_s  # the same movement
            assert a.extreme_deg == pytest.approx(b.extreme_deg, abs=10.0)


@pytest.mark.slow
def test_reps_in_the_sports2d_demo(sports2d_tracked: tuple[object, list[LandmarkFrame]]) -> None:
    """Real video: the man hops in place on the box; each hop's take-off is preceded by one knee bend
    (countermovement, after the previous landing). Counting ``both_knee_flexion:25:40`` gives one repetition per
    hop found by the (independent, image-track) jump detection: each hop's bend lies between the previous
    landing and its take-off."""
    _, frames = sports2d_tracked
    result = analyse(repair_flips(frames), AnalysisConfig(reps=(parse_rep_spec("both_knee_flexion:25:40"),)))
    hops = [j for j in result.jumps if j.landing_s < 3.5]
    assert len(hops) >= 4
    (rep_set,) = result.reps
    previous = 0.0
    for hop in hops:
        bends = [r for r in rep_set.reps if previous < r.extreme_s <= hop.takeoff_s]
        assert len(bends) == 1, f"hop taking off at {hop.takeoff_s:.2f} s: {[r.extreme_s for r in bends]}"
        previous = hop.landing_s


@pytest.mark.slow
@pytest.mark.parametrize("spec, words", [("elbow", "unknown angle"), ("elbow_flexion:40", "REST:ACTIVE")])
def test_bad_reps_is_a_one_line_usage_error(run_bridge, tmp_path: Path, spec: str, words: str) -> None:  # type: ignore[no-untyped-def]
    """A bad ``--reps`` is argparse's one-line error naming the option (exit 2), before any tracking."""
    proc = run_bridge("analyze", "demo", "--out", str(tmp_path / "out"), "--reps", spec)
    assert proc.returncode == 2
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("bridge: error:") and "argument --reps" in last and words in last
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def arms_forward(flexion_deg: float, t_s: float) -> LandmarkFrame:
    """Both arms raised forward from hanging: the left by ``flexion_deg``, the right 90 % as far."""
    from scipy.spatial.transform import Rotation

    def arm(theta: float, down: float) -> tuple[float, float, float]:
        r = Rotation.from_euler("x", -theta, degrees=True) * Rotation.from_euler("z", down, degrees=True)
        x, y, z = r.as_rotvec(degrees=True)
        return float(x), float(y), float(z)

    return posed_frame(
        {"LeftUpperArm": arm(flexion_deg, -90.0), "RightUpperArm": arm(0.9 * flexion_deg, 90.0)}, t_s
    )


@pytest.mark.slow
def test_arm_raise_front_preset() -> None:
    """Three forward raises of both arms from hanging to 110° (the right 90 % as far), one held 1 s: three
    repetitions per arm with the preset's thresholds, extremes within 4°, the held one's hold ≥ 0.9 s."""
    p = Plan(0.0)
    p.hold(0.8)
    for k in range(3):
        p.ramp(110.0, 1.0)
        p.hold(1.0 if k == 1 else 0.1)
        p.ramp(0.0, 1.0), p.hold(0.5)
    result = analyse(frames_of(p.values, arms_forward, 5), AnalysisConfig(reps=(PRESETS["arm-raise-front"],)))
    (rep_set,) = result.reps
    for side, top in (("left", 110.0), ("right", 99.0)):
        reps = [r for r in rep_set.reps if r.side == side]
        assert len(reps) == 3, side
        for r in reps:
            assert r.extreme_deg == pytest.approx(top, abs=4.0)
        assert reps[1].hold_s >= 0.9
