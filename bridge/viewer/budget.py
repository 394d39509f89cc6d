"""How often the viewer may draw: :class:`CpuBudget` keeps its rendering to a share of one CPU core."""

from __future__ import annotations

import time


class CpuBudget:
    """Keeps drawing under ``share`` of one CPU core and under ``1 / min_interval_s`` frames per second.

    After each frame, the process CPU time it took (compose, skinning, render, PNG, the receiver thread) decides
    when the next one may start: a frame that cost 50 ms of CPU with ``share`` 0.1 is followed by 0.5 s without
    drawing. On a machine without a GPU, rendering runs on the same cores as the tracker; this is what keeps a
    receiver-mode viewer from slowing the stream it watches. ``share`` 0 means no CPU limit.
    """

    def __init__(self, share: float, min_interval_s: float = 0.0) -> None:
        self.share = share
        self.min_interval_s = min_interval_s
        self._next_s = 0.0
        self._t0 = 0.0
        self._cpu0 = 0.0

    def wait(self) -> None:
        delay = self._next_s - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    def ready(self) -> bool:
        return time.monotonic() >= self._next_s

    def start(self) -> None:
        self._t0, self._cpu0 = time.monotonic(), time.process_time()

    def spent(self) -> None:
        cost = time.process_time() - self._cpu0
        gap = cost / self.share if self.share > 0 else 0.0
        self._next_s = self._t0 + max(self.min_interval_s, gap)
