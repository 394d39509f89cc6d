"""``bridge batch``: track, solve and write every video of a folder, on a local process pool or on Ray.

See :mod:`bridge.app.batch` for what is written per video, how finished videos are recognised and skipped, and how
a crash or Ctrl-C is survived. Exit status: 0 when every video is done (or was already), 1 when some failed
(each is reported with its error; the others are done), 2 for a usage error, 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bridge.cli.options import int_in
from bridge.core.errors import BridgeError

_workers = int_in(1, 1024, "number of workers")


def configure_batch(parser: argparse.ArgumentParser) -> None:
    """Options of ``bridge batch``."""
    from bridge.cli.stream import add_pose_args
    from bridge.export.bvh import BVH_UNITS

    parser.add_argument("input_dir", metavar="INPUT_DIR", type=Path,
                        help="folder of videos (sub-folders included; kept in OUT_DIR)")  # fmt: skip
    parser.add_argument("--out", "-o", metavar="OUT_DIR", type=Path, required=True,
                        help="folder for the outputs, the manifests and batch_summary.json (created)")  # fmt: skip
    what = parser.add_argument_group("outputs (always: <name>.bridgerec.jsonl, the landmark recording)")
    what.add_argument("--bvh", action="store_true", help="also write the solved motion as <name>.bvh")
    what.add_argument("--bvh-unit", choices=tuple(BVH_UNITS), default="cm",
                      help="unit of the BVH offsets and hips positions (default cm)")  # fmt: skip
    what.add_argument("--analyze", action="store_true",
                      help="also write the movement analysis (<name>_report.html, CSV, plots)")  # fmt: skip
    what.add_argument("--force", action="store_true", help="redo videos that are already done")
    run = parser.add_argument_group("engine")
    run.add_argument("--engine", choices=("local", "ray"), default="local",
                     help="local: a process pool on this machine; ray: Ray tasks (install it from the checkout: "
                     "pip install -e '.[ray]') (default local)")  # fmt: skip
    run.add_argument("--workers", "-j", type=_workers, default=None, metavar="N",
                     help="videos at once (default: the CPU cores; on a Ray cluster: its CPUs)")  # fmt: skip
    run.add_argument("--ray-address", metavar="ADDR", default=None,
                     help="join this Ray cluster (e.g. auto, ray://head:10001), not a local one")  # fmt: skip
    run.add_argument("--model", metavar="PATH", type=Path, default=None,
                     help="MediaPipe pose landmarker .task file; default: the bundled full model")  # fmt: skip
    add_pose_args(parser)


def cmd_batch(args: argparse.Namespace) -> int:
    """Run the batch, print the summary table on stdout; 1 if any video failed."""
    from bridge.app.batch import run_batch
    from bridge.app.batch_jobs import BatchConfig
    from bridge.cli.stream import processor_config_from_args, rig_from_args
    from bridge.tracking.config import TrackerConfig

    if args.ray_address and args.engine != "ray":
        raise BridgeError("--ray-address needs --engine ray")
    config = BatchConfig(
        rig=rig_from_args(args),
        tracker=TrackerConfig(model_path=args.model),
        processor=processor_config_from_args(args, root_motion="planar"),
        bvh=args.bvh,
        bvh_unit=args.bvh_unit,
        analyze=args.analyze,
    )
    summary = run_batch(args.input_dir, args.out, config, engine=args.engine, workers=args.workers,
                        ray_address=args.ray_address, force=args.force)  # fmt: skip
    print(summary.table(), flush=True)
    print(f"bridge: summary written to {args.out / 'batch_summary.json'}", file=sys.stderr, flush=True)
    return 1 if summary.failed else 0
