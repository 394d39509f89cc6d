"""The refiner lifter (``--lifter refine``): MediaPipe's world landmarks + visibilities + 2-D in, a correction
out; causal for live (never reads the future), symmetric for files, weights shipped in the package."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from bridge.core.landmarks import NUM_LANDMARKS, LandmarkFrame
from bridge.stages.lifter import (
    NUM_OUTPUTS,
    REFINE_CAUSAL_MODEL,
    REFINE_INPUTS,
    REFINE_SYMMETRIC_MODEL,
    CausalLifter,
    LifterConfig,
    LifterModel,
    hip_centre,
    lift_frames,
    lifter_weights_path,
    load_lifter,
    refiner_inputs,
)
from bridge.testing.lifter_data_real import pose_errors


def walking_frames(n: int = 120, seed: int = 0) -> list[LandmarkFrame]:
    """A smooth made-up body moving in the image and in 3-D (enough to drive the network)."""
    rng = np.random.default_rng(seed)
    base = rng.normal(scale=0.3, size=(NUM_LANDMARKS, 3))
    phase = rng.uniform(0, 2 * np.pi, size=(NUM_LANDMARKS, 3))
    out = []
    for k in range(n):
        t = k / 30.0
        world = base + 0.1 * np.sin(2 * np.pi * 0.8 * t + phase)
        xy = 0.5 + 0.25 * world[:, :2]
        vis = np.full(NUM_LANDMARKS, 0.9)
        out.append(
            LandmarkFrame(
                t_s=t,
                world_xyz_m=world,
                image_xy=xy,
                visibility=vis,
                presence=np.ones(NUM_LANDMARKS),
                image_size=(640, 360),
                frame_index=k,
            )
        )
    return out


def test_refiners_ship_small_and_take_mediapipe_world_visibility_and_2d() -> None:
    for name, causal in ((REFINE_CAUSAL_MODEL, True), (REFINE_SYMMETRIC_MODEL, False)):
        model = load_lifter(name)
        assert lifter_weights_path(name).stat().st_size < 1_000_000
        assert model.refines and model.num_inputs == REFINE_INPUTS and model.causal is causal
        assert model.receptive_field == 27
        with pytest.raises(ValueError, match="refiner"):
            model.lift(np.zeros((5, NUM_LANDMARKS, 2)), (640, 360))
    x = refiner_inputs(np.ones((4, NUM_LANDMARKS, 3)), np.full((4, NUM_LANDMARKS), 2.0),
                       np.full((4, NUM_LANDMARKS, 2), 0.5), (640, 360))  # fmt: skip
    assert x.shape == (4, REFINE_INPUTS)
    np.testing.assert_array_equal(x[:, :NUM_OUTPUTS], 0.0)  # hip-centred
    np.testing.assert_array_equal(x[:, NUM_OUTPUTS : NUM_OUTPUTS + NUM_LANDMARKS], 1.0)  # visibility clipped


def test_a_refiner_with_a_zero_output_layer_is_mediapipe_itself() -> None:
    """The output is a correction added to MediaPipe's hip-centred landmarks (live and batch)."""
    rng = np.random.default_rng(2)
    c = 16
    layers = [(rng.normal(size=(3 * REFINE_INPUTS, c)), rng.normal(size=c))]
    for _ in range(2):
        layers += [
            (rng.normal(size=(3 * c, c)), rng.normal(size=c)),
            (rng.normal(size=(c, c)), rng.normal(size=c)),
        ]
    layers.append((np.zeros((c, NUM_OUTPUTS)), np.zeros(NUM_OUTPUTS)))
    model = LifterModel("zero", (3, 3, 3), True, tuple(layers))
    frames = walking_frames(40)
    world = np.stack([f.world_xyz_m for f in frames])
    lifted = lift_frames(frames, model)
    np.testing.assert_allclose(np.stack([f.world_xyz_m for f in lifted]), hip_centre(world), atol=1e-12)
    live = CausalLifter(model=model)
    np.testing.assert_allclose(live(frames[0]).world_xyz_m, hip_centre(world[0]), atol=1e-12)


def test_the_correction_scale_adds_that_share_of_the_correction_live_and_batch() -> None:
    """A model's stored correction scale s gives MediaPipe + s × (the whole correction), live and batch; the
    shipped refiners keep a part of it, chosen on the held-out renders (tools/train_refiner.py)."""
    frames = walking_frames(60)
    mp = hip_centre(np.stack([f.world_xyz_m for f in frames]))
    for name in (REFINE_CAUSAL_MODEL, REFINE_SYMMETRIC_MODEL):
        shipped = load_lifter(name)
        assert 0.0 < shipped.correction_scale < 1.0
        whole, part = shipped.with_correction_scale(1.0), shipped.with_correction_scale(0.25)
        correction = whole.on_frames(frames) - mp
        assert np.abs(correction).max() > 1e-3  # the network does correct these frames
        np.testing.assert_allclose(part.on_frames(frames), mp + 0.25 * correction, atol=1e-12)
        expected = mp + shipped.correction_scale * correction
        np.testing.assert_allclose(shipped.on_frames(frames), expected, atol=1e-12)
        if shipped.causal:
            live_whole, live_part = CausalLifter(model=whole), CausalLifter(model=part)
            got = [(live_whole(f).world_xyz_m, live_part(f).world_xyz_m) for f in frames]
            for k, (w, p) in enumerate(got):
                np.testing.assert_allclose(p, mp[k] + 0.25 * (w - mp[k]), atol=1e-12)


def test_causal_refiner_never_reads_the_future() -> None:
    """Changing every frame after t (3-D, 2-D and visibility) leaves the output at t and before bit-identical;
    live equals batch; the symmetric refiner does look ahead."""
    frames = walking_frames(120)
    t = 70
    rng = np.random.default_rng(3)
    changed = frames[: t + 1] + [
        f.replace(world_xyz_m=f.world_xyz_m + rng.normal(scale=0.05, size=(33, 3)),
                  image_xy=f.image_xy + rng.normal(scale=0.05, size=(33, 2)), visibility=rng.uniform(size=33))
        for f in frames[t + 1 :]
    ]  # fmt: skip
    a, b = CausalLifter(LifterConfig(REFINE_CAUSAL_MODEL)), CausalLifter(LifterConfig(REFINE_CAUSAL_MODEL))
    live_a, live_b = [a(f) for f in frames], [b(f) for f in changed]
    for k in range(t + 1):
        np.testing.assert_array_equal(live_a[k].world_xyz_m, live_b[k].world_xyz_m)
        assert live_a[k].flags["lifter"] == REFINE_CAUSAL_MODEL
    assert max(np.abs(live_a[k].world_xyz_m - live_b[k].world_xyz_m).max() for k in range(t + 1, 120)) > 1e-3
    causal = load_lifter(REFINE_CAUSAL_MODEL)
    batch_a = causal.on_frames(frames)
    np.testing.assert_array_equal(batch_a[: t + 1], causal.on_frames(changed)[: t + 1])
    np.testing.assert_allclose(batch_a, np.stack([f.world_xyz_m for f in live_a]), atol=2e-4)
    sym = load_lifter(REFINE_SYMMETRIC_MODEL)
    assert np.abs(sym.on_frames(frames)[t] - sym.on_frames(changed)[t]).max() > 1e-4


def test_pose_errors_known_answers() -> None:
    frames = walking_frames(30)
    true = np.stack([f.world_xyz_m for f in frames])
    rot = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    same = pose_errors(2.0 * true @ rot.T + 0.3, true)  # a similarity away: every measure but jitter is zero
    assert same["pa_mpjpe_mm"] < 1e-6 and same["limb_deg"] < 1e-3 and same["knee_deg"] < 1e-3
    assert same["frames"] == 30
    bent = true.copy()
    bent[:, 25] += 0.05  # LEFT_KNEE moved: knee flexion and PA-MPJPE change
    worse = pose_errors(bent, true)
    assert worse["pa_mpjpe_mm"] > 1.0 and worse["knee_deg"] > 1.0 and worse["elbow_deg"] < 1e-6


def test_lifter_refine_option() -> None:
    from bridge.cli.stream import add_pose_args, processor_config_from_args

    parser = argparse.ArgumentParser()
    add_pose_args(parser)
    config = processor_config_from_args(parser.parse_args(["--lifter", "refine"])).lifter
    assert config == LifterConfig(model=REFINE_CAUSAL_MODEL)


@pytest.mark.slow
def test_stream_in_process_refines_the_real_tracker() -> None:
    """``--lifter refine`` live on the real tracker: every tracked frame refined, hip-centred, a plausible body,
    and close to (but not equal to) MediaPipe's own landmarks."""
    from bridge.app.processor import ProcessorConfig
    from bridge.app.status import StatusLine
    from bridge.app.stream import StreamConfig, StreamTarget, run_stream
    from bridge.core.landmarks import PoseLandmark as L
    from bridge.output.transport import parse_osc_target
    from tests.helpers.osc_receiver import OscReceiver

    def run(lifter: LifterConfig | None) -> list[LandmarkFrame]:
        out: list[LandmarkFrame] = []
        with OscReceiver() as rx:
            config = StreamConfig(
                input_text="demo",
                targets=(StreamTarget(parse_osc_target(f"127.0.0.1:{rx.port}"), "vmc"),),
                processor=ProcessorConfig(lifter=lifter, filter=None),
                realtime=False,
                max_rate_hz=0.0,
                max_frames=30,
            )
            run_stream(config, StatusLine(60.0), on_result=lambda r: out.append(r.landmarks))
        return [f for f in out if f.person]

    refined, raw = run(LifterConfig(REFINE_CAUSAL_MODEL)), run(None)
    assert len(refined) >= 20 and len(refined) == len(raw)
    assert all(f.flags.get("lifter") == REFINE_CAUSAL_MODEL for f in refined)
    xyz = np.stack([f.world_xyz_m for f in refined])
    np.testing.assert_allclose(0.5 * (xyz[:, L.LEFT_HIP] + xyz[:, L.RIGHT_HIP]), 0.0, atol=1e-6)
    thigh = np.linalg.norm(xyz[:, L.LEFT_HIP] - xyz[:, L.LEFT_KNEE], axis=-1)
    assert 0.25 < np.median(thigh) < 0.6
    change = np.linalg.norm(xyz - hip_centre(np.stack([f.world_xyz_m for f in raw])), axis=-1)
    assert 0.002 < np.median(change) < 0.15  # a correction, not a new pose
