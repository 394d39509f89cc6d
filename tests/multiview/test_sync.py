"""Synchronisation of views started at different times: offsets found, the same whichever view is the reference."""

from __future__ import annotations

import numpy as np
import pytest

from bridge.core.errors import BridgeError
from bridge.multiview.fuse import view_arrays
from bridge.multiview.sync import (
    SyncConfig,
    aligned_ranges,
    apply_offsets,
    estimate_offsets,
    estimate_offsets_calibrated,
    view_signals,
)
from tests.multiview.helpers import mocap_world, ring, view_frames

OFFSETS = (0, 3, -2)  # view v's frame j + OFFSETS[v] shows the instant of view 0's frame j


def _shifted_views() -> tuple:
    cal = ring(3)
    truth = mocap_world(120)
    full = view_frames(cal, truth)
    start = 10
    views = [frames[start - o : start - o + 90] for frames, o in zip(full, OFFSETS, strict=True)]
    return cal, views


def test_motion_offsets_found_and_consistent_across_references() -> None:
    _, views = _shifted_views()
    result = estimate_offsets(view_signals(views), SyncConfig(max_lag=10))
    assert tuple(result.offsets) == OFFSETS
    for ref in range(3):
        rel = result.relative_to(ref)
        assert tuple(rel) == tuple(o - OFFSETS[ref] for o in OFFSETS)
        reordered = [views[ref]] + [v for i, v in enumerate(views) if i != ref]
        again = estimate_offsets(view_signals(reordered), SyncConfig(max_lag=10))
        assert sorted(again.offsets.tolist()) == sorted(rel.tolist())


def test_calibrated_offsets_and_alignment() -> None:
    cal, views = _shifted_views()
    pixels, weights = zip(
        *(view_arrays(cal.select([c.name]), [v]) for c, v in zip(cal.cameras, views, strict=True)), strict=True
    )
    result = estimate_offsets_calibrated(
        cal, [p[:, 0] for p in pixels], [w[:, 0] for w in weights], SyncConfig(max_lag=5, min_overlap=40)
    )
    assert tuple(result.offsets) == OFFSETS
    aligned = apply_offsets(views, result.offsets)
    assert len({len(v) for v in aligned}) == 1 and len(aligned[0]) == 90 - 5
    for frames in zip(*aligned, strict=True):
        assert len({round(f.t_s, 9) for f in frames}) == 1  # the same instant in every view


def test_views_that_never_overlap_are_one_line_errors() -> None:
    with pytest.raises(BridgeError, match="do not overlap"):
        aligned_ranges([10, 10], [0, 12])
    signal = np.full(50, np.nan)
    with pytest.raises(BridgeError, match="views 1 and 2 share fewer than"):
        estimate_offsets([np.random.default_rng(0).random(50), signal])
