"""The median of the last ``window`` values, kept up to date one value at a time.

A stage that asks each frame for the median of its recent history (a person's size, depth, foot slope) paid for
``np.median`` of a fresh array each time (~20 µs each, several a frame); this keeps the window sorted as it goes
(a ``bisect`` insert and remove: about 1 µs for windows of hundreds).
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Iterable


class RunningMedian:
    """``append(x)`` then ``median()``: the median of the last ``window`` values appended (the mean of the two
    middle ones for an even count, as ``np.median``)."""

    def __init__(self, window: int, values: Iterable[float] = ()) -> None:
        self.window = window
        self._order: deque[float] = deque()
        self._sorted: list[float] = []
        for v in values:
            self.append(v)

    def append(self, value: float) -> None:
        value = float(value)
        self._order.append(value)
        bisect.insort(self._sorted, value)
        if len(self._order) > self.window:
            old = self._order.popleft()
            del self._sorted[bisect.bisect_left(self._sorted, old)]

    def median(self) -> float:
        """The median of the window (NaN when empty)."""
        n = len(self._sorted)
        if n == 0:
            return float("nan")
        mid = n // 2
        return self._sorted[mid] if n % 2 else 0.5 * (self._sorted[mid - 1] + self._sorted[mid])

    def values(self) -> list[float]:
        """The window's values in the order they came."""
        return list(self._order)

    def __len__(self) -> int:
        return len(self._order)

    def __bool__(self) -> bool:
        return bool(self._order)
