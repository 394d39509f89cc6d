"""One person: which of the poses the model finds is the person bridge follows, frame after frame.

MediaPipe's PoseLandmarker returns up to ``num_poses`` people per frame in no lasting order; with one pose it
simply returns whoever it is tracking, and on the Sports2D demo it jumps from the man (mid-backflip) to the woman
walking past and back. :class:`PersonSelector` keeps the identity it started with:

* **Tracks.** Every pose found is assigned to a track (a person seen before) or starts a new one. A track seen
  within :attr:`PersonConfig.max_gap_s` is continued by position alone: the candidate whose landmark box centre
  is nearest, within ``gate`` box sizes (plus ``gate_growth_per_s`` per second unseen) and of a similar size. A
  track unseen for longer needs its appearance as well: the colours (hue and saturation histograms) of the
  torso and thighs must match it at least ``min_similarity`` and better than they match anyone else seen.
  Even then, a pose whose colours match less than ``live_min_similarity`` is someone else. Two poses on one
  person (MediaPipe sometimes returns both) count once.
* **Start.** The first frame with anyone in it picks the person to follow: ``largest`` (landmark box area,
  default), ``center`` (nearest the image centre) or ``first`` (the model's first pose).
* **Lost, back, switch.** While the followed person is not found, frames are "no person" (the avatar holds,
  then eases to rest) and, once they have been missing ``max_gap_s``, a note says so; when their track is
  continued again, a note says they are back. Nobody else is ever followed silently: only after ``timeout_s``
  without the followed person is someone else chosen (by the same rule as at start), and a note says so.

Notes and the followed identity travel as frame flags (:mod:`bridge.core.person`). Pure logic on landmark
arrays, plus :func:`appearance` (OpenCV) on the image, which the detector computes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from bridge.core.errors import BridgeError
from bridge.core.landmarks import PoseLandmark as L

FloatArray = npt.NDArray[np.float64]

#: What ``--person`` accepts.
PERSON_POLICIES: tuple[str, ...] = ("largest", "center", "first")

#: Image regions whose colours describe a person: torso (shoulders, hips) and thighs (hips, knees).
_REGIONS = (
    (L.LEFT_SHOULDER, L.RIGHT_SHOULDER, L.RIGHT_HIP, L.LEFT_HIP),
    (L.LEFT_HIP, L.RIGHT_HIP, L.RIGHT_KNEE, L.LEFT_KNEE),
)
_HUE_BINS, _SAT_BINS = 8, 4


@dataclass(frozen=True)
class PersonConfig:
    """Settings of the person selection (see the module docstring).

    Attributes:
        policy: ``largest``, ``center`` or ``first``: whom to follow at start.
        max_gap_s: a person unseen longer than this is lost (said) and needs to look like themselves to return.
        timeout_s: after this long without the followed person, follow someone else (said).
        gate: how far (in box sizes) a box centre may move between two frames and stay the same person.
        gate_growth_per_s: how much further per second unseen.
        max_size_ratio: how much a box may grow or shrink and stay the same person (either way).
        min_similarity: least appearance match (histogram intersection, 0..1) for a person to return.
        live_min_similarity: even between consecutive frames, a pose whose colours match a person less than
            this is someone else (two people crossing, the model jumping to the other one). Kept low: one
            person's colours change with the light more than two people's differ (measured on the demo).
        learn_rate: how fast a person's colour model follows what is seen (per frame).
        duplicate_distance: two poses whose landmarks lie this close on average (in box sizes) are one person.
        duplicate_iou, duplicate_similarity: so are two whose boxes overlap this much (intersection over union)
            and whose colours match this well.
        twin_iou: and two whose boxes overlap this much whatever they look like.
    """

    policy: str = "largest"
    max_gap_s: float = 0.25
    timeout_s: float = 3.0
    gate: float = 0.6
    gate_growth_per_s: float = 3.0
    max_size_ratio: float = 2.5
    min_similarity: float = 0.2
    live_min_similarity: float = 0.1
    learn_rate: float = 0.1
    duplicate_distance: float = 0.15
    duplicate_iou: float = 0.5
    duplicate_similarity: float = 0.8
    twin_iou: float = 0.7

    def __post_init__(self) -> None:
        if self.policy not in PERSON_POLICIES:
            raise BridgeError(f"--person {self.policy!r}: use one of {', '.join(PERSON_POLICIES)}")


@dataclass(frozen=True, eq=False)
class Candidate:
    """One pose the model found.

    Attributes:
        image_xy: (33, 2) float, normalised image coordinates (x right, y down).
        appearance: (K,) float histogram summing to 1 (:func:`appearance`), None when there is no image.
    """

    image_xy: FloatArray
    appearance: FloatArray | None = None


@dataclass(eq=False)
class _Track:
    number: int  # 0 until the track is followed: then the next person number
    center_px: FloatArray
    size_px: float
    box_px: FloatArray  # x0, y0, x1, y1
    points_px: FloatArray  # (33, 2) the last landmarks, pixels
    last_t_s: float
    appearance: FloatArray | None


@dataclass(frozen=True)
class Selection:
    """What :meth:`PersonSelector.select` decided for one frame.

    Attributes:
        index: the followed person's pose among the candidates, None when they are not in this frame.
        person: the followed person's number (None before anyone was seen).
        people: how many distinct people are in the frame.
        note: what changed, in words (None when nothing did).
    """

    index: int | None
    person: int | None
    people: int
    note: str | None = None


def _box_px(image_xy: FloatArray, image_size: tuple[int, int]) -> FloatArray:
    px = np.asarray(image_xy, dtype=np.float64) * np.asarray(image_size, dtype=np.float64)
    return np.array([px[:, 0].min(), px[:, 1].min(), px[:, 0].max(), px[:, 1].max()])


def _iou(a: FloatArray, b: FloatArray) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def similarity(a: FloatArray | None, b: FloatArray | None) -> float | None:
    """Histogram intersection of two appearances (1: the same colours), None when either is unknown."""
    if a is None or b is None:
        return None
    return float(np.minimum(a, b).sum())


def appearance(image_bgr: npt.NDArray[Any], image_xy: FloatArray, step: int = 4) -> FloatArray:
    """(K,) the colours of a person: hue × saturation histograms of the torso and the thighs, each summing to
    0.5 (an empty region contributes zeros). ``image_bgr``: (H, W, 3) uint8, the frame; only the person's
    region is read, every ``step``-th pixel (the colours need no more, and it keeps this under a millisecond)."""
    import cv2

    h, w = image_bgr.shape[:2]
    points = np.asarray(image_xy, dtype=np.float64)[[i for quad in _REGIONS for i in quad]] * [w, h]
    x0, y0 = np.clip(np.floor(points.min(axis=0)).astype(int), 0, [w - 1, h - 1])
    x1, y1 = np.clip(np.ceil(points.max(axis=0)).astype(int) + 1, 1, [w, h])
    crop = np.ascontiguousarray(image_bgr[y0:y1:step, x0:x1:step])
    parts = []
    if crop.size == 0:
        return np.zeros(2 * _HUE_BINS * _SAT_BINS)
    hsv = cv2.cvtColor(crop, cv2.COLOR_BGR2HSV)
    for quad in _REGIONS:
        corners = (np.asarray(image_xy, dtype=np.float64)[list(quad)] * [w, h] - [x0, y0]) / step
        mask = np.zeros(crop.shape[:2], np.uint8)
        cv2.fillConvexPoly(mask, np.round(corners).astype(np.int32), 255)
        hist = cv2.calcHist([hsv], [0, 1], mask, [_HUE_BINS, _SAT_BINS], [0, 180, 0, 256]).ravel()
        total = float(hist.sum())
        parts.append(hist / (2.0 * total) if total > 0 else np.zeros_like(hist))
    return np.concatenate(parts).astype(np.float64)


@dataclass
class PersonSelector:
    """Follows one person through a stream of candidate poses (see the module docstring); one call per frame."""

    config: PersonConfig = field(default_factory=PersonConfig)

    def __post_init__(self) -> None:
        self._tracks: list[_Track] = []
        self._next_number = 1
        self._target: _Track | None = None
        self._lost_said = False
        self._lost_since_s: float | None = None

    def select(self, candidates: Sequence[Candidate], t_s: float, image_size: tuple[int, int]) -> Selection:
        """Decide which candidate (if any) is the followed person in the frame at ``t_s``; ``index`` counts in
        ``candidates``."""
        keep = self._distinct(candidates, image_size)
        chosen = self._select([candidates[i] for i in keep], t_s, image_size)
        if chosen.index is None:
            return chosen
        return Selection(keep[chosen.index], chosen.person, chosen.people, chosen.note)

    def _select(self, cands: list[Candidate], t_s: float, image_size: tuple[int, int]) -> Selection:
        assigned = self._assign(cands, t_s, image_size)  # candidate index → track
        people = len(cands)
        if self._target is None:
            if not cands:
                return Selection(None, None, 0)
            k = self._pick(cands, image_size)
            self._target = self._follow(assigned[k])
            return Selection(k, self._target.number, people, f"following person {self._target.number}, "
                             + self._why(people))  # fmt: skip
        found = next((k for k, tr in assigned.items() if tr is self._target), None)
        if found is not None:
            note = None
            if self._lost_said:
                gap = t_s - (self._lost_since_s if self._lost_since_s is not None else t_s)
                note = f"person {self._target.number} is back after {gap:.1f} s"
            self._lost_said, self._lost_since_s = False, None
            return Selection(found, self._target.number, people, note)
        return self._missing(cands, assigned, t_s, image_size)

    # ---------------------------------------------------------------------------------------------- internals

    def _follow(self, track: _Track) -> _Track:
        """``track`` becomes the followed person, numbered in the order people are followed (1, 2 …)."""
        if track.number == 0:
            track.number = self._next_number
            self._next_number += 1
        return track

    def _why(self, people: int) -> str:
        if people == 1:
            return "the only person in view"
        rule = {"largest": "the largest", "center": "the nearest the centre", "first": "the model's first"}
        return f"{rule[self.config.policy]} of {people} in view (--person {self.config.policy})"

    def _missing(
        self, cands: list[Candidate], assigned: dict[int, _Track], t_s: float, image_size: tuple[int, int]
    ) -> Selection:
        target = self._target
        assert target is not None
        if self._lost_since_s is None:
            self._lost_since_s = target.last_t_s
        unseen = t_s - target.last_t_s
        note = None
        if unseen >= self.config.timeout_s and cands:
            k = self._pick(cands, image_size)
            old, self._target = target.number, self._follow(assigned[k])
            self._lost_said, self._lost_since_s = False, None
            return Selection(k, self._target.number, len(cands), f"person {old} not seen for {unseen:.1f} s: now "
                             f"following person {self._target.number}, " + self._why(len(cands)))  # fmt: skip
        if unseen >= self.config.max_gap_s and not self._lost_said:
            self._lost_said = True
            where = 100.0 * target.center_px[0] / image_size[0]
            others = len(cands)
            note = (
                f"lost person {target.number} (last seen {where:.0f}% across the image); following nobody else"
                + (f" ({others} other {'person' if others == 1 else 'people'} in view)" if others else "")
                + f" unless they stay away {self.config.timeout_s:g} s"
            )
        return Selection(None, target.number, len(cands), note)

    def _distinct(self, candidates: Sequence[Candidate], image_size: tuple[int, int]) -> list[int]:
        """Indices of the candidates less duplicates (two poses on one body, see :meth:`_same_person`): of a pair,
        the one whose landmarks lie nearer the followed person's last ones is kept (else the model's first)."""
        keep: list[int] = []
        for i, c in enumerate(candidates):
            twin = next((j for j, k in enumerate(keep) if self._same_person(c, candidates[k], image_size)), None)
            if twin is None:
                keep.append(i)
            elif self._pose_distance(c, image_size) < self._pose_distance(candidates[keep[twin]], image_size):
                keep[twin] = i
        return keep

    def _pose_distance(self, c: Candidate, image_size: tuple[int, int]) -> float:
        """Mean landmark distance (pixels) to the followed person's last landmarks (0 with no one followed)."""
        if self._target is None:
            return 0.0
        points = np.asarray(c.image_xy) * np.asarray(image_size, dtype=np.float64)
        return float(np.linalg.norm(points - self._target.points_px, axis=1).mean())

    def _same_person(self, a: Candidate, b: Candidate, image_size: tuple[int, int]) -> bool:
        """Two poses on one body: their landmarks nearly coincide; or their boxes overlap a lot (the model
        sometimes returns a body twice, once read front to back) — two people crossing overlap that much only
        for an instant; or their boxes overlap and their colours agree."""
        pa, pb = (np.asarray(c.image_xy) * np.asarray(image_size, dtype=np.float64) for c in (a, b))
        box_a, box_b = _box_px(a.image_xy, image_size), _box_px(b.image_xy, image_size)
        size = max(1.0, math.hypot(box_a[2] - box_a[0], box_a[3] - box_a[1]))
        if float(np.linalg.norm(pa - pb, axis=1).mean()) < self.config.duplicate_distance * size:
            return True
        iou = _iou(box_a, box_b)
        if iou >= self.config.twin_iou:
            return True
        sim = similarity(a.appearance, b.appearance)
        return iou >= self.config.duplicate_iou and sim is not None and sim >= self.config.duplicate_similarity

    def _pick(self, cands: list[Candidate], image_size: tuple[int, int]) -> int:
        if self.config.policy == "first":
            return 0
        boxes = [_box_px(c.image_xy, image_size) for c in cands]
        if self.config.policy == "largest":
            return int(np.argmax([(b[2] - b[0]) * (b[3] - b[1]) for b in boxes]))
        centre = np.asarray(image_size, dtype=np.float64) / 2.0
        return int(np.argmin([np.linalg.norm((b[:2] + b[2:]) / 2.0 - centre) for b in boxes]))

    def _assign(self, cands: list[Candidate], t_s: float, image_size: tuple[int, int]) -> dict[int, _Track]:
        """Candidate index → track (continued, or new); updates the tracks and drops long-gone ones."""
        cfg = self.config
        boxes = [_box_px(c.image_xy, image_size) for c in cands]
        centers = [(b[:2] + b[2:]) / 2.0 for b in boxes]
        sizes = [max(1.0, math.hypot(b[2] - b[0], b[3] - b[1])) for b in boxes]
        out: dict[int, _Track] = {}
        live = [tr for tr in self._tracks if t_s - tr.last_t_s <= cfg.max_gap_s]
        stale = [tr for tr in self._tracks if t_s - tr.last_t_s > cfg.max_gap_s]
        # 1. Tracks seen just now: nearest box centres within the gate.
        pairs = []
        for k in range(len(cands)):
            for tr in live:
                ratio = sizes[k] / tr.size_px
                gate = cfg.gate + cfg.gate_growth_per_s * (t_s - tr.last_t_s)
                dist = float(np.linalg.norm(centers[k] - tr.center_px)) / tr.size_px
                sim = similarity(cands[k].appearance, tr.appearance)
                if sim is not None and sim < cfg.live_min_similarity:
                    continue  # someone else in this place: colours nothing like the person's
                if dist <= gate and 1.0 / cfg.max_size_ratio <= ratio <= cfg.max_size_ratio:
                    pairs.append((dist, k, tr))
        self._greedy(pairs, out)
        # 2. Tracks unseen for a while: the gate, and looking like themselves more than like anyone else.
        pairs = []
        for k in (k for k in range(len(cands)) if k not in out):
            for tr in (tr for tr in stale if tr not in out.values()):
                gate = cfg.gate + cfg.gate_growth_per_s * (t_s - tr.last_t_s)
                if float(np.linalg.norm(centers[k] - tr.center_px)) / tr.size_px > gate:
                    continue
                sim = similarity(cands[k].appearance, tr.appearance)
                if sim is not None:
                    others = (similarity(cands[k].appearance, o.appearance) for o in self._tracks if o is not tr)
                    best_other = max((o or 0.0 for o in others), default=0.0)
                    if sim < cfg.min_similarity or sim <= best_other:
                        continue
                pairs.append((-(sim if sim is not None else 0.0), k, tr))
        self._greedy(pairs, out)
        # 3. Everyone else is someone new.
        for k in range(len(cands)):
            if k not in out:
                points = np.asarray(cands[k].image_xy) * np.asarray(image_size, dtype=np.float64)
                tr = _Track(0, centers[k], sizes[k], boxes[k], points, t_s, cands[k].appearance)
                self._tracks.append(tr)
                out[k] = tr
        for k, tr in out.items():
            tr.center_px, tr.size_px, tr.box_px, tr.last_t_s = centers[k], sizes[k], boxes[k], t_s
            tr.points_px = np.asarray(cands[k].image_xy) * np.asarray(image_size, dtype=np.float64)
            a = cands[k].appearance
            if a is not None:  # a running average: it follows slow changes (light, turning round)
                rate = cfg.learn_rate
                tr.appearance = a if tr.appearance is None else (1.0 - rate) * tr.appearance + rate * a
        keep_s = 2.0 * cfg.timeout_s
        self._tracks = [tr for tr in self._tracks if t_s - tr.last_t_s <= keep_s or tr is self._target]
        target = self._target
        if target is not None and target.last_t_s == t_s:  # a stray pose on the followed body is no one else
            self._tracks = [
                tr for tr in self._tracks
                if tr is target or tr.last_t_s != t_s or _iou(tr.box_px, target.box_px) < cfg.duplicate_iou
            ]  # fmt: skip
        return out

    def _greedy(self, pairs: list[tuple[float, int, _Track]], out: dict[int, _Track]) -> None:
        """Assign candidates to tracks by cost; the followed person's track chooses first (a second, stray pose
        on the same body must never take their place)."""
        mine = [p for p in pairs if p[2] is self._target]
        if mine and self._target not in out.values():
            _, k, tr = min(mine, key=lambda p: p[0])
            if k not in out:
                out[k] = tr
        used = set(map(id, out.values()))
        for _, k, tr in sorted(pairs, key=lambda p: p[0]):  # lowest cost first
            if k not in out and id(tr) not in used:
                out[k] = tr
                used.add(id(tr))
