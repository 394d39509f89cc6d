"""The Pose2Sim calibrated multi-view demos (``pose2sim==0.10.49``) as validation material for the analysis.

Three trials of one real person filmed by four calibrated cameras (Qualisys ``Calib.qca.txt``), 100 frames at
60 fps each: ``Demo_SinglePerson`` and the two trials of ``Demo_Batch``. Each view is tracked exactly as
``bridge analyze`` tracks a video (:func:`track_view`); the results are cached as ``.npz`` in a folder the caller
chooses (a temporary folder: derived data is never committed).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bridge.app.processor import ANALYSIS_STAGES, Processor
from bridge.app.run import open_run
from bridge.core.landmarks import NUM_LANDMARKS, LandmarkFrame
from bridge.tracking.config import TrackerConfig

#: The views of every trial, in calibration order.
VIEWS: tuple[str, ...] = ("cam01", "cam02", "cam03", "cam04")


@dataclass(frozen=True)
class Trial:
    """One multi-view trial: its name, the four videos (``VIEWS`` order) and the calibration file."""

    name: str
    videos: tuple[Path, ...]
    calibration: Path


def pose2sim_root() -> Path | None:
    """The installed ``Pose2Sim`` package folder (located without importing it), None when missing."""
    spec = importlib.util.find_spec("Pose2Sim")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def trials() -> list[Trial]:
    """The distinct demo trials installed: ``single`` (Demo_SinglePerson), ``batch1``, ``batch2`` (Demo_Batch's
    trials; ``batch1`` is left out when its videos are those of ``single``, as in pose2sim 0.10.49)."""
    root = pose2sim_root()
    if root is None:
        return []
    candidates = [
        ("single", root / "Demo_SinglePerson" / "videos", root / "Demo_SinglePerson" / "calibration"),
        ("batch1", root / "Demo_Batch" / "Trial_1" / "videos", root / "Demo_Batch" / "calibration"),
        ("batch2", root / "Demo_Batch" / "Trial_2" / "videos", root / "Demo_Batch" / "calibration"),
    ]
    out, seen = [], set()
    for name, videos, calib in candidates:
        paths = tuple(videos / f"{v}.mp4" for v in VIEWS)
        if not (all(p.exists() for p in paths) and (calib / "Calib.qca.txt").exists()):
            continue
        digest = hashlib.sha256(b"".join(p.read_bytes() for p in paths)).hexdigest()
        if digest not in seen:  # Demo_Batch/Trial_1 ships the same videos as Demo_SinglePerson
            seen.add(digest)
            out.append(Trial(name, paths, calib / "Calib.qca.txt"))
    return out


def _to_arrays(frames: list[LandmarkFrame]) -> dict[str, np.ndarray]:
    n = len(frames)
    out = {
        "t_s": np.array([f.t_s for f in frames], dtype=np.float64),
        "frame_index": np.array([f.frame_index for f in frames], dtype=np.int64),
        "person": np.array([f.person for f in frames], dtype=bool),
        "world_xyz_m": np.zeros((n, NUM_LANDMARKS, 3)),
        "image_xy": np.zeros((n, NUM_LANDMARKS, 2)),
        "visibility": np.zeros((n, NUM_LANDMARKS)),
        "presence": np.zeros((n, NUM_LANDMARKS)),
        "image_size": np.array(next((f.image_size for f in frames if f.person), (1, 1)), dtype=np.int64),
    }
    for k, f in enumerate(frames):
        if f.person:
            out["world_xyz_m"][k] = f.world_xyz_m
            out["image_xy"][k] = f.image_xy
            out["visibility"][k] = f.visibility
            out["presence"][k] = f.presence
    return out


def _from_arrays(data: dict[str, np.ndarray]) -> list[LandmarkFrame]:
    size = (int(data["image_size"][0]), int(data["image_size"][1]))
    frames = []
    for k in range(len(data["t_s"])):
        t, index = float(data["t_s"][k]), int(data["frame_index"][k])
        if not data["person"][k]:
            frames.append(LandmarkFrame.no_person(t, size, index))
            continue
        frames.append(
            LandmarkFrame(
                t_s=t,
                world_xyz_m=np.array(data["world_xyz_m"][k]),
                image_xy=np.array(data["image_xy"][k]),
                visibility=np.array(data["visibility"][k]),
                presence=np.array(data["presence"][k]),
                image_size=size,
                frame_index=index,
            )
        )
    return frames


def track_view(video: Path, cache_dir: Path | None = None, max_frames: int | None = None) -> list[LandmarkFrame]:
    """The frames of ``video`` (the first ``max_frames``; None: all) tracked as ``bridge analyze`` does (MediaPipe
    full model, flip repair, no live filter), cached in ``cache_dir`` as ``<trial folder>_<view>[_N].npz``."""
    cache = None
    if cache_dir is not None:
        part = f"_{max_frames}" if max_frames is not None else ""
        cache = Path(cache_dir) / f"{video.parent.parent.name}_{video.stem}{part}.npz"
        if cache.exists():
            with np.load(cache) as data:
                return _from_arrays({k: data[k] for k in data.files})
    frames: list[LandmarkFrame] = []
    with open_run(str(video), TrackerConfig(), Processor(None, ANALYSIS_STAGES)) as (_info, run):
        for result in run:
            frames.append(result.landmarks)
            if max_frames is not None and len(frames) >= max_frames:
                break
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez_compressed(tmp, **_to_arrays(frames))  # type: ignore[arg-type]
        tmp.replace(cache)
    return frames
