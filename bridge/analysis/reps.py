"""Repetitions of any angle (``--reps ANGLE``): counted with hysteresis, with per-repetition range, phases, time
under tension and left/right symmetry; sit-to-stand and arm raises as presets.

A repetition of an angle leaves the rest posture, crosses the *rest* threshold, reaches the *active* one and
comes back across *rest* (:func:`bridge.analysis.events.hysteresis_swings`): noise or a bounce near one
threshold never adds one, and a pause anywhere (at the top, half-way, between repetitions) never splits one.
Per repetition (:class:`Rep`):

* start / end: the last (first) frame within ``rep_onset_deg`` of the rest posture before (after) it;
* range: the largest minus the smallest angle between start and end;
* phases: *out* from the start to the first frame within ``rep_hold_share`` (10 %) of the range from the
  extreme, *hold* while it stays there (a pause at the top), *back* from there to the end;
* time under tension (TUT): start to end (out + hold + back): the time the movement is loaded, the rest
  between repetitions not included; a set's TUT is the sum.

Left/right symmetry uses the symmetry index SI = 100 · (L − R) / ((L + R) / 2) (Robinson, Herzog & Nigg 1987):
0 is symmetric, positive means the left value is larger; ±10 % is a common limit of "symmetric" in gait
analysis. It is given for the mean range, the count and the mean time under tension of each side, and per
repetition where both sides move together (bilateral: a left and a right repetition overlapping in time, or
the two sides within one repetition of a mean signal).

Presets (:data:`PRESETS`) are written out in :attr:`RepSpec.definition` and shown in the report.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, replace

import numpy as np

from bridge.analysis.angles import ANGLE_NAMES, SIDES, TWO_SIDED, JointAngles
from bridge.analysis.config import AnalysisConfig, RepSpec
from bridge.analysis.events import hysteresis_swings
from bridge.analysis.track import FloatArray
from bridge.core.errors import BridgeError

#: The presets of ``--reps``, by name.
PRESETS: dict[str, RepSpec] = {
    "sit-to-stand": RepSpec(
        name="sit-to-stand",
        angle="knee_flexion",
        combine="mean",
        rest_deg=60.0,
        active_deg=20.0,
        count_unfinished=True,
        definition=(
            "Sit-to-stand (chair rises): the mean of the left and right knee flexion. Seated = mean knee "
            "flexion at or above {rest:g}°, standing = at or below {active:g}°; a repetition is one rise from "
            "the chair to standing and back down to sitting (out = rising, back = sitting down). As in the "
            "30-second chair stand test (Jones, Rikli & Beam 1999), a last rise to standing counts even if the "
            "clip ends before the person sits down again."
        ),
    ),
    "arm-raise-front": RepSpec(
        name="arm-raise-front",
        angle="shoulder_flexion",
        combine="sides",
        rest_deg=30.0,
        active_deg=70.0,
        definition=(
            "Front arm raise: shoulder flexion of each arm on its own (the upper arm in the trunk's sagittal "
            "plane). A repetition starts with the arm down (flexion at or below {rest:g}°), raises it forward to "
            "at least {active:g}° and lowers it back below {rest:g}° (out = raising, hold = at the top, "
            "back = lowering)."
        ),
    ),
    "arm-raise-side": RepSpec(
        name="arm-raise-side",
        angle="shoulder_abduction",
        combine="sides",
        rest_deg=30.0,
        active_deg=70.0,
        definition=(
            "Lateral arm raise: shoulder abduction of each arm on its own (the upper arm in the trunk's frontal "
            "plane). A repetition starts with the arm down (abduction at or below {rest:g}°), raises it sideways "
            "to at least {active:g}° and lowers it back below {rest:g}° (out = raising, hold = at the top, "
            "back = lowering)."
        ),
    ),
}


def describe(spec: RepSpec, rest_deg: float | None = None, active_deg: float | None = None) -> str:
    """What ``spec`` counts, in words, with its thresholds (the ones used, when given)."""
    rest = rest_deg if rest_deg is not None else spec.rest_deg
    active = active_deg if active_deg is not None else spec.active_deg
    rest, active = (round(v, 1) if v is not None and math.isfinite(v) else v for v in (rest, active))
    if spec.definition:
        return spec.definition.format(rest=rest, active=active)
    what = {
        "sides": f"{spec.angle.replace('_', ' ')} of each side on its own",
        "mean": f"the mean of left and right {spec.angle.replace('_', ' ')}",
        "single": spec.angle.replace("_", " "),
    }[spec.combine]
    if rest is None or active is None:
        return f"Repetitions of {what}; thresholds taken from the clip."
    if not (math.isfinite(rest) and math.isfinite(active)):
        return f"Repetitions of {what}; no thresholds could be set (the angle hardly moves or is not seen)."
    way = "rises" if active > rest else "falls"
    return (
        f"Repetitions of {what}: a repetition leaves the rest posture (beyond {rest:g}°), {way} to "
        f"{active:g}° or beyond and comes back beyond {rest:g}°."
    )


def parse_rep_spec(text: str) -> RepSpec:
    """``ANGLE`` or ``ANGLE:REST:ACTIVE`` (degrees) → :class:`RepSpec`; ANGLE is a preset of :data:`PRESETS`, a
    two-sided joint (``elbow_flexion``: each side counted on its own), ``both_`` and a joint
    (``both_knee_flexion``: the mean of the two sides, one signal, for movements of both sides) or a column
    of angles (``left_elbow_flexion``, ``trunk_forward_lean``)."""
    name, *numbers = text.strip().split(":")
    name = name.strip().lower().replace(" ", "_")
    if name.endswith("_deg"):
        name = name[: -len("_deg")]
    if len(numbers) not in (0, 2):
        raise BridgeError(
            f"repetitions {text!r}: give ANGLE or ANGLE:REST:ACTIVE (degrees), e.g. elbow_flexion:40:100"
        )
    rest_deg: float | None = None
    active_deg: float | None = None
    if numbers:
        try:
            rest, active = (float(v) for v in numbers)
        except ValueError:
            raise BridgeError(f"repetitions {text!r}: REST and ACTIVE must be numbers of degrees") from None
        if not (math.isfinite(rest) and math.isfinite(active)) or rest == active:
            raise BridgeError(f"repetitions {text!r}: REST and ACTIVE must be two different numbers of degrees")
        rest_deg, active_deg = rest, active
    preset = PRESETS.get(name.replace("_", "-"))
    if preset is not None:
        if rest_deg is None:
            return preset
        return replace(preset, rest_deg=rest_deg, active_deg=active_deg)
    if name in TWO_SIDED:
        return RepSpec(name=name, angle=name, combine="sides", rest_deg=rest_deg, active_deg=active_deg)
    if name.startswith("both_") and name[len("both_") :] in TWO_SIDED:
        joint = name[len("both_") :]
        return RepSpec(name=name, angle=joint, combine="mean", rest_deg=rest_deg, active_deg=active_deg)
    if name in ANGLE_NAMES:
        return RepSpec(name=name, angle=name, combine="single", rest_deg=rest_deg, active_deg=active_deg)
    choices = ", ".join([*PRESETS, *TWO_SIDED, "both_ + one of those", "or a column such as left_knee_flexion"])
    raise BridgeError(f"repetitions {text!r}: unknown angle {name!r}; choose {choices}")


@dataclass(frozen=True)
class Rep:
    """One repetition of an angle.

    Attributes:
        side: ``"left"``, ``"right"``, or ``""`` for a one-signal set (a mean or a single column).
        start_s, extreme_s, end_s: times (seconds) of its start, its extreme and its end (module docstring).
        start_deg, extreme_deg: the angle there, degrees.
        range_deg: largest − smallest angle between start and end.
        out_s, hold_s, back_s: the phases (seconds): toward the extreme, held near it, back to rest.
        finished: it came back to rest before the clip ended.
        left_range_deg, right_range_deg: for a mean signal, each side's range within this repetition
            (NaN otherwise).
    """

    side: str
    start_s: float
    extreme_s: float
    end_s: float
    start_deg: float
    extreme_deg: float
    range_deg: float
    out_s: float
    hold_s: float
    back_s: float
    finished: bool
    left_range_deg: float = math.nan
    right_range_deg: float = math.nan

    @property
    def tut_s(self) -> float:
        """Time under tension: start to end, seconds."""
        return self.end_s - self.start_s


@dataclass(frozen=True)
class RepPair:
    """A left and a right range of one bilateral repetition, and their symmetry index (percent)."""

    start_s: float
    left_range_deg: float
    right_range_deg: float

    @property
    def index_percent(self) -> float:
        return symmetry_index(self.left_range_deg, self.right_range_deg)


@dataclass(frozen=True)
class RepSymmetry:
    """Left vs right over a two-sided set: counts, mean range and mean time under tension, with their symmetry
    indices (percent, :func:`symmetry_index`)."""

    count_left: int
    count_right: int
    mean_range_left_deg: float
    mean_range_right_deg: float
    mean_tut_left_s: float
    mean_tut_right_s: float

    @property
    def range_index_percent(self) -> float:
        return symmetry_index(self.mean_range_left_deg, self.mean_range_right_deg)

    @property
    def count_index_percent(self) -> float:
        return symmetry_index(float(self.count_left), float(self.count_right))

    @property
    def tut_index_percent(self) -> float:
        return symmetry_index(self.mean_tut_left_s, self.mean_tut_right_s)


@dataclass(frozen=True, eq=False)
class RepSet:
    """The repetitions of one ``--reps`` angle.

    Attributes:
        spec: what was counted; rest_deg, active_deg: the thresholds used (NaN if none could be set).
        signals: the counted signals by side (``left``/``right``, or ``""``), (T,) degrees each.
        reps: every counted repetition, in time order (all sides).
        unfinished: repetitions the clip ended in and that do not count (see ``count_unfinished``).
        pairs: the bilateral repetitions' left and right ranges.
        symmetry: left vs right (None for a single column).
        note: how the thresholds were set, or why nothing was counted.
    """

    spec: RepSpec
    rest_deg: float
    active_deg: float
    signals: dict[str, FloatArray]
    reps: tuple[Rep, ...]
    unfinished: tuple[Rep, ...]
    pairs: tuple[RepPair, ...]
    symmetry: RepSymmetry | None
    note: str

    @property
    def total_tut_s(self) -> float:
        return float(sum(r.tut_s for r in self.reps))


def symmetry_index(left: float, right: float) -> float:
    """SI = 100 · (L − R) / ((L + R) / 2), percent (Robinson et al. 1987); NaN when the mean is zero or unknown."""
    mean = 0.5 * (left + right)
    if not (math.isfinite(mean) and abs(mean) > 1e-9):
        return math.nan
    return 100.0 * (left - right) / mean


def spec_signals(angles: JointAngles, spec: RepSpec) -> dict[str, FloatArray]:
    """The (T,) degree signals ``spec`` counts, by side (``""`` for one signal)."""
    if spec.combine == "single":
        return {"": angles[spec.angle]}
    left, right = angles[f"left_{spec.angle}"], angles[f"right_{spec.angle}"]
    if spec.combine == "sides":
        return {"left": left, "right": right}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # frames without either side stay NaN
        return {"": np.nanmean(np.stack([left, right]), axis=0)}


def thresholds(spec: RepSpec, signals: dict[str, FloatArray], config: AnalysisConfig) -> tuple[float, float, str]:
    """(rest, active, note): the spec's thresholds, or — none given — 30 % and 70 % of the way from the 2nd to
    the 98th percentile of the signals (rising); NaN when the angle moves less than ``rep_min_range_deg``."""
    if spec.rest_deg is not None and spec.active_deg is not None:
        return spec.rest_deg, spec.active_deg, f"thresholds: rest {spec.rest_deg:g}°, active {spec.active_deg:g}°"
    values = np.concatenate([v[np.isfinite(v)] for v in signals.values()])
    if values.size == 0:
        return math.nan, math.nan, "the angle was never seen: no repetitions"
    lo, hi = (float(v) for v in np.percentile(values, [2.0, 98.0]))
    if hi - lo < config.rep_min_range_deg:
        note = f"the angle moves only {hi - lo:.0f}° (under {config.rep_min_range_deg:g}°): no repetitions counted"
        return math.nan, math.nan, note
    rest, active = lo + 0.3 * (hi - lo), lo + 0.7 * (hi - lo)
    note = (
        f"thresholds from the clip (30 % and 70 % of its range {lo:.0f}°–{hi:.0f}°): rest {rest:.0f}°, "
        f"active {active:.0f}°; give ANGLE:REST:ACTIVE to set them"
    )
    return rest, active, note


def _rep(
    t: FloatArray, v: FloatArray, side: str, start: int, extreme: int, end: int, done: bool, share: float
) -> Rep:
    """A :class:`Rep` from frame indices into ``t`` and the signal ``v``."""
    window = v[start : end + 1]
    lo, hi = float(np.nanmin(window)), float(np.nanmax(window))
    span = hi - lo
    near = np.flatnonzero(np.abs(window - v[extreme]) <= share * span)  # the frames near the extreme
    first, last = start + int(near[0]), start + int(near[-1])
    return Rep(
        side=side,
        start_s=float(t[start]),
        extreme_s=float(t[extreme]),
        end_s=float(t[end]),
        start_deg=float(v[start]),
        extreme_deg=float(v[extreme]),
        range_deg=span,
        out_s=float(t[first] - t[start]),
        hold_s=float(t[last] - t[first]),
        back_s=float(t[end] - t[last]),
        finished=done,
    )


def _side_range(v: FloatArray, t: FloatArray, rep: Rep) -> float:
    window = v[(t >= rep.start_s) & (t <= rep.end_s)]
    window = window[np.isfinite(window)]
    return float(window.max() - window.min()) if window.size else math.nan


def _pairs(reps: list[Rep]) -> list[RepPair]:
    """Left and right repetitions that overlap in time for more than half the shorter one: one bilateral
    repetition each (every repetition in one pair at most)."""
    lefts = [r for r in reps if r.side == "left"]
    rights = [r for r in reps if r.side == "right"]
    used: set[int] = set()
    out = []
    for a in lefts:
        for j, b in enumerate(rights):
            overlap = min(a.end_s, b.end_s) - max(a.start_s, b.start_s)
            if j not in used and overlap > 0.5 * min(a.tut_s, b.tut_s) > 0:
                used.add(j)
                out.append(RepPair(min(a.start_s, b.start_s), a.range_deg, b.range_deg))
                break
    return out


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else math.nan


def count_reps(angles: JointAngles, spec: RepSpec, config: AnalysisConfig = AnalysisConfig()) -> RepSet:
    """The repetitions of ``spec`` in a clip's angles (module docstring)."""
    signals = spec_signals(angles, spec)
    rest, active, note = thresholds(spec, signals, config)
    t = angles.t_s
    found: list[Rep] = []
    if math.isfinite(rest):
        for side, v in signals.items():
            for s in hysteresis_swings(v, rest, active, config.rep_onset_deg):
                found.append(_rep(t, v, side, s.start, s.extreme, s.end, s.returned, config.rep_hold_share))
    if spec.combine == "mean":
        left, right = angles[f"left_{spec.angle}"], angles[f"right_{spec.angle}"]
        found = [
            replace(r, left_range_deg=_side_range(left, t, r), right_range_deg=_side_range(right, t, r))
            for r in found
        ]
    found.sort(key=lambda r: (r.start_s, r.side))
    counted = [r for r in found if r.finished or spec.count_unfinished]
    unfinished = tuple(r for r in found if not (r.finished or spec.count_unfinished))
    if spec.combine == "mean":
        pairs = [RepPair(r.start_s, r.left_range_deg, r.right_range_deg) for r in counted]
    else:
        pairs = _pairs(counted)
    symmetry = None
    if spec.combine != "single":
        by_side = {side: [r for r in counted if r.side == side] for side in SIDES}
        if spec.combine == "mean":
            ranges = {"left": [p.left_range_deg for p in pairs], "right": [p.right_range_deg for p in pairs]}
            symmetry = RepSymmetry(
                len(counted), len(counted), _mean(ranges["left"]), _mean(ranges["right"]), math.nan, math.nan
            )
        else:
            symmetry = RepSymmetry(
                len(by_side["left"]),
                len(by_side["right"]),
                _mean([r.range_deg for r in by_side["left"]]),
                _mean([r.range_deg for r in by_side["right"]]),
                _mean([r.tut_s for r in by_side["left"]]),
                _mean([r.tut_s for r in by_side["right"]]),
            )
    return RepSet(spec, rest, active, signals, tuple(counted), unfinished, tuple(pairs), symmetry, note)


def count_all_reps(angles: JointAngles, config: AnalysisConfig = AnalysisConfig()) -> tuple[RepSet, ...]:
    """:func:`count_reps` for every spec of ``config.reps``."""
    return tuple(count_reps(angles, spec, config) for spec in config.reps)


__all__ = [
    "PRESETS",
    "Rep",
    "RepPair",
    "RepSet",
    "RepSymmetry",
    "count_all_reps",
    "count_reps",
    "parse_rep_spec",
    "symmetry_index",
    "thresholds",
]
