"""Cut the embedded demo clip ``bridge/data/demo.mp4`` from the Sports2D demo video.

The Sports2D demo (``Sports2D/Demo/demo.mp4``, BSD-3-Clause, © 2022 perfanalytics; see
``bridge/data/DEMO_LICENSE.txt``) shows a man jumping off a box while a woman walks past. This script writes a
downscaled copy (default 640 px wide, the first 150 frames = 5 s at 30 fps, MPEG-4 Part 2 ``mp4v``) so that
``bridge`` has something to track with no camera and no download, then checks with the real pose model that a
person is found on at least 90 % of the clip's frames.

Usage: ``python tools/make_demo_clip.py [--width 640] [--frames 150] [--out bridge/data/demo.mp4]``
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import cv2

REPO = Path(__file__).resolve().parents[1]


def sports2d_demo_path() -> Path:
    """The Sports2D demo video (installed with the ``sports2d`` package)."""
    import Sports2D

    return Path(os.path.dirname(Sports2D.__file__)) / "Demo" / "demo.mp4"


def cut(src: Path, out: Path, width: int, frames: int) -> tuple[int, tuple[int, int]]:
    """Write the first ``frames`` frames of ``src`` scaled to ``width`` px wide; returns (count, (w, h))."""
    cap = cv2.VideoCapture(str(src))
    if not cap.isOpened():
        raise SystemExit(f"cannot open {src}")
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    writer: cv2.VideoWriter | None = None
    size = (0, 0)
    count = 0
    while count < frames:
        ok, image = cap.read()
        if not ok:
            break
        h, w = image.shape[:2]
        size = (width, int(round(h * width / w / 2)) * 2)  # even height for the encoder
        small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        if writer is None:
            writer = cv2.VideoWriter(str(out), cv2.VideoWriter.fourcc(*"mp4v"), fps, size)
            if not writer.isOpened():
                raise SystemExit(f"cannot write {out}")
        writer.write(small)
        count += 1
    cap.release()
    if writer is not None:
        writer.release()
    return count, size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--out", type=Path, default=REPO / "bridge" / "data" / "demo.mp4")
    parser.add_argument("--no-check", action="store_true", help="skip the person-detection check")
    args = parser.parse_args()
    count, size = cut(sports2d_demo_path(), args.out, args.width, args.frames)
    print(f"wrote {args.out}: {count} frames, {size[0]}x{size[1]}, {args.out.stat().st_size / 1e6:.2f} MB")
    if args.no_check:
        return 0
    sys.path.insert(0, str(REPO))
    from bridge.tracker import track_video_inprocess

    _, tracked = track_video_inprocess(str(args.out))
    found = sum(f.person for f in tracked) / max(1, len(tracked))
    print(f"person found on {found:.1%} of {len(tracked)} frames")
    return 0 if found >= 0.9 else 1


if __name__ == "__main__":
    sys.exit(main())
