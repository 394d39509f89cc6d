"""The Open3D viewer: offscreen renders of known poses (geometry, sides, colours, a golden image), receiver mode
fed by a real stream over UDP on 127.0.0.1 (state compared with what the sender solved), garbage datagrams,
the ``bridge view`` command headless and (under Xvfb, when installed) with a window.

Rendering runs on the CPU (Mesa lavapipe through Open3D's Filament Vulkan backend); no display is needed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from bridge.app.status import StatusLine
from bridge.app.stream import StreamConfig, StreamTarget, run_stream
from bridge.core.pose import BonePose
from bridge.core.rig import load_rig
from bridge.output.transport import parse_osc_target
from bridge.viewer.app import pose_world_error, received_layers
from bridge.viewer.receiver import VmcReceiver
from bridge.viewer.render import OffscreenView, background_rgb, foreground_mask
from bridge.viewer.scene import SceneContent, ViewOptions, camera_for, compose, project
from tests.viewer.support import assert_matches_golden, mocap_recording_at, read_rgb, run_bridge_cli

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "view_rest_default.png"
W, H = 320, 240


@pytest.fixture(scope="module")
def view() -> OffscreenView:
    """One offscreen renderer for the module (renderers are bound to the thread that made them)."""
    rig = load_rig()
    v = OffscreenView(W, H, camera_for("side", False, rig.height_m))
    yield v
    v.close()


def _posed(**bones_deg: tuple[str, float]) -> BonePose:
    """The default rig at rest except the given bones, each rotated by (axis, degrees) locally."""
    rest = BonePose.rest(load_rig())
    rots = rest.local_rotations.as_quat()
    for bone, (axis, deg) in bones_deg.items():
        rots[rest.rig.index(bone)] = Rotation.from_euler(axis, deg, degrees=True).as_quat()
    return BonePose(
        t_s=0.0, rig=rest.rig, hips_position_m=rest.hips_position_m, local_rotations=Rotation.from_quat(rots),
        bone_state=rest.bone_state, tracking=True,
    )  # fmt: skip


def _render(view: OffscreenView, pose: BonePose, grid: bool = False) -> np.ndarray:
    return view.render(compose(pose, None, ViewOptions(grid=grid)), hud=False)


def _dominant(image: np.ndarray, channel: int) -> np.ndarray:
    """(H, W) bool: foreground pixels of the rig's right-side red (``channel`` 0) or left-side blue (2).

    Filament's tone mapping washes colours out (blue (0.1, 0.4, 1.0) comes out about (126, 186, 220)), so the
    test is on channel differences; the landmarks' amber and cyan fall in neither class.
    """
    img = image.astype(np.int64)
    r, g, b = img[..., 0], img[..., 1], img[..., 2]
    dom = ((r - b > 60) & (r - g > 40)) if channel == 0 else ((b - r > 60) & (b - g > 15))
    return dom & foreground_mask(image)


def test_tpose_bones_are_drawn_where_they_project(view: OffscreenView) -> None:
    pose = BonePose.rest(load_rig())
    image = _render(view, pose)
    fg = foreground_mask(image)
    joints, _ = pose.world()
    rig = pose.rig
    mids = np.array([(joints[b] + joints[rig.parents[b]]) / 2 for b in range(1, len(rig)) if rig.parents[b] >= 0])
    px = project(mids, view.camera, W, H)
    hits = 0
    for x, y in px:
        xi, yi = int(round(x)), int(round(y))
        hits += bool(fg[max(yi - 2, 0) : yi + 3, max(xi - 2, 0) : xi + 3].any())
    assert hits >= 0.95 * len(px), f"only {hits}/{len(px)} bone midpoints have drawn pixels"
    # Far from the skeleton, nothing is drawn (no grid here): the corners are background.
    assert not fg[:20, :20].any() and not fg[-20:, -20:].any()
    assert 0.005 < fg.mean() < 0.2


def test_left_right_colours_on_their_image_sides(view: OffscreenView) -> None:
    """The avatar faces the camera: its left (blue) appears on the image's right, its right (red) on the left."""
    image = _render(view, BonePose.rest(load_rig()))
    centre_x = project(np.array([[0.0, 1.0, 0.0]]), view.camera, W, H)[0, 0]
    blue_x = np.nonzero(_dominant(image, 2))[1]
    red_x = np.nonzero(_dominant(image, 0))[1]
    assert len(blue_x) > 50 and len(red_x) > 50
    assert np.mean(blue_x > centre_x) > 0.95
    assert np.mean(red_x < centre_x) > 0.95


def test_raised_left_arm_is_on_the_image_right(view: OffscreenView) -> None:
    rig = load_rig()
    # Left arm rests along +X (the avatar's left); +90° about Z turns it to +Y: raised straight up.
    raised = _posed(LeftUpperArm=("z", 90.0))
    joints, _ = raised.world()
    hand_y = joints[rig.index("LeftHand"), 1]
    shoulder_y = joints[rig.index("LeftUpperArm"), 1]
    assert hand_y > shoulder_y + 0.4  # the pose does what this test means
    centre_x, head_y_px = project(np.array([[0.0, rig.height_m, 0.0]]), view.camera, W, H)[0]
    for pose, expect_raised in ((BonePose.rest(rig), False), (raised, True)):
        image = _render(view, pose)
        fg = foreground_mask(image)
        above = fg[: int(head_y_px) - 2]  # rows above the top of the head
        right = int(above[:, int(centre_x) + 5 :].sum())
        left = int(above[:, : int(centre_x) - 5].sum())
        assert left == 0
        if expect_raised:
            assert right > 20
            assert _dominant(image[: int(head_y_px) - 2], 2).sum() > 10  # and it is drawn blue (left side)
        else:
            assert right == 0


def test_rest_render_matches_golden(view: OffscreenView) -> None:
    image = view.render(compose(BonePose.rest(load_rig()), None, ViewOptions()), hud=False)
    assert_matches_golden(image, GOLDEN)


def test_landmarks_side_by_side_and_overlay(view: OffscreenView) -> None:
    """The landmark skeleton (cyan/amber) sits left of the rig side by side, and on it when overlaid."""
    from bridge.testing.synth import frame_from_pose

    pose = BonePose.rest(load_rig())
    lm = frame_from_pose(pose)
    view.set_camera(camera_for("side", True, pose.rig.height_m))
    try:
        image = view.render(compose(pose, lm, ViewOptions(layout="side", grid=False)), hud=False)
        img = image.astype(np.int64)
        r, g, b = img[..., 0], img[..., 1], img[..., 2]
        amber = (r > 200) & (g > 190) & (b < 150)  # (1, 0.75, 0.05) renders about (232, 217, 111)
        cyan = (g > 205) & (b > 195) & (g - r > 30)  # (0.1, 0.95, 0.95) renders about (171, 225, 218)
        assert amber.sum() > 20 and cyan.sum() > 20
        assert np.nonzero(cyan)[1].max() < W / 2 and np.nonzero(amber)[1].max() < W / 2  # landmarks: left half
        assert np.nonzero(_dominant(image, 2))[1].min() > W / 2  # the rig: right half
        over = view.render(compose(pose, lm, ViewOptions(layout="overlay", grid=False)), hud=False)
        xs = np.nonzero(foreground_mask(over))[1]
        assert abs(np.median(xs) - W / 2) < W * 0.1
    finally:
        view.set_camera(camera_for("side", False, pose.rig.height_m))


# ---------------------------------------------------------------------------------------------------------------
# Receiver mode


@pytest.fixture(scope="module")
def mocap_recording(tmp_path_factory: pytest.TempPathFactory, cmu_bvh_dir: Path) -> Path:
    """A bridge recording of real CMU motion capture (01_01, every 4th frame: 60 frames at 30 fps)."""
    return mocap_recording_at(tmp_path_factory.mktemp("viewer") / "mocap_01_01.jsonl", cmu_bvh_dir, 60)


def test_receiver_state_equals_what_the_stream_sent(mocap_recording: Path, view: OffscreenView) -> None:
    sent: list[BonePose] = []
    with VmcReceiver("127.0.0.1", 0, history=1000) as receiver:
        target = StreamTarget(parse_osc_target(f"127.0.0.1:{receiver.port}"), "vmc")
        config = StreamConfig(input_text=str(mocap_recording), targets=(target,), realtime=False, max_rate_hz=0.0)
        stats = run_stream(config, StatusLine(60.0), on_result=lambda r: sent.append(r.pose))
        assert stats.sent == len(sent) == 60
        assert receiver.state.wait_frames(len(sent), timeout_s=5.0)
        counts = receiver.state.counts
        frames = list(receiver.state.history)
    assert counts.malformed_datagrams == counts.malformed_messages == counts.unknown_messages == 0
    assert counts.frames == len(sent)
    assert counts.bone_messages == len(sent) * len(sent[0].rig)
    moved = 0.0
    for got, pose in zip(frames, sent, strict=True):
        assert set(got.bones) == set(pose.rig.bones)
        pos_err, rot_err = pose_world_error(got, pose)
        assert pos_err < 1e-4 and rot_err < 1e-4  # float32 on the wire
        for b, name in enumerate(pose.rig.bones):
            expected = pose.hips_position_m if b == 0 else pose.rig.offsets_m[b]
            np.testing.assert_allclose(got.bones[name].position_m, expected, atol=1e-5)
        moved = max(moved, float(pose.local_rotations.magnitude().max()))
        assert got.tracking == pose.tracking
    assert moved > 0.3  # the clip really moves the rig: the comparison is not rest against rest
    # What arrived renders like what was sent (same camera, same colours).
    last_received = SceneContent(lines=tuple(x for x in received_layers(frames[-1], ViewOptions(grid=False))
                                             if hasattr(x, "lines")),
                                 spheres=tuple(x for x in received_layers(frames[-1], ViewOptions(grid=False))
                                               if hasattr(x, "centres_m")))  # fmt: skip
    a = foreground_mask(view.render(last_received, hud=False))
    b = foreground_mask(view.render(compose(sent[-1], None, ViewOptions(grid=False)), hud=False))
    assert a.sum() > 100 and (a ^ b).sum() < 0.05 * (a | b).sum()


@pytest.mark.parametrize("vmc", [{"bundle": False}, {"bundle": True, "max_datagram_bytes": 600}])
def test_receiver_state_unbundled_and_split_frames(vmc: dict[str, object]) -> None:
    """Senders that do not bundle, or split a frame over several bundles, still give the sent transforms."""
    from bridge.output.vmc import VmcConfig, encode_vmc_frame
    from bridge.viewer.receiver import ReceiverState
    from tests.helpers.osc_receiver import random_pose

    state = ReceiverState(history=100)
    poses = [random_pose(seed, tracking=seed % 2 == 0) for seed in (1, 2, 3)]
    for k, pose in enumerate(poses):
        grams = encode_vmc_frame(pose, 0.1 * k, VmcConfig(**vmc))  # type: ignore[arg-type]
        assert len(grams) > 1
        for gram in grams:
            state.handle_datagram(gram)
    if not vmc["bundle"]:
        state.handle_datagram(encode_vmc_frame(poses[0], 1.0, VmcConfig(bundle=False))[0])  # next frame's OK
    got = state.snapshot() if vmc["bundle"] else state.history[-1]
    pos_err, rot_err = pose_world_error(got, poses[-1])
    assert pos_err < 1e-4 and rot_err < 1e-4
    assert got.tracking == poses[-1].tracking
    assert state.counts.malformed_datagrams == state.counts.unknown_messages == 0
    if not vmc["bundle"]:
        assert state.counts.frames == len(poses)
        for frame, pose in zip(state.history, poses, strict=True):
            assert max(pose_world_error(frame, pose)) < 1e-4


def _osc(address: str, tags: str, *args: object) -> bytes:
    from pythonosc.osc_message_builder import OscMessageBuilder

    builder = OscMessageBuilder(address)
    for tag, arg in zip(tags, args, strict=True):
        builder.add_arg(arg, tag)
    return builder.build().dgram


def test_receiver_survives_garbage() -> None:
    rng = np.random.default_rng(7)
    good_bone = _osc("/VMC/Ext/Bone/Pos", "sfffffff", "Hips", 0.1, 0.9, 0.0, 0.0, 0.0, 0.0, 1.0)
    garbage = [bytes(rng.integers(0, 256, n, dtype=np.uint8)) for n in (1, 7, 64, 1500)] + [
        b"",
        b"/VMC",
        b"#bundle\x00" + b"\x00" * 4,
        b"#bundle\x00" + bytes(8) + b"\x00\x00\x01\x00garbage",
        good_bone[:-5],  # truncated
        _osc("/VMC/Ext/Bone/Pos", "sfff", "Hips", 1.0, 2.0, 3.0),  # too few arguments
        _osc("/VMC/Ext/Bone/Pos", "ssssssss", *"abcdefgh"),  # wrong types
        _osc("/VMC/Ext/Bone/Pos", "sfffffff", "Hips", 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),  # zero quaternion
        _osc("/VMC/Ext/Bone/Pos", "sfffffff", "Hips", float("nan"), 0.0, 0.0, 0.0, 0.0, 0.0, 1.0),
        _osc("/VMC/Ext/Root/Pos", "sf", "root", 1.0),
        _osc("/VMC/Ext/OK", "s", "yes"),
        _osc("/VMC/Ext/T", "s", "now"),
    ]
    unknown = [
        _osc("/VMC/Ext/Bone/Pos", "sfffffff", "Tail", 0.0, 0.1, 0.0, 0.0, 0.0, 0.0, 1.0),
        _osc("/something/else", "i", 3),
    ]
    with VmcReceiver("127.0.0.1", 0) as receiver, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for dgram in garbage + unknown:
            sock.sendto(dgram, ("127.0.0.1", receiver.port))
        sock.sendto(_osc("/VMC/Ext/OK", "iiii", 1, 3, 0, 1), ("127.0.0.1", receiver.port))
        sock.sendto(good_bone, ("127.0.0.1", receiver.port))
        sock.sendto(_osc("/VMC/Ext/T", "f", 1.0), ("127.0.0.1", receiver.port))  # ends the unbundled frame
        deadline = time.monotonic() + 5.0
        while receiver.state.counts.datagrams < len(garbage) + len(unknown) + 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        counts = receiver.state.counts
        snap = receiver.state.snapshot()
        assert receiver._thread.is_alive()
    assert counts.datagrams == len(garbage) + len(unknown) + 3
    assert counts.malformed_datagrams + counts.malformed_messages == len(garbage)
    assert counts.unknown_messages == len(unknown)
    assert counts.bone_messages == 1 and counts.frames == 1
    assert set(snap.bones) == {"Hips"} and snap.tracking is True
    np.testing.assert_allclose(snap.bones["Hips"].position_m, [-0.1, 0.9, 0.0], atol=1e-6)  # Unity → rig: -x


# ---------------------------------------------------------------------------------------------------------------
# The command


@pytest.mark.slow
def test_cli_rig_rest_snapshot_and_animated_recording(tmp_path: Path, mocap_recording: Path) -> None:
    snap = tmp_path / "rest.png"
    done = run_bridge_cli("view", "--rig", "default", "--snapshot", str(snap), "--size", "320x240")
    assert done.returncode == 0, done.stderr
    image = read_rgb(snap)
    assert image.shape == (240, 320, 3) and foreground_mask(image).mean() > 0.01
    out = tmp_path / "frames"
    done = run_bridge_cli("view", "--rig", "default", "--input", str(mocap_recording), "--frames", "5",
                   "--out-dir", str(out), "--size", "320x240", "--layout", "overlay", "--axes")  # fmt: skip
    assert done.returncode == 0, done.stderr
    images = sorted(out.glob("frame_*.png"))
    assert len(images) == 5
    first, last = read_rgb(images[0]), read_rgb(images[-1])
    assert (np.abs(first.astype(int) - last.astype(int)).sum(axis=2) > 60).sum() > 50  # it moves


@pytest.mark.slow
def test_cli_video_through_the_real_tracker(tmp_path: Path, sports2d_video: Path) -> None:
    """A real video through the real model in the tracker process: landmarks on the left, the rig on the right."""
    out = tmp_path / "video"
    done = run_bridge_cli("view", "--input", str(sports2d_video), "--frames", "30", "--out-dir", str(out),
                   "--size", "320x240", "--no-grid")  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    images = sorted(out.glob("frame_*.png"))
    assert len(images) == 30
    both = 0
    for path in images[::3]:
        fg = foreground_mask(read_rgb(path))
        fg[:20] = False  # the status line
        assert fg[:, W // 2 :].sum() > 100  # the rig is always drawn (at rest before anyone is seen)
        both += int(fg[:, : W // 2].sum() > 100)  # the landmarks once the man is tracked
    assert both >= 3


@pytest.mark.slow
def test_cli_listen_draws_what_bridge_stream_sends(tmp_path: Path, mocap_recording: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    snap = tmp_path / "received.png"
    viewer = subprocess.Popen(
        [sys.executable, "-m", "bridge", "view", "--listen", f"127.0.0.1:{port}", "--snapshot", str(snap),
         "--size", "320x240", "--timeout", "60"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while viewer.poll() is None and time.monotonic() < deadline:
            sent = run_bridge_cli("stream", "--input", str(mocap_recording), "--osc", f"127.0.0.1:{port}",
                           "--protocol", "vmc", "--max-frames", "20")  # fmt: skip
            assert sent.returncode == 0, sent.stderr
        _, err = viewer.communicate(timeout=60)
    finally:
        if viewer.poll() is None:
            viewer.kill()
    assert viewer.returncode == 0, err
    image = read_rgb(snap)
    assert foreground_mask(image).mean() > 0.005
    assert "VMC" in err or "listening" in err


@pytest.mark.slow
def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    for args, needle in (
        (["view", "--listen", "nonsense"], "--listen"),
        (["view", "--rig", "default", "--snapshot", str(tmp_path / "x.jpg")], ".png"),
        (["view", "--rig", "no_such_rig", "--snapshot", str(tmp_path / "x.png")], "no_such_rig"),
        (["view", "--listen", "127.0.0.1:1", "--input", "demo"], "exclude"),
    ):
        done = run_bridge_cli(*args)
        assert done.returncode == 2, (args, done.stderr)
        lines = [ln for ln in done.stderr.splitlines() if ln.startswith("bridge: error:")]
        assert len(lines) == 1 and needle in lines[0] and "Traceback" not in done.stderr
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    done = subprocess.run([sys.executable, "-m", "bridge", "view", "--rig", "default"], capture_output=True,
                          text=True, timeout=120, env=env)  # fmt: skip
    assert done.returncode == 2 and "no display" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.slow
def test_receiver_headless_times_out_cleanly(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    snap = tmp_path / "x.png"
    done = run_bridge_cli("view", "--listen", f"127.0.0.1:{port}", "--snapshot", str(snap), "--timeout", "0.5")
    assert done.returncode == 2 and "nothing received" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "x.png").exists()


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="xvfb-run not installed (Debian package xvfb)")
def test_window_mode_under_xvfb(mocap_recording: Path) -> None:
    """The interactive window opens, draws frames from a worker-thread pipeline and closes cleanly."""
    done = subprocess.run(
        ["xvfb-run", "-a", sys.executable, "-m", "bridge", "view", "--input", str(mocap_recording),
         "--frames", "8", "--fast", "--size", "320x240"],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr


def test_background_is_what_the_renderer_draws(view: OffscreenView) -> None:
    """The mask helpers agree with an empty scene: nothing but background."""
    empty = view.render(SceneContent(), hud=False)
    assert not foreground_mask(empty).any()
    assert background_rgb(empty).max() < 40  # a dark background


def _recording_with_hands(path: Path, hands: bool) -> Path:
    """10 frames of the default rig at rest with (or without) both hands curled into fists by the hand model."""
    from bridge.core.hand_face import HandObservation, HandsResult
    from bridge.core.landmarks import PoseLandmark as L
    from bridge.solve.hands import SEGMENTS, hand_landmarks_from_pose
    from bridge.testing.synth import frame_from_pose
    from bridge.tracking.recording import RecordingHeader, RecordingWriter

    rig = load_rig()
    rest = BonePose.rest(rig)
    q = rest.local_rotations.as_quat()
    for side in ("Left", "Right"):
        axis = np.array([0.0, 0.0, -1.0 if side == "Left" else 1.0])
        for f in ("Index", "Middle", "Ring", "Little"):
            for s in SEGMENTS:
                q[rig.index(f"{side}{f}{s}")] = Rotation.from_rotvec(axis * np.radians(80.0)).as_quat()
    fist = BonePose(0.0, rig, rest.hips_position_m, Rotation.from_quat(q), rest.bone_state)
    base = frame_from_pose(rest)
    obs = tuple(
        HandObservation(hand_landmarks_from_pose(fist, side), np.tile(base.image_xy[wrist], (21, 1)), "Left", 0.9)
        for side, wrist in (("Left", L.LEFT_WRIST), ("Right", L.RIGHT_WRIST))
    )
    with RecordingWriter(path, RecordingHeader(source="rest with fists", fps=30.0)) as writer:
        for k in range(10):
            frame = base.replace(t_s=k / 30.0, frame_index=k)
            writer.write(frame.replace(hands=HandsResult(obs)) if hands else frame)
    return path


@pytest.mark.slow
def test_cli_view_draws_the_fingers_the_hand_model_found(tmp_path: Path) -> None:
    """``bridge view --track body,hands,face`` of a recording with hands draws the curled fingers: the image
    differs from the same recording without hands, and only at the ends of the arms (the hands)."""
    images = {}
    for hands in (True, False):
        rec = _recording_with_hands(tmp_path / f"hands_{hands}.jsonl", hands)
        snap = tmp_path / f"hands_{hands}.png"
        done = run_bridge_cli("view", "--input", str(rec), "--track", "body,hands,face", "--snapshot", str(snap),
                       "--size", "640x480", "--layout", "overlay", "--no-grid", "--no-hud")  # fmt: skip
        assert done.returncode == 0, done.stderr
        images[hands] = read_rgb(snap)
    changed = np.abs(images[True].astype(int) - images[False].astype(int)).sum(axis=2) > 60
    assert changed.sum() > 30, "the fingers are not drawn differently when the hands are curled"
    xs = np.nonzero(foreground_mask(images[False]))[1]
    left, right = xs.min(), xs.max()
    cx = np.nonzero(changed)[1]
    outer = (cx < left + 0.2 * (right - left)) | (cx > right - 0.2 * (right - left))
    assert outer.mean() > 0.95, "pixels changed away from the hands"


# ---------------------------------------------------------------------------------------------------------------
# The HUD (issue 17, item 9): the status is wrapped, never cut at the image's edge; a legend names the colours


def _text_pixels(image: np.ndarray, rows: slice) -> np.ndarray:
    """(H', W) bool: the HUD's near-white text pixels in ``rows`` (the scene's colours are darker there)."""
    band = image[rows].astype(np.int64)
    return (band.min(axis=2) > 150) & (np.ptp(band, axis=2) < 40)


def test_long_status_is_wrapped_inside_the_image(view: OffscreenView) -> None:
    status = ("VMC on 127.0.0.1:39539 | tracking | 29.9 fps received | drawn 6 of 60 | frame 60 | 55 bones, "
              "0 blend shapes | ignored: 0 malformed, 0 unknown")  # fmt: skip
    image = view.render(SceneContent(status=status), hud=True)
    text = _text_pixels(image, slice(0, H // 2))
    assert text.sum() > 200
    assert not text[:, -6:].any(), "the status runs into the image's right edge (cut off)"
    rows = np.nonzero(text.any(axis=1))[0]
    assert rows.max() - rows.min() > 20, "the status is not wrapped onto further lines"


def test_legend_names_the_colours_drawn(view: OffscreenView) -> None:
    from bridge.testing.synth import frame_from_pose
    from bridge.viewer.scene import LANDMARK_LEFT, LANDMARK_RIGHT, RIG_LEFT, RIG_RIGHT

    pose = BonePose.rest(load_rig())
    image = view.render(compose(pose, frame_from_pose(pose), ViewOptions(grid=False)), hud=True)
    bottom = image[-H // 4 :].astype(np.int64)
    for colour in (RIG_LEFT, RIG_RIGHT, LANDMARK_LEFT, LANDMARK_RIGHT):
        swatch = np.abs(bottom - np.round(np.asarray(colour) * 255)).sum(axis=2) <= 3  # drawn as is, not lit
        assert swatch.sum() >= 20, f"no legend swatch of colour {colour}"
    assert _text_pixels(image, slice(H - H // 4, H)).sum() > 100  # and its labels
    plain = view.render(compose(pose, None, ViewOptions(grid=False)), hud=True)
    lm = np.abs(plain[-H // 4 :].astype(np.int64) - np.round(np.asarray(LANDMARK_LEFT) * 255)).sum(axis=2) <= 3
    assert lm.sum() == 0  # only what is drawn is named
