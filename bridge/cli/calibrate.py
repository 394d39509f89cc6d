"""``bridge calibrate``: cameras for several-view tracking (:mod:`bridge.multiview`).

* ``convert FILE -o OUT.toml``: a Qualisys ``.qca.txt`` (or a camera TOML) → bridge's camera TOML.
* ``intrinsics IMAGES_OR_VIDEO --board 4x7 --square-mm 60``: a camera's intrinsics from a checkerboard, with the
  reprojection error (and the focal lengths beside another calibration's, ``--compare``).
* ``extrinsics --input A --input B ... --calibration INTRINSICS --height M``: the cameras' poses from a clip of
  the person alone (:mod:`bridge.multiview.extrinsics`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from bridge.app.multiview import track_files
from bridge.cli.options import note, positive_float
from bridge.core.errors import BridgeError
from bridge.multiview.calibration import Calibration, focal_length_px, read_calibration, write_toml
from bridge.multiview.extrinsics import compare_calibrations, extrinsics_from_views
from bridge.multiview.intrinsics import calibrate_intrinsics
from bridge.tracking.config import TrackerConfig

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")


def _board(text: str) -> tuple[int, int]:
    try:
        cols, rows = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not COLUMNSxROWS inner corners (e.g. 4x7)") from None
    if cols < 2 or rows < 2:
        raise argparse.ArgumentTypeError("a board needs at least 2x2 inner corners")
    return cols, rows


def configure_calibrate(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="calibrate_command", metavar="STEP", required=True)
    conv = sub.add_parser("convert", help="Qualisys .qca.txt or camera TOML → bridge's camera TOML")
    conv.add_argument("file", type=Path, help="the calibration to read (.qca.txt or .toml)")
    conv.add_argument("--out", "-o", type=Path, required=True, help="camera TOML to write")
    conv.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    conv.set_defaults(calibrate_run=_cmd_convert)
    intr = sub.add_parser("intrinsics", help="one camera's intrinsics from checkerboard images or a video")
    intr.add_argument("source", type=Path, help="a folder of board images or a video of the board")
    intr.add_argument("--board", type=_board, default=(4, 7), help="inner corners COLSxROWS (default 4x7)")
    intr.add_argument("--square-mm", type=positive_float, default=60.0, help="square size, mm (default 60)")
    intr.add_argument("--name", default=None, help="the camera's name (default: the folder or video name)")
    intr.add_argument("--every", type=int, default=15, help="video: use every N-th frame (default 15)")
    intr.add_argument("--compare", type=Path, default=None, help="a calibration to compare focal lengths with")
    intr.add_argument("--out", "-o", type=Path, default=None, help="camera TOML to write (the camera alone)")
    intr.set_defaults(calibrate_run=_cmd_intrinsics)
    configure_extrinsics(sub)


def cmd_calibrate(args: argparse.Namespace) -> int:
    return int(args.calibrate_run(args))


def _check_out(path: Path, force: bool) -> None:
    if path.exists() and not force:
        raise BridgeError(f"{path} already exists; pass --force to overwrite it or choose another --out")


def _cmd_convert(args: argparse.Namespace) -> int:
    _check_out(args.out, args.force)
    cal = read_calibration(args.file)
    write_toml(cal, args.out)
    note(f"wrote {len(cal.cameras)} cameras ({', '.join(cal.names)}) to {args.out}")
    return 0


def _read_images(source: Path, every: int) -> list[np.ndarray]:
    if source.is_dir():
        files = sorted(p for p in source.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        images = [im for im in (cv2.imread(str(p)) for p in files) if im is not None]
        if not images:
            raise BridgeError(f"{source} holds no readable images ({', '.join(IMAGE_SUFFIXES)})")
        return images
    cap = cv2.VideoCapture(str(source))
    if not cap.isOpened():
        raise BridgeError(f"cannot open {source} as a folder of images or a video; check the path")
    images, index = [], 0
    try:
        while True:
            ok, image = cap.read()
            if not ok or image is None:
                break
            if index % max(1, every) == 0:
                images.append(image)
            index += 1
    finally:
        cap.release()
    if not images:
        raise BridgeError(f"{source} has no readable frame")
    return images


def _cmd_intrinsics(args: argparse.Namespace) -> int:
    name = args.name or args.source.stem.replace("int_", "").replace("_img", "")
    result = calibrate_intrinsics(_read_images(args.source, args.every), args.board, args.square_mm / 1000, name)
    cam = result.camera
    print(
        f"{name}: board found in {result.used} of {result.images} images; reprojection error "
        f"{result.rms_px:.3f} px (RMS); fx {cam.K[0, 0]:.1f} fy {cam.K[1, 1]:.1f} cx {cam.K[0, 2]:.1f} "
        f"cy {cam.K[1, 2]:.1f} px; k1 {cam.dist[0]:.4f} k2 {cam.dist[1]:.4f}"
    )
    if args.compare is not None:
        other = read_calibration(args.compare)
        match = [c for c in other.cameras if c.name == name]
        if not match:
            raise BridgeError(f"{args.compare} has no camera named {name!r}; pass --name to match one")
        ref = focal_length_px(match[0])
        print(f"{name}: focal length {focal_length_px(cam):.1f} px vs {ref:.1f} px in {args.compare.name} "
              f"({100 * (focal_length_px(cam) / ref - 1):+.2f} %)")  # fmt: skip
    if args.out is not None:
        write_toml(Calibration((cam,), np.array([0.0, -1.0, 0.0]), 0.0, ""), args.out)
        note(f"wrote {name}'s intrinsics to {args.out} (its pose is a placeholder: run extrinsics next)")
    return 0


def configure_extrinsics(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    ext = sub.add_parser("extrinsics", help="the cameras' poses from a clip of the person alone (no board)")
    ext.add_argument("--input", "-i", action="append", required=True, help="a video of each view (2-4 times)")
    ext.add_argument("--calibration", type=Path, required=True, help="the cameras' intrinsics (TOML or .qca.txt)")
    ext.add_argument("--height", type=positive_float, required=True, help="the person's height, metres")
    ext.add_argument("--max-frames", type=int, default=300, help="frames of each view to use (default 300)")
    ext.add_argument("--compare", type=Path, default=None, help="a calibration to compare the poses with")
    ext.add_argument("--out", "-o", type=Path, required=True, help="camera TOML to write")
    ext.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    ext.set_defaults(calibrate_run=_cmd_extrinsics)


def _cmd_extrinsics(args: argparse.Namespace) -> int:
    _check_out(args.out, args.force)
    if not 2 <= len(args.input) <= 4:
        raise BridgeError(f"give --input 2 to 4 times, one video per view (got {len(args.input)})")
    calibration = read_calibration(args.calibration)
    names = [Path(t).stem for t in args.input]
    cal = calibration.for_views(len(args.input), names)
    views = track_files(args.input, TrackerConfig(), args.max_frames, note)
    result, offsets = extrinsics_from_views(cal.cameras, views, args.height)
    note(f"view offsets (frames, found with the cameras): {offsets}")
    print(f"extrinsics from the person: {len(cal.cameras)} cameras, {result.points} landmark points, "
          f"bundle adjustment RMS {result.rms_px:.2f} px")  # fmt: skip
    if args.compare is not None:
        reference = read_calibration(args.compare).for_views(len(cal.cameras), list(cal.names))
        angles, positions = compare_calibrations(result.calibration, reference)
        for cam, a, p in zip(cal.cameras, angles, positions, strict=True):
            print(f"{cam.name}: rotation error {a:.2f} deg, position error {100 * p:.1f} cm (after similarity)")
    write_toml(result.calibration, args.out)
    note(f"wrote {args.out}")
    return 0
