"""Train the temporal lifters (bridge.lifter) on mocap seen through random virtual webcams; evaluate; export.

Needs the ``train`` extra (``pip install -e '.[train]'``: torch for training, pybullet for the DeepMimic
clips) and Debian ``assimp-testmodels`` (CMU BVH). Runs on a CPU in minutes:

    python tools/train_lifter.py                      # every model in MODELS, ships SHIP into bridge/data
    python tools/train_lifter.py --models rf1,rf81_causal --iterations 1500

Data (see bridge/lifter_data.py): every clip except the held-out ones, each through ``--views`` random cameras
at random speeds (0.7–1.4×; 30 % played backwards) with detector-like 2-D noise; windows sampled uniformly over
frames, edges padded by repetition as at inference; mirrored (left/right swapped, x negated) half the time.
Dropout 0.2 on the hidden layers (the temporal models overfit the few clips without it). Loss: mean per-joint
position error of the 33 hip-centred landmarks. Training uses VideoPose3D's strided single-output form
(kernel = stride), whose weights are exactly those of the dilated network bridge.lifter runs on sequences.
Batch norm is folded into the convolutions at export. Evaluation: bridge.lifter_data.evaluation_views
(held-out clips, 8 cameras each, seeded noise) through the exported numpy model; the Markdown table printed
at the end is the one in README.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bridge.core.landmarks import SWAP_LEFT_RIGHT  # noqa: E402
from bridge.stages.lifter import NUM_INPUTS, NUM_OUTPUTS, LifterModel, normalise_image_points, save_lifter  # noqa: E402
from bridge.testing.lifter_data import (  # noqa: E402
    HELD_OUT,
    clip,
    evaluate_model,
    evaluation_views,
    load_motions,
    random_camera,
    render_view,
)

#: name → (filter widths, causal).
MODELS: dict[str, tuple[tuple[int, ...], bool]] = {
    "rf1": ((1, 1, 1, 1), False),
    "rf27": ((3, 3, 3), False),
    "rf27_causal": ((3, 3, 3), True),
    "rf81": ((3, 3, 3, 3), False),
    "rf81_causal": ((3, 3, 3, 3), True),
    "rf243": ((3, 3, 3, 3, 3), False),
    "rf243_causal": ((3, 3, 3, 3, 3), True),
}
SHIP = ("rf1", "rf27", "rf27_causal")


def build_dataset(views_per_clip: int, seed: int) -> dict[str, np.ndarray]:
    """Flattened training frames: x (N, 66) normalised inputs, y (N, 99) targets, start/end (N,) of each
    frame's sequence (for edge padding by index clamping)."""
    rng = np.random.default_rng(seed)
    motions = load_motions()
    train_keys = [k for k in motions if k not in HELD_OUT]
    if not any(k.startswith("deepmimic:") for k in train_keys):
        print("train_lifter: pybullet is not installed: training on CMU only (pip install -e '.[train]')")
    xs, ys, starts, ends = [], [], [], []
    n = 0
    for key in train_keys:
        count = views_per_clip * (2 if key.startswith("deepmimic:") else 1)
        for _ in range(count):
            c = clip(key, motions[key], speed=float(rng.uniform(0.7, 1.4)))
            v = render_view(c, random_camera(rng), rng, noise_level=float(rng.uniform(0.3, 1.5)))
            t_n = v.image_xy.shape[0]
            # Played backwards 30 % of the time: more motion variety from few clips (the geometry is the same).
            step = -1 if rng.random() < 0.3 else 1
            x = normalise_image_points(v.image_xy[::step], v.image_size)  # float64 (the inference precision)
            xs.append(x.reshape(t_n, NUM_INPUTS).astype(np.float32))  # torch trains in float32
            ys.append(v.world_xyz_m[::step].reshape(t_n, NUM_OUTPUTS).astype(np.float32))
            starts.append(np.full(t_n, n))
            ends.append(np.full(t_n, n + t_n - 1))
            n += t_n
    print(f"train_lifter: {len(train_keys)} training clips ({', '.join(train_keys)}), {n} frames in views")
    return {"x": np.concatenate(xs), "y": np.concatenate(ys), "start": np.concatenate(starts),
            "end": np.concatenate(ends)}  # fmt: skip


def make_torch_model(widths: tuple[int, ...], causal: bool, channels: int, dropout: float,  # type: ignore[no-untyped-def]
                     num_inputs: int = NUM_INPUTS):  # fmt: skip
    """VideoPose3D's strided single-output network, written with linear layers: a convolution whose stride
    equals its kernel is a reshape (taps oldest first, then channels) followed by a matrix product — the
    layout bridge.lifter.LifterModel.forward_windows uses, and much faster than conv1d on a small CPU."""
    import torch
    from torch import nn

    class Strided(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.expand = nn.Linear(widths[0] * num_inputs, channels, bias=False)
            self.expand_bn = nn.BatchNorm1d(channels, momentum=0.1)
            self.convs = nn.ModuleList()
            self.bns = nn.ModuleList()
            for k in widths[1:]:
                self.convs.append(nn.Linear(k * channels, channels, bias=False))
                self.bns.append(nn.BatchNorm1d(channels, momentum=0.1))
                self.convs.append(nn.Linear(channels, channels, bias=False))
                self.bns.append(nn.BatchNorm1d(channels, momentum=0.1))
            self.shrink = nn.Linear(channels, NUM_OUTPUTS)
            self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

        def layer(self, lin: nn.Module, bn: nn.Module, x: torch.Tensor) -> torch.Tensor:
            b, t, c = x.shape
            y = bn(lin(x.reshape(b * t, c))).reshape(b, t, -1)
            return self.drop(torch.relu(y))

        def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, RF, 66) → (B, 99)
            b, rf, _ = x.shape
            h = self.layer(self.expand, self.expand_bn, x.reshape(b, rf // widths[0], -1))
            for i, k in enumerate(widths[1:]):
                off = k - 1 if causal else (k - 1) // 2
                res = h[:, off::k]
                y = self.layer(self.convs[2 * i], self.bns[2 * i], h.reshape(b, h.shape[1] // k, -1))
                h = res + self.layer(self.convs[2 * i + 1], self.bns[2 * i + 1], y)
            return self.shrink(h[:, 0])

    return Strided()


def export(net, name: str, widths: tuple[int, ...], causal: bool, info: dict[str, str]) -> LifterModel:  # type: ignore[no-untyped-def]
    """Fold batch norm into the linear layers; weights as (k·C_in, C_out) with taps oldest first."""

    def fold(lin, bn):  # type: ignore[no-untyped-def]
        w = lin.weight.detach().double().numpy()  # (C_out, k·C_in)
        s = bn.weight.detach().double().numpy() / np.sqrt(bn.running_var.double().numpy() + bn.eps)
        b = bn.bias.detach().double().numpy() - bn.running_mean.double().numpy() * s
        return (w * s[:, None]).T.astype(np.float32), b.astype(np.float32)

    layers = [fold(net.expand, net.expand_bn)]
    for lin, bn in zip(net.convs, net.bns, strict=True):
        layers.append(fold(lin, bn))
    wo = net.shrink.weight.detach().double().numpy().T
    bo = net.shrink.bias.detach().double().numpy()
    layers.append((wo.astype(np.float32), bo.astype(np.float32)))
    return LifterModel(name=name, filter_widths=widths, causal=causal, weights=tuple(layers), info=info)


def fit(  # type: ignore[no-untyped-def]
    net,
    data: dict[str, np.ndarray],
    rf: int,
    causal: bool,
    mirror: tuple[np.ndarray, ...],
    args: argparse.Namespace,
    name: str,
    rng: np.random.Generator,
    weight_decay: float,
) -> None:
    """Train ``net`` in place on random windows of ``data`` (``x`` (N, C) inputs, ``y`` (N, 99) targets, each
    frame's clip ``start``/``end``): AdamW with a one-cycle schedule, MPJPE loss, half of each batch mirrored
    left/right with ``mirror`` = (input index map, input signs, output index map, output signs); each window
    takes every k-th frame, k drawn from ``args.speeds`` where given (speed augmentation; default every frame).
    Used by this script and ``train_refiner.py``; ends with the net in eval mode."""
    import torch

    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.iterations, pct_start=0.1)
    offsets = np.arange(-(rf - 1), 1) if causal else np.arange(-(rf - 1) // 2, (rf - 1) // 2 + 1)
    x_all, y_all, start, end = data["x"], data["y"], data["start"], data["end"]
    swap_in, sign_in, swap_out, sign_out = mirror
    speeds = np.asarray(getattr(args, "speeds", (1,)), dtype=np.int64)
    t0 = time.monotonic()
    net.train()
    for it in range(args.iterations):
        centre = rng.integers(0, x_all.shape[0], args.batch)
        step = rng.choice(speeds, args.batch)[:, None] if len(speeds) > 1 else 1  # faster motion: frames skipped
        idx = np.clip(centre[:, None] + step * offsets[None, :], start[centre, None], end[centre, None])
        xb = x_all[idx]  # (B, RF, C)
        yb = y_all[centre]  # (B, 99), a copy (fancy indexing)
        flip = rng.random(args.batch) < 0.5
        xb[flip] = xb[flip][:, :, swap_in] * sign_in
        yb[flip] = yb[flip][:, swap_out] * sign_out
        pred = net(torch.from_numpy(xb)).view(-1, NUM_OUTPUTS // 3, 3)
        loss = torch.linalg.norm(pred - torch.from_numpy(yb).view(-1, NUM_OUTPUTS // 3, 3), dim=-1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if (it + 1) % max(1, args.iterations // 5) == 0:
            print(f"  {name}: iteration {it + 1}/{args.iterations}, train MPJPE {loss.item() * 1000:.1f} mm, "
                  f"{time.monotonic() - t0:.0f} s", flush=True)  # fmt: skip
    net.eval()


def train_one(name: str, data: dict[str, np.ndarray], args: argparse.Namespace) -> LifterModel:
    import torch

    widths, causal = MODELS[name]
    rf = int(np.prod(widths))
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed + 1)
    net = make_torch_model(widths, causal, args.channels, args.dropout)
    swap_in = (np.arange(NUM_INPUTS).reshape(-1, 2)[SWAP_LEFT_RIGHT]).reshape(-1)
    swap_out = (np.arange(NUM_OUTPUTS).reshape(-1, 3)[SWAP_LEFT_RIGHT]).reshape(-1)
    sign_in = np.tile([-1.0, 1.0], NUM_INPUTS // 2).astype(np.float32)
    sign_out = np.tile([-1.0, 1.0, 1.0], NUM_OUTPUTS // 3).astype(np.float32)
    t0 = time.monotonic()
    fit(net, data, rf, causal, (swap_in, sign_in, swap_out, sign_out), args, name, rng, weight_decay=1e-4)
    info = {
        "trained_by": "tools/train_lifter.py",
        "iterations": str(args.iterations),
        "batch": str(args.batch),
        "channels": str(args.channels),
        "views_per_clip": str(args.views),
        "seed": str(args.seed),
        "held_out": ",".join(HELD_OUT),
        "train_seconds": f"{time.monotonic() - t0:.0f}",
    }
    return export(net, name, widths, causal, info)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated names from MODELS")
    parser.add_argument("--ship", default=",".join(SHIP), help="models written into bridge/data (package weights)")
    parser.add_argument("--out", default=str(REPO / "build" / "lifter"), help="folder for every model + results")
    parser.add_argument("--iterations", type=int, default=2500)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--channels", type=int, default=128)
    parser.add_argument("--dropout", type=float, default=0.2)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--views", type=int, default=40, help="random cameras per training clip (x2 DeepMimic)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        parser.error(f"unknown models {unknown}; choose from {', '.join(MODELS)}")
    ship = {n.strip() for n in args.ship.split(",") if n.strip()}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    data = build_dataset(args.views, args.seed)
    print(f"train_lifter: data ready in {time.monotonic() - t0:.0f} s")
    motions = load_motions()
    views = list(evaluation_views(motions))
    cmu_views = [v for v in views if v.key.startswith("cmu:")]
    results: dict[str, dict[str, dict[str, float]]] = {}
    for name in names:
        model = train_one(name, data, args)
        save_lifter(out / f"lifter_{name}.npz", model)
        if name in ship:
            save_lifter(REPO / "bridge" / "data" / f"lifter_{name}.npz", model)
        results[name] = {"all": evaluate_model(model, views), "cmu": evaluate_model(model, cmu_views)}
        r = results[name]["all"]
        print(f"train_lifter: {name}: held-out MPJPE {r['mpjpe_mm']:.1f} mm, PA-MPJPE {r['pa_mpjpe_mm']:.1f} mm, "
              f"accel {r['accel_mm']:.2f} mm/frame²", flush=True)  # fmt: skip
    (out / "results.json").write_text(json.dumps(results, indent=1))
    first = results[names[0]]
    print(f"\nHeld-out clips: {', '.join(HELD_OUT)}; {len(views)} views, {int(first['all']['frames'])} "
          f"frames (CMU 01_03 alone: {int(first['cmu']['frames'])})\n")  # fmt: skip
    print(
        "| model | receptive field | causal | MPJPE mm | PA-MPJPE mm | accel mm/frame² | 01_03 MPJPE mm "
        "| 01_03 accel |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name in names:
        widths, causal = MODELS[name]
        a, c = results[name]["all"], results[name]["cmu"]
        print(f"| {name} | {int(np.prod(widths))} | {'yes' if causal else 'no'} | {a['mpjpe_mm']:.1f} | "
              f"{a['pa_mpjpe_mm']:.1f} | {a['accel_mm']:.2f} | {c['mpjpe_mm']:.1f} | "
              f"{c['accel_mm']:.2f} |")  # fmt: skip
    print(f"\ntrain_lifter: done in {time.monotonic() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
