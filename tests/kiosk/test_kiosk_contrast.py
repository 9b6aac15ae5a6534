"""Key text on the kiosk is readable: every (text, background) pair of every kiosk theme
(normal, 大字模式; portrait and landscape) reaches 7:1 by the WCAG formula."""

from __future__ import annotations

import re

import pytest

from hall.core.contrast import KEY_TEXT_MIN, contrast_ratio
from kiosk.theme import PAIRS_BY_NAME, TEXT_PAIRS, Theme

THEMES = [
    pytest.param(Theme(elderly=elderly, portrait=portrait), id=f"{mode}-{orientation}")
    for elderly, mode in ((False, "normal"), (True, "elderly"))
    for portrait, orientation in ((True, "portrait"), (False, "landscape"))
]


@pytest.mark.parametrize("theme", THEMES)
def test_every_text_pair_reaches_7_to_1(theme: Theme) -> None:
    low = {
        name: round(contrast_ratio(fg, bg), 2)
        for name, fg, bg in theme.text_pairs()
        if contrast_ratio(fg, bg) < KEY_TEXT_MIN
    }
    assert not low, f"text pairs below {KEY_TEXT_MIN}:1: {low}"


@pytest.mark.parametrize("theme", THEMES)
def test_the_style_sheet_draws_text_only_in_the_pairs_colours(theme: Theme) -> None:
    """A text colour in the sheet that is no pair's text colour would escape the check
    above; so would a pair no widget uses (then the list is not the widgets' list)."""
    sheet = theme.stylesheet()
    colours = {fg.upper() for _name, fg, _bg in theme.text_pairs()}
    used = {c.upper() for c in re.findall(r"(?<![-\w])color:\s*(#[0-9A-Fa-f]{3,6})", sheet)}
    assert used, "the sheet sets no text colour?"
    assert used <= colours, f"text colours outside the pairs: {used - colours}"


def test_every_pair_is_one_the_sheet_uses() -> None:
    """The pairs are looked up by name while the sheet is built: each one is used."""
    seen: list[str] = []

    class Recording(Theme):
        def fg(self, pair: str) -> str:
            seen.append(pair)
            return super().fg(pair)

        def bg(self, pair: str) -> str:
            seen.append(pair)
            return super().bg(pair)

    for elderly in (False, True):
        Recording(elderly=elderly).stylesheet()
    unused = {p.name for p in TEXT_PAIRS} - set(seen) - UNSHEETED
    assert not unused, f"pairs no style rule uses: {unused}"
    assert set(seen) <= set(PAIRS_BY_NAME)


# Pairs drawn without a style rule of their own: a label inside a panel, ticket card or
# pressed tile takes the role's colour on that surface (the sheet names the role's pair).
UNSHEETED = {
    "page-panel",
    "h2-panel",
    "muted-panel",
    "ok-panel",
    "tilesub-pressed",
}


def test_a_low_pair_is_caught() -> None:
    """The check can fail: the old 取号成功 green on the page was 5.7:1."""
    assert contrast_ratio("#1B6E2A", "#EEF3F8") < KEY_TEXT_MIN
