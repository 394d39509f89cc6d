"""The person flags and the sentence that names whom a run followed."""

from __future__ import annotations

from bridge.core.landmarks import LandmarkFrame
from bridge.core.person import PEOPLE_FLAG, PERSON_ID_FLAG, PERSON_NOTE_FLAG, describe_person, person_notes

SIZE = (1280, 720)


def test_describe_person_reads_the_flags() -> None:
    base = LandmarkFrame.no_person(0.0, SIZE, 0)
    frames = [
        base.replace(person=True, t_s=0.0).with_flags(**{PERSON_ID_FLAG: 1, PEOPLE_FLAG: 2,
                                                        PERSON_NOTE_FLAG: "following person 1"}),
        base.replace(t_s=0.5).with_flags(**{PERSON_ID_FLAG: 1, PEOPLE_FLAG: 1, PERSON_NOTE_FLAG: "lost person 1"}),
    ]  # fmt: skip
    text = describe_person(frames)
    assert text is not None and text.startswith("person 1, seen in 1 of 2 frames (at most 2 people in view)")
    assert "0.00 s: following person 1; 0.50 s: lost person 1" in text
    assert describe_person([base]) is None
    assert person_notes(frames) == [(0.0, "following person 1"), (0.5, "lost person 1")]
