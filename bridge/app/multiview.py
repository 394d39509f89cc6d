"""Several inputs at once (``--input`` 2–4 times with ``--calibration``): one tracker process per view, frames
paired by timestamp (live) or synchronised from the motion (files), triangulated into one LandmarkFrame each
(:mod:`bridge.multiview`), so everything downstream is unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import numpy as np

from bridge.core.errors import BridgeError
from bridge.core.landmarks import LandmarkFrame
from bridge.multiview.calibration import Calibration, calibration_to_json
from bridge.multiview.fuse import fuse, view_arrays
from bridge.multiview.sync import SyncConfig, apply_offsets, estimate_offsets_calibrated
from bridge.tracking.config import TrackerConfig
from bridge.tracking.process import DETECTED_TIME_FLAG, READ_TIME_FLAG, open_landmarks
from bridge.tracking.sources import StreamInfo

MAX_VIEWS = 4


@dataclass(frozen=True)
class ViewsInfo:
    """What was opened: each view's stream info, the calibration of the views (in their order), the offsets."""

    infos: tuple[StreamInfo, ...]
    calibration: Calibration
    offsets: tuple[int, ...] = ()

    @property
    def live(self) -> bool:
        return any(i.live for i in self.infos)

    def header_fields(self) -> dict[str, object]:
        """The version-2 recording header fields: ``views`` and ``calibration``."""
        views = [{"name": c.name, "size": [int(c.size[0]), int(c.size[1])]} for c in self.calibration.cameras]
        return {"views": views, "calibration": calibration_to_json(self.calibration)}


def pair_by_time(streams: Sequence[Iterator[LandmarkFrame]], tolerance_s: float) -> Iterator[list[LandmarkFrame]]:
    """Frames of live views paired by timestamp: the newest of each within ``tolerance_s`` of each other; a view
    whose frame is too old is advanced (its frame dropped)."""
    heads = [next(s, None) for s in streams]
    while all(h is not None for h in heads):
        times = [h.t_s for h in heads if h is not None]
        if max(times) - min(times) <= tolerance_s:
            yield [h for h in heads if h is not None]
            heads = [next(s, None) for s in streams]
        else:
            oldest = int(np.argmin(times))
            heads[oldest] = next(streams[oldest], None)


def _collect(streams: Sequence[Iterator[LandmarkFrame]], max_frames: int | None) -> list[list[LandmarkFrame]]:
    views: list[list[LandmarkFrame]] = [[] for _ in streams]
    for frames in zip(*streams, strict=False):  # in lockstep: the tracker processes run side by side
        for v, f in zip(views, frames, strict=True):
            v.append(f)
        if max_frames is not None and len(views[0]) >= max_frames:
            break
    for stream, v in zip(streams, views, strict=True):  # the longer files' remaining frames
        if max_frames is None:
            v.extend(stream)
    return views


def track_files(
    texts: Sequence[str], tracker: TrackerConfig, max_frames: int | None, note: Callable[[str], None]
) -> list[list[LandmarkFrame]]:
    """Every view's LandmarkFrames (one tracker process each, side by side), checked by :func:`check_views`."""
    with ExitStack() as stack:
        streams = [stack.enter_context(open_landmarks(t, tracker))[1] for t in texts]
        views = _collect(streams, max_frames)
    check_views(views, texts, note)
    return views


def check_views(
    views: Sequence[Sequence[LandmarkFrame]], texts: Sequence[str], note: Callable[[str], None]
) -> None:
    """One-line errors for a view that never sees the person; a note when the files' lengths differ."""
    for text, frames in zip(texts, views, strict=True):
        if not any(f.person for f in frames):
            raise BridgeError(f"{text} never shows the person; point that camera at them or leave it out")
    lengths = [len(v) for v in views]
    if max(lengths) - min(lengths) > 0.1 * max(lengths):
        note(f"the views have different lengths ({', '.join(map(str, lengths))} frames): their overlap is used")


@contextmanager
def open_views(
    texts: Sequence[str],
    calibration: Calibration,
    tracker: TrackerConfig,
    *,
    max_frames: int | None = None,
    on_note: Callable[[str], None] = lambda _m: None,
) -> Iterator[tuple[ViewsInfo, Iterator[LandmarkFrame]]]:
    """Open every view (one tracker process each) and yield the info and the triangulated frames."""
    if not 2 <= len(texts) <= MAX_VIEWS:
        raise BridgeError(f"give --input 2 to {MAX_VIEWS} times for several views (got {len(texts)})")
    names = [str(t).rsplit("/", 1)[-1].rsplit(".", 1)[0] for t in texts]
    cal = calibration.for_views(len(texts), names)
    with ExitStack() as stack:
        opened = [stack.enter_context(open_landmarks(t, tracker)) for t in texts]
        infos = tuple(o[0] for o in opened)
        streams = [o[1] for o in opened]
        if any(i.live for i in infos) or tracker.realtime:  # cameras, or files read as cameras would be
            fps = min((i.fps or 30.0) for i in infos)
            paired = pair_by_time(streams, 0.5 / fps)
            yield ViewsInfo(infos, cal), _fused_live(cal, paired, max_frames)
            return
        views = _collect(streams, max_frames)
        check_views(views, texts, on_note)
        if cal.synchronised:
            offsets = [0] * len(views)
            on_note("the calibration says the views start together: not synchronised from the motion")
        else:
            offsets = _offsets(cal, views)
            on_note(f"view offsets (frames, {cal.names[0]} = 0): {dict(zip(cal.names, offsets, strict=True))}")
        fused = fuse(cal, apply_offsets(views, offsets))
        error = np.nanmedian(fused.triangulation.reprojection_px)
        on_note(
            f"triangulated {len(fused.frames)} frames from {len(texts)} views; median reprojection {error:.1f} px"
        )
        yield ViewsInfo(infos, cal, tuple(int(o) for o in offsets)), iter(fused.frames)


def _offsets(cal: Calibration, views: list[list[LandmarkFrame]]) -> list[int]:
    shortest = min(len(v) for v in views)
    if shortest < 20:
        return [0] * len(views)
    config = SyncConfig(max_lag=min(30, shortest // 4), min_overlap=max(10, shortest // 2))
    arrays = [view_arrays(cal.select([c.name]), [v]) for c, v in zip(cal.cameras, views, strict=True)]
    result = estimate_offsets_calibrated(cal, [p[:, 0] for p, _ in arrays], [w[:, 0] for _, w in arrays], config)
    return [int(o) for o in result.offsets]


def _fused_live(
    cal: Calibration, paired: Iterator[list[LandmarkFrame]], max_frames: int | None
) -> Iterator[LandmarkFrame]:
    for count, frames in enumerate(paired):
        if max_frames is not None and count >= max_frames:
            return
        clocks = {  # the later view's clock readings: latency is counted from the last frame the result needs
            key: max(float(v) for f in frames if isinstance(v := f.flags.get(key), float))
            for key in (READ_TIME_FLAG, DETECTED_TIME_FLAG)
            if any(isinstance(f.flags.get(key), float) for f in frames)
        }
        try:
            fused = fuse(cal, [[f] for f in frames]).frames[0]
        except (ValueError, np.linalg.LinAlgError):  # a live path never dies on one bad frame
            fused = LandmarkFrame.no_person(frames[0].t_s, frames[0].image_size, frames[0].frame_index)
        yield fused.with_flags(**clocks)
