"""Left/right flip repair on real motion: CMU mocap seen by a virtual camera, and MediaPipe on real videos."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from bridge.core.errors import BridgeError
from bridge.core.landmarks import NUM_LANDMARKS, SWAP_LEFT_RIGHT, LandmarkFrame, PoseLandmark
from bridge.export.bvh_file import read_bvh
from bridge.stages.flips import SWAPPED_FLAG, FlipRepair, FlipRepairConfig, repair_flips, swap_left_right
from bridge.testing.mocap import MocapLandmarks, mocap_landmarks, to_landmark_frames

L = PoseLandmark


@pytest.fixture(scope="module")
def walk_turn(cmu_bvh_dir: Path) -> MocapLandmarks:
    """CMU 01_01 at 30 fps from frame 4 (frame 0 is a T-pose): it contains two real 180° turns."""
    return mocap_landmarks(read_bvh(cmu_bvh_dir / "01_01.bvh"), camera_yaw_deg=0.0, frames=slice(4, None, 4))


def _corrupt(frames: list[LandmarkFrame], swapped: np.ndarray) -> list[LandmarkFrame]:
    """MediaPipe-style flips: left and right exchanged on the frames where ``swapped`` is True."""
    return [swap_left_right(f) if s else f for f, s in zip(frames, swapped, strict=True)]


def _flags(frames: list[LandmarkFrame]) -> np.ndarray:
    return np.array([bool(f.flags.get(SWAPPED_FLAG, False)) for f in frames])


def _hip_yaw_deg(world_xyz_m: np.ndarray) -> np.ndarray:
    """(T,) unwrapped heading of the hip line (left hip − right hip) about the vertical, degrees."""
    lr = world_xyz_m[:, L.LEFT_HIP] - world_xyz_m[:, L.RIGHT_HIP]
    return np.degrees(np.unwrap(np.arctan2(lr[:, 2], lr[:, 0])))


def test_swap_left_right_is_an_involution_on_every_field() -> None:
    rng = np.random.default_rng(3)
    f = LandmarkFrame(
        0.0,
        rng.normal(size=(33, 3)),
        rng.uniform(size=(33, 2)),
        rng.uniform(size=33),
        rng.uniform(size=33),
        (64, 48),
    )
    s = swap_left_right(f)
    assert np.array_equal(s.world_xyz_m[L.LEFT_KNEE], f.world_xyz_m[L.RIGHT_KNEE])
    assert np.array_equal(s.visibility[L.RIGHT_EYE], f.visibility[L.LEFT_EYE])
    assert np.array_equal(s.presence[L.NOSE], f.presence[L.NOSE])
    assert swap_left_right(s).equals(f)


@pytest.mark.parametrize("yaw_deg", [0.0, 90.0, 180.0])
def test_swapped_stretch_is_repaired_exactly_and_flagged(cmu_bvh_dir: Path, yaw_deg: float) -> None:
    """30 swapped frames (1 s) come out equal to the unswapped input and flagged on exactly those frames."""
    m = mocap_landmarks(read_bvh(cmu_bvh_dir / "01_01.bvh"), camera_yaw_deg=yaw_deg, frames=slice(4, 1604, 4))
    truth = to_landmark_frames(m)
    swapped = np.zeros(len(truth), dtype=bool)
    swapped[150:180] = True
    out = repair_flips(_corrupt(truth, swapped))
    assert np.array_equal(_flags(out), swapped)
    for o, t in zip(out, truth, strict=True):
        assert o.equals(t)  # exact: positions, image points, visibility, presence


def test_stretches_during_real_turns_and_boxing_are_repaired(walk_turn: MocapLandmarks, cmu_bvh_dir: Path) -> None:
    """Flips of 1 to 25 frames anywhere, including inside the subject's turns (01_01) and boxing."""
    boxing = mocap_landmarks(
        read_bvh(cmu_bvh_dir / "Boxing_Toes.bvh"), camera_yaw_deg=45.0, frames=slice(0, None, 4)
    )
    for m in (walk_turn, boxing):
        truth = to_landmark_frames(m)
        swapped = np.zeros(len(truth), dtype=bool)
        rng = np.random.default_rng(11)
        for start in range(10, len(truth) - 30, 40):
            swapped[start : start + int(rng.integers(1, 26))] = True
        out = repair_flips(_corrupt(truth, swapped))
        assert np.array_equal(_flags(out), swapped)
        assert all(o.equals(t) for o, t in zip(out, truth, strict=True))


def test_real_turns_are_not_flips(walk_turn: MocapLandmarks, cmu_bvh_dir: Path) -> None:
    yaw = _hip_yaw_deg(walk_turn.world_xyz_m)
    # The clip really turns: the hip line's heading changes by more than 150° within 1.5 s, twice.
    k = int(1.5 * 30)
    turning = np.abs(yaw[k:] - yaw[:-k]) > 150
    assert turning.any()
    starts = np.flatnonzero(np.diff(turning.astype(int)) == 1)
    assert len(starts) >= 2
    for m in (
        walk_turn,
        mocap_landmarks(read_bvh(cmu_bvh_dir / "01_03.bvh"), camera_yaw_deg=90.0, frames=slice(4, None, 4)),
        mocap_landmarks(read_bvh(cmu_bvh_dir / "Boxing_Toes.bvh"), camera_yaw_deg=180.0, frames=slice(0, None, 4)),
    ):
        out = repair_flips(to_landmark_frames(m))
        assert not _flags(out).any(), m.source


@pytest.mark.parametrize("turn_s", [1.0, 0.5, 0.25])
def test_synthetic_fast_turn_is_not_a_flip(walk_turn: MocapLandmarks, turn_s: float) -> None:
    """The subject spins 180° about the vertical axis through the hips within ``turn_s``, on top of walking."""
    sl = slice(60, 150)  # 3 s of walking
    t = walk_turn.t_s[sl] - walk_turn.t_s[sl][0]
    yaw = np.clip((t - 1.0) / turn_s, 0.0, 1.0) * 180.0
    turn = Rotation.from_euler("y", yaw[:, None], degrees=True).as_matrix()  # MediaPipe y is vertical
    world = np.einsum("tij,tkj->tki", turn, walk_turn.world_xyz_m[sl])
    image = walk_turn.camera.project(world + walk_turn.hips_camera_m[sl][:, None, :])
    frames = [
        LandmarkFrame(float(walk_turn.t_s[sl][k]), world[k], image[k], np.ones(33), np.ones(33), (1280, 720))
        for k in range(len(t))
    ]
    # The spin really exchanges the sides: at the end, the left hip is where the right hip started, roughly.
    assert np.sign(world[-1, L.LEFT_HIP, 0]) != np.sign(world[0, L.LEFT_HIP, 0])
    out = repair_flips(frames)
    assert not _flags(out).any()
    assert all(o.equals(f) for o, f in zip(out, frames, strict=True))


def test_single_frame_flips_are_repaired(walk_turn: MocapLandmarks) -> None:
    truth = to_landmark_frames(walk_turn)[:400]
    swapped = np.zeros(len(truth), dtype=bool)
    swapped[[20, 57, 58, 100, 102, 250, 399]] = True  # isolated frames, a pair, frames 2 apart, the last one
    out = repair_flips(_corrupt(truth, swapped))
    assert np.array_equal(_flags(out), swapped)
    assert all(o.equals(t) for o, t in zip(out, truth, strict=True))


def test_flip_at_start_of_tracking_is_a_known_limitation(walk_turn: MocapLandmarks) -> None:
    """Swapped from the first frame: nothing to compare with, so it passes unseen; when MediaPipe corrects
    itself the stage takes that for a flip and swaps the correct frames until ``max_flip_s``, then gives up."""
    fps = 30.0
    cfg = FlipRepairConfig(max_flip_s=0.5)
    truth = to_landmark_frames(walk_turn)[:120]
    swapped = np.zeros(len(truth), dtype=bool)
    swapped[:10] = True
    out = repair_flips(_corrupt(truth, swapped), cfg)
    flags = _flags(out)
    assert not flags[:10].any()  # the swapped start is not seen ...
    assert all(o.equals(swap_left_right(t)) for o, t in zip(out[:10], truth[:10], strict=True))
    wrong = np.flatnonzero(flags)  # ... and the correct frames after it are swapped for max_flip_s
    assert wrong[0] == 10 and np.array_equal(wrong, np.arange(10, 10 + len(wrong)))
    assert abs(len(wrong) - cfg.max_flip_s * fps) <= 1
    assert all(o.equals(t) for o, t in zip(out[wrong[-1] + 1 :], truth[wrong[-1] + 1 :], strict=True))
    # The same flip starting one frame later is caught.
    swapped[0] = False
    out = repair_flips(_corrupt(truth, swapped), cfg)
    assert np.array_equal(_flags(out), swapped)


def test_tracking_loss_resets(walk_turn: MocapLandmarks) -> None:
    truth = to_landmark_frames(walk_turn)[:90]
    size = truth[0].image_size
    swapped = np.zeros(len(truth), dtype=bool)
    swapped[30:40] = True
    frames = _corrupt(truth, swapped)
    frames[35] = LandmarkFrame.no_person(frames[35].t_s, size, frames[35].frame_index)
    out = repair_flips(frames)
    assert out[35] is frames[35]
    flags = _flags(out)
    assert flags[30:35].all()  # repaired before the loss
    assert not flags[36:40].any()  # after it the history is gone: the first frame is taken as given
    # A long gap is a loss too.
    stage = FlipRepair(FlipRepairConfig(max_gap_s=0.5))
    for f in truth[:20]:
        stage(f)
    late = swap_left_right(truth[20]).replace(t_s=truth[19].t_s + 0.6)
    assert not stage(late).flags[SWAPPED_FLAG]
    assert stage(swap_left_right(truth[21]).replace(t_s=late.t_s + 1 / 30)).flags[SWAPPED_FLAG] is False


@pytest.mark.parametrize("t_next", [0.2, 0.1, math.nan])
def test_bad_timestamps_rejected(walk_turn: MocapLandmarks, t_next: float) -> None:
    f = to_landmark_frames(walk_turn)[0]
    stage = FlipRepair()
    stage(f.replace(t_s=0.2))
    with pytest.raises(BridgeError, match="timestamps must increase") as err:
        stage(f.replace(t_s=t_next))
    assert "\n" not in str(err.value)


def test_low_visibility_does_not_decide(walk_turn: MocapLandmarks) -> None:
    """Occluded landmarks (visibility 0.05) may be anywhere: a flip of the visible ones still wins."""
    truth = to_landmark_frames(walk_turn)[:80]
    rng = np.random.default_rng(5)
    hidden = [L.LEFT_WRIST, L.RIGHT_WRIST, L.LEFT_PINKY, L.RIGHT_PINKY, L.LEFT_INDEX, L.RIGHT_INDEX]
    noisy = []
    for f in truth:
        vis = f.visibility.copy()
        vis[hidden] = 0.05
        world = f.world_xyz_m.copy()
        world[hidden] += rng.normal(0, 0.3, (len(hidden), 3))
        noisy.append(f.replace(visibility=vis, world_xyz_m=world))
    swapped = np.zeros(len(noisy), dtype=bool)
    swapped[40:55] = True
    out = repair_flips(_corrupt(noisy, swapped))
    assert np.array_equal(_flags(out), swapped)
    assert all(o.equals(n) for o, n in zip(out, noisy, strict=True))


# ------------------------------------------------------------------------------------------ real videos


@pytest.fixture(scope="module")
def cam02_tracked(pose2sim_videos: list[Path]) -> list[LandmarkFrame]:
    """MediaPipe on Pose2Sim cam02 (100 frames, 60 fps): the man faces the camera and MediaPipe flips often."""
    from bridge.tracking.process import track_video_inprocess

    video = next(v for v in pose2sim_videos if v.name == "cam02.mp4")
    _, frames = track_video_inprocess(video)
    return frames


def _shoulder_order_truth(frames: list[LandmarkFrame]) -> dict[int, bool]:
    """For a person facing the camera: is the frame flipped (left shoulder left of the right one in the image)?
    Only frames where the shoulders are more than 1 % of the image width apart."""
    out = {}
    for k, f in enumerate(frames):
        dx = f.image_xy[L.LEFT_SHOULDER, 0] - f.image_xy[L.RIGHT_SHOULDER, 0]
        if f.person and abs(dx) > 0.01:
            out[k] = bool(dx < 0)
    return out


@pytest.mark.slow
def test_real_flips_on_pose2sim_cam02(cam02_tracked: list[LandmarkFrame]) -> None:
    frames = cam02_tracked
    assert len(frames) == 100 and all(f.person for f in frames)
    truth = _shoulder_order_truth(frames)
    assert sum(truth.values()) >= 15  # MediaPipe really flips on this clip
    out = repair_flips(frames)
    flags = _flags(out)
    agree = sum(flags[k] == v for k, v in truth.items())
    assert agree >= 0.93 * len(truth)
    assert flags[48:64].all()  # the long flipped stretch
    # After the repair the shoulders are in the right order on (nearly) every decisive frame.
    repaired = _shoulder_order_truth(out)
    assert sum(repaired.values()) <= 0.07 * len(repaired)


def test_real_flips_on_sports2d_demo(sports2d_tracked: tuple[object, list[LandmarkFrame]]) -> None:
    _, frames = sports2d_tracked
    out = repair_flips(frames)
    flagged = np.flatnonzero(_flags(out))
    # The man facing the camera while jumping off the box (frames 5–140): flips only mid-jump, all caught.
    truth = {k: v for k, v in _shoulder_order_truth(frames).items() if 5 <= k < 140}
    assert 3 <= sum(truth.values()) <= 10
    assert all(_flags(out)[k] == v for k, v in truth.items())
    assert len(flagged) <= 10
    assert all(o.person == f.person for o, f in zip(out, frames, strict=True))


def test_swap_permutation_matches_names() -> None:
    """The repair's permutation exchanges named twins (guards the module's use of SWAP_LEFT_RIGHT)."""
    assert SWAP_LEFT_RIGHT[L.LEFT_HEEL] == L.RIGHT_HEEL and SWAP_LEFT_RIGHT[L.NOSE] == L.NOSE
    assert len(SWAP_LEFT_RIGHT) == NUM_LANDMARKS


@pytest.mark.slow
def test_a_rendered_run_toward_the_camera_is_not_taken_for_flips(tmp_path: Path) -> None:
    """DeepMimic ``run`` rendered toward the camera (the render's labels are the truth's; MediaPipe keeps them on
    nearly every frame): the legs and arms swing past each other at every stride, and with the limbs weighted as
    the face and trunk the repair took 39 of the 60 frames for flips and exchanged the legs."""
    from bridge.testing.deepmimic import deepmimic_clips
    from bridge.testing.render import ClipSpec
    from bridge.tracking.process import track_video_inprocess
    from tests.helpers.render_child import render_in_child

    if "run" not in deepmimic_clips():
        pytest.skip("pybullet (its DeepMimic clips) not installed")
    video, _ = render_in_child(ClipSpec("deepmimic:run", duration_s=2.0), tmp_path)
    _, frames = track_video_inprocess(video)
    assert sum(f.person for f in frames) >= 55
    flags = _flags(repair_flips(frames))
    assert flags.sum() <= 6
    assert _flags(repair_flips(frames, FlipRepairConfig(limb_weight=1.0))).sum() > 20  # the weight is the fix
