"""The one status widget on stderr: a self-refreshing line (stream status, a progress bar) and lines that stay.

On a terminal the line is redrawn in place at most every ``tty_interval_s``; elsewhere (a log file, a pipe) it is
written as a plain line every ``plain_interval_s`` (None: never), so logs stay readable. :meth:`StatusLine.message`
writes a ``bridge: …`` line that stays (a target that stopped listening, a finished file), the refreshing line
redrawn below it. Used by ``bridge stream`` (fps, latency, tracking), ``bridge analyze`` (a progress bar per
input) and ``bridge batch`` (files and frames, an ETA).
"""

from __future__ import annotations

import sys
import time
from typing import IO

_CLEAR = "\r\x1b[2K"


class StatusLine:
    """A status line on ``stream`` (default stderr).

    Args:
        interval_s: shortest time between two refreshes on a terminal.
        stream: where to write.
        plain_interval_s: without a terminal, a plain line at most this often (None: nothing but messages).
        plain_prefix: prefix of those plain lines.
        delay_s: draw nothing until this long after the start (short jobs stay quiet).
        keep_on_close: leave the last line on the terminal when closed (else it is cleared).
    """

    def __init__(
        self,
        interval_s: float = 0.5,
        stream: IO[str] | None = None,
        *,
        plain_interval_s: float | None = 5.0,
        plain_prefix: str = "",
        delay_s: float = 0.0,
        keep_on_close: bool = True,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval_s = interval_s
        self.plain_interval_s = plain_interval_s
        self.plain_prefix = plain_prefix
        self.keep_on_close = keep_on_close
        self._start = time.monotonic()
        self._delay_s = delay_s
        self._last = float("-inf")
        self._text = ""
        self._dirty = False

    def update(self, text: str, now_s: float | None = None, force: bool = False) -> None:
        """Show ``text`` if the line is due for a refresh (or ``force``)."""
        now = time.monotonic() if now_s is None else now_s
        self._text = text
        if self.tty:
            period: float | None = self.interval_s
        else:
            period = None if self.plain_interval_s is None else max(self.interval_s, self.plain_interval_s)
        if period is None or now - self._start < self._delay_s or (not force and now - self._last < period):
            return
        self._last = now
        if self.tty:
            self.stream.write(_CLEAR + text)
            self._dirty = True
        else:
            self.stream.write(self.plain_prefix + text + "\n")
        self.stream.flush()

    def message(self, text: str) -> None:
        """A ``bridge: text`` line that stays; the status line is drawn again below it on a terminal."""
        if self._dirty:
            self.stream.write(_CLEAR)
            self._dirty = False
        self.stream.write(f"bridge: {text}\n")
        self.stream.flush()
        if self.tty and self._text and time.monotonic() - self._start >= self._delay_s:
            self.stream.write(self._text)
            self.stream.flush()
            self._dirty = True

    def close(self) -> None:
        """End the line: keep it (a newline) or clear it."""
        if self._dirty:
            self.stream.write("\n" if self.keep_on_close else _CLEAR)
            self.stream.flush()
            self._dirty = False


def progress_bar(done: float, total: float, width: int = 30) -> str:
    """``[#######.......]`` for ``done`` of ``total`` (full when total is 0)."""
    share = min(max(done / total, 0.0), 1.0) if total > 0 else 1.0
    filled = int(round(share * width))
    return f"[{'#' * filled}{'.' * (width - filled)}]"


def duration(seconds: float) -> str:
    """``42s``, ``3m05s``, ``2h07m``."""
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"
