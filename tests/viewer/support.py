"""Support for the viewer tests: real CMU motion capture (Debian ``assimp-testmodels``) as bridge recordings, and
waiting until a ``bridge view --listen`` process is bound."""

from __future__ import annotations

import subprocess
from pathlib import Path

from bridge.testing.listening import wait_until_listening


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
    """Until the viewer listens on ``port`` (:func:`bridge.testing.listening.wait_until_listening`)."""
    if not wait_until_listening(port, viewer, timeout_s):
        raise AssertionError("the viewer did not start listening")
