"""The movement-analysis report page: one self-contained HTML file per input, readable on its own and printable.

The page embeds every plot (PNG) and still (JPEG) as base64, so the single file can be mailed or opened
anywhere; it carries its own definitions and sign conventions, the symmetry formula, the normative ranges with
their source, which person was analysed, and a print layout (A4, no page break inside a table or figure; a
PDF is printed from it by headless Chromium: :mod:`bridge.analysis.pdf`). The tables are
:mod:`bridge.analysis.page_tables`.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from pathlib import Path

from bridge.analysis.analyse import Analysis
from bridge.analysis.exports import MARKER_FRAME
from bridge.analysis.page_tables import (
    VIEW_NOT_ASSESSED,
    definitions_html,
    jumps_table,
    norms_chart,
    para,
    reps_html,
    squats_table,
    summary_table,
    symmetry_table,
    table,
)
from bridge.analysis.page_tables import title as _title
from bridge.analysis.stills import LEFT_RGB, MIDDLE_RGB, RIGHT_RGB, Still
from bridge.analysis.track import track_segments
from bridge.analysis.view import FRONT_MAX_DEG, SIDE_MIN_DEG, VIEW_NAMES

_CSS = """
body{font-family:system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#222;padding:0 16px}
table{border-collapse:collapse;margin:8px 0 20px}th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
#definitions td{text-align:left}#summary td:last-child,#summary th:last-child{text-align:left;max-width:420px}
tr.view-no td:last-child{background:#fde2e1}tr.view-partly td:last-child{background:#fff4d6}
img{max-width:100%;display:block;margin:6px 0 18px}
.note{color:#555;font-size:90%}.source{font-size:90%}.formula{font-weight:600}
.warn{background:#fff4d6;border-left:4px solid #e0a800;padding:6px 10px}
.stills{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:12px}
figure{margin:0;break-inside:avoid}figure img{margin:0;border:1px solid #bbb}
figcaption{font-size:85%;color:#333;margin-top:3px}
#norms td.chart,#norms th.chart{width:360px;padding:3px 12px}#norms td:last-child{text-align:left;min-width:200px}
.track{position:relative;height:16px;background:#f1f1f1}
.norm{position:absolute;top:0;height:16px;background:#8fd18f}
.measured{position:absolute;top:5px;height:6px;background:#1f3a93}
.tick{position:absolute;top:0;height:16px;width:1px;background:#999}
.scale{position:relative;height:14px}.scale .label{position:absolute;transform:translateX(-50%);font-size:80%}
.key{display:inline-block;width:22px;height:10px;vertical-align:middle;margin:0 4px 0 12px}
.norm-key{background:#8fd18f}.measured-key{background:#1f3a93}
.swatch{display:inline-block;width:14px;height:8px;margin:0 3px 0 8px;vertical-align:middle}
@page{size:A4;margin:12mm}
@media print{
 body{margin:0;max-width:none;font-size:10pt;padding:0}
 *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
 h2,h3{break-after:avoid}table,figure,img,.track{break-inside:avoid}
 .stills{grid-template-columns:repeat(3,1fr)}
 .plots img{max-width:100%;break-inside:avoid}
}
"""


def _rgb(colour: tuple[int, int, int]) -> str:
    return "#" + "".join(f"{c:02x}" for c in colour)


def person_html(analysis: Analysis, input_note: str) -> str:
    """Which input and which person: the continuous tracks (MediaPipe follows one person per frame)."""
    t = analysis.track
    segments = track_segments(t)
    rows = [
        [str(n), f"{t.t_s[a]:.2f}", f"{t.t_s[b - 1]:.2f}", str(int(t.frame_index[a])), str(b - a)]
        for n, (a, b) in enumerate(segments, 1)
    ]
    seen = 100.0 * float(t.person.mean()) if len(t) else 0.0
    duration = float(t.t_s[-1] - t.t_s[0]) if len(t) > 1 else 0.0
    parts = [
        para(f"{input_note} {len(t)} frames, {duration:.2f} s, a person tracked in {seen:.0f}% of the frames."),
        para(
            "One person is analysed: MediaPipe's pose landmarker follows one person per frame (the most "
            "prominent). The track is cut where the person is lost or the hips jump across the image (MediaPipe "
            "switching to someone else); each continuous track below starts with a still (under Key moments) "
            "that shows who it follows."
        ),
        table(["track", "from (s)", "to (s)", "first frame", "frames"], rows, "persons"),
    ]
    if analysis.person:
        parts.insert(1, f"<p id='person'>Person analysed: {html.escape(analysis.person)}.</p>")
    if len(segments) > 1:
        parts.append(
            "<p class='warn'>The person was tracked in "
            f"{len(segments)} separate pieces: check in the stills that every piece shows the same person — the "
            "angles, repetitions and jumps of all pieces are pooled.</p>"
        )
    return "\n".join(parts)


def view_html(analysis: Analysis) -> str:
    """The camera's view of the body, what it means for the angles, and the warnings (:mod:`.view`)."""
    v = analysis.view
    if v is None:
        return para(f"View suitability: {VIEW_NOT_ASSESSED}.", "note")
    if v.view.endswith(" views"):
        return para(
            f"Camera views: the landmarks were triangulated from {v.view.split()[0]} calibrated cameras, so every "
            "angle is measured in 3-D and no single camera's view limits it.",
            "note",
        )
    shares = ", ".join(f"{100 * v.shares[name]:.0f}% {name}" for name in VIEW_NAMES)
    image = sorted(v.image_plane())
    parts = [
        para(
            f"Camera view: {v.view} (median {v.median_deg:.0f}° from the front; frames: {shares}). The view angle "
            "is the angle between the camera's axis and the body's frontal plane (hip and shoulder lines), 0° "
            f"seeing the front or back, 90° one side; under {FRONT_MAX_DEG:.0f}° counts as a front view, from "
            f"{SIDE_MIN_DEG:.0f}° as a side view. Sagittal angles (flexion, forward lean) suit a side view, "
            "frontal ones (abduction, lateral lean) a front or back view.",
            "note",
        ),
        para(
            "Measured in the image plane (2-D, as Sports2D does; on a side view these were more accurate than "
            f"MediaPipe's 3-D in the validation): {', '.join(_title(n) for n in image)}."
            if image
            else "Every angle comes from MediaPipe's 3-D landmarks.",
            "note",
        ),
    ]
    return "\n".join(parts)


def view_warnings_html(analysis: Analysis) -> str:
    """The view's warnings (:attr:`ViewAssessment.warnings`), shown above the angle table."""
    if analysis.view is None:
        return ""
    return "\n".join(f"<p class='warn view-warning'>{html.escape(w)}</p>" for w in analysis.view.warnings)


def stills_html(stills: Sequence[Still]) -> str:
    if not stills:
        return para("No key moments: the person was never tracked.", "note")
    from_video = any(s.from_video for s in stills)
    legend = (
        f"Skeleton: <span class='swatch' style='background:{_rgb(LEFT_RGB)}'></span>left"
        f"<span class='swatch' style='background:{_rgb(RIGHT_RGB)}'></span>right"
        f"<span class='swatch' style='background:{_rgb(MIDDLE_RGB)}'></span>midline (the tracked landmarks, "
        "low-passed)."
    )
    note = (
        "Frames of the video at each key moment, with the tracked skeleton drawn on them."
        if from_video
        else "This input is a recording: it holds landmarks, not images, so there is no video frame to show — "
        "the skeleton of each key moment is drawn on a blank background."
    )
    figures = []
    for s in stills:
        data = base64.b64encode(s.jpeg).decode("ascii")
        caption = "<br>".join(html.escape(label) for label in s.moment.labels)
        when = f"{s.moment.t_s:.2f} s, frame {s.moment.frame_index}"
        figures.append(
            f"<figure><img class='still' alt='{html.escape(s.moment.labels[0])}' "
            f"src='data:image/jpeg;base64,{data}'><figcaption>{caption}<br><span class='note'>{when}</span>"
            "</figcaption></figure>"
        )
    return f"<p>{html.escape(note)} {legend}</p><div class='stills'>{''.join(figures)}</div>"


def files_html(files: Sequence[Path]) -> str:
    """The files written next to the page, with what each holds."""
    what = {
        "_angles.csv": "every angle per frame, degrees (one row per frame)",
        "_reps.csv": "every repetition of the --reps sets",
        "_analysis.json": "the summary: ranges of motion, the view and whether it suits each angle, counts",
        ".trc": f"OpenSim markers, metres; {MARKER_FRAME}",
        ".mot": "OpenSim storage of every angle, degrees",
        ".c3d": "C3D markers, millimetres, the same frame as the .trc",
        ".pdf": "this page, printed",
    }
    rows = []
    for path in files:
        desc = next((d for suffix, d in what.items() if path.name.endswith(suffix)), "")
        rows.append([path.name, desc])
    return table(["file", "content"], rows, "files")


def report_html(
    analysis: Analysis,
    plots: tuple[tuple[str, Path], ...],
    title: str,
    stills: Sequence[Still] = (),
    files: Sequence[Path] = (),
    input_note: str = "",
) -> str:
    """The self-contained report page (module docstring)."""
    parts = [
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Movement analysis: {html.escape(title)}</h1>",
        "<h2 id='person-section'>Input and person</h2>",
        person_html(analysis, input_note),
        "<h2 id='stills-section'>Key moments</h2>",
        stills_html(stills),
        "<h2>Joint angles (degrees)</h2>",
        view_warnings_html(analysis),
        summary_table(analysis),
        view_html(analysis),
        "<h2 id='norms-section'>Range of motion against the norms</h2>",
        norms_chart(analysis),
        "<h2>Left/right symmetry</h2>",
        symmetry_table(analysis),
        para(
            "Symmetry index = 100 · (L − R) / ((L + R) / 2) % of the ranges of motion (Robinson et al. 1987).",
            "formula",
        ),
        f"<h2>Squat repetitions: {len(analysis.squats)}</h2>",
        squats_table(analysis),
    ]
    if analysis.reps:
        parts += ["<h2 id='reps-section'>Repetitions</h2>", reps_html(analysis)]
    parts += [
        f"<h2>Jumps: {len(analysis.jumps)}</h2>",
        jumps_table(analysis),
        para(
            "Jumps are timed from the image track (feet and hips), scaled to metres by the person's apparent "
            "size; they need a still camera that sees the feet. Height from flight = g·t²/8, valid for a landing "
            "at the take-off level.",
            "note",
        ),
        "<h2 id='definitions-section'>Definitions and sign conventions</h2>",
        definitions_html(analysis),
        "<h2>Plots</h2><div class='plots'>",
    ]
    for name, path in plots:
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        parts.append(
            f"<h3>{html.escape(name)}</h3><img alt='{html.escape(name)}' src='data:image/png;base64,{data}'>"
        )
    parts.append("</div>")
    if files:
        parts += ["<h2>Files</h2>", files_html(files)]
    parts.append("</body></html>")
    return "\n".join(parts)


__all__ = ["_title", "report_html"]
