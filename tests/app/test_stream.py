"""``bridge stream`` end to end: real tracker, real UDP sockets, real python-osc servers on 127.0.0.1."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from bridge.app.processor import ProcessorConfig
from bridge.app.status import StatusLine
from bridge.app.stream import StreamConfig, StreamTarget, run_stream
from bridge.core.frames import rig_to_unity_position, rig_to_unity_quaternion, unity_to_rig_quaternion
from bridge.core.landmarks import LandmarkFrame
from bridge.core.pose import BonePose
from bridge.core.rig import load_rig
from bridge.output.protocols import EncoderConfig
from bridge.output.transport import OscTarget, parse_osc_target
from bridge.output.vrchat import VrchatConfig
from bridge.solve.body import idle_rotations
from bridge.solve.body_config import SolverConfig
from bridge.tracking.recording import RecordingHeader, RecordingWriter
from tests.helpers.osc_receiver import Msg, OscReceiver, parse_datagram


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory, sports2d_tracked) -> Path:  # type: ignore[no-untyped-def]
    """The first 90 tracked frames of the Sports2D demo, then 60 frames with nobody (2 s), as a recording."""
    info, frames = sports2d_tracked
    path = tmp_path_factory.mktemp("rec") / "demo.jsonl"
    with RecordingWriter(path, RecordingHeader(source="sports2d demo", fps=30.0, image_size=(1768, 994))) as w:
        for f in frames[:90]:
            w.write(f)
        last = frames[89]
        for k in range(1, 61):
            w.write(LandmarkFrame.no_person(last.t_s + k / 30, last.image_size, last.frame_index + k))
    return path


def free_udp_port() -> int:
    """A port with (almost certainly) nobody listening."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


def split_frames(msgs: list[Msg]) -> list[list[Msg]]:
    """Received VMC messages grouped per frame (each frame starts with /VMC/Ext/OK)."""
    frames: list[list[Msg]] = []
    for m in msgs:
        if m.address == "/VMC/Ext/OK":
            frames.append([])
        frames[-1].append(m)
    return frames


def stream(input_text: str, targets: list[StreamTarget], **kw) -> tuple[list[BonePose], object]:  # type: ignore[no-untyped-def]
    poses: list[BonePose] = []
    config = StreamConfig(input_text=input_text, targets=tuple(targets), realtime=False, max_rate_hz=0.0, **kw)
    stats = run_stream(config, StatusLine(60.0), on_result=lambda r: poses.append(r.pose))
    return poses, stats


def target(receiver: OscReceiver, protocol: str = "vmc") -> StreamTarget:
    return StreamTarget(parse_osc_target(f"127.0.0.1:{receiver.port}"), protocol)


@pytest.mark.slow
def test_vmc_stream_of_a_recording(recording: Path) -> None:
    rig = load_rig()
    with OscReceiver() as rx:
        poses, stats = stream(str(recording), [target(rx)])
        rx.wait_for(len(poses))
        msgs = [m for d in rx.datagrams for m in parse_datagram(d)]
    frames = split_frames(msgs)
    assert len(poses) == 150 and len(frames) == 150
    expected_pos = rig_to_unity_position(rig.offsets_m)
    for pose, frame in zip(poses, frames, strict=True):
        by_addr: dict[str, list[Msg]] = {}
        for m in frame:
            by_addr.setdefault(m.address, []).append(m)
        (ok,) = by_addr["/VMC/Ext/OK"]
        assert ok.tags == "iiii" and ok.args[:3] == (1, 3, 0) and ok.args[3] == int(pose.tracking)
        (t,) = by_addr["/VMC/Ext/T"]
        assert t.tags == "f"
        (root,) = by_addr["/VMC/Ext/Root/Pos"]
        assert root.tags == "sfffffff" and root.args[0] == "root"
        bones = by_addr["/VMC/Ext/Bone/Pos"]
        assert [b.args[0] for b in bones] == list(rig.bones)  # every rig bone, every frame
        for i, b in enumerate(bones):
            assert b.tags == "sfffffff"
            q = np.array(b.args[4:8])
            assert abs(np.linalg.norm(q) - 1.0) < 1e-6
            pos = np.array(b.args[1:4])
            want = rig_to_unity_position(pose.hips_position_m) if i == 0 else expected_pos[i]
            np.testing.assert_allclose(pos, want, atol=1e-6)
            assert np.linalg.norm(pos) > 0  # receivers write it onto their bones: never zeros
            back = unity_to_rig_quaternion(q)
            assert (back * pose.local_rotations[i].inv()).magnitude() < 1e-5
    # tracking is lost for the last 60 frames: reported in /VMC/Ext/OK, bones hold, then ease to rest
    statuses = [f[0].args[3] for f in frames]
    assert statuses[:80].count(1) > 70 and statuses[-1] == 0
    idle = Rotation.from_quat(idle_rotations(rig, SolverConfig()))  # the rest pose, the arms at the sides
    assert max((poses[-1].local_rotations * idle.inv()).magnitude()) < 1e-6  # at rest after hold 0.5 s + ease 1 s
    assert stats.frames == 150  # type: ignore[attr-defined]


def test_two_targets_get_the_same_frames_and_a_dead_one_does_not_stop_them(recording: Path) -> None:
    dead = StreamTarget(parse_osc_target(f"127.0.0.1:{free_udp_port()}"), "vmc")
    with OscReceiver() as a, OscReceiver() as b:
        poses, stats = stream(str(recording), [target(a), dead, target(b)], max_frames=60)
        a.wait_for(60)
        b.wait_for(60)
        assert len(a.datagrams) == len(b.datagrams) == 60
        assert a.datagrams == b.datagrams


def test_vrchat_stream_of_a_recording(recording: Path) -> None:
    """Tracker messages with VRChat's addresses; the hip rotation rebuilt in Unity's Z-X-Y order matches."""
    cfg = VrchatConfig(trackers=("hip", "left_foot", "right_foot", "chest"), height_m=1.8)
    with OscReceiver() as rx:
        poses, _ = stream(
            str(recording), [target(rx, "vrchat")], max_frames=30, encoders=EncoderConfig(vrchat=cfg)
        )
        rx.wait_for(30)
        msgs = [m for d in rx.datagrams for m in parse_datagram(d)]
    addrs = {m.address for m in msgs}
    for n in (1, 2, 3, 4):
        assert f"/tracking/trackers/{n}/position" in addrs and f"/tracking/trackers/{n}/rotation" in addrs
    assert "/tracking/trackers/head/position" in addrs
    assert all(m.tags == "fff" for m in msgs)
    hips = [m for m in msgs if m.address == "/tracking/trackers/1/rotation"]
    assert len(hips) == 30
    for pose, m in zip(poses, hips, strict=True):
        x, y, z = np.radians(m.args)
        # Unity's Quaternion.Euler(x, y, z): rotate about Z, then X, then Y (extrinsic).
        unity = Rotation.from_rotvec([0, y, 0]) * Rotation.from_rotvec([x, 0, 0]) * Rotation.from_rotvec([0, 0, z])
        _, rot = pose.world()
        expected_unity = Rotation.from_quat(rig_to_unity_quaternion(Rotation.from_matrix(rot[0])))
        assert (unity * expected_unity.inv()).magnitude() < 1e-4
    feet_y = [m.args[1] for m in msgs if m.address == "/tracking/trackers/3/position"]
    assert min(feet_y) > -0.05  # floor at y = 0


@pytest.mark.slow
def test_stream_of_the_real_demo_video(sports2d_video: Path) -> None:
    """The real tracker process on the real video, streamed to a real receiver."""
    with OscReceiver() as rx:
        poses, stats = stream(str(sports2d_video), [target(rx)], max_frames=45, processor=ProcessorConfig())
        rx.wait_for(45)
        frames = split_frames([m for d in rx.datagrams for m in parse_datagram(d)])
    assert len(frames) == 45
    assert sum(p.tracking for p in poses) >= 40
    # something actually moves: the solved poses are not the rest pose
    assert np.median([np.max(p.local_rotations.magnitude()) for p in poses]) > np.radians(10)
    assert stats.latencies_ms and stats.added_ms  # type: ignore[attr-defined]


@pytest.mark.slow
@pytest.mark.parametrize("bad", ["localhost", "1.2.3.4:99999", ":9000", "host:abc"])
def test_bad_osc_values_fail_before_anything_starts(run_bridge, bad: str) -> None:  # type: ignore[no-untyped-def]
    result = run_bridge("stream", "--input", "demo", "--osc", bad, timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("bridge: error:") and "Traceback" not in result.stderr
    assert "--osc" in lines[-1] or bad.split(":")[0] in lines[-1] or "port" in lines[-1]


@pytest.mark.slow
def test_bridge_stream_command_line(run_bridge, recording: Path) -> None:  # type: ignore[no-untyped-def]
    """Paced at the recording's 30 fps under the default 60 Hz cap: every frame the stream reports as sent
    arrives (on a heavily loaded machine bunched frames may be skipped by the cap, and are reported as such)."""
    import re

    with OscReceiver() as rx:
        result = run_bridge(
            "stream", "--input", str(recording), "--osc", f"127.0.0.1:{rx.port}", "--protocol", "vmc",
            "--max-frames", "20",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        match = re.search(r"done: 20 frames at [\d.]+ fps, (\d+) sent, (\d+) skipped", result.stderr)
        assert match, result.stderr
        sent, skipped = int(match.group(1)), int(match.group(2))
        assert sent + skipped == 20 and sent >= 10
        rx.wait_for(sent)
        assert len(rx.datagrams) == sent


def test_target_string_round_trip() -> None:
    t = parse_osc_target("127.0.0.1:39539")
    assert isinstance(t, OscTarget) and t.port == 39539


@pytest.mark.slow
def test_a_receiver_on_another_host_gets_lan_sized_datagrams_and_loopback_whole_frames(tmp_path: Path) -> None:
    """A real receiver in another network namespace (through a veth pair, MTU 1500) and one on 127.0.0.1, fed by
    one stream with default settings: the remote one gets bundles of at most 1,400 bytes, the local one one
    bundle per frame, and both the very same messages."""
    import io

    from bridge.testing.synth import frame_from_pose
    from tests.helpers.netns import netns_available, remote_udp_receiver
    from tests.helpers.osc_receiver import random_pose

    if not netns_available():
        pytest.skip("network namespaces need root and iproute2 (ip netns)")
    path = tmp_path / "poses.jsonl"
    with RecordingWriter(path, RecordingHeader(source="synthetic", fps=30.0, image_size=(1280, 720))) as w:
        for k in range(20):
            w.write(frame_from_pose(random_pose(k), t_s=k / 30.0).replace(frame_index=k))
    said = io.StringIO()
    with remote_udp_receiver(tmp_path) as remote, OscReceiver() as local:
        far = StreamTarget(parse_osc_target(f"{remote.ip}:{remote.port}"), "vmc")
        config = StreamConfig(input_text=str(path), targets=(far, target(local)), realtime=False, max_rate_hz=0.0)
        run_stream(config, StatusLine(60.0, stream=said, plain_interval_s=None))
        local.wait_for(20)
        remote_grams = remote.datagrams()
    assert len(local.datagrams) == 20 and min(len(g) for g in local.datagrams) > 1400  # whole frames
    assert len(remote_grams) > 20 and max(len(g) for g in remote_grams) <= 1400
    assert all(g.startswith(b"#bundle") for g in remote_grams)
    remote_msgs = [m for g in remote_grams for m in parse_datagram(g)]
    assert remote_msgs == [m for g in local.datagrams for m in parse_datagram(g)]
    assert len(split_frames(remote_msgs)) == 20
    notes = [line for line in said.getvalue().splitlines() if "1400 bytes" in line]
    assert len(notes) == 1 and remote.ip in notes[0]


@pytest.mark.slow
def test_no_quaternion_sign_flips_in_a_whole_demo_stream(tmp_path: Path, sports2d_tracked) -> None:  # type: ignore[no-untyped-def]
    """Every frame of the real demo, streamed to a real receiver: no bone's quaternion changes hemisphere
    between consecutive frames (the solver's own quaternions flipped 32 times in this clip)."""
    _, tracked = sports2d_tracked
    path = tmp_path / "demo.jsonl"
    with RecordingWriter(path, RecordingHeader(source="sports2d demo", fps=30.0, image_size=(1768, 994))) as w:
        for f in tracked:
            w.write(f)
    with OscReceiver() as rx:
        poses, _ = stream(str(path), [target(rx)])
        rx.wait_for(len(poses))
        frames = split_frames([m for d in rx.datagrams for m in parse_datagram(d)])
    assert len(frames) == len(tracked) == 230
    quats = np.array([[m.args[4:8] for m in f if m.address == "/VMC/Ext/Bone/Pos"] for f in frames])
    dots = np.sum(quats[1:] * quats[:-1], axis=-1)
    assert dots.min() >= 0.0, f"{int((dots < 0).sum())} sign flips"


def test_stream_statistics_stay_bounded() -> None:
    """Per-frame figures keep the latest STATS_WINDOW frames (a stream of hours grew ~15 MB an hour before)."""
    from bridge.app.stream import STATS_WINDOW, StreamStats

    stats = StreamStats()
    for i in range(STATS_WINDOW + 500):
        stats.latencies_ms.append(float(i))
        stats.process_ms.append(float(i))
    assert len(stats.latencies_ms) == len(stats.process_ms) == STATS_WINDOW
    assert stats.latencies_ms[-1] == STATS_WINDOW + 499.0


def test_status_line_says_when_the_machine_cannot_keep_up() -> None:
    """Frames the tracker dropped (live input, consumer behind) or a live frame rate well below the camera's
    show in the status line; a file streamed as fast as it goes never does."""
    from bridge.app.stream import StreamStats, _status_text

    keeping_up = StreamStats(frames=90, started_s=time.monotonic() - 3.0, nominal_fps=30.0)
    assert keeping_up.behind() == "" and "behind" not in _status_text(keeping_up, True, 1)
    dropped = StreamStats(frames=90, dropped=4, started_s=time.monotonic() - 3.0, nominal_fps=30.0)
    assert _status_text(dropped, True, 1).endswith("| behind: 4 frames dropped")
    assert "4 dropped (the machine could not keep up)" in dropped.summary()
    slow = StreamStats(frames=60, started_s=time.monotonic() - 3.0, nominal_fps=30.0)  # 20 fps
    assert _status_text(slow, True, 1).endswith("| behind: 20 of 30 fps")
    file_input = StreamStats(frames=60, started_s=time.monotonic() - 3.0, nominal_fps=None)
    assert file_input.behind() == ""
