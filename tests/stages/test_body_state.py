"""The body-state stage's parts, each against a known answer: the camera model, contacts, plausible legs, the
start-up; and the room conversions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bridge.core import frames as fr
from bridge.core.landmarks import LandmarkFrame, Placement
from bridge.core.landmarks import PoseLandmark as L
from bridge.core.pose import BonePose
from bridge.core.rig import load_rig
from bridge.stages.body_state import EASE_IN_FLAG, STARTING_FLAG, BodyState, BodyStateConfig
from bridge.stages.camera_floor import floor_from_feet
from bridge.stages.camera_model import PinholeCamera, hips_from_image
from bridge.stages.contacts import ContactConfig, detect_contacts, early_landings, latency_s, lead_contacts
from bridge.stages.plausible import knee_against_pelvis_deg, pelvis_forward, plausible_legs
from bridge.testing.synth import frame_from_pose


def test_a_point_at_known_depth_and_pixel_comes_back() -> None:
    cam = PinholeCamera.from_fov((1280, 720), 60.0)
    assert cam.fx_px == pytest.approx(640 / np.tan(np.radians(30)))
    pixel, depth = np.array([1000.0, 200.0]), 3.2
    point = cam.unproject(pixel, depth)
    assert point[2] == depth
    np.testing.assert_allclose(cam.project(point), pixel, atol=1e-9)
    # a point on the optical axis lands on the principal point; a point 1 m right at 1 m depth at fx right of it
    np.testing.assert_allclose(cam.project(np.array([1.0, 0.0, 1.0])), [640 + cam.fx_px, 360])


def test_the_hips_translation_of_a_body_comes_back_from_its_image() -> None:
    cam = PinholeCamera.from_fov((1280, 720), 65.0)
    rng = np.random.default_rng(3)
    body = rng.normal(0.0, 0.4, (33, 3))
    hips = np.array([0.4, -0.3, 3.7])
    pixels = cam.project(body + hips)
    np.testing.assert_allclose(hips_from_image(cam, body, pixels, np.ones(33)), hips, atol=1e-9)
    # a body seen twice as large in metres is twice as far (depth from metric size)
    far = hips_from_image(cam, 2.0 * body, pixels, np.ones(33))
    assert far is not None and far[2] == pytest.approx(2 * hips[2], rel=0.05)
    assert hips_from_image(cam, body, pixels, np.zeros(33)) is None


def test_room_conversion_is_an_inverse_pair_and_levels_a_tilted_camera() -> None:
    tilt = np.radians(20.0)
    up_cam = np.array([0.0, -np.cos(tilt), np.sin(tilt)])  # a camera pitched down 20°: up leans away
    level = fr.level_rotation(up_cam)
    np.testing.assert_allclose(fr.camera_to_room(up_cam, level, 0.0), [0, 1, 0], atol=1e-12)
    pts = np.random.default_rng(1).normal(size=(5, 3))
    np.testing.assert_allclose(fr.room_to_camera(fr.camera_to_room(pts, level, 1.4), level, 1.4), pts, atol=1e-12)
    # the camera itself sits at its height above the floor, straight above the room's origin
    np.testing.assert_allclose(fr.camera_to_room(np.zeros(3), level, 1.4), [0, 1.4, 0])


def test_contacts_of_a_synthetic_walk() -> None:
    """Two feet alternating: each planted (on the floor, still) for 0.4 s, then 0.2 s of swing."""
    fps, n = 60.0, 240
    t = np.arange(n) / fps
    phase = (t[:, None] + np.array([0.0, 0.3])) % 0.6  # the right foot half a cycle later
    swing = phase >= 0.4
    lift = np.where(swing, 0.15 * np.sin(np.pi * (phase - 0.4) / 0.2), 0.0)
    x = np.cumsum(np.where(swing, 1.5 / fps, 0.0), axis=0)  # a foot moves only in swing, at 1.5 m/s
    points = np.stack([x, lift, np.zeros_like(x)], -1)
    planted = detect_contacts(t, lift, points, ContactConfig())
    truth = ~swing
    # away from each switch (the speed window, 0.1 s, and min_frames) the answer is exact
    settled = (np.abs(phase - 0.4) > 0.12) & (np.abs(phase - 0.6) > 0.12) & (phase > 0.12) & (t[:, None] > 0.2)
    assert (planted == truth)[settled].all()
    assert (planted == truth).mean() > 0.75
    assert not planted[swing & (lift > 0.1)].any()
    # a foot that slides along the floor at 1 m/s is on the floor but never planted (the speed decides)
    slide = np.stack([t, np.full(n, 0.01), np.zeros(n)], -1)[:, None]
    assert not detect_contacts(t, np.full((n, 1), 0.01), slide, ContactConfig())[5:].any()


def test_offline_contacts_begin_when_the_foot_lands_not_when_the_live_detector_can_tell() -> None:
    """The live detector finds a landing ``latency_s`` late (min_frames, and a speed measured backwards over its
    window); offline, each contact begins that much earlier, and ends where it did."""
    assert latency_s(ContactConfig(), 1 / 30) == pytest.approx(4 / 30)  # 0.1 s of window and one to confirm
    assert latency_s(ContactConfig(), 1 / 60) == pytest.approx(7 / 60)
    fps, n = 30.0, 180
    t = np.arange(n) / fps
    phase = (t[:, None] + np.array([0.0, 0.5])) % 1.0
    swing = phase >= 0.7  # 0.7 s planted, 0.3 s of swing at 1.5 m/s
    lift = np.where(swing, 0.15 * np.sin(np.pi * (phase - 0.7) / 0.3), 0.0)
    x = np.cumsum(np.where(swing, 1.5 / fps, 0.0), axis=0)
    planted = detect_contacts(t, lift, np.stack([x, lift, np.zeros_like(x)], -1), ContactConfig())
    early = lead_contacts(t, planted, latency_s(ContactConfig(), 1 / fps))

    def starts(flags: np.ndarray, f: int) -> np.ndarray:  # landings after the first swing
        k = np.flatnonzero(np.diff(flags[:, f].astype(int)) > 0) + 1
        return k[k > 10]

    for f in range(2):
        truth = starts(~swing, f)
        late, led = starts(planted, f), starts(early, f)
        assert len(late) == len(led) == len(truth)
        assert (late - truth).min() >= 3  # live: three frames late or more
        assert np.abs(led - truth).max() <= 1  # offline: within a frame
        ends = np.flatnonzero(np.diff(planted[:, f].astype(int)) < 0)
        np.testing.assert_array_equal(np.flatnonzero(np.diff(early[:, f].astype(int)) < 0), ends)
    assert not early[swing & (lift > 0.1)].any()


def test_offline_a_landing_stands_on_its_surface_from_when_the_foot_lands() -> None:
    """A jump found by the live detector: 10 frames in the air (lift 0.3 m), then 4 frames it could not yet tell
    (the foot down, its height misread 0.12 m up), then planted with lift 0 (and, later, on a 0.4 m box). Offline,
    those 4 frames stand on the contact's surface; the flight before them, the planted frames and a landing on
    the box keep their lift (the box's frames before it are not lowered below it)."""
    fps = 30.0
    lead = round(latency_s(ContactConfig(), 1 / fps) * fps)
    lifts = [0.3] * 10 + [0.12] * lead + [0.0] * 8 + [0.6] * 10 + [0.45] * lead + [0.4] * 8
    planted = [False] * (10 + lead) + [True] * 8 + [False] * (10 + lead) + [True] * 8
    frames = []
    for k, (lift, both) in enumerate(zip(lifts, planted, strict=True)):
        frame = LandmarkFrame.no_person(k / fps, (640, 360), k).replace(person=True)
        frames.append(frame.replace(placement=Placement(np.zeros(3), lift_m=lift, planted=(both, both))))
    out = [f.placement.lift_m for f in early_landings(frames, ContactConfig()) if f.placement is not None]
    expected = [0.3] * 10 + [0.0] * lead + [0.0] * 8 + [0.6] * 10 + [0.4] * lead + [0.4] * 8
    np.testing.assert_allclose(out, expected)
    assert [f.placement.planted for f in early_landings(frames, ContactConfig())] == [
        f.placement.planted for f in frames
    ]  # the flags are early_contacts' to change


def _standing(knee_forward_m: float) -> np.ndarray:
    """World landmarks of a person facing the camera, knees bent by ``knee_forward_m`` toward the camera."""
    xyz = np.array(frame_from_pose(BonePose.rest(load_rig("default"))).world_xyz_m, dtype=np.float64)
    for knee in (L.LEFT_KNEE, L.RIGHT_KNEE):
        xyz[knee, 2] -= knee_forward_m  # MediaPipe z away from the camera: toward it is −z
    return xyz


def test_a_depth_mirrored_knee_is_corrected() -> None:
    good = _standing(0.12)
    bad = good.copy()
    bad[L.LEFT_KNEE, 2] = good[L.LEFT_HIP, 2] + (good[L.LEFT_HIP, 2] - good[L.LEFT_KNEE, 2])  # bends backwards
    up = 0.5 * (bad[L.LEFT_SHOULDER] + bad[L.RIGHT_SHOULDER]) - 0.5 * (bad[L.LEFT_HIP] + bad[L.RIGHT_HIP])
    fwd = pelvis_forward(bad[L.LEFT_HIP], bad[L.RIGHT_HIP], up)
    angle, flexion = knee_against_pelvis_deg(bad[L.LEFT_HIP], bad[L.LEFT_KNEE], bad[L.LEFT_ANKLE], fwd)
    assert flexion > 15 and angle > 150  # the backwards knee is seen as such
    fixed, bends, changed = plausible_legs(bad)
    assert changed == (1, 0)
    np.testing.assert_allclose(fixed[L.LEFT_KNEE], good[L.LEFT_KNEE], atol=1e-3)
    angle, _ = knee_against_pelvis_deg(fixed[L.LEFT_HIP], fixed[L.LEFT_KNEE], fixed[L.LEFT_ANKLE], fwd)
    assert angle < 30
    np.testing.assert_allclose(plausible_legs(good)[0], good)  # a plausible body is left alone


def _frame(t: float, xyz: np.ndarray, vis: float = 0.95) -> LandmarkFrame:
    cam = PinholeCamera.from_fov((640, 480), 65.0)
    image = cam.project(xyz + np.array([0.0, 0.0, 3.0])) / np.array([640.0, 480.0])
    return LandmarkFrame(t, xyz, image, np.full(33, vis), np.ones(33), (640, 480))


def test_no_pose_until_a_confident_start_then_it_eases_in() -> None:
    stage = BodyState(BodyStateConfig(startup_frames=3, ease_in_s=0.1))
    xyz = _standing(0.05)
    out = [stage(_frame(k / 30, xyz, vis=0.3 if k < 4 else 0.95)) for k in range(12)]
    assert not any(f.person for f in out[:6]) and all(f.flags.get(STARTING_FLAG) for f in out[:6])
    assert out[6].person and out[6].flags[EASE_IN_FLAG] == 0.0
    assert out[-1].flags[EASE_IN_FLAG] == 1.0 and out[-1].placement is not None
    # 3 m in front of a level camera: the hips are 3 m from it, and the feet on the floor
    assert out[-1].placement.hips_m[2] == pytest.approx(-3.0, abs=0.05)
    assert out[-1].placement.lift_m == pytest.approx(0.0, abs=0.01)


def test_offline_starts_at_the_first_frame_of_the_confident_streak() -> None:
    """Live, the person is published once ``startup_frames`` confident frames in a row were seen (frame 6 here);
    offline the whole clip is known, so the streak's first frame (4) is published, and after the person is lost
    for over a second the restart's first frame too (a runner held back six frames had moved on 85 cm)."""
    xyz = _standing(0.05)
    vis = [0.3 if k < 4 else 0.95 for k in range(20)] + [0.95] * 20
    frames = [_frame(k / 30, xyz, vis=v) for k, v in enumerate(vis)]
    later = [f.t_s for f in frames[20:]]  # nobody for 20 frames (over a second after the last), then a restart
    frames = frames[:20] + [LandmarkFrame.no_person(t + 0.7, (640, 480)) for t in later]
    frames += [_frame(t + 1.4, xyz) for t in later]
    config = BodyStateConfig(startup_frames=3, restart_frames=3)
    stage = BodyState(config)
    live = [stage(f).person for f in frames]
    offline = [f.person for f in BodyState(config).offline(frames)]
    assert live.index(True) == 6 and offline.index(True) == 4
    assert live[40:].index(True) == 2 and offline[40:].index(True) == 0
    assert offline[4:20] == [True] * 16 and not any(offline[20:40])
    placed = BodyState(config).offline(frames)[4].placement
    assert placed is not None and placed.hips_m[2] == pytest.approx(-3.0, abs=0.05)


def test_offline_gives_the_person_one_size_over_the_whole_clip() -> None:
    """A person standing 3 m away whose metric size MediaPipe gets 25 % too large on the first 30 frames and
    right on the next 90: live, the first frames' depth comes from the sizes seen so far (too far); offline
    from the clip's median size, so they stand where the rest of the clip does."""
    xyz = _standing(0.05)
    frames = []
    for k in range(120):
        f = _frame(k / 30, xyz)
        frames.append(f.replace(world_xyz_m=xyz * (1.25 if k < 30 else 1.0)))
    config = BodyStateConfig(startup_frames=3)
    stage = BodyState(config)
    live = [stage(f).placement for f in frames]
    offline = [f.placement for f in BodyState(config).offline(frames)]
    live_m, offline_m = ([-float(p.hips_m[2]) if p else math.nan for p in ps] for ps in (live, offline))
    assert live_m[10] > 3.5  # 25 % too far
    assert offline_m[10] == pytest.approx(3.0, abs=0.05) and offline_m[100] == pytest.approx(3.0, abs=0.05)


def test_planted_feet_are_found_from_the_image_while_the_depth_guess_wavers() -> None:
    """A person standing still whose metric shape wavers from frame to frame (so the depth of the body, from its
    size, wavers by decimetres, as a single camera's does): both feet are planted. Then the left foot slides
    across the image at 1 m/s: it is not planted, the right one still is."""
    rng = np.random.default_rng(3)
    cam = PinholeCamera.from_fov((640, 480), 65.0)
    still = _standing(0.05)
    feet = [L.LEFT_ANKLE, L.LEFT_HEEL, L.LEFT_FOOT_INDEX]
    stage = BodyState(BodyStateConfig(startup_frames=3, startup_turn_deg=180.0))  # the wavering turns the pelvis
    out = []
    for k in range(60):
        xyz = still.copy()
        if k >= 40:
            xyz[feet, 0] += (k - 40) / 30.0  # 1 m/s to the image's right, on the floor
        image = cam.project(xyz + np.array([0.0, 0.0, 3.0])) / np.array([640.0, 480.0])
        shape = xyz * (1.0 + rng.normal(0.0, 0.05, (33, 1)))  # MediaPipe's metric shape wavers,
        shape[:, 2] = xyz[:, 2] + rng.normal(0.0, 0.1, 33)  # its depth the most
        out.append(stage(LandmarkFrame(k / 30, shape, image, np.full(33, 0.95), np.ones(33), (640, 480))))
    depth = np.array([f.placement.hips_m[2] for f in out[5:40] if f.placement is not None])
    assert np.std(depth) > 0.03  # the depth guess wavers by centimetres a frame...
    planted = np.array([f.placement.planted for f in out[5:] if f.placement is not None])
    assert planted[:35].all()  # ...and both feet standing still are planted throughout
    assert not planted[-15:, 0].any() and planted[-15:, 1].all()  # the sliding foot is not, the other still is


def test_the_floor_comes_back_from_feet_whose_depth_wavers() -> None:
    """Feet on the floor 2.5–6 m in front of a camera 1.3 m up, tilted 8° down, their depths off by 6 % a frame
    and a third of the frames in the air: the floor's tilt and the camera's height come back; feet all at one
    distance say nothing about the tilt (None)."""
    rng = np.random.default_rng(5)
    tilt = np.radians(8.0)
    up = np.array([0.0, -np.cos(tilt), -np.sin(tilt)])  # camera frame (y down): the room's up, camera pitched down
    n = 300
    depth_room = rng.uniform(2.5, 6.0, n)
    across = rng.uniform(-1.0, 1.0, n)
    lift = np.where(rng.random(n) < 0.33, rng.uniform(0.1, 0.5, n), 0.0)  # jumps
    forward = np.cross(up, np.array([1.0, 0.0, 0.0]))  # the floor's forward direction in the camera frame
    points = (
        across[:, None] * np.array([1.0, 0.0, 0.0]) + depth_room[:, None] * forward + (lift - 1.3)[:, None] * up
    )
    points *= (1.0 + rng.normal(0.0, 0.06, n))[:, None]  # the depth from the body's size wavers (along the ray)
    fit = floor_from_feet(points, np.array([0.0, -1.0, 0.0]))
    assert fit is not None
    assert np.degrees(np.arccos(fit[0] @ up)) < 1.5 and fit[1] == pytest.approx(1.3, rel=0.1)
    one_spot = points / points[:, 2:3] * 4.0  # every foot at 4 m: one row of the image
    one_spot[:, 1] = one_spot[0, 1]
    assert floor_from_feet(one_spot, np.array([0.0, -1.0, 0.0])) is None


def test_a_person_on_a_box_most_of_the_clip_does_not_lift_the_floor() -> None:
    """A level camera 1.2 m up; the feet 5.0–5.6 m away (too little spread of depth to fit the floor's tilt),
    a third of the frames on the floor, the rest on a 0.7 m box, depths off by 4 % a frame; the 24 frames that
    look like standing lean 15° toward the camera (a climber). The camera's height over the floor comes back
    within the tilt those frames still leave (the median foot, on the box, said 0.5 m; believing the lean, 1.9)."""
    from collections import deque

    from bridge.stages.camera_floor import CameraFloor

    rng = np.random.default_rng(7)
    n = 270
    depth = rng.uniform(5.0, 5.6, n)
    on_box = np.arange(n) >= n // 3
    points = np.stack([rng.uniform(-0.3, 0.3, n), 1.2 - 0.7 * on_box, depth], axis=1)  # camera frame, y down
    points *= (1.0 + rng.normal(0.0, 0.04, n))[:, None]
    lean = np.radians(15.0)
    up_sum = 24 * np.array([0.0, -np.cos(lean), -np.sin(lean)])
    camera = CameraFloor(up_sum=up_sum, feet=deque(points, maxlen=600), fixed=True)
    assert camera.height_m() == pytest.approx(1.2, abs=0.25)
    level = CameraFloor(feet=deque(points, maxlen=600), fixed=True)  # no standing frame: the camera level
    assert level.height_m() == pytest.approx(1.2, abs=0.05)


def test_feet_planted_on_the_floor_but_measured_above_it_stand_on_the_floor() -> None:
    """A standing person 7 m from a low camera: the feet's measured heights over the floor are 10–14 cm (depth
    error), both planted. The body stands on the floor (lift 0), not on what the camera measured; a planted
    foot that then rises more than the contact height above where it landed leaves the ground; one planted
    20 cm up (over ``step_m``) stands on that step."""
    state = BodyState(BodyStateConfig())
    both = np.array([True, True])
    rng = np.random.default_rng(3)
    lifts = [state._lift(both, np.full(2, 0.12) + rng.uniform(-0.02, 0.02, 2)) for _ in range(20)]
    assert max(lifts) == 0.0
    rising = state._lift(both, np.full(2, 0.10 + state.config.contact.height_m + 0.05))
    assert rising > 0.15
    state = BodyState(BodyStateConfig())
    assert state._lift(both, np.full(2, 0.20)) == pytest.approx(0.20)
    assert state._lift(np.array([False, False]), np.full(2, 0.12)) == pytest.approx(0.12)


def test_a_triangulated_placement_is_kept_and_its_feet_say_which_are_planted() -> None:
    """Several calibrated cameras placed the body (:mod:`bridge.multiview.fuse`: metric landmarks, the hips over
    the calibrated floor): the stage keeps that placement (one camera's model would put the body where its image
    and size say: here 3 m away, not 2.2 m and 0.4 m to the side), finds both feet planted while the body stands,
    and the left foot not planted while it swings through the air at 1 m/s."""
    still = _standing(0.05)
    rel = fr.camera_to_room(still, np.eye(3), 0.0)
    standing_hips = -min(rel[i][1] for i in (L.LEFT_HEEL, L.RIGHT_HEEL, L.LEFT_FOOT_INDEX, L.RIGHT_FOOT_INDEX))
    stage = BodyState(BodyStateConfig(startup_frames=3))
    out = []
    feet = [L.LEFT_ANKLE, L.LEFT_HEEL, L.LEFT_FOOT_INDEX, L.LEFT_KNEE]
    for k in range(60):
        xyz = still.copy()
        if k >= 40:
            xyz[feet, 2] -= (k - 40) / 30.0  # toward the camera at 1 m/s...
            xyz[feet, 1] -= 0.2  # ...20 cm off the floor
        hips = np.array([0.4, standing_hips, -2.2])
        frame = _frame(k / 30, xyz).replace(placement=Placement(hips, source="triangulated"))
        out.append(stage(frame))
    placed = [f.placement for f in out[5:] if f.placement is not None]
    assert len(placed) == 55 and all(p.source == "triangulated" for p in placed)
    np.testing.assert_allclose(placed[0].hips_m, [0.4, standing_hips, -2.2])
    assert placed[0].lift_m == pytest.approx(0.0, abs=0.01)
    planted = np.array([p.planted for p in placed])
    assert planted[:35].all()  # standing: both feet planted
    assert not planted[-15:, 0].any() and planted[-15:, 1].all()  # the swinging foot is not, the other is
