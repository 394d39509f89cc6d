"""Which person a :class:`~bridge.core.landmarks.LandmarkFrame` belongs to: the flags the tracker's person
selection (:mod:`bridge.tracking.person`) sets, and a sentence naming the person a run followed.

Flags (JSON values, so recordings keep them):

* :data:`PERSON_ID_FLAG` (int ≥ 1): whom the frame's landmarks belong to (or, on a frame without them, whom
  the tracker is waiting for). People are numbered in the order they are followed: person 1 is the one chosen
  at start and keeps that number; a person 2 exists only if the tracker had to turn to someone else.
* :data:`PEOPLE_FLAG` (int): how many people the pose model found in the frame.
* :data:`PERSON_NOTE_FLAG` (str): on the frame where it happens, what changed, in words ("following person
  1, the largest of 2 in view", "lost person 1 …", "person 1 is back …", "now following person 3 …").
"""

from __future__ import annotations

from collections.abc import Sequence

from bridge.core.landmarks import LandmarkFrame

PERSON_ID_FLAG = "person_id"
PEOPLE_FLAG = "people"
PERSON_NOTE_FLAG = "person_note"


def person_notes(frames: Sequence[LandmarkFrame]) -> list[tuple[float, str]]:
    """``(t_s, note)`` of every frame that carries a person note, in order."""
    return [(f.t_s, str(f.flags[PERSON_NOTE_FLAG])) for f in frames if PERSON_NOTE_FLAG in f.flags]


def describe_person(frames: Sequence[LandmarkFrame]) -> str | None:
    """One sentence naming whom ``frames`` follow (for reports), None when no person selection ran (a
    recording made before it existed, or synthetic frames)."""
    ids = [f.flags.get(PERSON_ID_FLAG) for f in frames if f.person]
    if not any(isinstance(i, int) for i in ids) and not person_notes(frames):
        return None
    followed = sorted({i for i in ids if isinstance(i, int)})
    seen = sum(1 for i in ids if isinstance(i, int))
    counts = [f.flags.get(PEOPLE_FLAG) for f in frames]
    most = max((c for c in counts if isinstance(c, int)), default=0)
    who = " then ".join(f"person {i}" for i in followed) or "nobody"
    people = "person" if most == 1 else "people"
    text = f"{who}, seen in {seen} of {len(frames)} frames (at most {most} {people} in view)"
    notes = "; ".join(f"{t:.2f} s: {n}" for t, n in person_notes(frames))
    return text + (f". {notes}" if notes else "")
