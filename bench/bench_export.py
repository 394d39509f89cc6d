"""Cost of BVH / glTF export and of ``--record-bvh`` next to the landmark → pose chain, on real tracked motion.

Tracks the Sports2D demo once with the real model (in-process, cached in ``--cache``), solves it with the
stream's :class:`~bridge.app.stream.Processor`, then measures in this run:

1. per frame: the processor (flip repair + filter + solver) vs :meth:`BvhRecorder.add` (resample + Euler +
   format, flushing every 0.5 s) — the recorder's share of the live loop;
2. whole take: :func:`export_bvh` and :func:`export_glb` time per frame and file size per frame.

Usage: ``python bench/bench_export.py [--cache /tmp/bridge_bench_export] [--repeat 8]``
"""

from __future__ import annotations

import argparse
import dataclasses
import pickle
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import sports2d_demo  # noqa: E402

from bridge.app.processor import Processor  # noqa: E402
from bridge.core.rig import load_rig  # noqa: E402
from bridge.export.bvh import BvhRecorder, export_bvh  # noqa: E402
from bridge.export.gltf import export_glb  # noqa: E402


def tracked_frames(cache: Path) -> list:  # type: ignore[type-arg]
    path = cache / "sports2d_frames.pkl"
    if path.is_file():
        return pickle.loads(path.read_bytes())  # type: ignore[no-any-return]
    from bridge.tracking.process import track_video_inprocess

    _, frames = track_video_inprocess(sports2d_demo())
    cache.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(frames))
    return frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "bridge_bench_export")
    parser.add_argument("--repeat", type=int, default=8, help="times the take is looped for the timing")
    args = parser.parse_args()
    frames = tracked_frames(args.cache)
    period = 1.0 / 30.0
    frames = [
        frames[k % len(frames)].replace(t_s=k * period, frame_index=k) for k in range(args.repeat * len(frames))
    ]
    rig = load_rig()
    processor = Processor(rig)
    poses = []
    t0 = time.perf_counter()
    for f in frames:
        poses.append(processor(f).pose)
    proc_us = (time.perf_counter() - t0) / len(frames) * 1e6
    poses = [dataclasses.replace(p, t_s=k * period) for k, p in enumerate(poses)]

    with tempfile.TemporaryDirectory() as tmp:
        rec_times = []
        with BvhRecorder(Path(tmp) / "rec.bvh", rig, fps=30.0) as rec:
            for pose in poses:
                t = time.perf_counter()
                rec.add(pose)
                rec_times.append(time.perf_counter() - t)
        rec_us = np.asarray(rec_times) * 1e6
        t = time.perf_counter()
        motion = export_bvh(Path(tmp) / "all.bvh", poses, 30.0)
        bvh_us = (time.perf_counter() - t) / len(poses) * 1e6
        bvh_bytes = (Path(tmp) / "all.bvh").stat().st_size / motion.num_frames
        t = time.perf_counter()
        keys = export_glb(Path(tmp) / "all.glb", poses, 30.0)
        glb_us = (time.perf_counter() - t) / len(poses) * 1e6
        glb_bytes = (Path(tmp) / "all.glb").stat().st_size / keys

    print(f"{len(poses)} frames of the Sports2D demo (looped x{args.repeat}), rig with {len(rig)} bones")
    print(f"processor (flips + filter + solver): {proc_us:8.1f} us/frame")
    print(f"BvhRecorder.add:                     {np.median(rec_us):8.1f} us/frame median, "
          f"{np.percentile(rec_us, 99):.1f} us p99 (flushes included), "
          f"ratio recorder/processor {np.median(rec_us) / proc_us:.2f}")  # fmt: skip
    print(f"export_bvh (whole take):             {bvh_us:8.1f} us/frame, {bvh_bytes:.0f} bytes/frame")
    print(f"export_glb (whole take):             {glb_us:8.1f} us/frame, {glb_bytes:.0f} bytes/frame")


if __name__ == "__main__":
    main()
