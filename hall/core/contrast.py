"""Text contrast by the WCAG 2 formula: every theme's key text is checked against it.

A colour is ``#rrggbb`` (or ``#rgb``); :func:`contrast_ratio` gives the ratio of the
lighter colour's relative luminance + 0.05 to the darker one's, from 1 to 21.  Key text
on the hall's screens and pages needs at least :data:`KEY_TEXT_MIN` (WCAG AAA).
"""

from __future__ import annotations

KEY_TEXT_MIN = 7.0


def _channels(colour: str) -> tuple[float, float, float]:
    text = colour.strip().lstrip("#")
    if len(text) == 3:
        text = "".join(c * 2 for c in text)
    if len(text) != 6:
        raise ValueError(f"not a #rrggbb colour: {colour!r}")
    r, g, b = (int(text[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return r, g, b


def relative_luminance(colour: str) -> float:
    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in _channels(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(foreground: str, background: str) -> float:
    a, b = relative_luminance(foreground), relative_luminance(background)
    lighter, darker = max(a, b), min(a, b)
    return (lighter + 0.05) / (darker + 0.05)
