"""Batch throughput: ``bridge batch`` with 1 and 2 workers on the local process pool and on Ray, in one run.

Input: a folder of cuts of the Sports2D demo video (``--videos`` cuts of ``--frames`` frames, scaled to
``--width`` pixels, made here with cv2.VideoWriter). Each configuration processes the whole folder from scratch
(``force``: nothing skipped) with the default outputs (the landmark recording; ``--bvh``/``--analyze`` add
those), through :func:`bridge.batch.run_batch` exactly as the command runs it.

Printed per configuration: wall time (engine start-up included), frames per second of wall time, and for Ray the
start-up time of its local instance (``ray.init``). Then the ratios: scaling (2 workers / 1 worker, per engine)
and Ray's overhead against the local pool (Ray / local, same workers; with and without Ray's start-up).
Run it on an otherwise idle machine: other load changes the scaling figures most.

Usage: ``python bench/bench_batch.py [--videos 4] [--frames 90] [--width 640] [--bvh] [--analyze]``
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

from bridge import batch  # noqa: E402
from bridge.batch import BatchConfig, ray_available, run_batch  # noqa: E402
from bridge.rig import load_rig  # noqa: E402


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


class _RayStartTimer:
    """Measures how long :class:`bridge.batch.RayEngine` takes to start (``ray.init`` and its queue actor)."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self._original = batch.RayEngine.__init__

    def __enter__(self) -> _RayStartTimer:
        original = self._original
        timer = self

        def timed(engine, *args, **kwargs):  # type: ignore[no-untyped-def]
            start = time.perf_counter()
            original(engine, *args, **kwargs)
            timer.seconds.append(time.perf_counter() - start)

        batch.RayEngine.__init__ = timed  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        batch.RayEngine.__init__ = self._original  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=4)
    parser.add_argument("--frames", type=int, default=90)
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
                    with _RayStartTimer() as timer:
                        summary = run_batch(in_dir, out, config, engine=engine, workers=workers,  # type: ignore[arg-type]
                                            force=True, stream=quiet)  # fmt: skip
                    assert not summary.failed, summary.table()
                    startup = timer.seconds[0] if timer.seconds else 0.0
                    rows[(engine, workers)] = (summary.wall_s, startup)
                    fps = summary.frames_processed / summary.wall_s
                    extra = ""
                    if engine == "ray":
                        bare = summary.frames_processed / (summary.wall_s - startup)
                        extra = f", Ray start-up {startup:5.1f} s, {bare:5.1f} frames/s without it"
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
                      f"({(ray_s - ray_start) / local_s:.2f} without Ray's start-up)")  # fmt: skip


if __name__ == "__main__":
    main()
