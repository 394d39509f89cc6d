"""Hands and face with the real MediaPipe models on the registry test videos (Sports2D demo, Pose2Sim), through
the real tracker process; crops; recordings with hands/face; ``bridge stream --track body,hands,face`` over a
real UDP socket."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bridge.app.processor import Processor
from bridge.core.errors import BridgeError
from bridge.core.hand_face import ARKIT_BLENDSHAPES, HandLandmark
from bridge.core.landmarks import LandmarkFrame
from bridge.core.landmarks import PoseLandmark as L
from bridge.core.pose import BoneState
from bridge.core.rig import load_rig
from bridge.output.vmc import ADDRESS_BLEND_APPLY, ADDRESS_BLEND_VAL, ADDRESS_BONE
from bridge.solve.hands import SIDES, assign_sides, finger_bones
from bridge.tracking.config import TrackerConfig, parse_track
from bridge.tracking.crops import Crop, cut
from bridge.tracking.hand_face_detector import VtuberConfig, VtuberDetector
from bridge.tracking.process import open_landmarks
from bridge.tracking.recording import RecordingHeader, RecordingWriter, read_recording
from tests.helpers.osc_receiver import OscReceiver, parse_datagram

ALL = ("body", "hands", "face")
DEMO_FRAMES = 90
POSE2SIM_FRAMES = 40


def track(path: Path, n: int) -> list[LandmarkFrame]:
    frames = []
    with open_landmarks(str(path), TrackerConfig(track=ALL)) as (_, stream):
        for frame in stream:
            frames.append(frame)
            if len(frames) >= n:
                break
    return frames


@pytest.fixture(scope="module")
def demo_frames(sports2d_video: Path) -> list[LandmarkFrame]:
    """The first 90 frames of the Sports2D demo with body, hands and face, from the real tracker process."""
    return track(sports2d_video, DEMO_FRAMES)


@pytest.fixture(scope="module")
def cam02_frames(pose2sim_videos: list[Path]) -> list[LandmarkFrame]:
    """Pose2Sim cam02 (the subject's hands at their sides, both in view), first 40 frames."""
    return track(pose2sim_videos[1], POSE2SIM_FRAMES)


def test_parse_track() -> None:
    assert parse_track("body,hands,face") == ALL
    assert parse_track("face, hands") == ALL  # the body always runs
    assert parse_track("body") == ("body",)
    with pytest.raises(BridgeError, match="unknown part feet"):
        parse_track("body,feet")


def test_crop_maps_back_to_the_whole_image() -> None:
    """A white dot at a known pixel, cut out with a crop reaching outside the image, is found where the crop's
    mapping says it is."""
    img = np.zeros((300, 400, 3), dtype=np.uint8)
    img[200:203, 350:353] = 255  # dot centred on pixel (351, 201)
    crop = Crop(x0_px=300.0, y0_px=150.0, side_px=200.0)  # reaches 100 px past the right edge
    out = cut(img, crop, 256)
    ys, xs = np.nonzero(out[:, :, 0] > 100)
    xy_crop = np.array([[(xs.mean() + 0.5) / 256, (ys.mean() + 0.5) / 256]])
    xy = crop.to_image(xy_crop, (400, 300)) * (400, 300)
    assert np.allclose(xy, (351.5, 201.5), atol=1.0)
    assert out[:, 200:].max() == 0  # outside the image: black


@pytest.mark.slow
def test_demo_faces_give_52_weights_and_hands_sit_on_the_wrists(demo_frames: list[LandmarkFrame]) -> None:
    faces = [f.face for f in demo_frames if f.face is not None]
    assert len(faces) >= 20, f"a face on only {len(faces)} of {DEMO_FRAMES} frames"
    for face in faces:
        assert face.blendshapes.shape == (52,) and np.all((face.blendshapes >= 0) & (face.blendshapes <= 1))
        assert face.transform.shape == (4, 4)
    # The face found is the tracked person's: its irises lie near the pose's eyes.
    for f in demo_frames:
        if f.face is not None:
            eyes = f.image_xy[[L.LEFT_EYE, L.RIGHT_EYE]] * f.image_size
            assert np.linalg.norm(f.face.image_xy * f.image_size - eyes, axis=1).max() < 40.0
    with_hands = [f for f in demo_frames if f.hands is not None and len(f.hands) > 0]
    assert len(with_hands) >= 30, f"hands on only {len(with_hands)} of {DEMO_FRAMES} frames"
    assigned = 0
    for f in with_hands:
        for side, hand in assign_sides(f.hands, f).items():
            wrist = f.image_xy[L.LEFT_WRIST if side == "Left" else L.RIGHT_WRIST]
            forearm = np.linalg.norm((f.image_xy[L.LEFT_WRIST] - f.image_xy[L.LEFT_ELBOW]) * f.image_size)
            assert (
                np.linalg.norm((hand.image_xy[HandLandmark.WRIST] - wrist) * f.image_size)
                <= max(0.6 * forearm, 0.03 * max(f.image_size)) + 60.0
            )
            assigned += 1
    assert assigned >= 30


@pytest.mark.slow
def test_pose2sim_shows_both_hands_on_their_own_sides(cam02_frames: list[LandmarkFrame]) -> None:
    both = 0
    for f in cam02_frames:
        sides = assign_sides(f.hands, f)
        if len(sides) == 2:
            both += 1
            assert sides["Left"] is not sides["Right"]
            d = np.linalg.norm((sides["Left"].image_xy[0] - sides["Right"].image_xy[0]) * f.image_size)
            assert d > 100.0  # two different hands, apart like the wrists
    assert both >= POSE2SIM_FRAMES // 4, f"both hands on only {both} of {POSE2SIM_FRAMES} frames"


def test_processor_turns_fingers_and_head_from_tracked_frames(demo_frames: list[LandmarkFrame]) -> None:
    rig = load_rig("default")
    processor = Processor(rig)
    tracked_fingers = 0
    blendshapes = None
    for frame in demo_frames:
        result = processor(frame)
        pose = result.pose
        assert pose is not None
        blendshapes = result.blendshapes
        rows = [rig.index(b) for s in SIDES for b in finger_bones(s)]
        tracked_fingers += int(np.any(pose.bone_state[rows] == BoneState.TRACKED))
        assert np.all(np.isfinite(pose.local_rotations.as_quat()))
    assert tracked_fingers >= 30
    assert blendshapes is not None and set(blendshapes) >= {"Blink_L", "Blink_R", "A", "Joy"}


def test_concurrency_modes_agree(sports2d_video: Path) -> None:
    """IMAGE-mode hand and face models are deterministic: threads give what one thread gives."""
    from bridge.tracking.sources import open_source, parse_input

    out = {}
    for mode in ("sequential", "threads"):
        with (
            open_source(parse_input(str(sports2d_video)), 30.0) as source,
            VtuberDetector(TrackerConfig(track=ALL), VtuberConfig(concurrency=mode)) as det,
        ):
            frames = []
            for frame in source:
                if frame.frame_index >= 20:
                    frames.append(det.detect(frame))
                if len(frames) == 4:
                    break
        out[mode] = frames
    for a, b in zip(out["sequential"], out["threads"], strict=True):
        assert (a.face is None) == (b.face is None) and len(a.hands or ()) == len(b.hands or ())
        if a.face is not None and b.face is not None:
            assert np.allclose(a.face.blendshapes, b.face.blendshapes, atol=1e-6)


def test_recording_keeps_hands_and_face(demo_frames: list[LandmarkFrame], tmp_path: Path) -> None:
    path = tmp_path / "vt.jsonl"
    with RecordingWriter(path, RecordingHeader(source="demo", fps=30.0, image_size=(1768, 994))) as w:
        for f in demo_frames[:30]:
            w.write(f)
    _, frames = read_recording(path)
    back = list(frames)
    assert len(back) == 30
    for a, b in zip(demo_frames[:30], back, strict=True):
        assert (a.face is None) == (b.face is None)
        if a.face is not None and b.face is not None:
            assert np.allclose(a.face.blendshapes, b.face.blendshapes, atol=1e-6)
            assert np.allclose(a.face.transform, b.face.transform, atol=1e-5)
        assert len(a.hands or ()) == len(b.hands or ())
        for ha, hb in zip((a.hands.hands if a.hands else ()), (b.hands.hands if b.hands else ()), strict=True):
            assert np.allclose(ha.world_xyz_m, hb.world_xyz_m, atol=1e-6) and ha.label == hb.label


@pytest.mark.slow
def test_stream_track_face_sends_52_arkit_weights_and_fingers(run_bridge, sports2d_video: Path) -> None:  # type: ignore[no-untyped-def]
    with OscReceiver() as rx:
        result = run_bridge(
            "stream", "--input", str(sports2d_video), "--track", "body,hands,face", "--blendshapes", "arkit",
            "--osc", f"127.0.0.1:{rx.port}", "--protocol", "vmc", "--fast", "--rate", "200", "--max-frames", "60",
            timeout=180,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        grams = rx.wait_for(60)
    frames = [parse_datagram(g) for g in grams]
    with_blend = [msgs for msgs in frames if any(m.address == ADDRESS_BLEND_APPLY for m in msgs)]
    assert len(with_blend) >= 20
    for msgs in with_blend:
        vals = {m.args[0]: m.args[1] for m in msgs if m.address == ADDRESS_BLEND_VAL}
        assert set(vals) == set(ARKIT_BLENDSHAPES) and all(0.0 <= v <= 1.0 for v in vals.values())
    bent = 0
    for msgs in frames:
        bones = {m.args[0]: m.args[4:8] for m in msgs if m.address == ADDRESS_BONE}
        assert "RightIndexProximal" in bones and "LeftEye" in bones
        bent += int(any(abs(bones[b][3]) < 0.995 for b in finger_bones("Right") + finger_bones("Left")))
    assert bent >= 10


def test_bad_track_value_is_a_one_line_error(run_bridge) -> None:  # type: ignore[no-untyped-def]
    result = run_bridge("stream", "--input", "demo", "--track", "body,tail", timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "unknown part tail" in result.stderr.strip().splitlines()[-1]


def test_face_head_and_hand_direction_agree_with_the_body_model(demo_frames: list[LandmarkFrame]) -> None:
    """Frame conventions checked on real output: the head from the face transform and the body solver's head
    (ears, nose) differ by a median of under 35°; the hand model's wrist → middle knuckle and the pose's wrist →
    index/pinky mid-point point the same way (median under 35°, MediaPipe world frame)."""
    from scipy.spatial.transform import Rotation

    from bridge.solve.face import head_rotation

    rig = load_rig("default")
    body = Processor(rig)
    head_gap, hand_gap = [], []
    for frame in demo_frames:
        lm = body.landmarks(frame)
        assert body.solver is not None
        pose = body.solver(lm)
        _, world = pose.world()
        if lm.face is not None and pose.bone_state[rig.index("Head")] == BoneState.TRACKED:
            gap = Rotation.from_matrix(world[rig.index("Head")].T @ head_rotation(lm.face.transform)).magnitude()
            head_gap.append(np.degrees(gap))
        for side, hand in assign_sides(lm.hands, lm).items():
            s = side.upper()
            pose_dir = (lm.world_xyz_m[L[f"{s}_INDEX"]] + lm.world_xyz_m[L[f"{s}_PINKY"]]) / 2 - lm.world_xyz_m[
                L[f"{s}_WRIST"]
            ]
            hand_dir = hand.world_xyz_m[HandLandmark.MIDDLE_MCP] - hand.world_xyz_m[HandLandmark.WRIST]
            cos = pose_dir @ hand_dir / (np.linalg.norm(pose_dir) * np.linalg.norm(hand_dir))
            hand_gap.append(np.degrees(np.arccos(np.clip(cos, -1, 1))))
    assert len(head_gap) >= 15 and np.median(head_gap) < 35.0, np.median(head_gap)
    assert len(hand_gap) >= 30 and np.median(hand_gap) < 35.0, np.median(hand_gap)


def test_real_fingers_bend_toward_the_palm(
    cam02_frames: list[LandmarkFrame], demo_frames: list[LandmarkFrame]
) -> None:
    """After side assignment and the depth check, the index..little bones of real hands flex toward the palm
    (about -Z for the avatar's left hand, +Z for its right, in the T-pose frames), not backwards."""
    from scipy.spatial.transform import Rotation

    from bridge.solve.hands import HandGeometry, HandSolver, solve_hand

    rig = load_rig("default")
    solver = HandSolver(rig)
    geometry = {s: HandGeometry(rig, s) for s in SIDES}
    for frames, least in ((cam02_frames, 0.8), (demo_frames, 0.6)):
        good = total = 0
        for f in frames:
            for side, points in solver.observe(f).items():
                _, local = solve_hand(geometry[side], points)
                z = Rotation.from_matrix(local[3:]).as_rotvec()[:, 2] * (-1.0 if side == "Left" else 1.0)
                good += int(np.sum(z > 0))
                total += z.size
        assert total >= 200 and good / total >= least, (good, total)


@pytest.mark.slow
def test_still_hands_reuse_their_fingers_and_the_face_runs_every_other_frame(sports2d_video: Path) -> None:
    """The speed levers (issue 18): a hand that does not move skips the hand model (up to
    ``hand_reuse_frames`` frames in a row) and gives the same fingers as the model; ``face_every=2`` runs the
    face model on every other frame, the weights in between extrapolated within [0, 1]."""
    from bridge.tracking.sources import Frame, open_source, parse_input

    with (
        open_source(parse_input(str(sports2d_video)), 30.0) as source,
        VtuberDetector(TrackerConfig(track=ALL), VtuberConfig(concurrency="sequential")) as probe,
    ):
        for frame in source:  # a frame where the models find the face and hands they are sure of
            if frame.frame_index >= 20:
                seen = probe.detect(frame)
                if seen.hands and seen.face is not None and min(h.score for h in seen.hands.hands) >= 0.8:
                    break
    assert seen.hands and seen.face is not None, "no frame with a hand and a face"
    # The same image 12 times: a person holding still (the pose model's own smoothing settles in ~4 frames).
    still = [Frame(frame.t_s + k / 30.0, frame.frame_index + k, frame.image_bgr) for k in range(12)]
    fast = VtuberConfig(concurrency="sequential", hand_reuse_frames=2, face_every=2)
    with (
        VtuberDetector(TrackerConfig(track=ALL), VtuberConfig(concurrency="sequential")) as every,
        VtuberDetector(TrackerConfig(track=ALL), fast) as levers,
    ):
        full, quick, skipped = [], [], []
        for f in still:
            runs_a, runs_b = every._extras.model_runs["hand"], levers._extras.model_runs["hand"]
            full.append(every.detect(f))
            quick.append(levers.detect(f))
            ran_a = every._extras.model_runs["hand"] - runs_a
            skipped.append(levers._extras.model_runs["hand"] - runs_b < ran_a)  # a hand reused its fingers
        runs_full, runs_quick = every._extras.model_runs, levers._extras.model_runs
    assert runs_full["face"] == 12 and runs_quick["face"] <= 7  # every other frame (again after a miss)
    assert runs_quick["hand"] < runs_full["hand"] and any(skipped[6:])
    for a, b in zip(full, quick, strict=True):
        assert b.hands is not None and len(b.hands) == len(a.hands or ())
        # The same fingers (hand world landmarks) as the model run every frame, within 2 cm: what the model
        # itself differs by between two runs of the same still image with another tracking history.
        found = b.hands.hands
        for ha in a.hands.hands if a.hands else ():
            near = min(found, key=lambda hb: float(np.linalg.norm(hb.image_xy[0] - ha.image_xy[0])))
            assert np.abs(near.world_xyz_m - ha.world_xyz_m).max() < 0.02
        if b.face is not None:
            assert np.all((b.face.blendshapes >= 0.0) & (b.face.blendshapes <= 1.0))
    both = [(a.face, b.face) for a, b in zip(full[6:], quick[6:], strict=True) if a.face and b.face]
    assert len(both) >= 4  # once the pose has settled: weights held/extrapolated near the model's own
    assert max(float(np.abs(fa.blendshapes - fb.blendshapes).mean()) for fa, fb in both) < 0.05


def test_extrapolated_blendshapes_stay_bounded_and_go_at_most_one_interval_ahead() -> None:
    from bridge.tracking.hand_face_detector import extrapolate_blendshapes

    earlier, latest = np.array([0.0, 0.9, 0.5]), np.array([0.2, 1.0, 0.5])
    np.testing.assert_allclose(extrapolate_blendshapes(earlier, 0.0, latest, 0.1, 0.15), [0.3, 1.0, 0.5])
    np.testing.assert_allclose(extrapolate_blendshapes(earlier, 0.0, latest, 0.1, 5.0), [0.4, 1.0, 0.5])
    np.testing.assert_allclose(extrapolate_blendshapes(latest, 0.0, earlier, 0.1, 0.2), [0.0, 0.8, 0.5])
    np.testing.assert_allclose(extrapolate_blendshapes(earlier, 0.1, latest, 0.1, 0.2), latest)


def test_concurrency_option_reaches_the_detector() -> None:
    """``--concurrency`` (issue 18: pipelined, the default, 0.69× the body-only rate through the tracker process
    against 0.54× for threads, bench_vtuber) travels in TrackerConfig to the hand/face detector the factory
    builds."""
    from bridge.cli.main import build_parser
    from bridge.cli.options import tracker_config_from_args

    args = build_parser().parse_args(["stream", "--track", "body,hands,face", "--concurrency", "pipelined"])
    config = tracker_config_from_args(args)
    assert config.concurrency == "pipelined"
    with VtuberDetector(config) as det:
        assert det.config.concurrency == "pipelined" and det.config.hands and det.config.face
    default = tracker_config_from_args(build_parser().parse_args(["stream", "--track", "body,hands"]))
    assert default.concurrency == "pipelined"
    threads = build_parser().parse_args(["stream", "--track", "body,hands", "--concurrency", "threads"])
    with VtuberDetector(tracker_config_from_args(threads)) as det:
        assert det.config.concurrency == "threads"


@pytest.mark.slow
def test_hand_every_two_runs_one_hand_a_frame_and_keeps_its_fingers(sports2d_video: Path) -> None:
    """``hand_every=2`` (issue 18): over 24 frames of the demo where the man moves, each hand's model runs on
    every other frame, the two hands on different frames (about half the crops of every-frame; a hand not found
    is looked for on its own frames only), most of the hands are still reported, and their fingers (hand world
    landmarks) stay within 1.5 cm on average of the every-frame model's (one frame's finger motion; the model
    itself differs by up to 2 cm between two runs with another tracking history)."""
    from bridge.tracking.sources import open_source, parse_input

    with open_source(parse_input(str(sports2d_video)), 30.0) as source:
        frames = [f for f in source if 20 <= f.frame_index < 44]
    config = TrackerConfig(track=ALL)
    with (
        VtuberDetector(config, VtuberConfig(concurrency="sequential", face=False)) as every,
        VtuberDetector(config, VtuberConfig(concurrency="sequential", face=False, hand_every=2)) as halved,
    ):
        pairs = [(every.detect(f), halved.detect(f)) for f in frames]
        runs_every, runs_halved = every._extras.model_runs["hand"], halved._extras.model_runs["hand"]
    assert runs_every >= 30 and runs_halved <= 0.55 * runs_every + 1, (runs_every, runs_halved)
    found_every = sum(len(a.hands or ()) for a, _ in pairs)
    found_halved = sum(len(b.hands or ()) for _, b in pairs)
    assert found_halved >= 0.7 * found_every, (found_every, found_halved)  # a new hand shows a frame later
    gaps = []
    for a, b in pairs:
        for ha in a.hands.hands if a.hands else ():
            near = [
                hb
                for hb in (b.hands.hands if b.hands else ())
                if np.linalg.norm(hb.image_xy[0] - ha.image_xy[0]) < 0.03
            ]
            if near:
                gaps.append(float(np.linalg.norm(near[0].world_xyz_m - ha.world_xyz_m, axis=1).mean()))
    assert len(gaps) >= 8 and float(np.mean(gaps)) < 0.015, (len(gaps), np.mean(gaps) if gaps else None)
