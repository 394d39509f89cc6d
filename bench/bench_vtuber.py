"""Frames per second with hands and face: body only, body+hands, body+hands+face, and the concurrency modes.

Part 1, the product path: ``open_landmarks`` (tracker process decoding the Sports2D demo, all frames received by
this process) with ``--track body``, ``body,hands`` and ``body,hands,face``, in one run.

Part 2, where the time goes and whether concurrency pays: in this process, over frames decoded beforehand, the
:class:`bridge.tracking.hand_face_detector.VtuberDetector` with ``concurrency`` ``sequential`` (pose, then hands,
then face), ``threads`` (pose, then hands ‖ face) and ``pipelined`` (pose ‖ hands ‖ face, crops from the previous
frame's pose). Also the per-model costs (ms per frame) measured in the sequential run.

Part 1 runs each ``--track`` with the product's defaults (:class:`TrackerConfig`), then body+hands+face with
every model on every frame (``threads`` and ``pipelined``) and with ``--face-every 2`` too; part 3 measures each
lever's agreement with every model on every frame.

Usage: ``python bench/bench_vtuber.py [--frames N]``. Numbers depend on the machine and its load; the ratios
printed come from one run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import decode_all, sports2d_demo  # noqa: E402
from bridge.tracking.config import TrackerConfig  # noqa: E402
from bridge.tracking.hand_face_detector import CONCURRENCY_MODES, VtuberConfig, VtuberDetector  # noqa: E402
from bridge.tracking.process import open_landmarks  # noqa: E402
from bridge.tracking.sources import Frame  # noqa: E402

PARTS = (("body",), ("body", "hands"), ("body", "hands", "face"))


def product_fps(
    video: Path, track: tuple[str, ...], max_frames: int, **levers: Any
) -> tuple[float, int, int, int]:
    """(fps, frames, frames with a hand, frames with a face) through the tracker process, with the product's
    defaults (:class:`TrackerConfig`) but for ``levers`` (``concurrency``, ``hand_every``, ``face_every``)."""
    n = hands = faces = 0
    config = TrackerConfig(track=track, **levers)
    with open_landmarks(str(video), config) as (_, frames):
        t0 = time.perf_counter()
        for frame in frames:
            n += 1
            hands += int(frame.hands is not None and len(frame.hands) > 0)
            faces += int(frame.face is not None)
            if n >= max_frames:
                break
        dt = time.perf_counter() - t0
    return n / dt, n, hands, faces


#: Part 1's variants of body+hands+face beside the defaults: (bridge stream's flags, the TrackerConfig levers).
VARIANTS = (
    ("--concurrency threads --hand-every 1", {"concurrency": "threads", "hand_every": 1}),
    ("--concurrency pipelined --hand-every 1", {"concurrency": "pipelined", "hand_every": 1}),
    ("--hand-every 2 --face-every 2", {"hand_every": 2, "face_every": 2}),
)


def detector_fps(images: list, mode: str) -> float:  # type: ignore[type-arg]
    frames = [Frame(t_s=k / 30.0, frame_index=k, image_bgr=img) for k, img in enumerate(images)]
    with VtuberDetector(TrackerConfig(track=PARTS[2]), VtuberConfig(concurrency=mode)) as det:
        det.detect(frames[0])  # warm-up (first inference allocates)
        t0 = time.perf_counter()
        for f in frames[1:]:
            det.detect(f)
        return (len(frames) - 1) / (time.perf_counter() - t0)


def model_costs_ms(images: list) -> dict[str, float]:  # type: ignore[type-arg]
    """Median milliseconds per frame of the pose model, the two hand crops and the face crop (one thread)."""
    import cv2
    import numpy as np

    frames = [Frame(t_s=k / 30.0, frame_index=k, image_bgr=img) for k, img in enumerate(images)]
    times: dict[str, list[float]] = {"pose": [], "hands": [], "face": []}
    with VtuberDetector(TrackerConfig(track=PARTS[2]), VtuberConfig(concurrency="sequential")) as det:
        for f in frames:
            t = time.perf_counter()
            pose = det._pose.detect(f)
            times["pose"].append(time.perf_counter() - t)
            rgb = cv2.cvtColor(f.image_bgr, cv2.COLOR_BGR2RGB)
            t = time.perf_counter()
            det._extras.detect_hands(rgb, pose)
            times["hands"].append(time.perf_counter() - t)
            t = time.perf_counter()
            det._extras.detect_face(rgb, pose)
            times["face"].append(time.perf_counter() - t)
    return {k: float(np.median(v) * 1000.0) for k, v in times.items()}


LEVERS = {
    "default": VtuberConfig(),
    "hand reuse 2": VtuberConfig(hand_reuse_frames=2),
    "face every 2": VtuberConfig(face_every=2),
    "both": VtuberConfig(hand_reuse_frames=2, face_every=2),
    "hand every 2": VtuberConfig(hand_every=2),
    "hand+face 2": VtuberConfig(hand_every=2, face_every=2),
}


def levers(images: list, repeats: int = 2) -> None:  # type: ignore[type-arg]
    """Part 3: the speed levers against the default, same frames, configurations alternating: frame rate,
    model runs, and agreement with the default's output (hands: mean distance of the 21 hand world landmarks
    where both found the hand; face: mean absolute blend shape difference where both found the face)."""
    import numpy as np

    frames = [Frame(t_s=k / 30.0, frame_index=k, image_bgr=img) for k, img in enumerate(images)]
    fps: dict[str, list[float]] = {k: [] for k in LEVERS}
    out: dict[str, list] = {}  # type: ignore[type-arg]
    runs: dict[str, dict[str, int]] = {}
    for _ in range(repeats):
        for name, cfg in LEVERS.items():
            with VtuberDetector(TrackerConfig(track=PARTS[2]), cfg) as det:
                det.detect(frames[0])
                t0 = time.perf_counter()
                out[name] = [det.detect(f) for f in frames[1:]]
                fps[name].append((len(frames) - 1) / (time.perf_counter() - t0))
                runs[name] = dict(det._extras.model_runs)
    ref = out["default"]
    for name in LEVERS:
        hand_mm, face_d = [], []
        for a, b in zip(ref, out[name], strict=True):
            for ha in a.hands.hands if a.hands else ():
                if b.hands and b.hands.hands:
                    near = min(b.hands.hands, key=lambda h: float(np.linalg.norm(h.image_xy[0] - ha.image_xy[0])))
                    if np.linalg.norm(near.image_xy[0] - ha.image_xy[0]) < 0.02:
                        hand_mm.append(
                            1000.0 * float(np.linalg.norm(near.world_xyz_m - ha.world_xyz_m, axis=1).mean())
                        )
            if a.face is not None and b.face is not None:
                face_d.append(float(np.abs(a.face.blendshapes - b.face.blendshapes).mean()))
        best = max(fps[name])
        print(
            f"  {name:<13} {best:6.1f} fps (ratio {best / max(fps['default']):.2f}); model runs: hand crops "
            f"{runs[name]['hand']}, face {runs[name]['face']}; vs default: hands {np.mean(hand_mm):5.1f} mm "
            f"({len(hand_mm)}), blend shapes {np.mean(face_d):.3f} ({len(face_d)})"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, default=None)
    parser.add_argument("--frames", type=int, default=230, help="frames per measurement (default: the whole demo)")
    parser.add_argument("--levers-only", action="store_true", help="part 3 only (the speed levers)")
    args = parser.parse_args()
    video = args.video or sports2d_demo()
    if args.levers_only:
        images = decode_all(video, min(args.frames, 120))
        print(f"3. speed levers over {len(images)} pre-decoded frames of {video.name} (best of 2 runs each):")
        levers(images)
        return 0
    print(f"video: {video} ({args.frames} frames at most)")
    defaults = TrackerConfig()
    print(
        "\n1. product path (tracker process, frames received here), defaults: "
        f"--concurrency {defaults.concurrency} "
        f"--hand-every {defaults.hand_every} --face-every {defaults.face_every}:"
    )
    base = None
    runs = [(track, "", {}) for track in PARTS] + [(PARTS[2], flags, lv) for flags, lv in VARIANTS]
    for track, flags, lv in runs:
        fps, n, hands, faces = product_fps(video, track, args.frames, **lv)
        base = base or fps
        label = ",".join(track) + (" " + flags if flags else "")
        print(f"  --track {label:<16} {fps:6.1f} fps  ({n} frames; hands in {hands}, face in {faces}) "
              f"ratio to body only {fps / base:.2f}")  # fmt: skip
    print("  goal: --track body,hands,face (defaults) >= 0.8 x body only and >= 25 fps")
    images = decode_all(video, min(args.frames, 120))
    print(f"\n2. body+hands+face in this process over {len(images)} pre-decoded frames:")
    costs = model_costs_ms(images)
    print("  median ms per frame: " + ", ".join(f"{k} {v:.1f}" for k, v in costs.items()))
    rates = {mode: detector_fps(images, mode) for mode in CONCURRENCY_MODES}
    for mode, fps in rates.items():
        print(f"  concurrency {mode:<11} {fps:6.1f} fps  ratio to sequential {fps / rates['sequential']:.2f}")
    print("\n3. speed levers (best of 2 runs each):")
    levers(images)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
