"""Small argument parsers and the status-line printer shared by every ``bridge`` command.

Each parser turns a bad value into an ``argparse.ArgumentTypeError`` whose message says what was expected, so
argparse reports it as one line (``bridge stream: error: argument --rate: expected …``) with exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable


def note(message: str) -> None:
    """A ``bridge: ...`` status line on stderr (stdout stays for data)."""
    print(f"bridge: {message}", file=sys.stderr, flush=True)


def int_in(lo: int, hi: int | None = None, what: str = "whole number") -> Callable[[str], int]:
    """A parser for whole numbers from ``lo`` to ``hi`` (no upper bound when ``hi`` is None)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {what}, got {text!r}") from None
        if value < lo or (hi is not None and value > hi):
            span = f"at least {lo}" if hi is None else f"from {lo} to {hi}"
            raise argparse.ArgumentTypeError(f"expected a {what} {span}, got {text!r}")
        return value

    return parse


def float_in(lo: float, hi: float, what: str = "number", lo_open: bool = False) -> Callable[[str], float]:
    """A parser for numbers from ``lo`` to ``hi`` (``lo`` itself excluded when ``lo_open``)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {what}, got {text!r}") from None
        if not (lo < value if lo_open else lo <= value) or not value <= hi:
            span = f"above {lo:g}" if lo_open else f"at least {lo:g}"
            if hi != float("inf"):
                span = f"{span} and at most {hi:g}" if lo_open else f"from {lo:g} to {hi:g}"
            raise argparse.ArgumentTypeError(f"expected a {what} {span}, got {text!r}")
        return value

    return parse


#: Whole numbers ≥ 1 (frame counts).
positive_int = int_in(1, None, "whole number")
#: Numbers > 0 (frame rates).
positive_float = float_in(0.0, float("inf"), "number", lo_open=True)
