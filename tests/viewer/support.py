"""Support for the viewer tests: real CMU motion capture (Debian ``assimp-testmodels``) as bridge recordings, and
waiting until a ``bridge view --listen`` process is bound."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path


def mocap_recording_at(path: Path, cmu_bvh_dir: Path, frames: int = 60, no_person: int = 0) -> Path:
    """A bridge recording of CMU ``01_01`` (every 4th frame: 30 fps), ``frames`` frames, then ``no_person``
    frames where nobody is seen (the person walked out)."""
    from bridge.core.landmarks import LandmarkFrame
    from bridge.export.bvh_file import read_bvh
    from bridge.testing.mocap import mocap_landmarks, to_landmark_frames
    from bridge.tracking.recording import RecordingHeader, RecordingWriter

    motion = read_bvh(cmu_bvh_dir / "01_01.bvh")
    seen = to_landmark_frames(mocap_landmarks(motion, frames=slice(0, 4 * frames, 4)))
    with RecordingWriter(path, RecordingHeader(source="CMU 01_01", fps=30.0)) as writer:
        for frame in seen:
            writer.write(frame)
        last = seen[-1]
        for k in range(1, no_person + 1):
            writer.write(LandmarkFrame.no_person(last.t_s + k / 30.0, last.image_size, last.frame_index + 4 * k))
    return path


def wait_listening(port: int, viewer: subprocess.Popen[str], timeout_s: float = 60.0) -> None:
    """Until the viewer listens on ``port`` (a closed UDP port answers "unreachable"); the probe is counted as a
    malformed datagram, never as a frame."""
    deadline = time.monotonic() + timeout_s
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("127.0.0.1", port))
        probe.settimeout(0.3)
        while time.monotonic() < deadline and viewer.poll() is None:
            try:
                probe.send(b"probe")
                probe.recv(16)
            except ConnectionRefusedError:
                time.sleep(0.2)
                continue
            except TimeoutError:
                return
    raise AssertionError("the viewer did not start listening")
