"""Render mocap clips × cameras, run the real MediaPipe tracker on each, cache (detections, exact 3-D) pairs.

    nice -n 10 python tools/make_refiner_data.py --rounds 5 --views 4 --shapes ,,,male,female --seed 0

``--views N`` (N ≥ 3, the default 4): each round films one stretch of every clip with N synchronised cameras, and
each view's pair also gets a reference triangulated from the other views (bridge/testing/lifter_data_views.py:
the real-video reference's construction). ``--views 1``: one camera per clip and round (no reference).
Pairs go to ``$BRIDGE_LIFTER_PAIRS`` (default ``<tmp>/bridge-lifter-pairs``); renders to the render cache.
Clips are interleaved (every motion once per round), so a run cut short by ``--max-minutes`` still covers them.
See bridge/testing/lifter_data_real.py.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bridge.testing.lifter_data_real import make_pair, pair_specs  # noqa: E402
from bridge.testing.lifter_data_views import make_view_group, view_group_specs  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5, help="cameras (or groups of cameras) per clip")
    ap.add_argument("--views", type=int, default=4, help="synchronised cameras per group (1: single renders)")
    ap.add_argument("--shapes", default=",,,male,female",
                    help="body shape of each round in turn (bridge/testing/render_mesh.py SHAPES; empty: the base "
                         "mesh); the default: the base mesh for 3 rounds, then a man, then a woman")  # fmt: skip
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--duration", type=float, default=3.0, help="seconds per render")
    ap.add_argument("--max-minutes", type=float, default=120.0)
    args = ap.parse_args()
    if args.views == 2 or args.views < 1:
        ap.error("--views is 1 (single renders) or at least 3 (each view's reference from two others or more)")
    t0 = time.perf_counter()
    groups = (
        view_group_specs(args.rounds, args.views, args.seed, args.duration, args.shapes.split(","))
        if args.views >= 3
        else [[s] for s in pair_specs(args.rounds, args.seed, args.duration)]
    )
    for k, group in enumerate(groups):
        if time.perf_counter() - t0 > 60.0 * args.max_minutes:
            print(f"make_refiner_data: stopped after {args.max_minutes} min at {k}/{len(groups)}", flush=True)
            break
        paths = make_view_group(group) if args.views >= 3 else [make_pair(group[0])]
        yaws = ", ".join(f"{s.yaw_deg:g}" for s in group)
        print(f"{k + 1}/{len(groups)} {time.perf_counter() - t0:6.0f} s {group[0].clip} yaw {yaws} -> "
              f"{len([p for p in paths if p is not None])} pairs", flush=True)  # fmt: skip
    print(f"make_refiner_data: wall {time.perf_counter() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
