"""Temporal lifter: numpy inference paths, causality, held-out accuracy against the single-frame model, the
DeepMimic loader, and the ``--lifter temporal`` option end to end (real tracker, real UDP receiver)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pytest

from bridge.app.processor import Processor, ProcessorConfig
from bridge.app.status import StatusLine
from bridge.app.stream import StreamConfig, StreamTarget, run_stream
from bridge.core.errors import BridgeError
from bridge.core.landmarks import NUM_LANDMARKS, LandmarkFrame, PoseLandmark
from bridge.core.rig import load_rig
from bridge.export.bvh_kinematics import bvh_forward_kinematics
from bridge.output.transport import parse_osc_target
from bridge.stages.lifter import (
    BASELINE_MODEL,
    DEFAULT_CAUSAL_MODEL,
    DEFAULT_SYMMETRIC_MODEL,
    CausalLifter,
    LifterConfig,
    available_lifters,
    lift_frames,
    lifter_weights_path,
    load_lifter,
    normalise_image_points,
)
from bridge.testing.deepmimic import URDF_SCALE, deepmimic_motion, deepmimic_skeleton
from bridge.testing.lifter_data import (
    View,
    accel_error_mm,
    clip,
    evaluate_model,
    evaluation_views,
    load_motions,
    mpjpe_mm,
    pa_mpjpe_mm,
    procrustes_align,
    render_view,
)
from bridge.testing.virtual_camera import VirtualCamera
from tests.helpers.osc_receiver import OscReceiver, parse_datagram

L = PoseLandmark
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def held_out_cmu(cmu_bvh_dir: Path) -> list[View]:
    """The evaluation protocol's views of the held-out CMU clip 01_03 (8 cameras, seeded detector noise)."""
    motions = {k: v for k, v in load_motions(include_deepmimic=False).items() if k == "cmu:01_03"}
    return list(evaluation_views(motions))


@pytest.fixture(scope="module")
def one_view(cmu_bvh_dir: Path) -> View:
    """Held-out 01_03, 12 s of it, seen from 30° to the subject's left, with detector noise."""
    motions = load_motions(include_deepmimic=False)
    c = clip("cmu:01_03", motions["cmu:01_03"])
    c = type(c)(c.key, c.motion, c.frames[:360])
    return render_view(c, VirtualCamera(yaw_deg=30.0, distance_m=3.5, height_m=1.2, follow=True),
                       np.random.default_rng(5))  # fmt: skip


def frames_of(view: View, t0: float = 0.0) -> list[LandmarkFrame]:
    n = view.image_xy.shape[0]
    return [
        LandmarkFrame(
            t_s=t0 + k / 30.0,
            world_xyz_m=np.zeros((NUM_LANDMARKS, 3)),
            image_xy=view.image_xy[k],
            visibility=np.ones(NUM_LANDMARKS),
            presence=np.ones(NUM_LANDMARKS),
            image_size=view.image_size,
            frame_index=k,
        )  # fmt: skip
        for k in range(n)
    ]


# ---------------------------------------------------------------------------------------- packaged weights


def test_weights_ship_in_the_package_and_are_small() -> None:
    names = available_lifters()
    for name in (BASELINE_MODEL, DEFAULT_CAUSAL_MODEL, DEFAULT_SYMMETRIC_MODEL):
        assert name in names
        path = lifter_weights_path(name)
        assert path.parent == REPO / "bridge" / "data"  # importlib.resources of the bridge.data package
        assert path.stat().st_size < 1_000_000
    assert load_lifter(DEFAULT_CAUSAL_MODEL).causal and not load_lifter(DEFAULT_SYMMETRIC_MODEL).causal
    assert load_lifter(DEFAULT_CAUSAL_MODEL).receptive_field == 27
    assert load_lifter(BASELINE_MODEL).receptive_field == 1
    # The wheel takes them: bridge.data's package data includes *.npz.
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "*.npz" in pyproject["tool"]["setuptools"]["package-data"]["bridge.data"]
    # torch is for training only; pybullet (the DeepMimic clips) for training and the tests, not at run time.
    extras = pyproject["project"]["optional-dependencies"]
    runtime = " ".join(pyproject["project"]["dependencies"])
    assert "torch" not in runtime + " ".join(extras["test"]) and "pybullet" not in runtime
    assert "torch" in " ".join(extras["train"])


def test_unknown_weights_are_a_one_line_error() -> None:
    with pytest.raises(BridgeError, match="no lifter weights called 'nope'"):
        load_lifter("nope")
    with pytest.raises(BridgeError, match="causal"):
        CausalLifter(LifterConfig(model=DEFAULT_SYMMETRIC_MODEL))


# ------------------------------------------------------------------------------------------ numpy inference


@pytest.mark.parametrize("name", [DEFAULT_CAUSAL_MODEL, DEFAULT_SYMMETRIC_MODEL, BASELINE_MODEL])
def test_strided_windows_equal_the_dilated_sequence(name: str, one_view: View) -> None:
    """Live (one window, strided) and batch (whole sequence, dilated) inference give the same numbers."""
    if name not in available_lifters():
        pytest.skip(f"{name} is not packaged")
    model = load_lifter(name)
    x = normalise_image_points(one_view.image_xy[:150], one_view.image_size).reshape(150, -1)
    padded = model.pad(x)
    batch = model.forward_padded(padded)
    rf = model.receptive_field
    windows = np.stack([padded[t : t + rf] for t in range(0, 150, 7)])
    live = model.forward_windows(windows)
    np.testing.assert_allclose(live, batch[::7], atol=2e-4)


def test_normalised_input_ignores_position_and_distance() -> None:
    rng = np.random.default_rng(1)
    xy = rng.uniform(0.3, 0.6, size=(33, 2))
    moved = (xy - 0.5) * 0.5 + np.array([0.2, 0.7])  # half the size elsewhere in the image
    a, b = normalise_image_points(xy, (1280, 720)), normalise_image_points(moved, (1280, 720))
    np.testing.assert_allclose(a, b, atol=1e-5)
    mid = 0.5 * (a[L.LEFT_HIP] + a[L.RIGHT_HIP])
    np.testing.assert_allclose(mid, 0.0, atol=1e-6)


def test_causal_lifter_never_reads_the_future(one_view: View) -> None:
    """Changing every frame after t leaves the output at t (and before) unchanged; live equals batch."""
    frames = frames_of(one_view)[:120]
    t = 70
    rng = np.random.default_rng(3)
    changed = frames[: t + 1] + [
        f.replace(image_xy=f.image_xy + rng.normal(scale=0.05, size=(33, 2))) for f in frames[t + 1 :]
    ]
    lifter_a, lifter_b = CausalLifter(), CausalLifter()
    live_a = [lifter_a(f) for f in frames]
    live_b = [lifter_b(f) for f in changed]
    for k in range(t + 1):
        np.testing.assert_array_equal(live_a[k].world_xyz_m, live_b[k].world_xyz_m)
    assert max(np.abs(live_a[k].world_xyz_m - live_b[k].world_xyz_m).max() for k in range(t + 1, 120)) > 1e-3
    # The same holds for the batch path of the causal model, and it agrees with the live lifter …
    causal = load_lifter(DEFAULT_CAUSAL_MODEL)
    xy_a = np.stack([f.image_xy for f in frames])
    xy_b = np.stack([f.image_xy for f in changed])
    batch_a, batch_b = causal.lift(xy_a, one_view.image_size), causal.lift(xy_b, one_view.image_size)
    np.testing.assert_array_equal(batch_a[: t + 1], batch_b[: t + 1])
    np.testing.assert_allclose(batch_a, np.stack([f.world_xyz_m for f in live_a]), atol=2e-4)
    # … while the symmetric model does look ahead (the check above can fail).
    sym = load_lifter(DEFAULT_SYMMETRIC_MODEL)
    assert np.abs(sym.lift(xy_a, one_view.image_size)[t] - sym.lift(xy_b, one_view.image_size)[t]).max() > 1e-4


def test_output_is_hip_centred_metres_in_the_mediapipe_frame(one_view: View) -> None:
    lifted = load_lifter(DEFAULT_CAUSAL_MODEL).lift(one_view.image_xy, one_view.image_size)
    mid = 0.5 * (lifted[:, L.LEFT_HIP] + lifted[:, L.RIGHT_HIP])
    np.testing.assert_allclose(mid, 0.0, atol=1e-9)
    # y down: the head is above (smaller y than) the ankles in upright frames; size in metres.
    assert np.median(lifted[:, L.NOSE, 1] - lifted[:, L.LEFT_ANKLE, 1]) < -1.0
    thigh = np.linalg.norm(lifted[:, L.LEFT_HIP] - lifted[:, L.LEFT_KNEE], axis=-1)
    assert 0.3 < np.median(thigh) < 0.55
    # Error against the ground truth of this unseen clip is far below a body size.
    assert mpjpe_mm(lifted, one_view.world_xyz_m) < 200


# ---------------------------------------------------------------------------------------- held-out accuracy


def test_metrics_known_answers() -> None:
    rng = np.random.default_rng(0)
    truth = rng.normal(size=(10, 33, 3))
    assert mpjpe_mm(truth + np.array([0.0, 0.003, 0.004]), truth) == pytest.approx(5.0)
    from scipy.spatial.transform import Rotation

    r = Rotation.from_rotvec([0.3, -0.2, 0.5]).as_matrix()
    moved = 1.7 * truth @ r.T + 0.4
    np.testing.assert_allclose(procrustes_align(moved, truth), truth, atol=1e-9)
    assert pa_mpjpe_mm(moved, truth) < 1e-6 < mpjpe_mm(moved, truth)
    # A constant-velocity offset has no acceleration error; one jolt has.
    drift = truth + np.arange(10)[:, None, None] * 0.01
    assert accel_error_mm(drift, truth) == pytest.approx(0.0, abs=1e-9)
    jolt = truth.copy()
    jolt[5] += 0.01
    assert accel_error_mm(jolt, truth) > 0


@pytest.mark.slow
def test_temporal_model_beats_the_single_frame_model_on_a_held_out_clip(held_out_cmu: list[View]) -> None:
    """Held-out CMU 01_03 (never trained on), 8 cameras, detector noise: the 27-frame models, causal and
    symmetric, have lower MPJPE, PA-MPJPE and acceleration error than the single-frame model."""
    assert len(held_out_cmu) == 8 and all(v.key == "cmu:01_03" for v in held_out_cmu)
    info = load_lifter(DEFAULT_CAUSAL_MODEL).info
    assert "cmu:01_03" in info["held_out"].split(",")
    single = evaluate_model(load_lifter(BASELINE_MODEL), held_out_cmu)
    for name in (DEFAULT_CAUSAL_MODEL, DEFAULT_SYMMETRIC_MODEL):
        temporal = evaluate_model(load_lifter(name), held_out_cmu)
        assert temporal["mpjpe_mm"] < single["mpjpe_mm"], (name, temporal, single)
        assert temporal["pa_mpjpe_mm"] < single["pa_mpjpe_mm"], (name, temporal, single)
        assert temporal["accel_mm"] < 0.7 * single["accel_mm"], (name, temporal, single)


# ------------------------------------------------------------------------------------------- frames, stages


def test_lift_frames_keeps_no_person_frames_and_restarts_after_gaps(one_view: View) -> None:
    frames = frames_of(one_view)[:60]
    frames[20] = LandmarkFrame.no_person(frames[20].t_s, one_view.image_size, 20)
    out = lift_frames(frames)
    assert not out[20].person and out[20].flags.get("lifter") is None
    assert all(f.flags["lifter"] == DEFAULT_SYMMETRIC_MODEL for k, f in enumerate(out) if k != 20)
    # Frames after the gap do not depend on frames before it.
    alone = lift_frames(frames[21:])
    for a, b in zip(out[21:], alone, strict=True):
        np.testing.assert_allclose(a.world_xyz_m, b.world_xyz_m, atol=1e-9)


def test_processor_runs_flips_then_lifter_then_filter(one_view: View) -> None:
    frames = frames_of(one_view)[:40]
    with_lifter = Processor(load_rig(), ProcessorConfig(lifter=LifterConfig(), filter=None))
    out = [with_lifter.landmarks(f) for f in frames]
    assert all(f.flags["lifter"] == DEFAULT_CAUSAL_MODEL and "lr_swapped" in f.flags for f in out)
    direct = CausalLifter()
    for f, o in zip(frames, out, strict=True):
        np.testing.assert_allclose(o.world_xyz_m, direct(f).world_xyz_m, atol=1e-12)
    plain = Processor(load_rig(), ProcessorConfig(filter=None))
    assert np.all(plain.landmarks(frames[5]).world_xyz_m == 0)  # mediapipe (default): world points untouched
    pose = with_lifter(frames[0].replace(t_s=frames[-1].t_s + 1 / 30)).pose
    assert pose is not None and pose.tracking


# ------------------------------------------------------------------------------------------------ DeepMimic


def test_deepmimic_loader_known_geometry(tmp_path: Path) -> None:
    """A two-frame clip written here: rest pose, then the right knee bent 90°; bone lengths from the URDF."""
    q = [1.0, 0.0, 0.0, 0.0]  # identity, w first
    # duration, root pos, root, chest, neck, r hip, r knee, r ankle, r shoulder, r elbow, l hip … l elbow
    rest = [1.0 / 30, 0.0, 0.85, 0.0, *q, *q, *q, *q, 0.0, *q, *q, 0.0, *q, 0.0, *q, *q, 0.0]
    assert len(rest) == 44
    bent = list(rest)
    bent[20] = -np.pi / 2  # right knee
    path = tmp_path / "humanoid3d_test.txt"
    path.write_text(json.dumps({"Loop": "none", "Frames": [rest, bent]}))
    motion = deepmimic_motion(path, fps=30.0)
    assert motion.num_frames == 2
    sk = deepmimic_skeleton()
    pos = bvh_forward_kinematics(motion).positions
    hip, knee, ankle = (pos[:, sk.index(n)] for n in ("RightUpLeg", "RightLeg", "RightFoot"))
    np.testing.assert_allclose(np.linalg.norm(knee - hip, axis=-1), 1.686184 * URDF_SCALE, atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(ankle - knee, axis=-1), 1.639480 * URDF_SCALE, atol=1e-9)
    np.testing.assert_allclose(hip[0], [0.0, 0.85, 0.339548 * URDF_SCALE], atol=1e-9)  # right = +Z
    # Rest: the shank hangs straight down; bent -90° about +Z: it points backwards (-X, the character faces +X).
    np.testing.assert_allclose(ankle[0] - knee[0], [0.0, -0.40987, 0.0], atol=1e-5)
    np.testing.assert_allclose(ankle[1] - knee[1], [-0.40987, 0.0, 0.0], atol=1e-5)
    with pytest.raises(BridgeError, match="44"):
        (tmp_path / "bad.txt").write_text(json.dumps({"Frames": [[0.1, 1, 2], [0.1, 1, 2]]}))
        deepmimic_motion(tmp_path / "bad.txt")


def test_real_deepmimic_clips_have_rigid_bones_and_stand_on_the_floor() -> None:
    pytest.importorskip("pybullet_data", reason="DeepMimic clips come with pybullet (the test extra)")
    from bridge.testing.deepmimic import deepmimic_clips

    clips = deepmimic_clips()
    assert len(clips) == 15
    motion = deepmimic_motion(clips["walk"])
    sk = motion.skeleton
    pos = bvh_forward_kinematics(motion).positions
    thigh = np.linalg.norm(pos[:, sk.index("LeftLeg")] - pos[:, sk.index("LeftUpLeg")], axis=-1)
    np.testing.assert_allclose(thigh, 0.421546, atol=1e-6)
    ankles = np.minimum(pos[:, sk.index("LeftFoot"), 1], pos[:, sk.index("RightFoot"), 1])
    assert 0.0 < np.min(ankles) < 0.15  # the lower ankle is just above the floor in every frame
    head = pos[:, sk.index("Head"), 1]
    assert np.all(head > 1.3)  # walking upright


# ------------------------------------------------------------------------------------------- end to end


@pytest.mark.slow
def test_bridge_stream_with_the_temporal_lifter(run_bridge) -> None:  # type: ignore[no-untyped-def]
    """``bridge stream --input demo --lifter temporal`` tracks the demo clip and sends VMC frames."""
    with OscReceiver() as rx:
        result = run_bridge("stream", "--input", "demo", "--lifter", "temporal", "--osc", f"127.0.0.1:{rx.port}",
                            "--protocol", "vmc", "--fast", "--max-frames", "30", timeout=300)  # fmt: skip
        assert result.returncode == 0, result.stderr
        rx.wait_for(1)
        msgs = [m for d in rx.datagrams for m in parse_datagram(d)]
    assert "done: 30 frames" in result.stderr
    assert any(m.address == "/VMC/Ext/Bone/Pos" for m in msgs)


@pytest.mark.slow
def test_stream_in_process_uses_the_lifter_on_the_real_tracker() -> None:
    poses: list[tuple[LandmarkFrame, object]] = []
    with OscReceiver() as rx:
        config = StreamConfig(
            input_text="demo",
            targets=(StreamTarget(parse_osc_target(f"127.0.0.1:{rx.port}"), "vmc"),),
            processor=ProcessorConfig(lifter=LifterConfig(), filter=None),
            realtime=False,
            max_rate_hz=0.0,
            max_frames=30,
        )
        run_stream(config, StatusLine(60.0), on_result=lambda r: poses.append((r.landmarks, r.pose)))
    tracked = [lm for lm, _ in poses if lm.person]
    assert len(poses) == 30 and len(tracked) >= 20
    assert all(lm.flags.get("lifter") == DEFAULT_CAUSAL_MODEL for lm in tracked)
    xyz = np.stack([lm.world_xyz_m for lm in tracked])
    np.testing.assert_allclose(0.5 * (xyz[:, L.LEFT_HIP] + xyz[:, L.RIGHT_HIP]), 0.0, atol=1e-6)
    thigh = np.linalg.norm(xyz[:, L.LEFT_HIP] - xyz[:, L.LEFT_KNEE], axis=-1)
    assert 0.25 < np.median(thigh) < 0.6  # a plausible human thigh in metres, from a real video


def test_lifter_option_in_the_shared_pose_arguments() -> None:
    import argparse

    from bridge.cli.stream import add_pose_args, processor_config_from_args

    parser = argparse.ArgumentParser()
    add_pose_args(parser)
    assert processor_config_from_args(parser.parse_args([])).lifter is None  # MediaPipe's world landmarks
    assert processor_config_from_args(parser.parse_args(["--lifter", "mediapipe"])).lifter is None
    assert processor_config_from_args(parser.parse_args(["--lifter", "temporal"])).lifter == LifterConfig()
    with pytest.raises(SystemExit) as exc:
        parser.parse_args(["--lifter", "videopose"])
    assert exc.value.code == 2
