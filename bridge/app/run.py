"""The one run loop: open an input, track it, push every frame through the processor, hand out results.

Every command iterates :func:`open_run` (or, where frames come from elsewhere, :func:`process_frames`) and does
its own thing with each :class:`~bridge.app.processor.FrameResult`: ``stream`` encodes and sends it, ``record``
writes the tracked frame, ``export`` keeps the pose, ``analyze`` the landmarks, ``view`` draws them, ``batch``
does all of that for a folder of videos.

Pacing (``realtime``): a video plays at its own speed because the tracker process reads each frame at its time,
as a camera delivers it; a recording (no tracker, no image to read) is paced here. ``stop`` (an event) ends the
loop between frames or during a pacing wait.

Person notes: the tracker says in a frame flag when it starts following someone, loses them, finds them again or
turns to someone else (:mod:`bridge.core.person`); ``on_note`` gets each as one line ("5.97 s: lost person 1
…", the time from the first frame), so no command follows another person silently.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from bridge.app.multiview import open_views
from bridge.app.processor import FrameResult, Processor
from bridge.core.errors import BridgeError
from bridge.core.landmarks import LandmarkFrame
from bridge.core.person import PERSON_NOTE_FLAG
from bridge.multiview.calibration import read_calibration
from bridge.tracking.config import TrackerConfig
from bridge.tracking.process import READ_TIME_FLAG, open_landmarks
from bridge.tracking.sources import StreamInfo


def process_frames(
    frames: Iterable[LandmarkFrame],
    processor: Processor | None,
    *,
    pace: bool = False,
    max_frames: int | None = None,
    stop: threading.Event | None = None,
    on_note: Callable[[str], None] | None = None,
) -> Iterator[FrameResult]:
    """Each frame of ``frames`` through ``processor`` (None: results carry the frames as tracked).

    Args:
        pace: deliver frames that were not read from images (recordings) at their own speed.
        max_frames: stop after this many frames.
        stop: set it to end the loop (checked between frames and while pacing).
        on_note: gets every person note of the frames (see the module docstring).
    """
    start_s: float | None = None
    first_t = 0.0
    t0: float | None = None
    for count, frame in enumerate(frames, 1):
        if stop is not None and stop.is_set():
            return
        t0 = frame.t_s if t0 is None else t0
        note = frame.flags.get(PERSON_NOTE_FLAG)
        if on_note is not None and note:
            on_note(f"{frame.t_s - t0:.2f} s: {note}")
        if pace and READ_TIME_FLAG not in frame.flags:
            now = time.monotonic()
            if start_s is None:
                start_s, first_t = now, frame.t_s
            delay = start_s + (frame.t_s - first_t) - now
            if delay > 0 and _wait(delay, stop):
                return
        received_s = time.monotonic()
        if processor is None:
            yield FrameResult(frame, frame, received_s=received_s)
        else:
            yield processor(frame, received_s)
        if max_frames is not None and count >= max_frames:
            return


def _wait(seconds: float, stop: threading.Event | None) -> bool:
    """Sleep; True when ``stop`` was set meanwhile."""
    if stop is None:
        time.sleep(seconds)
        return False
    return stop.wait(seconds)


class Run:
    """The results of an open input (iterate it), and what the tracker counted along the way."""

    def __init__(self, frames: Iterator[LandmarkFrame], results: Iterator[FrameResult]) -> None:
        self._frames = frames
        self._results = results

    def __iter__(self) -> Iterator[FrameResult]:
        return self._results

    @property
    def dropped_frames(self) -> int:
        """Live frames the tracker dropped because this process was behind (known once the input ended)."""
        return int(getattr(self._frames, "dropped_frames", 0))


@contextmanager
def open_run(
    input_text: str | None,
    tracker: TrackerConfig,
    processor: Processor | None,
    *,
    realtime: bool = False,
    max_frames: int | None = None,
    stop: threading.Event | None = None,
    on_note: Callable[[str], None] | None = None,
    views: Sequence[str] = (),
    calibration: str | Path | None = None,
) -> Iterator[tuple[StreamInfo, Run]]:
    """Track ``input_text`` (see :mod:`bridge.tracking.sources`) and yield ``(info, run)``; iterate ``run`` for
    the :class:`~bridge.app.processor.FrameResult` of every frame.

    The tracker process (or the recording) is opened here and always closed when the block ends; errors are
    one-line :class:`~bridge.core.errors.BridgeError` values. ``realtime``: files play at their own speed;
    ``on_note``: see :func:`process_frames`; it also gets, first, the line saying what a camera delivers.
    ``views``: two or more inputs triangulated with ``calibration`` (:mod:`bridge.app.multiview`) instead.
    """
    if len(views) > 1:
        with _open_views_run(
            views, calibration, tracker, processor, realtime, max_frames, stop, on_note
        ) as opened:
            yield opened
        return
    with open_landmarks(input_text, dataclasses.replace(tracker, realtime=realtime)) as (info, frames):
        if on_note is not None and info.delivery:
            on_note(info.delivery)  # what the camera actually delivers
        pace = realtime and not info.live
        results = process_frames(frames, processor, pace=pace, max_frames=max_frames, stop=stop, on_note=on_note)
        yield info, Run(frames, results)


@contextmanager
def _open_views_run(
    views: Sequence[str],
    calibration: str | Path | None,
    tracker: TrackerConfig,
    processor: Processor | None,
    realtime: bool,
    max_frames: int | None,
    stop: threading.Event | None,
    on_note: Callable[[str], None] | None,
) -> Iterator[tuple[StreamInfo, Run]]:
    """Several views triangulated into one run (live or ``realtime``: paired by time; files: synchronised)."""
    if calibration is None:
        raise BridgeError("several --input need --calibration FILE (a camera TOML or Qualisys .qca.txt)")
    cal = read_calibration(calibration)
    config = dataclasses.replace(tracker, realtime=realtime)
    with open_views(views, cal, config, max_frames=max_frames, on_note=on_note or (lambda _m: None)) as (
        v,
        frames,
    ):
        info = dataclasses.replace(v.infos[0], description=" + ".join(i.description for i in v.infos))
        results = process_frames(frames, processor, max_frames=max_frames, stop=stop, on_note=on_note)
        yield info, Run(frames, results)
