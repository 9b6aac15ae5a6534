"""Key text on every counter screen at 7:1 or more (WCAG AAA), by the WCAG formula.

Every pair of every palette (caller, window display, hall board, five-key
evaluator, tablet) is checked; and the apps' style sheets are checked to paint
text only in their palette's text colours on their palette's grounds, so a colour
added to a widget without its pair in the palette fails here."""

from __future__ import annotations

import re

import pytest

from counter import caller, evaluator, paint, palette, tablet
from counter.palette import Pair
from hall.core.contrast import KEY_TEXT_MIN, contrast_ratio
from hall.ui.qt import QWidget

PAIRS = [
    pytest.param(pair, id=f"{screen}: {name}")
    for screen, pairs in palette.PALETTES.items()
    for name, pair in pairs.items()
]


def test_every_counter_screen_has_a_palette():
    assert set(palette.PALETTES) == {"caller", "display", "board", "evaluator", "tablet"}
    assert all(len(pairs) >= 10 for pairs in palette.PALETTES.values())


@pytest.mark.parametrize("pair", PAIRS)
def test_every_pair_of_key_text_is_at_least_seven_to_one(pair):
    assert contrast_ratio(pair.text, pair.ground) >= KEY_TEXT_MIN, pair


def test_the_figures_of_the_issue_are_fixed():
    """The colours #15 measured below 7:1, now each above it."""
    assert contrast_ratio(*palette.CALLER["current number"]) >= 7  # the orange number: 4.5
    assert contrast_ratio(*palette.DISPLAY["status serving"]) >= 7  # 办理中: 3.5
    assert contrast_ratio(*palette.BOARD["去向 在岗"]) >= 7  # 在岗: 3.5
    for level in range(1, 6):  # the evaluator's buttons: about 5
        assert contrast_ratio(*palette.EVALUATOR[f"level {level}"]) >= 7
    assert contrast_ratio(*palette.EVALUATOR["submit"]) >= 7  # 3.5


def test_the_painted_screens_paint_the_palettes_colours():
    """counter.paint's QColors are the palette's (the display and the board draw with them)."""
    assert paint.NUMBER.name() == palette.NUMBER and paint.MUTED.name() == palette.MUTED
    assert paint.LED_RED.name() == palette.LED_RED
    assert {k: c.name() for k, c in paint.STATUS_COLOURS.items()} == palette.STATUS_COLOURS
    assert {k: c.name() for k, c in paint.STAFF_COLOURS.items()} == palette.STAFF_COLOURS
    assert paint.contrast(paint.NUMBER, paint.BG) == pytest.approx(
        contrast_ratio(palette.NUMBER, palette.BG)
    )


def rules(style: str) -> list[tuple[str, dict[str, str]]]:
    """``(selector, {property: value})`` of each rule of a Qt style sheet."""
    found = []
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", style):
        props = {}
        for decl in body.split(";"):
            if ":" in decl:
                key, value = decl.split(":", 1)
                props[key.strip()] = value.strip()
        found.append((" ".join(selector.split()), props))
    return found


def check_style(style: str, screen: str) -> int:
    """Every text colour of ``style`` a text colour of the screen's palette, every ground a
    ground, and a rule giving both one of the palette's pairs; returns the rules seen."""
    pairs = set(palette.PALETTES[screen].values())
    texts = {p.text for p in pairs}
    grounds = {p.ground for p in pairs}
    found = rules(style)
    for selector, props in found:
        if ":disabled" in selector:  # greyed: a button that cannot be pressed now
            assert props["color"] == palette.CALLER_DISABLED.text
            continue
        if "color" in props:
            assert props["color"] in texts, (screen, selector, props["color"])
        if "background" in props and props["background"] != "transparent":
            assert props["background"] in grounds, (screen, selector, props["background"])
        if "color" in props and "background" in props:
            assert Pair(props["color"], props["background"]) in pairs, (screen, selector)
    return len(found)


def test_the_callers_style_sheet_paints_text_only_in_its_palettes_pairs():
    assert check_style(caller.STYLE, "caller") >= 15


@pytest.mark.parametrize("screen", ["evaluator", "tablet"])
def test_the_evaluators_widgets_paint_text_only_in_their_palettes_pairs(
    qtbot, tmp_path, hall_clock, screen
):
    """The window's style sheet and every widget's own (the level buttons')."""
    kind = tablet.TabletWindow if screen == "tablet" else evaluator.EvaluatorWindow
    window = kind(None, "1", tmp_path / "ratings.db", clock=hall_clock)
    qtbot.addWidget(window)
    try:
        own = [w.styleSheet() for w in window.findChildren(QWidget) if w.styleSheet()]
        assert len(own) >= 5  # the five level buttons at least
        assert check_style(window.styleSheet(), screen) >= 10
        for style in own:
            check_style(style if "{" in style else f"QWidget {{ {style} }}", screen)
    finally:
        window.shutdown()
