"""Train the temporal refiners of MediaPipe's world landmarks (``--lifter refine``) on the real tracker's errors.

    nice -n 10 python tools/make_refiner_data.py --rounds 3 --seed 0   # renders × real tracker → pairs (cached)
    python tools/train_refiner.py --seed 7 --threads 2     # trains, ships bridge/data/lifter_refine_*.npz

Data: every cached pair (bridge/testing/lifter_data_real.py; with ``--target reference``, those made as one of
several views) whose motion is not held out (HELD_OUT: CMU 01_03,
DeepMimic dance_b, getup_faceup, kick); windows over runs of tracked frames (edges padded by repetition, as at
inference), mirrored half the time (left/right swapped, x negated in 3-D and 2-D). Input per frame: MediaPipe's
hip-centred world landmarks, visibilities, normalised 2-D (bridge.stages.lifter.refiner_inputs); target: the
render's exact truth (``--target truth``, the default) or the hip-centred reference triangulated from the other
views (``--target reference``: MediaPipe's own definitions of the points, as the real-video reference has them;
bridge/testing/lifter_data_views.py; worse on real video: on acrobatic clips the other views' 2-D points are poor),
minus MediaPipe's (the network predicts the correction); windows of every frame or every second frame
(``--speeds 1,2``). Loss: mean per-joint
position error. Same strided network and export as tools/train_lifter.py (batch norm folded, float16 weights).
Prints the held-out PA-MPJPE of MediaPipe and of each model, and the wall time.

The correction scale: each trained model keeps the share of its correction (0 to 1 in steps of
``SCALE_STEP``) that gives the lowest held-out PA-MPJPE (:func:`choose_correction_scale`; stored with the weights,
``LifterModel.correction_scale``). ``--scale-only`` chooses it again for the shipped weights without training (no
torch): ``python tools/train_refiner.py --scale-only``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tools"))

from train_lifter import export, fit, make_torch_model  # noqa: E402

from bridge.core.landmarks import NUM_LANDMARKS, SWAP_LEFT_RIGHT  # noqa: E402
from bridge.stages.flips import FlipRepair  # noqa: E402
from bridge.stages.lifter import (  # noqa: E402
    NUM_OUTPUTS,
    REFINE_INPUTS,
    LifterModel,
    add_correction,
    hip_centre,
    lifter_weights_path,
    load_lifter_file,
    refiner_inputs,
    save_lifter,
)
from bridge.testing.lifter_data import HELD_OUT, pa_mpjpe_mm  # noqa: E402
from bridge.testing.lifter_data_real import Pair, load_pairs, pair_frames, pose_errors, tracked_runs  # noqa: E402

#: Steps of the correction scale tried (:func:`choose_correction_scale`).
SCALE_STEP = 0.05
#: name → (filter widths, causal).
MODELS: dict[str, tuple[tuple[int, ...], bool]] = {
    "refine_rf27": ((3, 3, 3), False),
    "refine_rf27_causal": ((3, 3, 3), True),
}


def target_of(pair: Pair, target: str) -> np.ndarray:
    """(T, 33, 3) what the refiner learns to give for ``pair``: its exact truth (``truth``), or its reference
    triangulated from the other views (``reference``; bridge/testing/lifter_data_views.py), with a landmark no
    other views triangulated filled in by the truth (both metric, hip-centred)."""
    if target == "truth" or pair.reference_m is None:
        return pair.truth_m
    ref = hip_centre(pair.reference_m)
    truth = hip_centre(pair.truth_m)
    return np.where(np.isfinite(ref), ref, truth)


def runs_of(pairs: list[Pair], target: str = "truth") -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per run of tracked frames: inputs (T, 198), MediaPipe hip-centred (T, 33, 3), target (T, 33, 3)."""
    out = []
    for p in pairs:
        goal = target_of(p, target)
        for a, b in tracked_runs(p):
            x = refiner_inputs(p.world_xyz_m[a:b], p.visibility[a:b], p.image_xy[a:b], p.image_size)
            out.append((x, hip_centre(p.world_xyz_m[a:b]), hip_centre(goal[a:b])))
    return out


def flatten(runs: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> dict[str, np.ndarray]:
    xs, ys, starts, ends, n = [], [], [], [], 0
    for x, mp, truth in runs:
        xs.append(x.astype(np.float32))
        ys.append((truth - mp).reshape(-1, NUM_OUTPUTS).astype(np.float32))
        starts.append(np.full(len(x), n))
        ends.append(np.full(len(x), n + len(x) - 1))
        n += len(x)
    return {"x": np.concatenate(xs), "y": np.concatenate(ys), "start": np.concatenate(starts),
            "end": np.concatenate(ends)}  # fmt: skip


def mirror_maps() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Index and sign maps that mirror an input row (198) and an output row (99)."""
    sw = np.asarray(SWAP_LEFT_RIGHT)
    w_idx = (np.arange(NUM_OUTPUTS).reshape(-1, 3)[sw]).reshape(-1)
    v_idx = NUM_OUTPUTS + np.arange(NUM_LANDMARKS)[sw]
    p_idx = NUM_OUTPUTS + NUM_LANDMARKS + (np.arange(2 * NUM_LANDMARKS).reshape(-1, 2)[sw]).reshape(-1)
    swap_in = np.concatenate([w_idx, v_idx, p_idx])
    sign_w = np.tile([-1.0, 1.0, 1.0], NUM_LANDMARKS)
    sign_in = np.concatenate([sign_w, np.ones(NUM_LANDMARKS), np.tile([-1.0, 1.0], NUM_LANDMARKS)])
    return swap_in, sign_in.astype(np.float32), w_idx, sign_w.astype(np.float32)


def train_one(name: str, data: dict[str, np.ndarray], args: argparse.Namespace):  # type: ignore[no-untyped-def]
    import torch

    widths, causal = MODELS[name]
    rf = int(np.prod(widths))
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed + 1)
    net = make_torch_model(widths, causal, args.channels, args.dropout, REFINE_INPUTS)
    # The output layer starts at zero: the untrained refiner is MediaPipe itself.
    torch.nn.init.zeros_(net.shrink.weight)
    torch.nn.init.zeros_(net.shrink.bias)
    t0 = time.monotonic()
    fit(net, data, rf, causal, mirror_maps(), args, name, rng, weight_decay=args.weight_decay)
    info = {"trained_by": "tools/train_refiner.py", "iterations": str(args.iterations), "batch": str(args.batch),
            "channels": str(args.channels), "dropout": str(args.dropout), "seed": str(args.seed),
            "held_out": ",".join(HELD_OUT), "train_frames": str(len(data["x"])), "target": args.target,
            "speeds": ",".join(map(str, args.speeds)),
            "train_seconds": f"{time.monotonic() - t0:.0f}"}  # fmt: skip
    return export(net, name, widths, causal, info)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--out", default=str(REPO / "build" / "lifter"), help="folder for every model")
    parser.add_argument("--no-ship", action="store_true", help="do not write the weights into bridge/data")
    parser.add_argument("--iterations", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--channels", type=int, default=128)
    parser.add_argument("--dropout", type=float, default=0.25)
    parser.add_argument("--weight-decay", type=float, default=1e-3)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--speeds",
        default="1,2",
        help="frame steps of the training windows, e.g. 1,2 (speed "
        "augmentation: a window of every second frame is the motion twice as fast)",
    )
    parser.add_argument("--target", choices=("reference", "truth"), default="truth",
                        help="learn the reference triangulated from the other views (pairs made with --views), "
                             "or the render's exact truth")  # fmt: skip
    parser.add_argument("--scale-only", action="store_true",
                        help="choose the shipped weights' correction scale again, without training")  # fmt: skip
    args = parser.parse_args()
    args.speeds = tuple(int(k) for k in args.speeds.split(","))
    t0 = time.monotonic()
    pairs = load_pairs()
    if args.target == "reference":
        pairs = [p for p in pairs if p.reference_m is not None]
    train = [p for p in pairs if p.clip not in HELD_OUT]
    held = [p for p in pairs if p.clip in HELD_OUT]
    if not held or not (train or args.scale_only):
        parser.error("no cached pairs (or none held out): run tools/make_refiner_data.py first")
    held_runs = runs_of(held)
    truth = np.concatenate([t for _, _, t in held_runs])
    raw = np.concatenate([m for _, m, _ in held_runs])
    refs = np.concatenate([t for _, _, t in runs_of(held, "reference")])
    print(
        f"train_refiner: held-out PA-MPJPE MediaPipe {pa_mpjpe_mm(raw, truth):.1f} mm (vs the references: "
        f"{pa_mpjpe_mm(raw, refs):.1f})"
    )
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    scale_runs = pipeline_runs(held)
    if args.scale_only:
        scale_only(scale_runs, names)
        return 0
    data = flatten(runs_of(train, args.target))
    print(f"train_refiner: {len(train)} training renders ({len(data['x'])} tracked frames, motions "
          f"{', '.join(sorted({p.clip for p in train}))}); {len(held)} held-out renders", flush=True)  # fmt: skip
    import torch

    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        model, errors = choose_correction_scale(train_one(name, data, args), scale_runs)
        print(f"train_refiner: {name}: correction scale {model.correction_scale:g} (held-out PA-MPJPE "
              f"{errors[model.correction_scale]:.1f} mm; {errors[1.0]:.1f} with the whole correction)",
              flush=True)  # fmt: skip
        save_lifter(out / f"lifter_{name}.npz", model)
        if not args.no_ship:
            save_lifter(REPO / "bridge" / "data" / f"lifter_{name}.npz", model)
        pred = np.concatenate([add_correction(x, model.predicted_correction(x), model.correction_scale)
                               for x, _, _ in held_runs])  # fmt: skip
        print(
            f"train_refiner: {name}: held-out PA-MPJPE {pa_mpjpe_mm(pred, truth):.1f} mm (vs the references: "
            f"{pa_mpjpe_mm(pred, refs):.1f})",
            flush=True,
        )
    print(f"train_refiner: done in {time.monotonic() - t0:.0f} s (seed {args.seed})")
    return 0


def pipeline_runs(pairs: list[Pair]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per run of tracked frames: the refiner's inputs (T, 198) as ``--lifter refine`` gives them (after the flip
    repair, which runs before the lifter) and the exact truth (T, 33, 3), hip-centred."""
    out = []
    for p in pairs:
        repair = FlipRepair()
        frames = [repair(f) for f in pair_frames(p)]
        for a, b in tracked_runs(p):
            run = frames[a:b]
            x = refiner_inputs(np.stack([f.world_xyz_m for f in run]), np.stack([f.visibility for f in run]),
                               np.stack([f.image_xy for f in run]), p.image_size)  # fmt: skip
            out.append((x, hip_centre(p.truth_m[a:b])))
    return out


def choose_correction_scale(
    model: LifterModel, runs: list[tuple[np.ndarray, np.ndarray]]
) -> tuple[LifterModel, dict[float, float]]:
    """The model with the correction scale (0 … 1 by :data:`SCALE_STEP`) of the lowest PA-MPJPE (the 12 body
    landmarks, as ``bench/bench_lifter_real.py`` measures) on ``runs`` (:func:`pipeline_runs` of the held-out
    renders), and that error (mm) at every scale tried."""
    truth = np.concatenate([t for _, t in runs])
    full = [(x, model.predicted_correction(x)) for x, _ in runs]
    errors = {}
    for s in np.round(np.arange(0.0, 1.0 + 1e-9, SCALE_STEP), 4):
        pred = np.concatenate([add_correction(x, y, float(s)) for x, y in full])
        errors[float(s)] = pose_errors(pred, truth)["pa_mpjpe_mm"]
    best = min(errors, key=lambda k: errors[k])
    return model.with_correction_scale(best), errors


def scale_only(runs: list[tuple[np.ndarray, np.ndarray]], names: list[str]) -> None:
    """Choose the correction scale of the shipped weights again (the weights themselves unchanged)."""
    for name in names:
        path = lifter_weights_path(name)
        model, errors = choose_correction_scale(load_lifter_file(path), runs)
        save_lifter(path, model)
        table = ", ".join(f"{s:g}: {e:.1f}" for s, e in errors.items())
        print(f"train_refiner: {name}: correction scale {model.correction_scale:g} (held-out PA-MPJPE mm {table})")


if __name__ == "__main__":
    raise SystemExit(main())
