"""The text drawn on rendered images: the status (wrapped to the image's width, never cut at its edge) at the top
and the legend of the colours (a swatch and a label per entry) at the bottom.

Pure OpenCV on numpy images; the window shows the same lines in Open3D labels (:func:`wrap_text` is shared).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

UInt8Image = npt.NDArray[np.uint8]
RGB = tuple[float, float, float]

#: Margin (pixels) between the text and the image's edges.
MARGIN_PX = 8
#: The status text's colour (RGB 0..255).
TEXT_RGB = (235, 235, 235)


def font_scale(height_px: int) -> float:
    """OpenCV font scale for an image ``height_px`` tall (readable from 240 px up)."""
    return max(0.35, height_px / 960.0)


def wrap_text(text: str, fits: Callable[[str], bool], separator: str = " | ") -> list[str]:
    """``text`` split into lines that each ``fits``: whole ``separator``-parts where they fit together, a part too
    long on its own broken at spaces, a word too long on its own broken between characters."""
    lines: list[str] = []
    for part in text.split(separator):
        if lines and fits(lines[-1] + separator + part):
            lines[-1] += separator + part
            continue
        current = ""
        for word in part.split(" "):
            trial = f"{current} {word}" if current else word
            if fits(trial):
                current = trial
                continue
            if current:
                lines.append(current)
            current = ""
            for ch in word:  # a word wider than the line: break it
                if current and not fits(current + ch):
                    lines.append(current)
                    current = ""
                current += ch
        if current:
            lines.append(current)
    return lines


def _fits(width_px: int, scale: float) -> Callable[[str], bool]:
    import cv2

    def fits(line: str) -> bool:
        (w, _), _ = cv2.getTextSize(line, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        return bool(w <= width_px - 2 * MARGIN_PX)

    return fits


def status_lines(text: str, width_px: int, height_px: int) -> list[str]:
    """The status ``text`` as the lines :func:`draw_hud` writes on a ``width_px`` x ``height_px`` image."""
    return wrap_text(text, _fits(width_px, font_scale(height_px))) if text else []


def draw_hud(image: UInt8Image, status: str, legend: Sequence[tuple[str, RGB]] = ()) -> UInt8Image:
    """A copy of the (H, W, 3) uint8 RGB ``image`` with the status at the top (wrapped) and the legend at the
    bottom (a colour swatch then its label, entries wrapped into rows)."""
    import cv2

    if not status and not legend:
        return image
    out = np.ascontiguousarray(image).copy()
    h, w = out.shape[:2]
    scale = font_scale(h)
    font = cv2.FONT_HERSHEY_SIMPLEX
    (_, text_h), baseline = cv2.getTextSize("Ag", font, scale, 1)
    step = text_h + baseline + 4
    for k, line in enumerate(status_lines(status, w, h)):
        cv2.putText(out, line, (MARGIN_PX, MARGIN_PX + text_h + k * step), font, scale, TEXT_RGB, 1, cv2.LINE_AA)
    if legend:
        swatch = text_h + 2
        items = []
        for label, colour in legend:
            (tw, _), _ = cv2.getTextSize(label, font, scale, 1)
            items.append((label, colour, swatch + 4 + tw + 12))
        rows: list[list[tuple[str, RGB, int]]] = [[]]
        for item in items:
            if rows[-1] and sum(x[2] for x in rows[-1]) + item[2] > w - 2 * MARGIN_PX:
                rows.append([])
            rows[-1].append(item)
        for r, row in enumerate(reversed(rows)):
            y = h - MARGIN_PX - baseline - r * step
            x = MARGIN_PX
            for label, colour, width in row:
                rgb = tuple(int(round(255 * float(np.clip(c, 0.0, 1.0)))) for c in colour)
                cv2.rectangle(out, (x, y - swatch + 1), (x + swatch - 1, y), rgb, thickness=-1)
                cv2.putText(out, label, (x + swatch + 4, y), font, scale, TEXT_RGB, 1, cv2.LINE_AA)
                x += width
    return out
