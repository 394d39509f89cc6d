"""Several views (``--input`` twice with ``--calibration``) against one view's bare inference, in one run.

Pose2Sim's Demo_SinglePerson, views cam02 and cam04 (1080×1920 at 60 fps, 100 frames each), read in real time
as two cameras would deliver them (frames are dropped when the trackers fall behind), streamed as VMC to a
receiver on 127.0.0.1:

* bare: MediaPipe PoseLandmarker (VIDEO mode) over cam02's decoded frames in this process (one view);
* one view: ``run_stream`` of cam02 alone, real time;
* two views: ``run_stream`` of cam02 + cam04 triangulated (one tracker process per view, paired by timestamp);
* two views at half resolution (540×960 copies of the clips): the cheaper 2-D model input.

Prints throughput (frames streamed per second while streaming), its ratio to bare inference, the latency from the
later view's frame read to the datagram sent, and the triangulation's own cost per frame.
Usage: ``python bench/bench_multiview.py``
"""

from __future__ import annotations

import contextlib
import importlib.util
import socket
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np
from common import bare_inference, decode_all

from bridge.app.status import StatusLine
from bridge.app.stream import StreamConfig, StreamStats, StreamTarget, run_stream
from bridge.multiview.calibration import read_calibration
from bridge.multiview.fuse import fuse
from bridge.output.transport import parse_osc_target
from bridge.tracking.config import TrackerConfig
from bridge.tracking.process import open_landmarks


def demo() -> Path:
    spec = importlib.util.find_spec("Pose2Sim")
    assert spec is not None and spec.origin is not None
    return Path(spec.origin).parent / "Demo_SinglePerson"


def half_size(video: Path, folder: Path) -> Path:
    out = folder / video.name
    cap = cv2.VideoCapture(str(video))
    fps = cap.get(cv2.CAP_PROP_FPS)
    writer = None
    while True:
        ok, image = cap.read()
        if not ok:
            break
        small = cv2.resize(image, (image.shape[1] // 2, image.shape[0] // 2), interpolation=cv2.INTER_AREA)
        if writer is None:
            writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps, small.shape[1::-1])
        writer.write(small)
    cap.release()
    assert writer is not None
    writer.release()
    return out


def stream(inputs: list[Path], calibration: Path | None, port: int) -> tuple[StreamStats, float]:
    target = StreamTarget(parse_osc_target(f"127.0.0.1:{port}"), "vmc")
    views = tuple(str(p) for p in inputs) if len(inputs) > 1 else ()
    config = StreamConfig(str(inputs[0]), (target,), realtime=True, max_rate_hz=0.0, views=views,
                          calibration=calibration)  # fmt: skip
    start = time.perf_counter()
    stats = run_stream(config, StatusLine(60.0))
    return stats, time.perf_counter() - start


def fuse_cost_ms(calibration: Path, videos: list[Path]) -> float:
    cal = read_calibration(calibration).select([v.stem for v in videos])
    views = []
    for v in videos:
        with open_landmarks(str(v), TrackerConfig()) as (_, frames):
            views.append(list(frames)[:40])
    start = time.perf_counter()
    for j in range(40):
        fuse(cal, [[views[0][j]], [views[1][j]]])
    return (time.perf_counter() - start) / 40 * 1000


def main() -> None:
    d = demo()
    videos = [d / "videos" / "cam02.mp4", d / "videos" / "cam04.mp4"]
    calib = d / "calibration" / "Calib.qca.txt"
    clip_s = 100 / 60.0
    fps_bare, infer_ms = bare_inference(decode_all(videos[0]), fps=60.0)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.5)
    stop = threading.Event()

    def drain() -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                sock.recv(65536)

    threading.Thread(target=drain, daemon=True).start()
    port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        small = [half_size(v, Path(tmp)) for v in videos]
        runs = {
            "one view (cam02)": stream(videos[:1], None, port),
            "two views (cam02+cam04)": stream(videos, calib, port),
            "two views, half resolution": stream(small, calib, port),
        }
    stop.set()
    print(f"clip: 2 views, 100 frames 1080x1920 at 60 fps ({clip_s:.2f} s), read in real time")
    print(f"bare inference, one view: {fps_bare:6.1f} fps (median {np.median(infer_ms):.1f} ms/frame)")
    for name, (stats, wall_s) in runs.items():
        lat = np.array(stats.latencies_ms) if stats.latencies_ms else np.array([np.nan])
        print(
            f"{name:28s} {stats.fps:6.1f} fps ({stats.sent} frames; ratio to one view's bare inference "
            f"{stats.fps / fps_bare:5.2f}); latency later view read→sent median {np.median(lat):6.1f} ms, "
            f"95th pct {np.percentile(lat, 95):6.1f} ms; wall {wall_s:.1f} s"
        )
    print(f"triangulation (2 views, one frame, left/right repair included): {fuse_cost_ms(calib, videos):.2f} ms")


if __name__ == "__main__":
    main()
