"""Validation of ``bridge analyze`` on real video: Pose2Sim's calibrated 4-camera demos as the reference.

    python bench/bench_analysis_validation.py [--cache DIR] [--trial single|batch2]

For each view of each trial, ``analyze``'s angles of that single video against a reference triangulated by
``bridge.multiview`` from the three OTHER views (none of the analysed view's 2-D landmarks enters it): per angle
the mean absolute error (MAE), the bias (monocular − reference) and the Bland–Altman 95 % limits of agreement,
for what ``analyze`` reports (``auto``: 3-D unless the frame is seen from the side), its 3-D angles and its
image-plane angles; the view angle the analysis estimates against the true one (calibrated camera, reference
body) and the view warning; two-view triangulation (cam01 + cam03, cam02 + cam04) against a reference from the
other two views; and a held-out check of a knee-flexion bias correction (fitted on three views, tested on the
fourth).

Tracking results are cached in ``--cache`` (default: a temporary folder removed at the end); nothing derived is
written into the repository. About 1 minute on 2 cores (12 videos of 100 frames).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bridge.analysis.angles import POINT_PARTS, SIDES, angles_from_points  # noqa: E402
from bridge.core.landmarks import PoseLandmark as L  # noqa: E402
from bridge.multiview.calibration import Calibration  # noqa: E402
from bridge.multiview.triangulate import triangulate  # noqa: E402
from bridge.testing.analysis_validation import (  # noqa: E402
    ESTIMATES,
    TrialViews,
    ViewResult,
    agreement,
    load_trial,
    validate_multiview,
    validate_view,
)
from bridge.testing.pose2sim_demo import VIEWS, trials  # noqa: E402

SAGITTAL = ("knee_flexion", "hip_flexion", "elbow_flexion")
OTHERS = ("ankle_dorsiflexion", "shoulder_flexion", "shoulder_abduction")
TRUNK = ("trunk_forward_lean", "trunk_lateral_lean")


def _cell(a: object) -> str:
    mae, bias, lo, hi = (getattr(a, k) for k in ("mae_deg", "bias_deg", "loa_low_deg", "loa_high_deg"))
    return f"{mae:.1f} / {bias:+.1f} / [{lo:+.0f}, {hi:+.0f}]" if np.isfinite(mae) else "–"


def print_view(r: ViewResult) -> None:
    v = r.analysis.view
    assert v is not None
    true = float(np.nanmedian(r.reference.side_view_deg))
    print(
        f"\n### {r.trial} {r.view}: estimated view {v.view} ({v.median_deg:.0f}°), true {true:.0f}° "
        f"(per-frame error {r.view_error_deg:.1f}°); knee flexion: {v.angles['left_knee_flexion'].suits}"
    )
    for w in v.warnings:
        print(f"warning: {w}")
    print("\n| angle | analyze: MAE / bias / LoA | 3-D | image plane | frames |")
    print("|---|---|---|---|---|")
    for joint in (*SAGITTAL, *OTHERS):
        for side in SIDES:
            name = f"{side}_{joint}"
            cells = [_cell(r.agreements[e][name]) for e in ESTIMATES]
            print(f"| {name} | {' | '.join(cells)} | {r.agreements['analyze'][name].n} |")
    for name in TRUNK:
        cells = [_cell(r.agreements[e][name]) for e in ESTIMATES]
        print(f"| {name} | {' | '.join(cells)} | {r.agreements['analyze'][name].n} |")


def _diff(r: ViewResult, name: str, estimate: str = "analyze") -> np.ndarray:
    """(F,) estimate − reference of one angle, degrees (finite values only)."""
    d = r.estimates[estimate][name] - r.reference.angles_deg[name]
    return d[np.isfinite(d)]


def pooled(results: list[ViewResult], estimate: str = "analyze") -> None:
    """Per joint (both sides pooled), per view: MAE, bias and limits of agreement — the README table."""
    print(f"\n### Pooled over both sides ({estimate}): MAE / bias / 95 % limits of agreement (degrees)\n")
    print("| angle | " + " | ".join(f"{r.trial} {r.view} ({r.analysis.view.view if r.analysis.view else '?'})"
                                   for r in results) + " |")  # fmt: skip
    print("|---|" + "---|" * len(results))
    for joint in (*SAGITTAL, *OTHERS):
        cells = []
        for r in results:
            diffs = np.concatenate([_diff(r, f"{s}_{joint}", estimate) for s in SIDES])
            cells.append(_cell(agreement(diffs, np.zeros_like(diffs))))
        print(f"| {joint} | {' | '.join(cells)} |")


def reference_quality(results: list[ViewResult]) -> None:
    """How steady each reference's bones are (a rigid bone keeps its length): mean ± SD over frames, cm."""
    bones = (("thigh", "HIP", "KNEE"), ("shank", "KNEE", "ANKLE"), ("upper arm", "SHOULDER", "ELBOW"),
             ("forearm", "ELBOW", "WRIST"))  # fmt: skip
    print("\n### Reference quality: bone length over frames, mean ± SD (cm), left / right\n")
    print("| reference for | " + " | ".join(b[0] for b in bones) + " |")
    print("|---|" + "---|" * len(bones))
    for r in results:
        p = r.reference.points_m
        cells = []
        for _, a, b in bones:
            parts = []
            for s in SIDES:
                d = np.linalg.norm(p[:, L[f"{s.upper()}_{a}"]] - p[:, L[f"{s.upper()}_{b}"]], axis=1) * 100.0
                parts.append(f"{np.nanmean(d):.0f} ± {np.nanstd(d):.1f}")
            cells.append(" / ".join(parts))
        print(f"| {r.view} | {' | '.join(cells)} |")


def two_view(views: TrialViews) -> None:
    """Angles from two views triangulated against the reference from the other two."""
    c = views.calibration
    print("\n### Two-view triangulation against the other two views: MAE / bias / LoA (degrees)\n")
    print("| angle | cam01+cam03 vs cam02+cam04 | cam02+cam04 vs cam01+cam03 |")
    print("|---|---|---|")
    pairs = ((0, 2), (1, 3))
    angles = []
    for pair in pairs:
        calib = Calibration(tuple(c.cameras[i] for i in pair), c.up, c.floor_m)
        tri = triangulate(calib, views.pixels[:, list(pair)], views.weights[:, list(pair)])
        pts = tri.points_world_m
        named = {f"{s}_{p}": pts[:, L[f"{s.upper()}_{p.upper()}"]] for s in SIDES for p in POINT_PARTS}
        angles.append(angles_from_points(named, up=np.asarray(c.up, dtype=np.float64)))
    for joint in (*SAGITTAL, *OTHERS):
        for side in SIDES:
            name = f"{side}_{joint}"
            cells = [
                _cell(agreement(angles[0][name], angles[1][name])),
                _cell(agreement(angles[1][name], angles[0][name])),
            ]
            print(f"| {name} | {' | '.join(cells)} |")


def multiview(views: TrialViews, results: list[ViewResult]) -> None:
    """``analyze`` of two views fused (a several-view recording) against the other two, beside monocular."""
    pairs = ((0, 2), (1, 3))
    fused = [validate_multiview(views, pair) for pair in pairs]
    print("\n### Multi-view analyze (two views fused) against a reference from the other two: MAE / bias / LoA\n")
    head = [
        f"{VIEWS[a]}+{VIEWS[b]} ({f[0].view.view if f[0].view else '?'})"
        for (a, b), f in zip(pairs, fused, strict=True)
    ]
    print("| angle | " + " | ".join(head) + " | monocular, mean MAE of the 4 views |")
    print("|---|---|---|---|")
    for joint in (*SAGITTAL, *OTHERS):
        for side in SIDES:
            name = f"{side}_{joint}"
            mono = np.nanmean([r.agreements["analyze"][name].mae_deg for r in results])
            print(f"| {name} | {' | '.join(_cell(f[1][name]) for f in fused)} | {mono:.1f} |")


def held_out_knee_correction(results: list[ViewResult]) -> None:
    """An additive knee-flexion bias correction fitted on three views and tested on the fourth."""
    print("\n### Knee flexion bias correction, leave one view out (MAE before → after, degrees)\n")
    print("| held-out view | bias fitted on the others | MAE before | MAE after |")
    print("|---|---|---|---|")
    for k, r in enumerate(results):
        fit = [_diff(o, f"{s}_knee_flexion") for j, o in enumerate(results) if j != k for s in SIDES]
        bias = float(np.concatenate(fit).mean())
        d = np.concatenate([_diff(r, f"{s}_knee_flexion") for s in SIDES])
        print(f"| {r.trial} {r.view} | {bias:+.1f} | {np.abs(d).mean():.1f} | {np.abs(d - bias).mean():.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=None, help="folder for the tracked views (kept)")
    parser.add_argument("--trial", action="append", default=None, help="single, batch2 (default: all installed)")
    args = parser.parse_args()
    found = [t for t in trials() if args.trial is None or t.name in args.trial]
    if not found:
        sys.exit("the Pose2Sim demos are not installed (pip install pose2sim==0.10.49)")
    with tempfile.TemporaryDirectory() as tmp:
        cache = args.cache or Path(tmp)
        for trial in found:
            views = load_trial(trial, cache)
            print(
                f"\n## {trial.name}: view offsets to cam01 {views.offsets} frames, {views.pixels.shape[0]} frames"
            )
            results = [validate_view(views, v) for v in range(len(VIEWS))]
            for r in results:
                print_view(r)
            reference_quality(results)
            pooled(results)
            pooled(results, "3d")
            pooled(results, "image")
            two_view(views)
            multiview(views, results)
            held_out_knee_correction(results)


if __name__ == "__main__":
    main()
