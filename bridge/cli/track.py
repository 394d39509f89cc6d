"""``bridge track``: track an input and print what the tracker sees (per frame, and a summary).

``--json`` prints one JSON object per frame: a few summary numbers (``mean_visibility``, ``vertical_extent_m``)
and the frame itself as a recording line holds it (:func:`bridge.tracking.recording.frame_to_json`: the 33
``world_xyz_m`` and ``image_xy`` landmarks, ``visibility``, ``presence``, flags, hands and face), then a summary
object. A reader that stops reading (``bridge track --json | head``) ends the command quietly: it stops
tracking, says so in one line on stderr and exits with status 0.
"""

from __future__ import annotations

import argparse
import json
import time

from bridge.app.run import open_run
from bridge.cli.options import add_input_args, note, positive_int, resolve_input, tracker_config_from_args
from bridge.core.landmarks import LandmarkFrame
from bridge.tracking.recording import frame_to_json


def configure_track(parser: argparse.ArgumentParser) -> None:
    add_input_args(parser)
    parser.add_argument("--json", action="store_true", help="one JSON object per frame and a JSON summary")
    parser.add_argument("--summary-only", action="store_true", help="print only the final summary")
    parser.add_argument("--max-frames", metavar="N", type=positive_int, default=None, help="stop after N frames")


def frame_summary(frame: LandmarkFrame) -> dict[str, object]:
    """A few numbers describing one frame, for ``bridge track`` output."""
    summary: dict[str, object] = {
        "frame_index": frame.frame_index,
        "t_s": round(frame.t_s, 4),
        "person": frame.person,
    }
    if frame.person:
        summary["mean_visibility"] = round(float(frame.visibility.mean()), 3)
        y_m = frame.world_xyz_m[:, 1]
        summary["vertical_extent_m"] = round(float(y_m.max() - y_m.min()), 3)
    if frame.hands is not None:  # --track hands
        summary["hands"] = len(frame.hands)
    if frame.face is not None:  # --track face, a face found
        summary["face"] = True
    return summary


def _print_frame(frame: LandmarkFrame, as_json: bool) -> None:
    summary = frame_summary(frame)
    if as_json:
        print(json.dumps({**summary, **frame_to_json(frame)}), flush=True)
    elif frame.person:
        print(
            f"frame {frame.frame_index:5d}  t={frame.t_s:8.3f} s  person  "
            f"visibility {summary['mean_visibility']:.2f}  "
            f"vertical extent {summary['vertical_extent_m']:.2f} m",
            flush=True,
        )
    else:
        print(f"frame {frame.frame_index:5d}  t={frame.t_s:8.3f} s  no person", flush=True)


def cmd_track(args: argparse.Namespace) -> int:
    """Track the input and print per-frame summaries and a final summary (frames, person found %, fps)."""
    input_text = resolve_input(args)
    count = found = 0
    start = time.perf_counter()
    dropped = 0
    description: str | None = None  # set once the input is open: no summary for start-up errors
    closed = False
    try:
        config = tracker_config_from_args(args)
        with open_run(input_text, config, None, max_frames=args.max_frames, on_note=note) as (info, run):
            description = info.description
            start = time.perf_counter()
            for result in run:
                count += 1
                found += result.raw.person
                if not args.summary_only:
                    _print_frame(result.raw, args.json)
            dropped = run.dropped_frames
    except BrokenPipeError:  # the reader went away (`| head`): stop tracking, quietly
        closed = True
        _detach_stdout()
        note(f"the reader of the output closed it after {count} frames; stopped tracking")
        return 0
    finally:
        if description is not None and not closed:
            _print_track_summary(args, description, count, found, dropped, time.perf_counter() - start)
    return 0


def _detach_stdout() -> None:
    """Point stdout at /dev/null, so that nothing more (nor Python's flush at exit) writes to the closed pipe."""
    import os
    import sys

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _print_track_summary(
    args: argparse.Namespace, description: str, count: int, found: int, dropped: int, elapsed: float
) -> None:
    """Print the final summary of ``bridge track`` (text or JSON)."""
    fps = count / elapsed if elapsed > 0 and count else 0.0
    share = 100.0 * found / count if count else 0.0
    if args.json:
        final = {
            "input": description,
            "frames": count,
            "person_found_percent": round(share, 1),
            "fps": round(fps, 1),
            "dropped_frames": dropped,
        }
        print(json.dumps({"summary": final}), flush=True)
    else:
        print(
            f"{description}: {count} frames, person found in {share:.1f}%, {fps:.1f} fps"
            + (f", {dropped} dropped" if dropped else ""),
            flush=True,
        )
