"""``bridge analyze``: movement analysis of videos or recordings for trainers and physiotherapists.

For each input: track it (or replay a recording), repair left/right swaps like ``bridge stream`` does, low-pass
the landmarks without lag (offline: zero-phase Butterworth), then write into ``--out``: ``<name>_angles.csv``
(per-frame 3-D joint angles), the OpenSim ``<name>.trc`` markers and ``<name>.mot`` angles, ``<name>.c3d``,
``<name>_reps.csv`` (with ``--reps``), PNG plots and a self-contained ``<name>_report.html`` with stills of the
key moments read back from the video (``--pdf``: printed to PDF too). See :mod:`bridge.analysis.analyse` and
:mod:`bridge.analysis.report`.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import IO

from bridge.analysis.analyse import Analysis, analyse
from bridge.analysis.config import AnalysisConfig, RepSpec
from bridge.analysis.pdf import print_pdf
from bridge.analysis.report import write_report
from bridge.analysis.reps import PRESETS, parse_rep_spec
from bridge.analysis.stills import BgrImage, grab_frames, key_moments
from bridge.analysis.view import PLANE_CHOICES, view_lines
from bridge.app.processor import ANALYSIS_STAGES, Processor, ProcessorConfig
from bridge.app.run import open_run
from bridge.app.status import StatusLine, progress_bar
from bridge.cli.options import add_person_args
from bridge.cli.options import float_in as _float_in
from bridge.core.errors import BridgeError
from bridge.core.landmarks import LandmarkFrame
from bridge.tracking.config import TrackerConfig
from bridge.tracking.sources import SourceSpec, open_source, parse_input


def progress_text(label: str, done: int, total: int | None, width: int = 30) -> str:
    """The progress line of one input, e.g. ``demo.mp4 [#######.......]  45% 103/230 frames``."""
    if not total or total <= 0:
        return f"{label}: {done} frames"
    share = min(done / total, 1.0)
    return f"{label} {progress_bar(done, total, width)} {100 * share:3.0f}% {done}/{total} frames"


def progress_line(stream: IO[str] | None = None, delay_s: float = 1.0) -> StatusLine:
    """A progress bar on a terminal (nothing elsewhere), drawn after ``delay_s`` at most 10 times a second."""
    return StatusLine(0.1, stream, plain_interval_s=None, delay_s=delay_s, keep_on_close=False)


def configure_analyze(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "inputs",
        nargs="+",
        metavar="VIDEO|RECORDING",
        help="video files, image folders or bridge recordings (.jsonl); 'demo' for the demo clip",
    )
    parser.add_argument(
        "--out",
        "-o",
        type=Path,
        required=True,
        metavar="DIR",
        help="folder for the CSV, PNG plots and HTML report of each input (created)",
    )
    parser.add_argument(
        "--model",
        type=Path,
        default=None,
        metavar="PATH",
        help="MediaPipe pose landmarker .task file; default: the bundled full model",
    )
    parser.add_argument(
        "--image-fps",
        type=_float_in(0.1, 1000),
        default=30.0,
        metavar="FPS",
        help="frame rate of an image folder (default 30)",
    )
    add_person_args(parser.add_argument_group("people"))
    g = parser.add_argument_group("smoothing")
    g.add_argument(
        "--cutoff",
        type=_float_in(0, 100),
        default=AnalysisConfig().cutoff_hz,
        metavar="HZ",
        help="zero-phase low-pass cutoff for the landmarks, 0 = none (default %(default)s Hz)",
    )
    g.add_argument("--no-flip-repair", action="store_true", help="do not repair MediaPipe's left/right swaps")
    a = parser.add_argument_group("analysis")
    d = AnalysisConfig()
    a.add_argument(
        "--min-visibility",
        type=_float_in(0, 1),
        default=d.min_visibility,
        metavar="V",
        help="angles using a landmark less visible than this are left empty (default %(default)s)",
    )
    a.add_argument(
        "--squat-down",
        type=_float_in(1, 179),
        default=d.squat_down_deg,
        metavar="DEG",
        help="knee flexion a squat must reach to count (default %(default)s)",
    )
    a.add_argument(
        "--squat-up",
        type=_float_in(0, 178),
        default=d.squat_up_deg,
        metavar="DEG",
        help="knee flexion to come back under to finish a repetition (default %(default)s)",
    )
    a.add_argument(
        "--jump-height",
        type=_float_in(0.01, 2),
        default=d.jump_on_m,
        metavar="M",
        help="the feet must rise this far above the floor to start a jump (default %(default)s m)",
    )
    _add_report_options(parser, a)


def rep_spec_arg(text: str) -> RepSpec:
    """``--reps`` parser: a bad spec is argparse's one-line usage error (exit 2), like every other option."""
    try:
        return parse_rep_spec(text)
    except BridgeError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_report_options(parser: argparse.ArgumentParser, group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--reps",
        action="append",
        type=rep_spec_arg,
        default=[],
        metavar="ANGLE[:REST:ACTIVE]",
        help="count repetitions of an angle (repeatable): a joint such as elbow_flexion (each side), "
        "both_knee_flexion (the mean of both sides), a column such as left_knee_flexion, or a preset "
        f"({', '.join(PRESETS)}); REST:ACTIVE thresholds in degrees (default: from the clip's range)",
    )
    group.add_argument(
        "--plane-angles",
        choices=PLANE_CHOICES,
        default="auto",
        help="where sagittal angles come from: auto (knee and hip flexion in the image plane on a side view, "
        "3-D otherwise), 3d, image (default %(default)s)",
    )
    parser.add_argument(
        "--pdf", action="store_true", help="also print each report to <name>_report.pdf (needs Chromium or Chrome)"
    )


def _configs(args: argparse.Namespace) -> tuple[ProcessorConfig, AnalysisConfig]:
    # Flip repair as in `bridge stream`; the live One-Euro filter is replaced by the zero-phase low-pass of
    # bridge.analysis.track.lowpass_track (offline, no lag).
    processor = ANALYSIS_STAGES if not args.no_flip_repair else dataclasses.replace(ANALYSIS_STAGES, flips=None)
    if not args.squat_up < args.squat_down:
        raise BridgeError(f"--squat-up ({args.squat_up:g}) must be below --squat-down ({args.squat_down:g})")
    analysis = AnalysisConfig(
        min_visibility=args.min_visibility,
        cutoff_hz=args.cutoff or None,
        squat_down_deg=args.squat_down,
        squat_up_deg=args.squat_up,
        jump_on_m=args.jump_height,
        jump_off_m=min(AnalysisConfig().jump_off_m, 0.4 * args.jump_height),
        reps=tuple(args.reps),
        plane_angles=args.plane_angles,
    )
    return processor, analysis


def track_input(
    input_text: str, tracker: TrackerConfig, processor: ProcessorConfig, label: str
) -> list[LandmarkFrame]:
    """Every frame of a file input through the landmark stages of ``processor`` (here: flip repair, no filter)."""
    out: list[LandmarkFrame] = []
    progress = progress_line()

    def notes(text: str) -> None:  # the person notes, said as they come
        progress.message(f"{label}: {text}")

    with open_run(input_text, tracker, Processor(None, processor), on_note=notes) as (info, run):
        try:
            for result in run:
                out.append(result.landmarks)
                progress.update(progress_text(label, len(out), info.frame_count))
        finally:
            progress.close()
    return out


def _stems(inputs: list[str]) -> list[str]:
    """Output names: the input's file name without suffix, made unique (``clip``, ``clip-2``)."""
    out: list[str] = []
    for text in inputs:
        stem = Path(text.rstrip("/")).stem or "input"
        name, n = stem, 2
        while name in out:
            name, n = f"{stem}-{n}", n + 1
        out.append(name)
    return out


def input_note(spec: SourceSpec) -> str:
    """What the input is, one sentence for the report page."""
    name = spec.path.name if spec.path is not None else spec.text
    return {
        "video": f"Video {name}.",
        "demo": f"The demo clip ({name}).",
        "images": f"Image folder {name}.",
        "recording": f"Recording {name} (landmarks only, no images).",
    }.get(spec.kind, f"{spec.text}.")


def key_frame_images(spec: SourceSpec, result: Analysis, image_fps: float) -> dict[int, BgrImage] | None:
    """The video frames of the report's key moments, read back from the input (None for a recording)."""
    if spec.kind not in ("video", "demo", "images"):
        return None
    with open_source(spec, image_fps) as source:
        return grab_frames(source, {m.frame_index for m in key_moments(result)})


def cmd_analyze(args: argparse.Namespace) -> int:
    """Analyse every input; one report each. Stops at the first input that cannot be read (one-line error)."""
    processor, config = _configs(args)
    tracker = TrackerConfig(
        model_path=args.model, image_fps=args.image_fps, num_poses=args.people, person=args.person
    )
    if args.out.exists() and not args.out.is_dir():
        raise BridgeError(f"--out {args.out} is a file; give a folder (it is created if missing)")
    for text in args.inputs:  # check every input before the slow part starts
        if parse_input(text).live:  # also: a missing file is a one-line error here
            raise BridgeError(f"cannot analyse a camera ({text}); record it first with `bridge record`")
    for text, stem in zip(args.inputs, _stems(args.inputs), strict=True):
        frames = track_input(text, tracker, processor, Path(text).name)
        if not frames:
            raise BridgeError(f"{text} has no frames; check that the video or recording is not empty")
        try:
            result = analyse(frames, config)
        except BridgeError as exc:
            raise BridgeError(f"{text}: {exc}") from None
        spec = parse_input(text)
        images = key_frame_images(spec, result, args.image_fps)
        files = write_report(result, args.out, stem, Path(text).name, images, input_note(spec))
        if args.pdf:
            print_pdf(files.html_path, files.html_path.with_suffix(".pdf"))
        reps = ", ".join(f"{r.min_knee_angle_deg:.0f}°" for r in result.squats)
        jumps = ", ".join(f"{j.flight_s:.2f} s" for j in result.jumps)
        print(
            f"{text}: {len(frames)} frames, {len(result.squats)} squats"
            + (f" (min knee angle {reps})" if reps else "")
            + f", {len(result.jumps)} jumps"
            + (f" (flight {jumps})" if jumps else "")
            + "".join(f", {len(r.reps)} {r.spec.name} repetitions" for r in result.reps)
            + f"; report {files.html_path}"
            + (f"\n  person analysed: {result.person}" if result.person else "")
            + "".join(f"\n  {line}" for line in view_lines(result.view)),
            flush=True,
        )
    return 0
