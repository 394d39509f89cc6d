"""One-Euro filter and flip repair on real MediaPipe output: jitter vs lag sweep, flip counts, cost per frame.

Tracks the Sports2D demo (30 fps) and Pose2Sim Demo_SinglePerson cam01..04 (60 fps) with the real model
(in-process tracker, VIDEO mode; results cached in ``--cache``), then:

1. **Filter sweep** (world landmarks, and image landmarks in image heights) over contiguous tracked runs of at
   least 30 frames, cam02 left out (its left/right flips dominate every error). Reference: the raw landmarks
   through a zero-phase 4th-order Butterworth low-pass at 6 Hz. Prints per setting:
   *jitter* = RMS of the output above 6 Hz (output minus its own zero-phase low-pass) / the same for the raw
   input; *motion err* = RMS distance to the reference where the reference moves faster than 0.5 m/s (image:
   0.2 image heights/s), with the raw value; *lag* = mean over runs of the shift (0..7 frames) that best aligns
   output and reference, ms. The defaults of :class:`bridge.stages.filter.OneEuroConfig` come from this table.
2. **Flip repair**: frames flagged ``lr_swapped`` per video.
3. **Cost**: microseconds per frame of each stage, measured in this run.

Usage: ``python bench/bench_filter.py [--cache /tmp/bridge_bench_filter]``
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy.signal import butter, filtfilt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bridge.core.landmarks import LandmarkFrame  # noqa: E402
from bridge.core.one_euro import OneEuroFilter  # noqa: E402
from bridge.stages.filter import LandmarkFilter, OneEuroConfig  # noqa: E402
from bridge.stages.flips import SWAPPED_FLAG, FlipRepair  # noqa: E402


def videos() -> dict[str, Path]:
    import Pose2Sim
    import Sports2D

    out = {"sports2d_demo": Path(Sports2D.__file__).parent / "Demo" / "demo.mp4"}
    for k in range(1, 5):
        out[f"cam0{k}"] = Path(Pose2Sim.__file__).parent / "Demo_SinglePerson" / "videos" / f"cam0{k}.mp4"
    return out


def tracked(name: str, path: Path, cache: Path) -> list[LandmarkFrame]:
    """LandmarkFrames of a video, from the cache or by running the tracker in this process."""
    file = cache / f"{name}.npz"
    if not file.exists():
        from bridge.tracking.process import track_video_inprocess

        _, frames = track_video_inprocess(path)
        cache.mkdir(parents=True, exist_ok=True)
        np.savez(
            file,
            t=np.array([f.t_s for f in frames]),
            world=np.array([f.world_xyz_m for f in frames]),
            image=np.array([f.image_xy for f in frames]),
            vis=np.array([f.visibility for f in frames]),
            pres=np.array([f.presence for f in frames]),
            person=np.array([f.person for f in frames]),
            size=np.array(frames[0].image_size),
        )
    d = np.load(file)
    size = (int(d["size"][0]), int(d["size"][1]))
    return [
        LandmarkFrame(float(d["t"][k]), d["world"][k], d["image"][k], d["vis"][k], d["pres"][k], size, True, k)
        if d["person"][k]
        else LandmarkFrame.no_person(float(d["t"][k]), size, k)
        for k in range(len(d["t"]))
    ]


def runs(frames: list[LandmarkFrame], min_len: int = 30) -> list[tuple[int, int]]:
    """[start, end) of stretches of consecutive person frames at least ``min_len`` long."""
    out, start = [], None
    for k, f in enumerate([*frames, LandmarkFrame.no_person(np.inf, (1, 1))]):
        if f.person and start is None:
            start = k
        elif not f.person and start is not None:
            if k - start >= min_len:
                out.append((start, k))
            start = None
    return out


def sweep_row(
    data: list[tuple[np.ndarray, np.ndarray]], mc: float, beta: float, fast: float
) -> tuple[float, float, float, float]:
    """(jitter ratio, motion err, raw motion err, mean lag ms) of One-Euro(mc, beta) over (t, x) runs."""
    hf, hf0, err, err0, lags = [], [], [], [], []
    for t, x in data:
        fps = 1.0 / float(np.median(np.diff(t)))
        b, a = butter(4, 6.0 / (fps / 2))
        ref = filtfilt(b, a, x, axis=0)
        f = OneEuroFilter(mc, beta, 1.0, vector_axis=-1)
        y = np.array([f(float(tt), xx) for tt, xx in zip(t, x, strict=True)])
        hf.append(np.linalg.norm(y - filtfilt(b, a, y, axis=0), axis=-1)[5:].ravel())
        hf0.append(np.linalg.norm(x - ref, axis=-1)[5:].ravel())
        speed = np.linalg.norm(np.gradient(ref, t, axis=0), axis=-1)[5:]
        e, e0 = np.linalg.norm(y - ref, axis=-1)[5:], np.linalg.norm(x - ref, axis=-1)[5:]
        err.append(e[speed > fast])
        err0.append(e0[speed > fast])
        shifts = [np.sqrt(np.mean(np.sum((y[10 + s :] - ref[10 : len(ref) - s]) ** 2, -1))) for s in range(8)]
        lags.append(int(np.argmin(shifts)) / fps * 1000)

    def rms(parts: list[np.ndarray]) -> float:
        return float(np.sqrt(np.mean(np.concatenate(parts) ** 2)))

    return rms(hf) / rms(hf0), rms(err) * 1000, rms(err0) * 1000, float(np.mean(lags))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, default=Path("/tmp/bridge_bench_filter"))
    args = ap.parse_args()
    all_frames = {name: tracked(name, path, args.cache) for name, path in videos().items()}

    world, image = [], []
    for name, frames in all_frames.items():
        if name == "cam02":
            continue
        w, h = frames[0].image_size
        for s, e in runs(frames):
            t = np.array([f.t_s for f in frames[s:e]])
            world.append((t, np.array([f.world_xyz_m for f in frames[s:e]])))
            image.append((t, np.array([f.image_xy for f in frames[s:e]]) * np.array([w / h, 1.0])))
    d = OneEuroConfig()
    print(f"filter sweep: {len(world)} runs, {sum(len(t) for t, _ in world)} frames (cam02 left out)")
    for label, data, betas, fast, unit, default in (
        ("world, m", world, (0.0, 1.0, 2.0, 4.0, 8.0), 0.5, "mm", (d.min_cutoff_hz, d.beta)),
        (
            "image, image heights",
            image,
            (0.0, 2.0, 5.0, 10.0, 20.0),
            0.2,
            "mIH",
            (d.image_min_cutoff_hz, d.image_beta),
        ),
    ):
        print(f"\n{label}: min_cutoff_hz  beta   jitter   motion err ({unit}, raw)   lag")
        for mc in (0.5, 1.0, 1.5, 3.0):
            for beta in betas:
                jit, err, err0, lag = sweep_row(data, mc, beta, fast)
                mark = "  <- default" if (mc, beta) == default else ""
                row = f"  {mc:13.1f}  {beta:5.1f}   {jit:6.2f}   {err:7.1f} ({err0:5.1f})          {lag:4.0f} ms"
                print(row + mark)

    print("\nflip repair (default settings): frames flagged lr_swapped")
    for name, frames in all_frames.items():
        stage = FlipRepair()
        flagged = [f.frame_index for f in map(stage, frames) if f.flags.get(SWAPPED_FLAG)]
        print(f"  {name:14s} {len(flagged):3d} of {sum(f.person for f in frames):3d} tracked: {flagged}")

    frames = [f for fs in all_frames.values() for f in fs if f.person]
    timed: list[tuple[str, Callable[[LandmarkFrame], LandmarkFrame]]] = [
        ("flip repair", FlipRepair()),
        ("landmark filter", LandmarkFilter()),
    ]
    for label, stage_fn in timed:
        t0 = time.perf_counter()
        for k, f in enumerate(frames):
            stage_fn(f.replace(t_s=k / 30.0))
        dt = (time.perf_counter() - t0) / len(frames)
        print(f"{label}: {dt * 1e6:.0f} us per frame ({len(frames)} frames)")


if __name__ == "__main__":
    main()
