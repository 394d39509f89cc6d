"""Movement-analysis output: the angle CSV, the exports (OpenSim ``.trc``/``.mot``, ``.c3d``), the repetitions CSV,
PNG plots and one self-contained HTML report page per input.

The I/O edge of :mod:`bridge.analysis.analyse`: nothing here computes an angle. Plots use matplotlib's Agg backend
(no display needed); the HTML page is :func:`bridge.analysis.page.report_html`, the exports
:mod:`bridge.analysis.exports`, the stills :mod:`bridge.analysis.stills`.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bridge.analysis.analyse import Analysis
from bridge.analysis.angles import TWO_SIDED
from bridge.analysis.exports import write_c3d, write_mot, write_trc
from bridge.analysis.page import _title, report_html
from bridge.analysis.reps import RepSet
from bridge.analysis.stills import BgrImage, make_stills
from bridge.core.errors import BridgeError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class ReportFiles:
    """What :func:`write_report` wrote: the CSV, the PNG plots (title, path), the HTML page, the exports,
    (with ``--reps``) the repetitions CSV and the JSON summary."""

    csv_path: Path
    plots: tuple[tuple[str, Path], ...]
    html_path: Path
    exports: tuple[Path, ...] = ()
    reps_csv_path: Path | None = None
    summary_path: Path | None = None


def write_csv(analysis: Analysis, path: Path) -> None:
    """One row per frame: ``t_s, frame_index, person``, every angle in degrees (2 decimals; empty = NaN), the
    squat signal ``knee_signal_deg`` and ``foot_height_m`` used for repetitions and jumps, and the camera's view
    angle ``view_deg`` (:func:`bridge.analysis.view.side_view_deg`: 0 front or back, 90 side)."""
    a = analysis.angles
    view = analysis.view.side_view_deg if analysis.view is not None else np.full(len(a.t_s), np.nan)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(
            ["t_s", "frame_index", "person", *(f"{n}_deg" for n in a.names), "knee_signal_deg", "foot_height_m",
             "view_deg"]
        )  # fmt: skip
        for k in range(a.values_deg.shape[0]):
            values = [_fmt(v, 2) for v in a.values_deg[k]]
            w.writerow(
                [
                    f"{a.t_s[k]:.4f}",
                    int(a.frame_index[k]),
                    int(analysis.track.person[k]),
                    *values,
                    _fmt(analysis.knee_deg[k], 2),
                    _fmt(analysis.feet.foot_height_m[k], 4),
                    _fmt(view[k], 1),
                ]
            )


def summary_json(analysis: Analysis) -> dict[str, object]:
    """The clip's summary as JSON data: per angle its range (degrees), the share of frames seen, whether the view
    suits it and which estimate it is; the view (median angle, shares, warnings); counts of squats and jumps."""

    def num(v: float) -> float | None:
        return round(float(v), 2) if math.isfinite(float(v)) else None

    v = analysis.view
    angles: dict[str, object] = {}
    for s in analysis.summary:
        entry: dict[str, object] = {
            "min_deg": num(s.min_deg), "max_deg": num(s.max_deg), "rom_deg": num(s.rom_deg),
            "mean_deg": num(s.mean_deg), "seen": round(s.seen, 4),
        }  # fmt: skip
        if v is not None:
            a = v.angles[s.name]
            entry.update(plane=a.plane, view_suits=a.suits, estimate=a.method, view_note=a.text)
        angles[s.name] = entry
    view: dict[str, object] | None = None
    if v is not None:
        view = {
            "view": v.view, "median_view_deg": num(v.median_deg),
            "shares": {k: round(x, 4) for k, x in v.shares.items()}, "warnings": list(v.warnings),
        }  # fmt: skip
    return {
        "frames": len(analysis.track), "person": analysis.person, "view": view, "angles": angles,
        "squats": len(analysis.squats), "jumps": len(analysis.jumps),
        "reps": {r.spec.name: len(r.reps) for r in analysis.reps},
    }  # fmt: skip


def write_summary_json(analysis: Analysis, path: Path) -> None:
    """:func:`summary_json` as ``path`` (UTF-8, indented)."""
    path.write_text(json.dumps(summary_json(analysis), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def write_reps_csv(analysis: Analysis, path: Path) -> None:
    """One row per repetition of every ``--reps`` set: set, number, side, times (s), angles (degrees), phases,
    time under tension, whether it finished, and each side's range for a mean signal."""
    header = [
        "set", "rep", "side", "start_s", "extreme_s", "end_s", "start_deg", "extreme_deg", "range_deg",
        "out_s", "hold_s", "back_s", "tut_s", "finished", "left_range_deg", "right_range_deg",
    ]  # fmt: skip
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        for rep_set in analysis.reps:
            for n, r in enumerate(rep_set.reps, 1):
                w.writerow(
                    [
                        rep_set.spec.name,
                        n,
                        r.side,
                        f"{r.start_s:.4f}",
                        f"{r.extreme_s:.4f}",
                        f"{r.end_s:.4f}",
                        _fmt(r.start_deg, 2),
                        _fmt(r.extreme_deg, 2),
                        _fmt(r.range_deg, 2),
                        f"{r.out_s:.4f}",
                        f"{r.hold_s:.4f}",
                        f"{r.back_s:.4f}",
                        f"{r.tut_s:.4f}",
                        int(r.finished),
                        _fmt(r.left_range_deg, 2),
                        _fmt(r.right_range_deg, 2),
                    ]  # fmt: skip
                )


def _fmt(value: float, digits: int) -> str:
    return f"{value:.{digits}f}" if math.isfinite(float(value)) else ""


def _figure(height: float = 3.0) -> Figure:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(figsize=(9.0, height), dpi=90, layout="constrained")


def _save(fig: Figure, path: Path) -> None:
    fig.savefig(path, format="png")


def _finish_time_plot(fig: Figure, ax: Axes, path: Path, ylabel: str, title: str) -> None:
    """The common end of a plot over time: axis labels, title, grid, the legend right of the axes, saved."""
    ax.set_xlabel("time (s)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    _save(fig, path)


def _mark_repetition(
    ax: Axes, number: int, span_s: tuple[float, float], extreme: tuple[float, float], colour: str, alpha: float
) -> None:
    """One repetition on a plot over time: its span shaded, its extreme (time s, degrees) marked and numbered."""
    ax.axvspan(span_s[0], span_s[1], color=colour, alpha=alpha)
    ax.plot([extreme[0]], [extreme[1]], "v", color=colour)
    ax.text(extreme[0], extreme[1] + 3, str(number), ha="center", fontsize=8)


def plot_joint(analysis: Analysis, joint: str, path: Path) -> None:
    """Left and right ``joint`` over time, each with its range of motion (2nd–98th percentile) shaded."""
    fig = _figure()
    ax = fig.add_subplot()
    summary = {s.name: s for s in analysis.summary}
    names = [f"left_{joint}", f"right_{joint}"] if f"left_{joint}" in summary else [joint]
    colours = {"left": "tab:blue", "right": "tab:red"}
    t = analysis.angles.t_s
    for name in names:
        side = name.split("_", 1)[0]
        colour = colours.get(side, "tab:green")
        s = summary[name]
        label = (
            f"{_title(name)}: ROM {s.rom_deg:.0f}° ({s.min_deg:.0f}° to {s.max_deg:.0f}°)"
            if s.seen
            else (f"{_title(name)}: not seen")
        )
        ax.plot(t, analysis.angles[name], color=colour, lw=1.4, label=label)
        if s.seen:
            ax.axhspan(s.min_deg, s.max_deg, color=colour, alpha=0.08)
    _finish_time_plot(fig, ax, path, "degrees", _title(joint))


def plot_symmetry(analysis: Analysis, path: Path) -> None:
    """Range of motion left vs right per joint, with the symmetry index (100·(L−R)/mean)."""
    fig = _figure(3.4)
    ax = fig.add_subplot()
    sym = analysis.symmetry
    x = np.arange(len(sym))
    ax.bar(x - 0.2, [s.rom_left_deg for s in sym], 0.4, color="tab:blue", label="left")
    ax.bar(x + 0.2, [s.rom_right_deg for s in sym], 0.4, color="tab:red", label="right")
    for i, s in enumerate(sym):
        top = np.nanmax([s.rom_left_deg, s.rom_right_deg, 0.0])
        if math.isfinite(s.rom_index_percent):
            ax.text(i, top + 3, f"{s.rom_index_percent:+.0f}%", ha="center", fontsize=8)
    ax.set_xticks(x, [_title(s.joint) for s in sym], fontsize=8)
    ax.set_ylabel("range of motion (°)")
    ax.set_title("Left/right symmetry (range of motion; label: symmetry index)")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    _save(fig, path)


def plot_squats(analysis: Analysis, path: Path) -> None:
    """The squat signal with its two thresholds and each counted repetition shaded, depth marked."""
    fig = _figure()
    ax = fig.add_subplot()
    c = analysis.config
    ax.plot(analysis.angles.t_s, analysis.knee_deg, color="black", lw=1.4, label="knee flexion (less bent knee)")
    ax.axhline(c.squat_down_deg, color="tab:orange", ls="--", lw=1, label=f"down ≥ {c.squat_down_deg:g}°")
    ax.axhline(c.squat_up_deg, color="tab:green", ls="--", lw=1, label=f"up ≤ {c.squat_up_deg:g}°")
    for n, rep in enumerate(analysis.squats, 1):
        bottom = (rep.bottom_s, rep.depth_flexion_deg)
        _mark_repetition(ax, n, (rep.start_s, rep.end_s), bottom, "tab:purple", 0.12)
    _finish_time_plot(fig, ax, path, "degrees", f"Squat repetitions: {len(analysis.squats)}")


def plot_jumps(analysis: Analysis, path: Path) -> None:
    """Height of the lowest foot point above the floor estimate, with each flight shaded."""
    fig = _figure()
    ax = fig.add_subplot()
    c = analysis.config
    ax.plot(
        analysis.feet.t_s,
        analysis.feet.foot_height_m * 100.0,
        color="black",
        lw=1.2,
        label="lowest foot point above floor",
    )
    ax.axhline(
        c.jump_on_m * 100.0, color="tab:orange", ls="--", lw=1, label=f"take-off ≥ {c.jump_on_m * 100:g} cm"
    )
    ax.axhline(c.jump_off_m * 100.0, color="tab:green", ls="--", lw=1, label=f"floor ≤ {c.jump_off_m * 100:g} cm")
    for j in analysis.jumps:
        ax.axvspan(j.takeoff_s, j.landing_s, color="tab:cyan", alpha=0.25)
    finite = analysis.feet.foot_height_m[np.isfinite(analysis.feet.foot_height_m)] * 100.0
    if finite.size:  # a track's first frames (MediaPipe still locking on) must not squash the plot
        ax.set_ylim(max(float(finite.min()), -20.0) - 2.0, max(float(finite.max()), 10.0) + 2.0)
    _finish_time_plot(fig, ax, path, "cm", f"Jumps: {len(analysis.jumps)} (shaded: flight)")


def plot_reps(analysis: Analysis, rep_set: RepSet, path: Path) -> None:
    """The signals of one ``--reps`` set with its two thresholds and each counted repetition shaded."""
    fig = _figure()
    ax = fig.add_subplot()
    colours = {"left": "tab:blue", "right": "tab:red", "": "black"}
    t = analysis.angles.t_s
    for side, values in rep_set.signals.items():
        label = f"{side} {rep_set.spec.angle}".strip().replace("_", " ")
        ax.plot(t, values, color=colours[side], lw=1.3, label=label)
    if math.isfinite(rep_set.rest_deg):
        ax.axhline(rep_set.rest_deg, color="tab:green", ls="--", lw=1, label=f"rest {rep_set.rest_deg:.0f}°")
        ax.axhline(
            rep_set.active_deg, color="tab:orange", ls="--", lw=1, label=f"active {rep_set.active_deg:.0f}°"
        )
    for n, rep in enumerate(rep_set.reps, 1):
        extreme = (rep.extreme_s, rep.extreme_deg)
        _mark_repetition(ax, n, (rep.start_s, rep.end_s), extreme, colours[rep.side], 0.08)
    _finish_time_plot(fig, ax, path, "degrees", f"Repetitions of {rep_set.spec.name}: {len(rep_set.reps)}")


def write_plots(analysis: Analysis, out_dir: Path, stem: str) -> tuple[tuple[str, Path], ...]:
    """Every plot as ``<stem>_<name>.png`` in ``out_dir``; returns (title, path) pairs in report order."""
    plots: list[tuple[str, Path]] = []
    for joint in (*TWO_SIDED, "trunk_forward_lean", "trunk_lateral_lean"):
        path = out_dir / f"{stem}_{joint}.png"
        plot_joint(analysis, joint, path)
        plots.append((_title(joint), path))
    for title, name, fn in (
        ("Symmetry", "symmetry", plot_symmetry),
        ("Squats", "squats", plot_squats),
        ("Jumps", "jumps", plot_jumps),
    ):
        path = out_dir / f"{stem}_{name}.png"
        fn(analysis, path)
        plots.append((title, path))
    for n, rep_set in enumerate(analysis.reps, 1):
        path = out_dir / f"{stem}_reps_{n}_{re.sub(r'[^a-z0-9]+', '_', rep_set.spec.name.lower())}.png"
        plot_reps(analysis, rep_set, path)
        plots.append((f"Repetitions: {rep_set.spec.name}", path))
    return tuple(plots)


def write_report(
    analysis: Analysis,
    out_dir: Path,
    stem: str,
    title: str | None = None,
    images: Mapping[int, BgrImage] | None = None,
    input_note: str = "",
) -> ReportFiles:
    """Write into ``out_dir`` (created): ``<stem>_angles.csv``, ``<stem>_analysis.json``, ``<stem>.trc``,
    ``<stem>.mot``, ``<stem>.c3d``, ``<stem>_reps.csv`` (with ``--reps``), the PNG plots and
    ``<stem>_report.html``.

    Args:
        images: frame index → BGR image of the analysed video for the stills
            (:func:`bridge.analysis.stills.grab_frames`); None for a recording (skeletons on a blank canvas).
        input_note: what the input was, one sentence for the page (e.g. ``"Video clip.mp4."``).
    """
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BridgeError(
            f"cannot create the output folder {out_dir}: {exc.strerror}; pick another --out"
        ) from None
    csv_path = out_dir / f"{stem}_angles.csv"
    summary_path = out_dir / f"{stem}_analysis.json"
    exports = (out_dir / f"{stem}.trc", out_dir / f"{stem}.mot", out_dir / f"{stem}.c3d")
    reps_csv = out_dir / f"{stem}_reps.csv" if analysis.reps else None
    try:
        write_csv(analysis, csv_path)
        write_summary_json(analysis, summary_path)
        for path, writer in zip(exports, (write_trc, write_mot, write_c3d), strict=True):
            writer(analysis, path)
        if reps_csv is not None:
            write_reps_csv(analysis, reps_csv)
        plots = write_plots(analysis, out_dir, stem)
        html_path = out_dir / f"{stem}_report.html"
        files = [csv_path, summary_path, *([reps_csv] if reps_csv else []), *exports]
        page = report_html(analysis, plots, title or stem, make_stills(analysis, images), files, input_note)
        html_path.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise BridgeError(f"cannot write the report into {out_dir}: {exc.strerror}; check the folder") from None
    return ReportFiles(csv_path, plots, html_path, exports, reps_csv, summary_path)


__all__ = [
    "ReportFiles",
    "summary_json",
    "write_csv",
    "write_plots",
    "write_report",
    "write_reps_csv",
    "write_summary_json",
]
