"""The movement-analysis report page: one self-contained HTML file per input.

The page embeds every plot as a base64 PNG, so the single file can be mailed or opened anywhere.
"""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path

from bridge.analysis.analyse import Analysis

_CSS = """
body{font-family:system-ui,sans-serif;margin:24px;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:8px 0 20px}th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
img{max-width:100%;display:block;margin:6px 0 18px}
.note{color:#555;font-size:90%}
"""


def _table(header: list[str], rows: list[list[str]], table_id: str) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table id="{table_id}"><tr>{head}</tr>{body}</table>'


def _deg(v: float) -> str:
    return f"{v:.1f}" if math.isfinite(v) else "–"


def _title(name: str) -> str:
    return name.replace("_", " ").capitalize()


def _summary_table(analysis: Analysis) -> str:
    return _table(
        ["angle", "min", "max", "ROM", "mean", "frames seen"],
        [
            [
                _title(s.name),
                _deg(s.min_deg),
                _deg(s.max_deg),
                _deg(s.rom_deg),
                _deg(s.mean_deg),
                f"{100 * s.seen:.0f}%",
            ]
            for s in analysis.summary
        ],
        "summary",
    )


def _symmetry_table(analysis: Analysis) -> str:
    return _table(
        ["joint", "ROM left", "ROM right", "symmetry index", "mean |L − R|"],
        [
            [
                _title(s.joint),
                _deg(s.rom_left_deg),
                _deg(s.rom_right_deg),
                f"{s.rom_index_percent:+.0f}%" if math.isfinite(s.rom_index_percent) else "–",
                _deg(s.mean_abs_diff_deg),
            ]
            for s in analysis.symmetry
        ],
        "symmetry",
    )


def _squats_table(analysis: Analysis) -> str:
    return _table(
        [
            "#",
            "start (s)",
            "bottom (s)",
            "end (s)",
            "depth: min knee angle",
            "max knee flexion",
            "down (s)",
            "up (s)",
        ],
        [
            [
                str(n),
                f"{r.start_s:.2f}",
                f"{r.bottom_s:.2f}",
                f"{r.end_s:.2f}",
                _deg(r.min_knee_angle_deg),
                _deg(r.depth_flexion_deg),
                f"{r.descent_s:.2f}",
                f"{r.ascent_s:.2f}",
            ]
            for n, r in enumerate(analysis.squats, 1)
        ],
        "squats",
    )


def _jumps_table(analysis: Analysis) -> str:
    return _table(
        [
            "#",
            "take-off (s)",
            "landing (s)",
            "flight (s)",
            "height from flight (cm)",
            "foot peak (cm)",
            "hip rise (cm)",
            "drop (cm)",
        ],
        [
            [
                str(n),
                f"{j.takeoff_s:.2f}",
                f"{j.landing_s:.2f}",
                f"{j.flight_s:.3f}",
                f"{100 * j.height_from_flight_m:.1f}",
                f"{100 * j.peak_height_m:.1f}",
                f"{100 * j.hip_rise_m:.1f}",
                f"{100 * j.drop_m:.1f}",
            ]
            for n, j in enumerate(analysis.jumps, 1)
        ],
        "jumps",
    )


def report_html(analysis: Analysis, plots: tuple[tuple[str, Path], ...], title: str) -> str:
    """The self-contained report page: summary, symmetry, repetitions and jumps tables, and every plot inline."""
    t = analysis.track
    seen = 100.0 * float(t.person.mean())
    duration = float(t.t_s[-1] - t.t_s[0]) if len(t) > 1 else 0.0
    parts = [
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Movement analysis: {html.escape(title)}</h1>",
        f"<p>{len(t)} frames, {duration:.2f} s, person tracked in {seen:.0f}% of frames. Angles are 3-D, from the "
        "filtered world landmarks in body-fixed frames (see the README, section “Movement analysis”, for the "
        "definitions and signs). Range of motion (ROM) = 98th − 2nd percentile.</p>",
        f"<p id='person'>Person analysed: {html.escape(analysis.person)}.</p>" if analysis.person else "",
        "<h2>Joint angles (degrees)</h2>",
        _summary_table(analysis),
        "<h2>Left/right symmetry</h2>",
        _symmetry_table(analysis),
        f"<h2>Squat repetitions: {len(analysis.squats)}</h2>",
        _squats_table(analysis),
        f"<h2>Jumps: {len(analysis.jumps)}</h2>",
        _jumps_table(analysis),
        "<p class='note'>Jumps are timed from the image track (feet and hips), scaled to metres by the person's "
        "apparent size; they need a still camera. Height from flight = g·t²/8, valid for a landing at the "
        "take-off level.</p>",
        "<h2>Plots</h2>",
    ]
    for name, path in plots:
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        parts.append(
            f"<h3>{html.escape(name)}</h3><img alt='{html.escape(name)}' src='data:image/png;base64,{data}'>"
        )
    parts.append("</body></html>")
    return "\n".join(parts)


__all__ = ["report_html"]
