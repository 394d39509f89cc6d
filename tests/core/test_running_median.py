"""RunningMedian against np.median over a sliding window."""

from __future__ import annotations

import numpy as np

from bridge.core.running_median import RunningMedian


def test_running_median_is_the_median_of_the_last_window_values() -> None:
    rng = np.random.default_rng(0)
    values = np.round(rng.normal(size=300), 1)  # repeats: equal values enter and leave the window
    for window in (1, 2, 7, 60):
        rm = RunningMedian(window)
        assert np.isnan(rm.median()) and not rm
        for k, v in enumerate(values):
            rm.append(v)
            assert rm.median() == np.median(values[max(0, k + 1 - window) : k + 1])
        assert rm.values() == list(values[-window:]) and len(rm) == window
