"""Soak: one long ``bridge stream`` (recording → flip repair → filter → solver → VMC → UDP on 127.0.0.1), memory
and throughput sampled along the way. Minutes, not in CI.

The input is a generated recording of ``--frames`` frames at 30 fps (the default rig swinging an arm, so the
solver has real work; the last second of every 100 s without a person, so hold/ease runs too), streamed once,
as fast as it goes (no pacing, no rate cap). Resident memory (``/proc/self/statm``) is sampled every ``--every``
seconds; after a warm-up (the first 20 % of the frames) a least-squares line through the samples
gives the growth, printed per hour of input (30 fps) and per hour of running. Throughput drift: frames per
second in the last quarter of the frames over the first (after the warm-up). Goal: growth < 1 MB per hour.

Usage: ``python bench/bench_soak.py [--frames 60000] [--every 2]``
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import math
import os
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bridge.app.status import StatusLine  # noqa: E402
from bridge.app.stream import StreamConfig, StreamTarget, run_stream  # noqa: E402
from bridge.avatar.load import load_rig_or_avatar  # noqa: E402
from bridge.core.landmarks import LandmarkFrame  # noqa: E402
from bridge.core.pose import BonePose  # noqa: E402
from bridge.output.transport import parse_osc_target  # noqa: E402
from bridge.testing.synth import frame_from_pose  # noqa: E402
from bridge.tracking.recording import RecordingHeader, RecordingWriter  # noqa: E402

FPS = 30.0


def rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def write_input(path: Path, n: int) -> None:
    """``n`` frames: 300 distinct poses (an arm swinging about Z) cycled, 30 of every 3000 without a person."""
    from scipy.spatial.transform import Rotation

    rig = load_rig_or_avatar("default")
    rest = BonePose.rest(rig)
    arm = rig.index("LeftUpperArm")
    poses = []
    for k in range(300):
        rots = rest.local_rotations.as_quat()
        rots[arm] = Rotation.from_euler("z", 40.0 * math.sin(2 * math.pi * k / 300), degrees=True).as_quat()
        pose = dataclasses.replace(rest, local_rotations=Rotation.from_quat(rots), tracking=True)
        poses.append(frame_from_pose(pose))
    header = RecordingHeader(source="soak", fps=FPS, image_size=(1280, 720), created="bench")
    with RecordingWriter(path, header) as writer:
        for i in range(n):
            if i % 3000 >= 2970:
                writer.write(LandmarkFrame.no_person(i / FPS, (1280, 720), i))
            else:
                writer.write(poses[i % 300].replace(t_s=i / FPS, frame_index=i))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=60_000)
    parser.add_argument("--every", type=float, default=2.0, help="seconds between memory samples")
    args = parser.parse_args()

    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    sink.settimeout(0.2)
    stop = threading.Event()

    def drain() -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                sink.recv(65536)

    threading.Thread(target=drain, daemon=True).start()
    samples: list[tuple[float, int, int]] = []  # (monotonic s, frames done, rss bytes)
    done = [0]

    def sample() -> None:
        while not stop.wait(args.every):
            samples.append((time.monotonic(), done[0], rss_bytes()))

    with tempfile.TemporaryDirectory() as tmp:
        take = Path(tmp) / "soak.bridgerec.jsonl"
        t0 = time.monotonic()
        write_input(take, args.frames)
        print(f"input: {args.frames} frames ({args.frames / FPS / 60:.1f} min at 30 fps), written in "
              f"{time.monotonic() - t0:.0f} s, {take.stat().st_size / 2**20:.0f} MiB")  # fmt: skip
        target = StreamTarget(parse_osc_target(f"127.0.0.1:{sink.getsockname()[1]}"), "vmc")
        config = StreamConfig(input_text=str(take), targets=(target,), realtime=False, max_rate_hz=0.0)
        threading.Thread(target=sample, daemon=True).start()
        started = time.monotonic()
        samples.append((started, 0, rss_bytes()))

        def count(_result: object) -> None:
            done[0] += 1

        stats = run_stream(config, StatusLine(60.0, stream=open(os.devnull, "w")), on_result=count)  # noqa: SIM115
        samples.append((time.monotonic(), done[0], rss_bytes()))
        stop.set()
    wall = time.monotonic() - started
    arr = np.array(samples, dtype=np.float64)
    warm = arr[arr[:, 1] >= 0.2 * args.frames]
    if len(warm) < 3:
        print("too few samples after the warm-up; use more --frames or a smaller --every")
        return
    slope_per_frame = np.polyfit(warm[:, 1], warm[:, 2], 1)[0]  # bytes per frame
    slope_per_s = np.polyfit(warm[:, 0], warm[:, 2], 1)[0]  # bytes per running second
    q = (warm[:, 1] - warm[0, 1]) / max(warm[-1, 1] - warm[0, 1], 1)
    first, last = warm[q <= 0.25], warm[q >= 0.75]
    fps_first = (first[-1, 1] - first[0, 1]) / max(first[-1, 0] - first[0, 0], 1e-9)
    fps_last = (last[-1, 1] - last[0, 1]) / max(last[-1, 0] - last[0, 0], 1e-9)
    print(f"streamed {stats.frames} frames in {wall:.0f} s ({stats.frames / wall:.0f} fps), {stats.sent} sent")
    print(f"resident memory: {arr[0, 2] / 2**20:.1f} MiB at start, {arr[-1, 2] / 2**20:.1f} MiB at the end; "
          f"after warm-up growth {slope_per_frame * FPS * 3600 / 2**20:+.2f} MB per hour of 30 fps input, "
          f"{slope_per_s * 3600 / 2**20:+.2f} MB per hour of running (goal < 1 MB/h)")  # fmt: skip
    print(f"throughput: {fps_first:.0f} fps in the first quarter after warm-up, {fps_last:.0f} fps in the last "
          f"(drift {fps_last / fps_first:.3f})")  # fmt: skip


if __name__ == "__main__":
    main()
