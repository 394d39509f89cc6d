"""The tables and text blocks of the report page (:mod:`bridge.analysis.page` puts them together)."""

from __future__ import annotations

import html
import math

from bridge.analysis.analyse import Analysis
from bridge.analysis.definitions import (
    DEFINITIONS,
    FRAMES_TEXT,
    NORM_NOTE,
    NORM_SOURCE,
    PLANAR_TEXT,
    ROM_TEXT,
    SYMMETRY_TEXT,
    VIEW_TEXT,
    norm_of,
)
from bridge.analysis.reps import RepSet, describe

#: Not assessed: what the view column says until the view check (issue #20, item 2) fills it.
VIEW_NOT_ASSESSED = "not assessed"
#: The degree range the normative chart spans.
CHART_LO_DEG, CHART_HI_DEG = -90.0, 200.0


def table(header: list[str], rows: list[list[str]], table_id: str, row_classes: list[str] | None = None) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    classes = row_classes or [""] * len(rows)
    body = "".join(
        (f"<tr class='{cls}'>" if cls else "<tr>") + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
        for row, cls in zip(rows, classes, strict=True)
    )
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def deg(v: float) -> str:
    return f"{v:.1f}" if math.isfinite(v) else "–"


def pct(v: float) -> str:
    return f"{v:+.0f}%" if math.isfinite(v) else "–"


def title(name: str) -> str:
    return name.replace("_", " ").capitalize()


def para(text: str, cls: str = "") -> str:
    attr = f" class='{cls}'" if cls else ""
    return f"<p{attr}>{html.escape(text)}</p>"


def summary_table(analysis: Analysis) -> str:
    rows, classes = [], []
    for s in analysis.summary:
        norm = norm_of(s.name)
        classes.append(f"view-{analysis.view.angles[s.name].suits}" if analysis.view else "")
        rows.append(
            [
                title(s.name),
                deg(s.min_deg),
                deg(s.max_deg),
                deg(s.rom_deg),
                deg(s.mean_deg),
                f"{100 * s.seen:.0f}%",
                f"{norm.low_deg:g} to {norm.high_deg:g}" if norm else "–",
                analysis.view.angles[s.name].text if analysis.view else VIEW_NOT_ASSESSED,
            ]
        )
    header = ["angle", "min", "max", "ROM", "mean", "frames seen", "normative (AAOS)", "view suits it"]
    return table(header, rows, "summary", classes)


def _pos(v: float) -> float:
    """Percent across the chart for ``v`` degrees (clipped)."""
    return 100.0 * (min(max(v, CHART_LO_DEG), CHART_HI_DEG) - CHART_LO_DEG) / (CHART_HI_DEG - CHART_LO_DEG)


def norms_chart(analysis: Analysis) -> str:
    """Per angle with a norm: its normative range (green band) and the measured 2nd–98th percentile (navy bar)
    on one degree scale, with the published values beside it, then the source."""
    rows = []
    for s in analysis.summary:
        norm = norm_of(s.name)
        if norm is None:
            continue
        band = f"left:{_pos(norm.low_deg):.2f}%;width:{_pos(norm.high_deg) - _pos(norm.low_deg):.2f}%"
        if s.seen and math.isfinite(s.min_deg):
            bar = f"left:{_pos(s.min_deg):.2f}%;width:{max(_pos(s.max_deg) - _pos(s.min_deg), 0.4):.2f}%"
            measured = f"{round(s.min_deg)}° to {round(s.max_deg)}°"  # round(): never "-0°"
            bar_html = f"<span class='measured' style='{bar}'></span>"
        else:
            measured, bar_html = "not seen", ""
        ticks = "".join(
            f"<span class='tick' style='left:{_pos(v):.2f}%'></span>" for v in (-90.0, 0.0, 90.0, 180.0)
        )
        rows.append(
            f"<tr><td>{html.escape(title(s.name))}</td><td class='chart'><div class='track'>"
            f"<span class='norm' style='{band}'></span>{bar_html}{ticks}</div></td>"
            f"<td>{html.escape(measured)}</td><td>{html.escape(norm.text)}</td></tr>"
        )
    scale = "".join(
        f"<span class='label' style='left:{_pos(v):.2f}%'>{v:g}°</span>" for v in (-90.0, 0.0, 90.0, 180.0)
    )
    return (
        "<table id='norms'><thead><tr><th>angle</th><th class='chart'><div class='scale'>"
        f"{scale}</div></th><th>measured (2nd–98th pct.)</th><th>normative, AAOS</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        "<p class='legend'><span class='key norm-key'></span> normative range (AAOS) "
        "<span class='key measured-key'></span> measured in this clip</p>"
        + para(f"Source: {NORM_SOURCE}", "source")
        + para(NORM_NOTE, "note")
    )


def symmetry_table(analysis: Analysis) -> str:
    rows = [
        [
            title(s.joint),
            deg(s.rom_left_deg),
            deg(s.rom_right_deg),
            pct(s.rom_index_percent),
            deg(s.mean_abs_diff_deg),
        ]
        for s in analysis.symmetry
    ]
    return table(["joint", "ROM left", "ROM right", "symmetry index", "mean |L − R|"], rows, "symmetry")


SQUAT_TEXT = (
    "Squats are counted on the less bent knee (a squat bends both; walking or a lunge bends one at a time), with "
    "hysteresis: a repetition goes up (knee flexion ≤ {up:g}°) → down (≥ {down:g}°) → up, so noise or a bounce at "
    "one threshold never adds one. Depth = the smallest knee angle = 180° − the largest flexion. Down "
    "(eccentric) runs from leaving the standing posture (within {onset:g}° of its flexion) to the bottom, up "
    "(concentric) from the bottom back to standing."
)


def squats_table(analysis: Analysis) -> str:
    rows = [
        [
            str(n),
            f"{r.start_s:.2f}",
            f"{r.bottom_s:.2f}",
            f"{r.end_s:.2f}",
            deg(r.min_knee_angle_deg),
            deg(r.depth_flexion_deg),
            f"{r.descent_s:.2f}",
            f"{r.ascent_s:.2f}",
        ]
        for n, r in enumerate(analysis.squats, 1)
    ]
    header = ["#", "start (s)", "bottom (s)", "end (s)", "depth: min knee angle", "max knee flexion"]
    c = analysis.config
    text = SQUAT_TEXT.format(up=c.squat_up_deg, down=c.squat_down_deg, onset=c.squat_onset_deg)
    return table([*header, "down (s)", "up (s)"], rows, "squats") + para(text, "note")


def jumps_table(analysis: Analysis) -> str:
    rows = [
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
    ]
    header = ["#", "take-off (s)", "landing (s)", "flight (s)", "height from flight (cm)", "foot peak (cm)"]
    return table([*header, "hip rise (cm)", "drop (cm)"], rows, "jumps")


REPS_TEXT = (
    "Each repetition leaves the rest posture, crosses the rest threshold, reaches the active one and comes back "
    "(hysteresis: a bounce or noise near one threshold never adds one, a pause never splits one). Start and end: "
    "the last and first frame within {onset:g}° of the rest posture. Range = largest − smallest angle within the "
    "repetition. Out = start to the first frame within {share:.0f} % of the range from the extreme; hold = while "
    "it stays there; back = from there to the end. Time under tension (TUT) = start to end (out + hold + back), "
    "the rest between repetitions not included."
)


def rep_set_html(rep_set: RepSet, n: int) -> str:
    """One ``--reps`` set: its definition, the repetitions, their symmetry."""
    spec = rep_set.spec
    parts = [
        f"<h3 id='reps-{n}'>{html.escape(spec.name)}: {len(rep_set.reps)} repetitions</h3>",
        para(describe(spec, rep_set.rest_deg, rep_set.active_deg)),
        para(rep_set.note, "note"),
    ]
    rows = [
        [
            str(k),
            r.side or "–",
            f"{r.start_s:.2f}",
            f"{r.end_s:.2f}",
            deg(r.start_deg),
            deg(r.extreme_deg),
            deg(r.range_deg),
            f"{r.out_s:.2f}",
            f"{r.hold_s:.2f}",
            f"{r.back_s:.2f}",
            f"{r.tut_s:.2f}",
            "" if r.finished else "clip ended",
        ]
        for k, r in enumerate(rep_set.reps, 1)
    ]
    header = ["#", "side", "start (s)", "end (s)", "start (°)", "extreme (°)", "range (°)", "out (s)", "hold (s)"]
    parts.append(table([*header, "back (s)", "TUT (s)", ""], rows, f"reps-table-{n}"))
    parts.append(para(f"Total time under tension: {rep_set.total_tut_s:.2f} s.", "note"))
    if rep_set.unfinished:
        parts.append(para(f"Not counted: {len(rep_set.unfinished)} repetition(s) the clip ended in.", "note"))
    sym = rep_set.symmetry
    if sym is not None:
        sym_rows = [
            [
                "mean range (°)",
                deg(sym.mean_range_left_deg),
                deg(sym.mean_range_right_deg),
                pct(sym.range_index_percent),
            ],
        ]
        if spec.combine == "sides":  # a mean signal's repetitions are both sides' at once: no count to compare
            sym_rows.insert(
                0, ["repetitions", str(sym.count_left), str(sym.count_right), pct(sym.count_index_percent)]
            )
        if math.isfinite(sym.mean_tut_left_s) or math.isfinite(sym.mean_tut_right_s):
            sym_rows.append(
                ["mean TUT (s)", deg(sym.mean_tut_left_s), deg(sym.mean_tut_right_s), pct(sym.tut_index_percent)]
            )
        parts.append(table(["left/right", "left", "right", "symmetry index"], sym_rows, f"reps-symmetry-{n}"))
    if rep_set.pairs:
        pair_rows = [
            [str(k), f"{p.start_s:.2f}", deg(p.left_range_deg), deg(p.right_range_deg), pct(p.index_percent)]
            for k, p in enumerate(rep_set.pairs, 1)
        ]
        parts.append("<p>Bilateral repetitions (both sides moving together), range per side:</p>")
        header = ["#", "start (s)", "range left (°)", "range right (°)", "symmetry index"]
        parts.append(table(header, pair_rows, f"reps-pairs-{n}"))
    return "\n".join(parts)


def reps_html(analysis: Analysis) -> str:
    c = analysis.config
    text = REPS_TEXT.format(onset=c.rep_onset_deg, share=100 * c.rep_hold_share)
    sets = [rep_set_html(s, n) for n, s in enumerate(analysis.reps, 1)]
    formula = "Symmetry index SI = 100 · (L − R) / ((L + R) / 2) % (Robinson, Herzog & Nigg 1987); 0 = symmetric."
    return "\n".join([para(text, "note"), *sets, para(formula, "note")])


SMOOTHING_TEXT = (
    "Smoothing: the landmarks are low-passed by a zero-phase 4th-order Butterworth filter (filtfilt, {cutoff}) "
    "per continuous track, the biomechanics standard for offline analysis: no lag."
)


def definitions_html(analysis: Analysis) -> str:
    """The definitions and sign conventions, the planar angles, ROM and symmetry, smoothing."""
    rows = [[f"{d.joint}_deg", d.definition, d.zero, d.positive] for d in DEFINITIONS]
    cutoff = f"{analysis.config.cutoff_hz:g} Hz" if analysis.config.cutoff_hz else "off for this report"
    return "\n".join(
        [
            para(FRAMES_TEXT),
            table(["CSV column (left_/right_)", "definition", "0°", "positive"], rows, "definitions"),
            para(PLANAR_TEXT),
            para(VIEW_TEXT),
            para(ROM_TEXT),
            para(SYMMETRY_TEXT, "formula"),
            para(SMOOTHING_TEXT.format(cutoff=cutoff)),
        ]
    )


__all__ = [
    "definitions_html",
    "jumps_table",
    "norms_chart",
    "reps_html",
    "squats_table",
    "summary_table",
    "symmetry_table",
]
