"""``bridge cameras``: the cameras of this machine and the modes they offer (:mod:`bridge.tracking.cameras`)."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from bridge.tracking.cameras import list_cameras


def configure_cameras(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="one JSON object per camera")


def cmd_cameras(args: argparse.Namespace) -> int:
    """List the cameras found and their modes; a hint how to choose one."""
    cameras = list_cameras()
    if args.json:
        for cam in cameras:
            print(json.dumps(asdict(cam)), flush=True)
        return 0
    if not cameras:
        print("no camera found (bridge looks at /dev/video* on Linux, cameras 0-9 elsewhere)", flush=True)
        return 0
    for cam in cameras:
        driver = f", {cam.driver}" if cam.driver else ""
        print(f"camera {cam.index} ({cam.device}): {cam.name}{driver}", flush=True)
        for mode in cam.modes:
            print(f"  {mode}", flush=True)
        if not cam.modes:
            print("  (lists no modes)", flush=True)
    first = cameras[0]
    best = max(first.modes, key=lambda m: (m.width * m.height, max(m.fps, default=0.0)), default=None)
    if best is not None:
        rate = f" --camera-fps {max(best.fps):g}" if best.fps else ""
        print(f"choose one with: --input camera:{first.index} --camera-size {best.width}x{best.height}{rate}")
    return 0
