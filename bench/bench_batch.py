"""Batch throughput: ``bridge batch`` with 1 and 2 workers on the local process pool and on Ray, in one run.

Input: a folder of cuts of the Sports2D demo video (``--videos`` cuts of ``--frames`` frames, scaled to
``--width`` pixels, made here with cv2.VideoWriter). Each configuration processes the whole folder from scratch
(``force``: nothing skipped) with the default outputs (the landmark recording; ``--bvh``/``--analyze`` add
those), through :func:`bridge.app.batch.run_batch` exactly as the command runs it.

Printed per configuration: wall time (engine start and stop included), frames per second of wall time, and for
Ray the time its local instance takes to start and stop (``ray.init``, ``ray.shutdown``). Then the ratios:
scaling (2 workers / 1 worker, per engine) and Ray's overhead against the local pool (Ray / local wall time,
same workers; with and without Ray's start and stop).
Run it on an otherwise idle machine: other load changes the scaling figures most.

Usage: ``python bench/bench_batch.py [--videos 4] [--frames 150] [--width 640] [--bvh] [--analyze]``

Closing note — measured once (2026-11-24) on this project's 2-core machine while other jobs ran on it (load
average 4.8 before, 6.2 after), ``--videos 4 --frames 150 --width 640`` (600 frames):

=====================  ==========  ============  =========================================
configuration          wall time   frames/s      note
=====================  ==========  ============  =========================================
local, 1 worker        17.2 s      34.9
local, 2 workers       14.0 s      42.7          scaling 2/1 = 1.22
Ray, 1 worker          22.9 s      26.2          Ray start+stop 5.9 s; 35.4 frames/s without
Ray, 2 workers         23.5 s      25.5          Ray start+stop 7.5 s; 37.4 frames/s without
=====================  ==========  ============  =========================================

Ray / local wall time: 1.33 (1 worker) and 1.67 (2 workers); without the start and stop of the local Ray
instance 0.99 and 1.14. Ray's scaling 2/1 = 0.97. Reading: on two cores MediaPipe already spreads one video's
inference over both cores, so a second worker adds only ~20 % (decoding and the solver overlap with inference);
Ray's own processes (GCS, raylet, agents) share the same two cores and its fixed start/stop cost (~6–7 s) is
paid once per batch, so Ray pays off only where it brings more machines. Scaling on a machine with more cores
than workers was not measured here.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import sports2d_demo  # noqa: E402

from bridge.app import batch_engines as batch  # noqa: E402
from bridge.app.batch import run_batch  # noqa: E402
from bridge.app.batch_engines import ray_available  # noqa: E402
from bridge.app.batch_jobs import BatchConfig  # noqa: E402
from bridge.core.rig import load_rig  # noqa: E402


def make_videos(folder: Path, count: int, frames: int, width: int) -> int:
    """``count`` cuts of the Sports2D demo, ``frames`` frames each (wrapping around), ``width`` pixels wide.
    Returns the total number of frames written."""
    source = sports2d_demo()
    cap = cv2.VideoCapture(str(source))
    fps = cap.get(cv2.CAP_PROP_FPS)
    images = []
    while True:
        ok, image = cap.read()
        if not ok:
            break
        height = int(round(image.shape[0] * width / image.shape[1] / 2) * 2)
        images.append(cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA))
    cap.release()
    total = 0
    for k in range(count):
        start = (k * len(images)) // max(count, 1)
        h, w = images[0].shape[:2]
        writer = cv2.VideoWriter(str(folder / f"clip{k:02d}.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
        for i in range(frames):
            writer.write(images[(start + i) % len(images)])
        writer.release()
        total += frames
    return total


class _RayStartStopTimer:
    """Measures how long :class:`bridge.app.batch.RayEngine` takes to start (``ray.init``, its queue actor) and to
    stop (``ray.shutdown``): fixed costs of a Ray run that the local pool does not have."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self._init = batch.RayEngine.__init__
        self._close = batch.RayEngine.close

    def __enter__(self) -> _RayStartStopTimer:
        init, close, timer = self._init, self._close, self

        def timed_init(engine, *args, **kwargs):  # type: ignore[no-untyped-def]
            start = time.perf_counter()
            init(engine, *args, **kwargs)
            timer.seconds.append(time.perf_counter() - start)

        def timed_close(engine, *args, **kwargs):  # type: ignore[no-untyped-def]
            start = time.perf_counter()
            close(engine, *args, **kwargs)
            timer.seconds.append(time.perf_counter() - start)

        batch.RayEngine.__init__ = timed_init  # type: ignore[method-assign]
        batch.RayEngine.close = timed_close  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        batch.RayEngine.__init__ = self._init  # type: ignore[method-assign]
        batch.RayEngine.close = self._close  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=4)
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--bvh", action="store_true")
    parser.add_argument("--analyze", action="store_true")
    args = parser.parse_args()
    config = BatchConfig(rig=load_rig(), bvh=args.bvh, analyze=args.analyze)
    engines = ["local", "ray"] if ray_available() else ["local"]
    if not ray_available():
        print("ray is not installed (pip install 'bridge-mocap[ray]'): measuring the local pool only")
    with tempfile.TemporaryDirectory(prefix="bench_batch_") as tmp:
        in_dir = Path(tmp) / "in"
        in_dir.mkdir()
        total = make_videos(in_dir, args.videos, args.frames, args.width)
        print(f"input: {args.videos} cuts of the Sports2D demo, {args.frames} frames each at {args.width} px wide "
              f"({total} frames); cores: {os.cpu_count()}; load average before: "
              f"{' '.join(f'{v:.1f}' for v in os.getloadavg())}")  # fmt: skip
        rows: dict[tuple[str, int], tuple[float, float]] = {}
        with open(os.devnull, "w") as quiet:
            for engine in engines:
                for workers in (1, 2):
                    out = Path(tmp) / f"out_{engine}_{workers}"
                    with _RayStartStopTimer() as timer:
                        summary = run_batch(in_dir, out, config, engine=engine, workers=workers,  # type: ignore[arg-type]
                                            force=True, stream=quiet)  # fmt: skip
                    assert not summary.failed, summary.table()
                    startup = sum(timer.seconds)  # start + stop
                    rows[(engine, workers)] = (summary.wall_s, startup)
                    fps = summary.frames_processed / summary.wall_s
                    extra = ""
                    if engine == "ray":
                        bare = summary.frames_processed / (summary.wall_s - startup)
                        extra = f", Ray start+stop {startup:4.1f} s, {bare:5.1f} frames/s without them"
                    print(f"{engine:5s} {workers} worker{'s' if workers > 1 else ' '}: {summary.wall_s:6.1f} s, "
                          f"{fps:5.1f} frames/s{extra}", flush=True)  # fmt: skip
        print(f"load average after: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
        for engine in engines:
            one, two = rows[(engine, 1)][0], rows[(engine, 2)][0]
            print(f"scaling {engine}: 2 workers / 1 worker throughput = {one / two:.2f}")
        if "ray" in engines:
            for workers in (1, 2):
                local_s = rows[("local", workers)][0]
                ray_s, ray_start = rows[("ray", workers)]
                print(f"Ray overhead, {workers} worker(s): Ray / local wall time = {ray_s / local_s:.2f} "
                      f"({(ray_s - ray_start) / local_s:.2f} without Ray's start and stop)")  # fmt: skip


if __name__ == "__main__":
    main()
