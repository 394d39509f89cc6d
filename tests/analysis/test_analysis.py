"""Movement analysis (bridge.analysis, bridge.report, ``bridge analyze``): 3-D joint angles against real CMU
motion capture, known-answer poses, squat repetitions on a synthetic squat set, the jumps of the Sports2D demo
video, and the HTML report rendered by headless Chromium."""

from __future__ import annotations

import csv
import io
import math
import shutil
import subprocess
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from bridge.analysis.analyse import analyse
from bridge.analysis.angles import ANGLE_NAMES, SIDES, angles_from_points, joint_angles
from bridge.analysis.config import AnalysisConfig
from bridge.analysis.events import count_squats, knee_signal
from bridge.analysis.track import lowpass_track, track_from_frames
from bridge.cli.analyze import _stems, progress_line, progress_text
from bridge.core.landmarks import LandmarkFrame
from bridge.core.landmarks import PoseLandmark as L
from bridge.core.pose import BonePose
from bridge.core.rig import load_rig
from bridge.export.bvh_file import read_bvh
from bridge.stages.flips import repair_flips
from bridge.testing.mocap import MocapLandmarks, mocap_landmarks, to_landmark_frames
from bridge.testing.synth import frame_from_pose
from bridge.testing.virtual_camera import VirtualCamera

# ------------------------------------------------------------------------------------------------ helpers


def truth_points(m: MocapLandmarks) -> dict[str, np.ndarray]:
    """The named points of angles_from_points from the mocap's ground-truth joints (heel and toe tip: the
    mocap's foot points, carried rigidly by the foot joint; the BVH has no heel joint)."""
    pts = {
        f"{s}_{p}": m.joints_m[f"{s}_{p}"]
        for s in SIDES
        for p in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")
    }
    for s in SIDES:
        pts[f"{s}_heel"] = m.world_xyz_m[:, L[f"{s.upper()}_HEEL"]]
        pts[f"{s}_foot_index"] = m.world_xyz_m[:, L[f"{s.upper()}_FOOT_INDEX"]]
    return pts


def posed_frame(rotvecs_deg: dict[str, tuple[float, float, float]], t_s: float = 0.0) -> LandmarkFrame:
    """Synthetic landmarks of the default rig with the given local bone rotations (rotation vectors, degrees,
    rig frame: Y up, facing +Z, +X = the avatar's left)."""
    rig = load_rig()
    rv = np.zeros((len(rig.bones), 3))
    for bone, v in rotvecs_deg.items():
        rv[rig.index(bone)] = np.radians(v)
    pose = replace(BonePose.rest(rig, t_s=t_s), local_rotations=Rotation.from_rotvec(rv))
    return frame_from_pose(pose, t_s=t_s)


def squat_pose(knee_deg: float, t_s: float) -> LandmarkFrame:
    """Both knees flexed by ``knee_deg``, hips flexed 0.8 of it, feet flat, arms hanging."""
    hip = 0.8 * knee_deg
    legs: dict[str, tuple[float, float, float]] = {}
    for side in ("Left", "Right"):
        legs[f"{side}UpperLeg"] = (-hip, 0.0, 0.0)
        legs[f"{side}LowerLeg"] = (knee_deg, 0.0, 0.0)
        legs[f"{side}Foot"] = (hip - knee_deg, 0.0, 0.0)
    legs["LeftUpperArm"] = (0.0, 0.0, -80.0)
    legs["RightUpperArm"] = (0.0, 0.0, 80.0)
    return posed_frame(legs, t_s)


# ------------------------------------------------------------------------------------------------ angles


def test_known_answer_pose() -> None:
    """Sign conventions on a pose built from known rotations: hip flexed 40°, knee 70°, foot flat (ankle
    dorsiflexion 30°), trunk leaning 20° forward, left arm forward (flexion 90°), right arm hanging with the
    elbow bent 90°; the same angles when the whole body turns 70° and when it faces away."""
    for yaw in (0.0, 70.0, 180.0):
        frame = posed_frame(
            {
                "Hips": (0.0, yaw, 0.0),
                "LeftUpperLeg": (-40.0, 0.0, 0.0),
                "LeftLowerLeg": (70.0, 0.0, 0.0),
                "LeftFoot": (-30.0, 0.0, 0.0),
                "LeftUpperArm": (0.0, -90.0, 0.0),
                "RightUpperArm": (0.0, 0.0, 90.0),
                "RightLowerArm": (0.0, 90.0, 0.0),
            }
        )
        ang = joint_angles(track_from_frames([frame]))
        got = {n: float(ang[n][0]) for n in ANGLE_NAMES}
        assert got["left_hip_flexion"] == pytest.approx(40.0, abs=0.5)
        assert got["right_hip_flexion"] == pytest.approx(0.0, abs=0.5)
        assert got["left_knee_flexion"] == pytest.approx(70.0, abs=0.5)
        assert got["right_knee_flexion"] == pytest.approx(0.0, abs=0.5)
        assert got["left_ankle_dorsiflexion"] == pytest.approx(30.0, abs=0.5)
        assert got["left_shoulder_flexion"] == pytest.approx(90.0, abs=0.5)
        assert math.isnan(got["left_shoulder_abduction"])  # arm straight forward: no frontal-plane angle
        assert got["right_shoulder_flexion"] == pytest.approx(0.0, abs=0.5)
        assert got["right_shoulder_abduction"] == pytest.approx(0.0, abs=0.5)
        assert got["right_elbow_flexion"] == pytest.approx(90.0, abs=0.5)
        assert got["left_elbow_flexion"] == pytest.approx(0.0, abs=0.5)
        assert got["trunk_forward_lean"] == pytest.approx(0.0, abs=0.5)
    # The whole body tilted 20° forward: the trunk leans 20° against the vertical, the hips stay at 0°
    # (body-fixed frames); tilted 15° toward its right (+Z turns the top toward -X): lateral lean +15°.
    lean = joint_angles(track_from_frames([posed_frame({"Hips": (20.0, 0.0, 0.0)})]))
    assert float(lean["trunk_forward_lean"][0]) == pytest.approx(20.0, abs=0.5)
    assert float(lean["trunk_lateral_lean"][0]) == pytest.approx(0.0, abs=0.5)
    assert float(lean["left_hip_flexion"][0]) == pytest.approx(0.0, abs=0.5)
    side = joint_angles(track_from_frames([posed_frame({"Hips": (0.0, 0.0, 15.0)})]))
    assert float(side["trunk_lateral_lean"][0]) == pytest.approx(15.0, abs=0.5)
    assert float(side["trunk_forward_lean"][0]) == pytest.approx(0.0, abs=0.5)
    tpose = joint_angles(track_from_frames([posed_frame({})]))
    assert float(tpose["left_shoulder_abduction"][0]) == pytest.approx(90.0, abs=0.5)
    assert float(tpose["right_shoulder_abduction"][0]) == pytest.approx(90.0, abs=0.5)


@pytest.fixture(scope="module")
def cmu_clips(cmu_bvh_dir: Path) -> dict[str, object]:
    return {name: read_bvh(cmu_bvh_dir / f"{name}.bvh") for name in ("01_01", "01_03")}


@pytest.mark.parametrize("clip", ["01_01", "01_03"])
def test_angles_match_cmu_mocap(cmu_clips: dict[str, object], clip: str) -> None:
    """Real CMU motion capture seen at 30 fps from a camera 30° off the subject's front, with 5 mm of seeded
    noise on every landmark coordinate, through flip repair and the analysis low-pass: every angle within 2°
    (mean) of the same definition computed from the mocap's ground-truth joints."""
    motion = cmu_clips[clip]
    m = mocap_landmarks(motion, camera_yaw_deg=30.0, frames=slice(1, 2401, 4))  # type: ignore[arg-type]
    truth = angles_from_points(truth_points(m))
    rng = np.random.default_rng(20261124)
    frames = [
        f.replace(world_xyz_m=f.world_xyz_m + rng.normal(0.0, 0.005, (33, 3))) for f in to_landmark_frames(m)
    ]
    track = lowpass_track(track_from_frames(repair_flips(frames)), AnalysisConfig().cutoff_hz)
    ang = joint_angles(track)
    for name in ANGLE_NAMES:
        both = np.isfinite(ang[name]) & np.isfinite(truth[name])
        assert both.mean() > 0.8, name
        err = float(np.mean(np.abs(ang[name][both] - truth[name][both])))
        assert err < 2.0, f"{clip} {name}: mean error {err:.2f}°"
        # The motion must actually move the joint, or the check says little.
    moving = [n for n in ANGLE_NAMES if np.nanpercentile(truth[n], 98) - np.nanpercentile(truth[n], 2) > 20.0]
    assert {"left_knee_flexion", "right_knee_flexion", "left_hip_flexion", "left_elbow_flexion"} <= set(moving)


def test_angles_do_not_depend_on_the_camera(cmu_clips: dict[str, object]) -> None:
    """Body-fixed frames: the clean landmarks of one clip seen from three sides give the same angles, and those
    equal the ground truth's."""
    results = []
    for yaw in (0.0, 90.0, 200.0):
        m = mocap_landmarks(cmu_clips["01_03"], camera_yaw_deg=yaw, frames=slice(1, 1201, 8))  # type: ignore[arg-type]
        ang = joint_angles(track_from_frames(to_landmark_frames(m)))
        truth = angles_from_points(truth_points(m))
        for name in ANGLE_NAMES:
            np.testing.assert_allclose(ang[name], truth[name], atol=1e-6, equal_nan=True)
        results.append(ang.values_deg)
    np.testing.assert_allclose(results[0], results[1], atol=1e-6, equal_nan=True)
    np.testing.assert_allclose(results[0], results[2], atol=1e-6, equal_nan=True)


# ------------------------------------------------------------------------------------------------ squats


def test_squat_repetitions_counted_with_depth_and_tempo() -> None:
    """Six squats of different depths and tempos (one with a bounce around the "down" threshold at its
    bottom), and a wobble around the "up" threshold while standing, with 1 cm of seeded landmark noise at
    30 fps: exactly six repetitions, each depth within 3° and its start, bottom and end within 0.15 s of the
    commanded ones."""
    fps = 30.0
    plan = [  # (depth deg, descent s, ascent s)
        (95.0, 1.0, 1.0),
        (110.0, 1.5, 0.8),
        (80.0, 0.7, 0.7),
        (120.0, 2.0, 1.0),
        (100.0, 1.2, 1.2),
    ]
    knee: list[float] = []
    expected = []

    def stand(seconds: float, level: float = 5.0) -> None:
        knee.extend([level] * int(seconds * fps))

    def ramp(a: float, b: float, seconds: float) -> None:
        n = int(round(seconds * fps))
        knee.extend(a + (b - a) * 0.5 * (1 - np.cos(np.pi * np.arange(1, n + 1) / n)))

    stand(1.0)
    for depth, down, up in plan:
        start = len(knee) / fps
        ramp(5.0, depth, down)
        ramp(depth, 5.0, up)
        expected.append((depth, start, start + down, start + down + up))
        stand(0.8)
    # Bounce: down to 78°, up to 62°, down to 72°, then up; one repetition of depth 78°.
    start = len(knee) / fps
    ramp(5.0, 78.0, 0.8)
    ramp(78.0, 62.0, 0.3)
    ramp(62.0, 72.0, 0.3)
    ramp(72.0, 5.0, 0.8)
    expected.append((78.0, start, start + 0.8, len(knee) / fps))
    stand(0.5)
    # Wobble around the up threshold (35°) while standing: not a repetition.
    for _ in range(3):
        ramp(5.0, 45.0, 0.4)
        ramp(45.0, 5.0, 0.4)
    stand(1.0)
    rng = np.random.default_rng(5)
    frames = []
    for k, value in enumerate(knee):
        f = squat_pose(value, k / fps)
        frames.append(f.replace(world_xyz_m=f.world_xyz_m + rng.normal(0.0, 0.01, (33, 3))))
    result = analyse(frames)
    reps = result.squats
    assert len(reps) == len(expected)
    for rep, (depth, start, bottom, end) in zip(reps, expected, strict=True):
        assert rep.depth_flexion_deg == pytest.approx(depth, abs=3.0)
        assert rep.min_knee_angle_deg == pytest.approx(180.0 - depth, abs=3.0)
        assert rep.start_s == pytest.approx(start, abs=0.15)
        assert rep.bottom_s == pytest.approx(bottom, abs=0.15)
        assert rep.end_s == pytest.approx(end, abs=0.15)
        assert rep.descent_s + rep.ascent_s == pytest.approx(rep.duration_s)
    # Without hysteresis (one threshold) the bounce and the wobble would add repetitions.
    single = AnalysisConfig(squat_down_deg=70.0, squat_up_deg=69.9)
    assert len(count_squats(result.angles.t_s, knee_signal(result.angles, single), single)) > len(expected)


def test_walking_is_not_a_squat() -> None:
    """A lunge-like stride bends one knee deeply at a time: the squat signal is the less bent knee."""
    frames = []
    for k in range(120):
        phase = math.sin(2 * math.pi * k / 40.0)
        frames.append(
            posed_frame(
                {"LeftLowerLeg": (max(phase, 0) * 100.0, 0, 0), "RightLowerLeg": (max(-phase, 0) * 100.0, 0, 0)},
                k / 30.0,
            )
        )
    assert analyse(frames).squats == []


# ------------------------------------------------------------------------------------------------ jumps


@pytest.fixture(scope="module")
def demo_analysis(sports2d_tracked: tuple[object, list[LandmarkFrame]]) -> object:
    _, frames = sports2d_tracked
    return analyse(repair_flips(frames))


@pytest.mark.slow
def test_jumps_in_the_sports2d_demo(demo_analysis: object) -> None:
    """The man on the box hops in place (airborne around 1.1 s, 1.7 s, 2.3 s) before walking off; the woman
    then walks past (no flight). Jumps must be found in his part, with plausible flight times whose implied
    height (g·t²/8) agrees with the rise of his feet measured in the image, and none in her walk."""
    result = demo_analysis
    jumps = result.jumps  # type: ignore[attr-defined]
    his = [j for j in jumps if j.landing_s < 5.5]
    assert len(his) >= 2
    assert not [j for j in jumps if j.takeoff_s > 5.6], "a walk is not a jump"
    assert any(j.takeoff_s <= 1.13 <= j.landing_s for j in his), "the hop of frame 34 (1.13 s)"
    for j in his:
        assert 0.15 <= j.flight_s <= 0.6
        assert 0.03 <= j.peak_height_m <= 0.4
        ratio = j.height_from_flight_m / j.peak_height_m
        assert 0.4 <= ratio <= 3.0, f"flight {j.flight_s:.3f} s vs feet rising {j.peak_height_m:.3f} m"
        assert abs(j.drop_m) < 0.05  # he lands on the box he took off from
    scale = result.feet.m_per_px  # type: ignore[attr-defined]
    # About 4 mm per pixel: a 1.8 m man standing about 420 px tall in the 994 px high frame.
    assert 0.003 < float(np.nanmedian(scale[:160])) < 0.006


@pytest.mark.slow
@pytest.mark.parametrize("fps", [30.0, 60.0])
@pytest.mark.parametrize("flight_s, drop_m", [(0.3, 0.0), (0.45, 0.0), (0.5, 0.3), (0.6, 0.5)])
def test_ballistic_jump_known_answer(fps: float, flight_s: float, drop_m: float) -> None:
    """A standing body whose image moves on a free-fall parabola (take-off at 1 s; landing level or ``drop_m``
    lower, off a box): flight time within 1.5 frames, peak height and drop within 3 cm."""
    g = 9.80665
    v0 = (g * flight_s**2 / 2 - drop_m) / flight_s  # take-off speed that lands drop_m lower after flight_s
    peak = v0**2 / (2 * g)
    frames = []
    for k in range(int(3.0 * fps)):
        t = k / fps
        dt = min(max(t - 1.0, 0.0), flight_s)
        h = v0 * dt - g * dt**2 / 2 if t < 1.0 + flight_s else -drop_m
        f = squat_pose(5.0, t)
        image = f.image_xy.copy()
        image[:, 1] -= h / 4.0  # frame_from_pose's stand-in camera: 4 m per image height
        frames.append(f.replace(image_xy=image))
    jumps = analyse(frames).jumps
    assert len(jumps) == 1
    j = jumps[0]
    assert j.takeoff_s == pytest.approx(1.0, abs=1.5 / fps)
    assert j.flight_s == pytest.approx(flight_s, abs=1.5 / fps)
    assert j.peak_height_m == pytest.approx(peak, abs=0.03)
    assert j.drop_m == pytest.approx(drop_m, abs=0.03)


def test_jumps_of_cmu_mocap_seen_from_the_side(cmu_clips: dict[str, object]) -> None:
    """CMU 01_01 (ten forward jumps) through a still virtual camera 8 m to the subject's left at 30 fps, with
    half a pixel of seeded image noise: every jump found once, take-off and landing within 2 frames of the
    motion capture's own (lowest foot point more than 3 cm above its standing level, at 120 fps)."""
    camera = VirtualCamera(yaw_deg=90.0, distance_m=8.0, hfov_deg=70.0)
    full = mocap_landmarks(cmu_clips["01_01"], camera=camera, frames=slice(1, None))  # type: ignore[arg-type]
    feet = [full.world_xyz_m[:, L[n]] for n in ("LEFT_HEEL", "RIGHT_HEEL", "LEFT_FOOT_INDEX", "RIGHT_FOOT_INDEX")]
    feet += [full.joints_m["left_toe"], full.joints_m["right_toe"]]
    # Camera frame: y down, the camera camera.height_m above the floor.
    height = camera.height_m - (np.max([p[:, 1] for p in feet], axis=0) + full.hips_camera_m[:, 1])
    air = (height > np.median(height) + 0.03).astype(int)
    edges = np.flatnonzero(np.diff(air))
    truth = [(full.t_s[a + 1], full.t_s[b + 1]) for a, b in zip(edges[::2], edges[1::2], strict=True)]
    assert len(truth) == 10
    m = mocap_landmarks(cmu_clips["01_01"], camera=camera, frames=slice(1, None, 4))  # type: ignore[arg-type]
    rng = np.random.default_rng(11)
    frames = [f.replace(image_xy=f.image_xy + rng.normal(0.0, 0.5 / 720, (33, 2))) for f in to_landmark_frames(m)]
    jumps = analyse(frames).jumps
    assert len(jumps) == len(truth)
    for j, (up, down) in zip(jumps, truth, strict=True):
        assert j.takeoff_s == pytest.approx(up, abs=2 / 30)
        assert j.landing_s == pytest.approx(down, abs=2 / 30)
        assert abs(j.drop_m) < 0.05


def test_no_jump_when_standing_still_with_noise() -> None:
    """Image noise of a few pixels on a standing person (30 fps) does not make jumps."""
    rng = np.random.default_rng(3)
    frames = []
    for k in range(150):
        f = squat_pose(5.0, k / 30.0)
        image = f.image_xy + rng.normal(0.0, 0.002, (33, 2))
        frames.append(f.replace(image_xy=image, world_xyz_m=f.world_xyz_m + rng.normal(0, 0.005, (33, 3))))
    assert analyse(frames).jumps == []


# ------------------------------------------------------------------------------------------------ command


@pytest.fixture(scope="module")
def analyzed(sports2d_tracked: tuple[object, list[LandmarkFrame]], run_bridge, tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    """``bridge analyze`` run on a recording of the Sports2D demo; returns the output folder."""
    from bridge.tracking.recording import RecordingHeader, RecordingWriter

    info, frames = sports2d_tracked
    folder = tmp_path_factory.mktemp("analyze")
    rec = folder / "demo.jsonl"
    header = RecordingHeader(source="sports2d demo", fps=30.0, image_size=frames[0].image_size, created="test")
    with RecordingWriter(rec, header) as writer:
        for f in frames:
            writer.write(f)
    out = folder / "out"
    proc = run_bridge("analyze", str(rec), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "jumps" in proc.stdout and "report" in proc.stdout
    return out


@pytest.mark.slow
def test_analyze_writes_csv_plots_and_report(analyzed: Path, sports2d_tracked) -> None:  # type: ignore[no-untyped-def]
    _, frames = sports2d_tracked
    with open(analyzed / "demo_angles.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(frames)
    assert {f"{n}_deg" for n in ANGLE_NAMES} <= set(rows[0])
    knees = [float(r["left_knee_flexion_deg"]) for r in rows if r["left_knee_flexion_deg"]]
    assert len(knees) > 0.8 * len(rows) and 0 <= min(knees) < max(knees) <= 180
    pngs = sorted(analyzed.glob("demo_*.png"))
    assert len(pngs) == 11 and all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    page = (analyzed / "demo_report.html").read_text()
    assert page.count("src='data:image/png;base64,") == len(pngs)
    assert 'id="summary"' in page and "Jumps:" in page and "http" not in page.replace("http-equiv", "")


@pytest.mark.slow
def test_the_report_names_the_person_analysed(analyzed: Path) -> None:
    """The demo has two people; the report says whom it analysed and when the tracker lost and found them."""
    import re

    page = (analyzed / "demo_report.html").read_text()
    match = re.search(r"<p id='person'>Person analysed: (.*?)</p>", page)
    assert match, "the report does not name the person analysed"
    text = match.group(1)
    assert text.startswith("person 1, seen in ") and "following person 1" in text
    assert "lost person 1" in text and "person 1 is back" in text


@pytest.mark.parametrize(
    "args, words",
    [
        (["/no/such/video.mp4"], "not found"),
        (["camera:0"], "record it first"),
        (["EMPTY"], "no frames"),
        (["BROKEN"], "BROKEN"),
        (["demo", "--squat-up", "80", "--squat-down", "60"], "--squat-up"),
        (["demo", "--out", "FILE"], "is a file"),
    ],
)
@pytest.mark.slow
def test_analyze_bad_inputs_one_line_errors(run_bridge, tmp_path: Path, args: list[str], words: str) -> None:  # type: ignore[no-untyped-def]
    empty = tmp_path / "empty.jsonl"
    empty.write_text('{"format": "bridge-landmarks", "version": 1, "fps": 30.0}\n')
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"this is not a video")
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    names = {"EMPTY": str(empty), "BROKEN": str(broken), "FILE": str(a_file)}
    args = [names.get(a, a) for a in args]
    words = str(broken.name) if words == "BROKEN" else words
    out = [] if "--out" in args else ["--out", str(tmp_path / "out")]
    proc = run_bridge("analyze", *args, *out)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith("bridge: error:") and words in lines[-1], proc.stderr
    assert "Traceback" not in proc.stderr


def test_output_names_are_unique() -> None:
    assert _stems(["a/clip.mp4", "b/clip.mp4", "rec.jsonl", "frames/"]) == ["clip", "clip-2", "rec", "frames"]


def test_progress_bar() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Tty()
    bar = progress_line(stream, delay_s=0.0)
    bar.update(progress_text("clip.mp4", 100, 200))
    assert "[###############...............]  50% 100/200 frames" in stream.getvalue()
    bar.close()
    quiet = io.StringIO()  # not a terminal: nothing
    progress_line(quiet, delay_s=0.0).update(progress_text("clip.mp4", 100, 200))
    assert quiet.getvalue() == ""


@pytest.mark.slow
def test_report_renders_in_headless_chromium(analyzed: Path) -> None:
    """The report opens in headless Chromium and its plots are drawn: the screenshot holds the plots' blue and
    red lines (the page's own text and tables are black and grey)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Debian chromium is not installed (install.sh --test installs it)")
    import cv2

    shot = analyzed / "report.png"
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                f"--screenshot={shot}",
                "--window-size=1280,16000",  # the whole page: the plots come after the stills and tables
                (analyzed / "demo_report.html").resolve().as_uri(),
            ],
            capture_output=True,
            timeout=120,
            check=False,
        )
    assert shot.is_file(), "chromium wrote no screenshot"
    image = cv2.imread(str(shot))
    assert image is not None and image.shape[:2] == (16000, 1280)
    b, g, r = (image[..., i].astype(int) for i in range(3))
    blue = (abs(r - 31) < 40) & (abs(g - 119) < 40) & (abs(b - 180) < 40)  # matplotlib tab:blue
    red = (abs(r - 214) < 40) & (abs(g - 39) < 40) & (abs(b - 40) < 40)  # tab:red
    assert blue.sum() > 500 and red.sum() > 500
