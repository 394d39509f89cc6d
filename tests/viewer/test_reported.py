"""What users hit at once in ``bridge view`` (issue 17, item 9), each checked the way they met it: the rate
meter of ``--listen`` (it showed "29000000000.0 fps" when frames arrived together), ``--listen --out-dir``
drawing every frame a stream sends (it drew 6 of 60), ``--snapshot`` of an input whose last frames have nobody
in them (it drew the empty last frame) and ``--at SECONDS``. The HUD's wrapping and the colour legend are
checked on renders in test_app.py.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from bridge.core.pose import BonePose
from bridge.core.rig import load_rig
from bridge.output.vmc import VmcConfig, encode_vmc_frame
from bridge.viewer.feeds import ReceiverFeed
from tests.viewer.support import mocap_recording_at, read_rgb, run_bridge_cli, wait_listening

W, H = 320, 240


def _fps(status: str) -> float:
    match = re.search(r"\| ([\d.]+|-) fps", status)
    assert match, status
    return 0.0 if match.group(1) == "-" else float(match.group(1))


def test_receiver_rate_counts_frames_that_arrive_together() -> None:
    """60 frames arrive while the viewer is busy (a software render takes that long): the next status gives
    their rate over the time they took, not 29 frames over a zero interval."""
    pose = BonePose.rest(load_rig())
    feed = ReceiverFeed("127.0.0.1", 0)
    feed.start()
    try:
        port = feed.receiver.port
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(encode_vmc_frame(pose, 0.0, VmcConfig())[0], ("127.0.0.1", port))
            first = feed.next(5.0)
            assert first is not None
            t0 = time.monotonic()
            for k in range(60):
                sock.sendto(encode_vmc_frame(pose, (k + 1) / 60, VmcConfig())[0], ("127.0.0.1", port))
                time.sleep(0.005)
            assert feed.receiver.state.wait_frames(61, 5.0)
            elapsed = time.monotonic() - t0
            item = feed.next(1.0)
        assert item is not None
        fps = _fps(item.status)
        assert 0 < fps <= 61 / (elapsed * 0.5), item.status  # no faster than the frames were sent (with slack)
    finally:
        feed.close()


@pytest.mark.slow
def test_listen_out_dir_draws_every_frame_the_stream_sends(tmp_path: Path, cmu_bvh_dir: Path) -> None:
    """``bridge view --listen … --out-dir DIR`` while ``bridge stream`` sends 30 frames at 30 fps, with the
    default CPU budget: one image per frame sent, in order."""
    recording = mocap_recording_at(tmp_path / "rec.jsonl", cmu_bvh_dir, 30)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "frames"
    viewer = subprocess.Popen(
        [sys.executable, "-m", "bridge", "view", "--listen", f"127.0.0.1:{port}", "--out-dir", str(out),
         "--frames", "30", "--size", f"{W}x{H}", "--timeout", "30"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_listening(port, viewer)
        sent = run_bridge_cli(
            "stream", "--input", str(recording), "--osc", f"127.0.0.1:{port}", "--protocol", "vmc"
        )
        assert sent.returncode == 0, sent.stderr
        _, err = viewer.communicate(timeout=120)
    finally:
        if viewer.poll() is None:
            viewer.kill()
    assert viewer.returncode == 0, err
    # Under load the stream's 60 Hz rate cap may skip a frame that arrives right after another: count the sent.
    n_sent = int(re.search(r"(\d+) sent", sent.stderr).group(1))  # type: ignore[union-attr]
    assert n_sent >= 25, sent.stderr
    images = sorted(out.glob("frame_*.png"))
    assert len(images) == n_sent, err
    assert f"drew {n_sent} frame" in err
    first, last = read_rgb(images[0]), read_rgb(images[-1])
    assert (np.abs(first.astype(int) - last.astype(int)).sum(axis=2) > 60).sum() > 50  # the frames differ


@pytest.mark.slow
def test_snapshot_shows_the_last_frame_with_a_person_or_the_one_at_a_time(
    tmp_path: Path, cmu_bvh_dir: Path
) -> None:
    """The input ends with 20 frames where nobody is seen (as the demo clip does): ``--snapshot`` draws the last
    frame with the person (the landmarks, on the image's left, are there); ``--at 0.5`` draws the frame at
    0.5 s, the same image as that frame of ``--out-dir``."""
    recording = mocap_recording_at(tmp_path / "rec.jsonl", cmu_bvh_dir, 30, no_person=20)
    common = ("--input", str(recording), "--size", f"{W}x{H}", "--no-grid", "--no-hud")
    snap = tmp_path / "last.png"
    done = run_bridge_cli("view", *common, "--snapshot", str(snap))
    assert done.returncode == 0, done.stderr
    from bridge.viewer.render import foreground_mask

    fg = foreground_mask(read_rgb(snap))
    assert fg[:, : W // 2].sum() > 100, "the snapshot shows no landmarks: not a frame with the person"
    assert "frame 29 " in done.stderr, done.stderr  # the last of the 30 frames with a person
    at = tmp_path / "at.png"
    done = run_bridge_cli("view", *common, "--snapshot", str(at), "--at", "0.5")
    assert done.returncode == 0, done.stderr
    frame = int(re.search(r"shows frame (\d+) \(t = ([\d.]+) s\)", done.stderr).group(1))  # type: ignore[union-attr]
    t = float(re.search(r"t = ([\d.]+) s", done.stderr).group(1))  # type: ignore[union-attr]
    assert abs(t - 0.5) <= 1 / 60 + 1e-6
    out = tmp_path / "frames"
    done = run_bridge_cli("view", *common, "--out-dir", str(out), "--frames", str(frame + 1))
    assert done.returncode == 0, done.stderr
    diff = np.abs(read_rgb(at).astype(np.int64) - read_rgb(out / f"frame_{frame:05d}.png").astype(np.int64)).sum(
        axis=2
    )
    assert (diff > 60).mean() < 0.002  # the same frame (renders differ by dithering only)
    before = np.abs(read_rgb(at).astype(np.int64) - read_rgb(out / f"frame_{frame - 3:05d}.png").astype(np.int64))
    assert (before.sum(axis=2) > 60).sum() > 30  # and another frame would not do
    late = run_bridge_cli("view", *common, "--snapshot", str(tmp_path / "late.png"), "--at", "99")
    assert late.returncode == 2 and "--at 99" in late.stderr and not (tmp_path / "late.png").exists()
