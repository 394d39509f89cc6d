"""The landmark filter stage: known answers, holds of unseen landmarks, resets, bad timestamps, real video (the
filter itself: tests/core/test_one_euro.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.signal import butter, filtfilt

from bridge.core.errors import BridgeError
from bridge.core.landmarks import NUM_LANDMARKS, LandmarkFrame, PoseLandmark
from bridge.stages.filter import HELD_FLAG, LandmarkFilter, OneEuroConfig, filter_frames, held_landmarks


def _still_frame(t_s: float, frame_index: int = -1) -> LandmarkFrame:
    """The same still pose (fixed seed) at time ``t_s``: world points within ±0.5 m, image points in the frame."""
    base = np.random.default_rng(1234)
    return LandmarkFrame(
        t_s=t_s,
        world_xyz_m=base.uniform(-0.5, 0.5, (NUM_LANDMARKS, 3)),
        image_xy=base.uniform(0.2, 0.8, (NUM_LANDMARKS, 2)),
        visibility=np.full(NUM_LANDMARKS, 0.9),
        presence=np.full(NUM_LANDMARKS, 0.95),
        image_size=(1280, 720),
        frame_index=frame_index,
    )


def _alpha(te_s: float, cutoff_hz: float) -> float:
    """alpha = 1 / (1 + tau / Te), tau = 1 / (2π fc), written out independently of the module."""
    tau = 1.0 / (2.0 * math.pi * cutoff_hz)
    return 1.0 / (1.0 + tau / te_s)


def test_bad_settings_rejected() -> None:
    with pytest.raises(BridgeError, match="cutoff"):
        OneEuroConfig(min_cutoff_hz=-1.0)
    with pytest.raises(BridgeError, match="beta"):
        OneEuroConfig(beta=-0.1)


# ---------------------------------------------------------------------------------------- landmark stage


def test_landmark_filter_constant_pose_exact_and_flagged() -> None:
    stage = LandmarkFilter()
    for k in range(50):
        frame = _still_frame(k / 30, frame_index=k)
        out = stage(frame)
        assert out.equals(frame)  # exact (atol 0)
        assert isinstance(out.flags[HELD_FLAG], np.ndarray)
        assert held_landmarks(out).shape == (NUM_LANDMARKS,) and not held_landmarks(out).any()


def test_landmark_filter_world_step_matches_formula_and_image_has_its_own_filter() -> None:
    """beta = 0 in both: the world and image steps decay as (1 - alpha)^n with their own cutoffs."""
    cfg = OneEuroConfig(min_cutoff_hz=1.0, beta=0.0, image_min_cutoff_hz=3.0, image_beta=0.0)
    stage = LandmarkFilter(cfg)
    f0 = _still_frame(0.0)
    stage(f0)
    step = f0.replace(world_xyz_m=f0.world_xyz_m + 0.1, image_xy=f0.image_xy + 0.05)
    for n in range(1, 31):
        out = stage(step.replace(t_s=n / 30))
        np.testing.assert_allclose(
            step.world_xyz_m - out.world_xyz_m, 0.1 * (1 - _alpha(1 / 30, 1.0)) ** n, rtol=1e-9, atol=1e-14
        )
        np.testing.assert_allclose(
            step.image_xy - out.image_xy, 0.05 * (1 - _alpha(1 / 30, 3.0)) ** n, rtol=1e-9, atol=1e-14
        )
        np.testing.assert_array_equal(out.visibility, step.visibility)  # not filtered


def test_low_visibility_landmark_is_held_then_released() -> None:
    cfg = OneEuroConfig(min_visibility=0.5, hold_s=0.3)
    stage = LandmarkFilter(cfg)
    wrist = PoseLandmark.LEFT_WRIST
    for k in range(10):  # settle on the still pose
        last = stage(_still_frame(k / 30))
    good = last.world_xyz_m[wrist].copy()
    vis = np.full(NUM_LANDMARKS, 0.9)
    vis[wrist] = 0.1
    for k in range(10, 25):  # the wrist is occluded and MediaPipe guesses it 0.4 m away
        frame = _still_frame(k / 30)
        moved = frame.world_xyz_m.copy()
        moved[wrist] += 0.4
        out = stage(frame.replace(world_xyz_m=moved, visibility=vis))
        held = held_landmarks(out)
        if k / 30 - 9 / 30 <= 0.3 + 1e-9:
            assert held[wrist] and held.sum() == 1
            assert np.array_equal(out.world_xyz_m[wrist], good)  # not dragged at all
        else:  # after hold_s it follows its input again
            assert not held.any()
            assert out.world_xyz_m[wrist][0] > good[0] + 0.05
        others = np.arange(NUM_LANDMARKS) != wrist
        np.testing.assert_allclose(out.world_xyz_m[others], frame.world_xyz_m[others], atol=1e-12)


def test_reset_on_no_person_and_on_long_gap() -> None:
    stage = LandmarkFilter(OneEuroConfig(max_gap_s=0.5))
    for k in range(10):
        stage(_still_frame(k / 30))
    moved = _still_frame(0.4)
    moved = moved.replace(world_xyz_m=moved.world_xyz_m + 1.0, image_xy=moved.image_xy + 0.1)
    assert not stage(moved).equals(moved)  # a jump while tracking is smoothed
    gone = LandmarkFrame.no_person(0.5, (1280, 720))
    assert stage(gone) is gone  # no-person frames pass through
    back = moved.replace(t_s=0.55)
    assert stage(back).equals(back)  # first frame after the loss: no memory of the old pose
    later = _still_frame(1.2)  # 0.65 s gap > max_gap_s
    assert stage(later).equals(later)


@pytest.mark.parametrize("t_next", [0.1, 0.05, float("nan")])
def test_landmark_filter_rejects_bad_timestamps(t_next: float) -> None:
    stage = LandmarkFilter()
    stage(_still_frame(0.1, frame_index=3))
    with pytest.raises(BridgeError, match=r"timestamp") as err:
        stage(_still_frame(t_next, frame_index=4))
    assert "\n" not in str(err.value)
    if not math.isnan(t_next):
        assert "t=0.100000 s" in str(err.value) and "frame 4" in str(err.value)
    stage.reset()  # an explicit reset forgets the last timestamp
    stage(_still_frame(0.0))


# ------------------------------------------------------------------------------------------- real video


def _hf_rms(x: np.ndarray, fps: float) -> float:
    """RMS of the part of (T, 33, D) above 6 Hz: x minus its zero-phase 4th-order Butterworth low-pass."""
    b, a = butter(4, 6.0 / (fps / 2))
    return float(np.sqrt(np.mean(np.sum((x - filtfilt(b, a, x, axis=0)) ** 2, axis=-1))))


def test_real_video_batch_equals_per_frame_and_reduces_jitter(
    sports2d_tracked: tuple[object, list[LandmarkFrame]],
) -> None:
    _, frames = sports2d_tracked
    assert sum(f.person for f in frames) > 150
    batch = filter_frames(frames)
    stage = LandmarkFilter()
    for f, b in zip(frames, batch, strict=True):
        one = stage(f)
        assert one.equals(b) and one.person == f.person
        if f.person:
            assert np.array_equal(held_landmarks(one), held_landmarks(b))

    # Longest run of tracked frames without gaps: jitter above 6 Hz is at least halved... within tolerance of
    # what the defaults were tuned for (world jitter ratio 0.48 over five clips).
    runs, start = [], None
    for k, f in enumerate([*frames, LandmarkFrame.no_person(1e9, (1, 1))]):
        if f.person and start is None:
            start = k
        elif not f.person and start is not None:
            runs.append((start, k))
            start = None
    s, e = max(runs, key=lambda r: r[1] - r[0])
    assert e - s >= 60
    fps = 1.0 / float(np.median(np.diff([f.t_s for f in frames[s:e]])))
    unheld = LandmarkFilter(OneEuroConfig(min_visibility=0.0))  # no holds: compare filtering alone
    out = [unheld(f) for f in frames[s:e]]
    raw_w = np.array([f.world_xyz_m for f in frames[s:e]])
    out_w = np.array([f.world_xyz_m for f in out])
    ratio = _hf_rms(out_w, fps) / _hf_rms(raw_w, fps)
    assert 0.2 < ratio < 0.65
    raw_i = np.array([f.image_xy for f in frames[s:e]])
    out_i = np.array([f.image_xy for f in out])
    assert _hf_rms(out_i, fps) < 0.7 * _hf_rms(raw_i, fps)
