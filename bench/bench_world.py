"""A body in the world, measured against ground truth of our own: rendered mocap through the real tracker.

For each clip, the CC0 MakeHuman body driven by real motion capture (CMU ``01_01`` jumps, ``01_03`` climbing
onto a box; DeepMimic walk and run when pybullet is installed: the ``test`` and ``train`` extras) is rendered into
a video from a known fixed camera (:mod:`bridge.testing.render`, cached in ``$BRIDGE_RENDER_CACHE`` or the temp
folder), then:

1. **detection**: the real tracker (``open_landmarks``) on the video: the share of frames with a person and
   the 2-D error of its landmarks against the projected truth (median px; % of the nose-to-heel height);
2. **export**: ``python -m bridge export VIDEO --bvh OUT --unit m`` (plus ``--root-motion full --fov <the
   camera's>`` when this bridge has those options; ``--give-height`` adds ``--height``), and every metric of
   :mod:`bridge.testing.world_metrics_bvh` of the BVH against the truth, in the person's scale (bridge
   scales the body and its travel to the rig it drives, 1.72 m: the output is multiplied by the true height
   over the rig's, 0.97 for the 1.67 m body; ``r.rig`` gives the root path as the file has it);
3. **live**: ``python -m bridge stream --input VIDEO --record-bvh OUT`` (the causal path, paced like a
   camera): its lag behind the truth (hinge flexion cross-correlation).

4. **several cameras** (``--views N``, default 3; 0 leaves it out): the same frames rendered from N cameras
   (:mod:`bridge.testing.render_views`: the clip's own and ±70° about the body), their calibration written as
   a camera TOML, ``python -m bridge export --input V1 --input V2 … --calibration TOML --bvh OUT --root-motion
   full``, and every metric of the BVH against the truth (root path in the first camera's room frame).

Then the registry videos (Sports2D demo, Pose2Sim Demo_SinglePerson views; no truth): floor penetration,
implausible-hinge frames and jitter of the export.

Usage: ``python bench/bench_world.py [--quick | --held-out] [--give-height] [--views N] [--json FILE]
[--bridge DIR]`` (``--held-out``: 14 other renders, made after the body state's choices, at other yaws, camera
heights and fields of view)
(``--bridge``: measure another checkout's ``bridge`` with this checkout's metrics, e.g. before a change;
``--quick``: three short clips, one registry video, a few minutes on 2 cores once the renders are cached; the
first run renders them).
The body state's choices were made on these clips (the README says, table by table, which were held out);
``--held-out`` measures on renders that were not.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bridge.core.landmarks import PoseLandmark  # noqa: E402
from bridge.export.bvh_file import BvhMotion, read_bvh  # noqa: E402
from bridge.testing.render import ClipSpec, RenderedClip, RenderTruth, render_clip  # noqa: E402
from bridge.testing.render_mesh import load_body  # noqa: E402
from bridge.testing.render_pairs import track_render  # noqa: E402
from bridge.testing.render_views import VIEW_YAWS_DEG, render_views  # noqa: E402
from bridge.testing.world_metrics import root_path_error_m  # noqa: E402
from bridge.testing.world_metrics_bvh import bvh_track, lone_metrics, truth_metrics, truth_track  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
#: The checkout whose ``bridge`` command is measured (``--bridge``; the metrics are always this checkout's).
MEASURED = [REPO]
BODY_LANDMARKS = [PoseLandmark[f"{s}_{p}"] for s in ("LEFT", "RIGHT")
                  for p in ("SHOULDER", "ELBOW", "WRIST", "HIP", "KNEE", "ANKLE")]  # fmt: skip


def clips(quick: bool) -> list[ClipSpec]:
    from bridge.testing.deepmimic import deepmimic_clips

    out = [ClipSpec("01_01", start_s=1.0, duration_s=4.0), ClipSpec("01_03", start_s=3.0, duration_s=5.0)]
    walk = "walk" in deepmimic_clips()
    if walk:
        out.append(ClipSpec("deepmimic:walk", start_s=0.0, duration_s=3.0, yaw_deg=60.0))
    if not quick:
        out = [ClipSpec("01_01", start_s=1.0, duration_s=7.0), ClipSpec("01_03", start_s=3.0, duration_s=9.0),
               ClipSpec("01_01", start_s=1.0, duration_s=7.0, yaw_deg=90.0)]  # fmt: skip
        if walk:
            out += [ClipSpec("deepmimic:walk", duration_s=5.0, yaw_deg=60.0),
                    ClipSpec("deepmimic:run", duration_s=2.0, yaw_deg=60.0)]  # fmt: skip
    return out


def held_out_clips() -> list[ClipSpec]:
    """``--held-out``: 14 renders made after the body state's choices, to check them on clips they were not made
    on: other yaws (walks toward and away from the camera among them), camera heights and fields of view."""
    from bridge.testing.deepmimic import deepmimic_clips

    jumps, climb = dict(clip="01_01", start_s=1.0, duration_s=7.0), dict(clip="01_03", start_s=3.0, duration_s=9.0)
    walk, run = dict(clip="deepmimic:walk", duration_s=5.0), dict(clip="deepmimic:run", duration_s=2.0)
    out = [ClipSpec(**jumps, yaw_deg=45.0), ClipSpec(**jumps, camera_height_m=1.8, hfov_deg=45.0),
           ClipSpec(**jumps, yaw_deg=135.0), ClipSpec(**jumps, yaw_deg=270.0, hfov_deg=70.0),
           ClipSpec(**climb, yaw_deg=60.0, camera_height_m=0.9), ClipSpec(**climb, yaw_deg=300.0)]  # fmt: skip
    if "walk" in deepmimic_clips():
        out += [ClipSpec(**walk, yaw_deg=0.0, camera_height_m=1.6, hfov_deg=75.0), ClipSpec(**walk, yaw_deg=150.0),
                ClipSpec(**walk, yaw_deg=90.0), ClipSpec(**walk, yaw_deg=30.0, camera_height_m=0.9, hfov_deg=65.0),
                ClipSpec(**walk, yaw_deg=200.0, camera_height_m=1.4), ClipSpec(**run, yaw_deg=120.0),
                ClipSpec(**run, yaw_deg=0.0)]  # fmt: skip
        out.append(ClipSpec("deepmimic:jump", duration_s=3.0, yaw_deg=30.0))
    return out


def clip_name(spec: ClipSpec) -> str:
    """A row's name: the clip, its stretch, the camera's yaw (and height and field of view where not the
    default's)."""
    name = f"{spec.clip} {spec.start_s:.0f}+{spec.duration_s:.0f}s yaw {spec.yaw_deg:.0f}"
    if spec.camera_height_m != ClipSpec.camera_height_m or spec.hfov_deg != ClipSpec.hfov_deg:
        name += f" cam {spec.camera_height_m:.1f} m {spec.hfov_deg:.0f}°"
    return name


def registry_videos(quick: bool) -> list[tuple[str, Path, int]]:
    """(name, video, frames to use)."""
    import importlib.util

    def pkg(name: str) -> Path | None:
        spec = importlib.util.find_spec(name)
        return Path(spec.origin).parent if spec is not None and spec.origin else None

    out: list[tuple[str, Path, int]] = []
    s2d, p2s = pkg("Sports2D"), pkg("Pose2Sim")
    if s2d is not None and (s2d / "Demo" / "demo.mp4").is_file():
        out.append(("sports2d demo", s2d / "Demo" / "demo.mp4", 150 if quick else 400))
    if p2s is not None:
        views = sorted((p2s / "Demo_SinglePerson" / "videos").glob("cam*.mp4"))
        out += [(f"pose2sim {v.stem}", v, 300) for v in (views[:0] if quick else views)]
    return out


def bridge_cmd(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(MEASURED[0])}
    return subprocess.run(
        [sys.executable, "-m", "bridge", *args], env=env, capture_output=True, text=True, cwd=MEASURED[0]
    )


def world_flags(truth: RenderTruth | None, give_height: bool) -> list[str]:
    """The body-state options this bridge has (none before the body-state stage existed)."""
    text = bridge_cmd("export", "--help").stdout
    flags: list[str] = []
    if "--root-motion" in text:
        flags += ["--root-motion", "full"]
    if truth is not None and "--fov" in text:
        flags += ["--fov", f"{truth.camera.hfov_deg:.2f}"]
    if truth is not None and give_height and "--height" in text:
        flags += ["--height", f"{float(load_body().rest_xyz_m[:, 1].max()):.3f}"]
    return flags


def detection(rc: RenderedClip) -> dict[str, float]:
    """Detection rate and 2-D error of the real tracker on the render."""
    pairs = track_render(rc)
    truth = rc.truth
    e = np.linalg.norm(pairs.image_px - truth.landmarks_px, axis=2)[pairs.found]
    e = e if len(e) else np.full((1, 33), np.nan)
    tall = np.ptp(truth.landmarks_px[:, :, 1], axis=1).mean()
    world = np.linalg.norm(pairs.world_xyz_m - pairs.truth_mediapipe_m, axis=2)[pairs.found][:, BODY_LANDMARKS]
    return {
        "detected_pct": 100.0 * float(pairs.found.mean()),
        "px_all": float(np.median(e)),
        "px_body": float(np.median(e[:, BODY_LANDMARKS])),
        "pct_height_body": float(100.0 * np.median(e[:, BODY_LANDMARKS]) / tall),
        "body_px": float(tall),
        "world_cm": 100.0 * float(np.median(world)) if len(world) else float("nan"),
    }


def export_bvh(video: Path, out: Path, flags: list[str], max_frames: int | None = None) -> Path:
    extra = ["--max-frames", str(max_frames)] if max_frames else []
    res = bridge_cmd("export", str(video), "--bvh", str(out), "--unit", "m", *flags, *extra)
    if res.returncode != 0:
        raise SystemExit(f"bridge export failed on {video}:\n{res.stderr[-2000:]}")
    return out


def live_bvh(video: Path, out: Path, fps: float) -> Path | None:
    res = bridge_cmd(
        "stream", "--input", str(video), "--record-bvh", str(out), "--record-fps", f"{fps:g}", "--record-unit", "m"
    )
    return out if res.returncode == 0 and out.is_file() else None


def start_offset_s(motion: BvhMotion, truth: RenderTruth) -> float:
    """Seconds of video before the BVH's first frame: a BVH starts at its first pose, so one shorter than the
    video is taken to have skipped frames at the start (a pipeline that withholds poses until it is sure)."""
    missing = len(truth.t_s) * (1.0 / truth.fps) - motion.num_frames * motion.frame_time_s
    if missing > 0.5 * motion.frame_time_s:
        print(f"    (the BVH is {missing:.2f} s shorter than the video: taken as skipped at the start)")
        return missing
    return 0.0


def person_scale() -> float:
    """The true body's height over the default rig's: bridge scales the travel (and the body) to the rig it
    drives (1.72 m), so its output is measured in the person's metres after multiplying by this (the known
    ratio, not bridge's estimate of the person's height, whose error still counts)."""
    from bridge.core.rig import load_rig

    return float(load_body().rest_xyz_m[:, 1].max()) / load_rig().height_m


def measured(motion: BvhMotion, truth: RenderTruth, fps: float) -> dict[str, float]:
    """Every metric of an exported BVH against the truth, in the person's scale; ``root_avatar_*``: the root
    path in the rig's own scale, as the file has it."""
    t = truth.t_s - start_offset_s(motion, truth)
    ref, yaw = truth_track(truth), truth.camera.room_yaw_rad
    row = truth_metrics(bvh_track(motion, t, unit_m=person_scale()), ref, truth.contacts, fps, yaw)
    rig = bvh_track(motion, t)
    mean, worst = root_path_error_m(rig.hips_m, rig.forward, ref.hips_m, ref.forward, ref.t_s, yaw_rad=yaw)
    row["root_avatar_mean_cm"], row["root_avatar_max_cm"] = 100.0 * mean, 100.0 * worst
    return row


def one_clip(spec: ClipSpec, work: Path, give_height: bool) -> dict[str, float]:
    t0 = time.perf_counter()
    rc = render_clip(spec)
    t_render = time.perf_counter() - t0
    truth = rc.truth
    fps = spec.fps
    row: dict[str, float] = {"render_s": t_render, **detection(rc)}
    bvh = export_bvh(rc.video, work / f"{spec.key()}.bvh", world_flags(truth, give_height))
    ref = truth_track(truth)
    row.update(measured(read_bvh(bvh), truth, fps))
    truth_alone = lone_metrics(ref, fps)
    row["truth_hinge_frames"] = truth_alone["hinge_frames"]
    live = live_bvh(rc.video, work / f"{spec.key()}-live.bvh", fps)
    if live is not None:
        motion = read_bvh(live)
        live_row = truth_metrics(
            bvh_track(motion, truth.t_s - start_offset_s(motion, truth)), ref, truth.contacts, fps
        )
        row["live_lag_ms"] = live_row["lag_ms"]
    return row


def views_clip(spec: ClipSpec, work: Path, count: int) -> dict[str, float]:
    """The clip from ``count`` calibrated cameras, exported as one take, against the truth."""
    calibration = work / f"{spec.key()}-views.toml"
    views = render_views(spec, calibration, VIEW_YAWS_DEG[:count])
    truth = views[0].truth
    out = work / f"{spec.key()}-views.bvh"
    inputs = [arg for v in views for arg in ("--input", str(v.video))]
    res = bridge_cmd(
        "export", *inputs, "--calibration", str(calibration), "--bvh", str(out), "--unit", "m",
        *world_flags(None, False),
    )  # fmt: skip
    if res.returncode != 0:
        raise SystemExit(f"bridge export of {count} views failed on {spec.clip}:\n{res.stderr[-2000:]}")
    return measured(read_bvh(out), truth, spec.fps)


COLUMNS = (
    ("detected_pct", "det%", "{:5.1f}"), ("px_body", "px", "{:4.1f}"), ("pct_height_body", "%h", "{:4.1f}"),
    ("world_cm", "mpw cm", "{:6.1f}"), ("root_mean_cm", "root cm", "{:6.1f}"), ("root_max_cm", "max", "{:6.1f}"),
    ("hips_rise_cm", "rise", "{:5.0f}"), ("hips_rise_true_cm", "/true", "{:5.0f}"),
    ("root_facing_mean_cm", "r.fac", "{:5.1f}"), ("root_avatar_mean_cm", "r.rig", "{:5.1f}"),
    ("skate_mean_cm", "skate", "{:5.1f}"), ("skate_max_cm", "max", "{:5.1f}"),
    ("skate_true_cm", "/true", "{:5.1f}"),
    ("slide_mean_cm", "slide", "{:5.1f}"), ("slide_true_cm", "/true", "{:5.1f}"), ("contacts", "n", "{:3.0f}"),
    ("hover_mean_cm", "hover", "{:5.1f}"), ("hover_true_cm", "/true", "{:5.1f}"),
    ("floor_cm", "floor", "{:5.1f}"), ("floor_frames", "fr", "{:4.0f}"), ("hinge_frames", "hinge", "{:5.0f}"),
    ("limb_deg", "limb°", "{:5.1f}"), ("pa_mpjpe_mm", "PA mm", "{:5.0f}"),
    ("jitter_m_s2", "jit", "{:5.1f}"), ("jitter_true_m_s2", "/true", "{:5.1f}"),
    ("lag_ms", "lag", "{:4.0f}"), ("live_lag_ms", "live", "{:4.0f}"),
)  # fmt: skip


def print_table(rows: dict[str, dict[str, float]], columns: tuple[tuple[str, str, str], ...]) -> None:
    width = max(len(k) for k in rows) if rows else 10
    print(" " * width, *(h.rjust(len(fmt.format(0.0))) for _, h, fmt in columns))
    for name, row in rows.items():
        cells = [fmt.format(row[k]) if k in row else "-".rjust(len(fmt.format(0.0))) for k, _, fmt in columns]
        print(name.ljust(width), *cells)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="three short clips and one registry video")
    ap.add_argument("--give-height", action="store_true", help="pass the body's height (--height) to export")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    ap.add_argument("--bridge", type=Path, default=REPO, help="measure the bridge of this checkout (before/after)")
    ap.add_argument("--views", type=int, default=3, choices=range(0, len(VIEW_YAWS_DEG) + 1),
                    help="also each clip from this many calibrated cameras (0: not)")  # fmt: skip
    ap.add_argument("--views-only", action="store_true", help="only the several-camera table (no single view)")
    ap.add_argument("--held-out", action="store_true", help="the 14 held-out renders instead of the clips")
    args = ap.parse_args()
    MEASURED[0] = args.bridge.resolve()
    rows: dict[str, dict[str, float]] = {}
    several: dict[str, dict[str, float]] = {}
    lone: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench_world_") as tmp:
        work = Path(tmp)
        print("export flags:", " ".join(world_flags(None, False)) or "(no body-state options: before)")
        for spec in held_out_clips() if args.held_out else clips(args.quick):
            name = clip_name(spec)
            if not args.views_only:
                rows[name] = one_clip(spec, work, args.give_height)
                done = f"  {name}: done ({rows[name]['render_s']:.0f} s render)"
                print(done, json.dumps(rows[name]), flush=True)
            if args.views >= 2:
                several[name] = views_clip(spec, work, args.views)
                print(f"  {name}, {args.views} views:", json.dumps(several[name]), flush=True)
        for name, video, n in [] if args.views_only else registry_videos(args.quick):
            bvh = work / f"registry-{name.replace(' ', '_')}.bvh"
            motion = read_bvh(export_bvh(video, bvh, world_flags(None, False), n))
            t = np.arange(motion.num_frames) * motion.frame_time_s
            lone[name] = lone_metrics(bvh_track(motion, t), motion.fps)
    print("\nrendered ground truth (det: MediaPipe on the render; px, %h: median 2-D error of the 12 limb joints;")
    print("mpw: median distance of MediaPipe's world landmarks of those joints from the truth, hip-centred;")
    print("root: hips path error in the camera's room frame after aligning the first second (r.fac: turned by")
    print("the pelvis' heading instead, which counts a heading error as path error; r.rig: in the rig's scale,")
    print("as the file has it, where every other figure is in the person's: × true height / rig height);")
    print("rise: hips' height range;")
    print("skate: ankle travel per true contact (the truth's own beside it: a walking foot rolls); slide: the")
    print("bearing point's (ankle or ball) slide per contact; floor: deepest point below the floor and frames")
    print("> 1 cm; hinge: frames with a knee or")
    print("elbow bent against its joint; limb: limb direction error; PA: PA-MPJPE of 12 joints; jit: jitter m/s²;")
    print("lag: export's delay behind the truth, live: the stream's)\n")
    print_table(rows, COLUMNS)
    if several:
        print(f"\nthe same clips from {args.views} calibrated cameras (the first as above, the others ±70° about")
        print("the body; root path in the first camera's room frame)\n")
        print_table(several, tuple(c for c in COLUMNS if c[0] not in ("px_body", "pct_height_body", "world_cm")))
    print("\nregistry videos (no truth)\n")
    print_table(
        lone, tuple(c for c in COLUMNS if c[0] in ("floor_cm", "floor_frames", "hinge_frames", "jitter_m_s2"))
    )
    if args.json:
        args.json.write_text(json.dumps({"clips": rows, "views": several, "registry": lone}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
