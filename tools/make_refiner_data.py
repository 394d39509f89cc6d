"""Render mocap clips × cameras, run the real MediaPipe tracker on each, cache (detections, exact 3-D) pairs.

    nice -n 10 python tools/make_refiner_data.py --rounds 3 --seed 0 [--max-minutes 15]

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3, help="cameras per clip")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--duration", type=float, default=3.0, help="seconds per render")
    ap.add_argument("--max-minutes", type=float, default=15.0)
    args = ap.parse_args()
    t0 = time.perf_counter()
    specs = pair_specs(args.rounds, args.seed, args.duration)
    for k, spec in enumerate(specs):
        if time.perf_counter() - t0 > 60.0 * args.max_minutes:
            print(f"make_refiner_data: stopped after {args.max_minutes} min at {k}/{len(specs)}", flush=True)
            break
        path = make_pair(spec)
        print(
            f"{k + 1}/{len(specs)} {time.perf_counter() - t0:6.0f} s {spec.clip} yaw {spec.yaw_deg} -> {path}",
            flush=True,
        )
    print(f"make_refiner_data: wall {time.perf_counter() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
