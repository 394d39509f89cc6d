"""Training pairs whose target is a reference built as the real-video one is: several synchronised rendered
views of one stretch of a mocap clip, each tracked by the real MediaPipe tracker, and each view's reference
triangulated from the **other** views' MediaPipe 2-D points, low-passed at 6 Hz
(:func:`bridge.testing.analysis_validation.lowpass_points`): exactly how ``bench/bench_lifter_real.py`` builds
the reference of a real Pose2Sim view.

Why: a refiner trained toward the render's exact truth (skeleton joints, marker vertices) also learns where the
render puts a hip or an ankle, which is not where MediaPipe's annotators put them; the real-video reference
(triangulated MediaPipe points) keeps MediaPipe's own definitions, so those learned offsets counted as error
there. A target triangulated from MediaPipe's own points has MediaPipe's definitions and the geometry of the
other views. The exact truth stays in each pair (``truth_m``) for the held-out measures.

Measured, and not the refiner's target (``tools/train_refiner.py --target reference`` is kept for trying again): on
real video it did worse than the truth target (PA-MPJPE 92–112 mm per Pose2Sim view against 92–103), because on
the acrobatic clips (backflip, cartwheel, roll) the other views' MediaPipe points are poor. Over the training
renders the reference lies 78.8 mm PA-MPJPE from the truth, and 34–41 mm on CMU ``01_01``. The groups'
renders are the refiner's training material all the same, through their exact truth.

Each view is saved as an ordinary pair (:mod:`bridge.testing.lifter_data_real`) with one more array,
``reference_m`` (T, 33, 3): the reference in that view's MediaPipe world frame (camera axes, hip-centred,
metres), NaN where fewer than two other views triangulated a landmark.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bridge.core.landmarks import PoseLandmark
from bridge.multiview.calibration import Calibration
from bridge.multiview.triangulate import triangulate
from bridge.testing.lifter_data_real import (
    RENDER_CLIPS,
    PairSpec,
    clip_spec,
    fit_start,
    pairs_dir,
    random_start,
    save_pair,
)

FloatArray = npt.NDArray[np.float64]

#: The reference's low-pass (Hz), as the real-video reference's (``reference_for``).
REFERENCE_CUTOFF_HZ = 6.0


def view_group_specs(
    rounds: int, views: int = 4, seed: int = 0, duration_s: float = 3.0, shapes: Sequence[str] = ("",)
) -> list[list[PairSpec]]:
    """``rounds`` groups per clip (clips interleaved) of ``views`` cameras filming one stretch of it: yaws spread
    all round (one random turn per group, then 360° / ``views`` apart, ±15°), each camera 0.7–1.9 m high with a
    45–75° field of view of its own; round ``r``'s body is ``shapes[r % len(shapes)]``
    (:data:`bridge.testing.render_mesh.SHAPES`; a round's cameras do not depend on it)."""
    rng = np.random.default_rng(seed)
    out = []
    for r in range(rounds):
        shape = shapes[r % len(shapes)]
        for c in RENDER_CLIPS:
            start = random_start(rng, c, duration_s)
            turn = float(rng.uniform(0.0, 360.0))
            group = []
            for v in range(views):
                yaw = (turn + 360.0 * v / views + float(rng.uniform(-15.0, 15.0))) % 360.0
                height = round(float(rng.uniform(0.7, 1.9)), 2)
                hfov = round(float(rng.uniform(45.0, 75.0)), 1)
                group.append(PairSpec(c, start, duration_s, round(yaw, 1), height, hfov, shape=shape))
            out.append(group)
    return out


def references(calibration: Calibration, pixels: FloatArray, weights: FloatArray, t_s: FloatArray) -> FloatArray:
    """(F, V, 33, 3) each view's reference in its MediaPipe world frame (camera axes, hip-centred, metres): the
    other views' (F, V, 33, 2) pixels (NaN: not seen; ``weights`` (F, V, 33) visibilities) triangulated with
    their cameras, low-passed (:data:`REFERENCE_CUTOFF_HZ`), turned into the view's camera axes."""
    from bridge.testing.analysis_validation import lowpass_points

    cams = calibration.cameras
    out = []
    for v, cam in enumerate(cams):
        others = [i for i in range(len(cams)) if i != v]
        calib = Calibration(tuple(cams[i] for i in others), calibration.up, calibration.floor_m)
        tri = triangulate(calib, pixels[:, others], weights[:, others])
        pts = lowpass_points(np.asarray(tri.points_world_m, dtype=np.float64), t_s, REFERENCE_CUTOFF_HZ)
        hips = 0.5 * (pts[:, PoseLandmark.LEFT_HIP] + pts[:, PoseLandmark.RIGHT_HIP])
        out.append((pts - hips[:, None]) @ np.asarray(cam.R, dtype=np.float64).T)
    return np.stack(out, axis=1)


def make_view_group(group: list[PairSpec], folder: Path | None = None) -> list[Path]:
    """Render every view of ``group``, track each, save each with its reference (or reuse the saved files).
    Empty where the clip is too short."""
    from bridge.core.errors import BridgeError
    from bridge.testing.render import render_clip
    from bridge.testing.render_pairs import track_render
    from bridge.testing.render_views import render_calibration

    fitted = [fit_start(s) for s in group]
    if any(s is None for s in fitted):
        return []
    specs = [s for s in fitted if s is not None]
    paths = [(folder or pairs_dir()) / f"{clip_spec(s).key()}-views{len(specs)}.npz" for s in specs]
    if all(p.is_file() for p in paths):
        return paths
    try:
        renders = [render_clip(clip_spec(s)) for s in specs]
    except BridgeError:
        return []
    tracked = [track_render(rc) for rc in renders]
    pixels = np.stack([np.where(tr.found[:, None, None], tr.image_px, np.nan) for tr in tracked], axis=1)
    weights = np.stack([np.where(tr.found[:, None], tr.visibility, 0.0) for tr in tracked], axis=1)
    refs = references(render_calibration(renders), pixels, weights, renders[0].truth.t_s)
    for v, (path, spec, tr) in enumerate(zip(paths, specs, tracked, strict=True)):
        save_pair(path, spec, tr, refs[:, v])
    return paths
