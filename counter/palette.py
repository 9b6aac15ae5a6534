"""The counter apps' colours, one palette per screen, each a table of named pairs.

A :class:`Pair` is a text colour on the ground it is painted on.  Each palette lists
every pair its widgets paint key text with (the painted screens take their
colours from here through :mod:`counter.paint`, the caller's and evaluators' style
sheets are written from here), so tests/counter/test_counter_contrast.py can check
every pair against :data:`hall.core.contrast.KEY_TEXT_MIN` (7:1, WCAG AAA) by the
WCAG formula rather than by eye.  Colours that carry no text (borders, the LED's
dark flash phase, a disabled button's greyed label) are named apart, outside the
palettes.

Plain strings (``#rrggbb``), no Qt: a palette can be read without a screen.
"""

from __future__ import annotations

from typing import NamedTuple


class Pair(NamedTuple):
    text: str
    ground: str


WHITE = "#ffffff"
BLACK = "#000000"

# The painted screens (window display, hall board): a government hall's deep blue
# ground, white text, amber numbers.
BG = "#0a2a5c"
BG_DARK = "#061b3d"
PANEL = "#123a75"
TEXT = WHITE
MUTED = "#d6e0f5"  # second-rank text: 8.4:1 on the panel (#b8c7e6 was 6.5:1)
NUMBER = "#ffd21f"
NOTICE_BG = NUMBER  # the hall manager's notice: dark text on the number's amber
NOTICE_TEXT = BG_DARK
ALERT_BG = "#8b1a1a"  # the console's alerts: white on a deep red
LED_RED = "#ff6a5c"  # a strip's lit text: 7.5:1 on black (#ff2b1c was 5.6:1)
LED_DIM = "#4a0c08"  # a flashing number's dark phase (no text to read: not a pair)
# window status pills (white text on each)
STATUS_COLOURS = {
    "serving": "#0b5a2e",
    "idle": "#1e40af",
    "paused": "#7a4200",
    "closed": "#3f4652",
}
# 去向牌 pills (white text on each), told apart by hue
STAFF_COLOURS = {
    "在岗": "#0b5a2e",
    "暂离": "#7a4200",
    "外出": "#9b1c1c",
    "学习": "#5b21b6",
    "休假": "#3f4652",
}
NOBODY_COLOUR = "#3f4652"  # a window with nobody logged in
# the placeholder photo: the surname in white on one of these discs
AVATAR_COLOURS = ("#1e40af", "#115e59", "#6b21a8", "#9a3412", "#134e4a", "#9f1239")
SILHOUETTE_BG = "#cbd5e1"  # a grey head and shoulders: no text
SILHOUETTE_FG = "#64748b"


def _pills(prefix: str, colours: dict[str, str]) -> dict[str, Pair]:
    return {f"{prefix} {name}": Pair(TEXT, ground) for name, ground in colours.items()}


_AVATARS = {f"avatar {i}": Pair(TEXT, ground) for i, ground in enumerate(AVATAR_COLOURS)}

DISPLAY: dict[str, Pair] = {
    "window name": Pair(TEXT, BG_DARK),
    "department": Pair(NUMBER, BG_DARK),
    **_pills("status", STATUS_COLOURS),
    **_pills("去向", STAFF_COLOURS),
    "nobody": Pair(TEXT, NOBODY_COLOUR),
    "notice": Pair(NOTICE_TEXT, NOTICE_BG),
    "notice label": Pair(NOTICE_BG, NOTICE_TEXT),  # the label box: the colours swapped
    "clerk name": Pair(TEXT, PANEL),
    "clerk 工号": Pair(MUTED, PANEL),
    "no clerk": Pair(MUTED, PANEL),
    "当前号码": Pair(MUTED, BG),
    "再次呼叫": Pair(TEXT, BG),
    "number": Pair(NUMBER, BG),
    "headline": Pair(TEXT, BG),
    "items": Pair(TEXT, BG_DARK),
    "waiting": Pair(NUMBER, BG_DARK),
    "link down": Pair(NUMBER, BG_DARK),
    "message": Pair(BG_DARK, NUMBER),
    "staff card": Pair(TEXT, PANEL),
    **_AVATARS,
    "led": Pair(LED_RED, BLACK),
}

BOARD: dict[str, Pair] = {
    "hall name": Pair(TEXT, BG_DARK),
    "clock": Pair(MUTED, BG_DARK),
    "notice": Pair(NOTICE_TEXT, NOTICE_BG),
    "notice label": Pair(NOTICE_BG, NOTICE_TEXT),
    "alert": Pair(TEXT, ALERT_BG),
    "alert label": Pair(ALERT_BG, TEXT),
    "hall notices": Pair(NUMBER, BG_DARK),
    "panel title": Pair(MUTED, PANEL),
    "latest number": Pair(NUMBER, PANEL),
    "latest sentence": Pair(TEXT, PANEL),
    "earlier call": Pair(NUMBER, BG_DARK),
    "earlier window": Pair(TEXT, BG_DARK),
    "queue row": Pair(TEXT, BG_DARK),
    "queue waiting": Pair(NUMBER, BG_DARK),
    "queue header": Pair(MUTED, PANEL),
    "window cell": Pair(TEXT, PANEL),
    "window number": Pair(NUMBER, PANEL),
    "staff card": Pair(TEXT, BG_DARK),
    **_pills("status", STATUS_COLOURS),
    **_pills("去向", STAFF_COLOURS),
    "nobody": Pair(TEXT, NOBODY_COLOUR),
    "offline": Pair(TEXT, ALERT_BG),
    **_AVATARS,
}

# The clerk's caller: a light desk screen (dark text on a pale ground).
CALLER_BG = "#eef2f7"
CALLER_TEXT = "#0f172a"
CALLER_FIELD = WHITE
CALLER_BORDER = "#94a3b8"
CALLER_GROUP_BORDER = "#cbd5e1"
CALLER_DISABLED = Pair("#94a3b8", "#f1f5f9")  # a button that cannot be pressed now
CALLER: dict[str, Pair] = {
    "text": Pair(CALLER_TEXT, CALLER_BG),
    "title": Pair("#0a2a5c", CALLER_BG),
    "link up": Pair("#14532d", CALLER_BG),  # #15803d was 4.5:1
    "link down": Pair("#991b1b", CALLER_BG),  # #b91c1c was 5.8:1
    "current number": Pair("#7c2d12", CALLER_BG),  # #b45309 was 4.5:1
    "current info": Pair("#334155", CALLER_BG),
    "flag green": Pair(WHITE, "#14532d"),
    "flag appointment": Pair(WHITE, "#1e3a8a"),
    "ticket info": Pair(CALLER_TEXT, CALLER_FIELD),
    "button": Pair(CALLER_TEXT, CALLER_FIELD),
    "finish case": Pair("#14532d", CALLER_FIELD),
    "primary": Pair(WHITE, "#1e40af"),  # #1d4ed8 was 6.7:1
    "field": Pair(CALLER_TEXT, CALLER_FIELD),
    "message ok": Pair("#14532d", "#dcfce7"),
    "message error": Pair("#7f1d1d", "#fee2e2"),
    "message info": Pair("#1e3a8a", "#e0e7ff"),
}

# The five-key evaluator and the tablet: white on the deep blue, big buttons.
EVAL_BORDER = "#3b6bb5"
EVAL_LIGHT_BORDER = "#94a3b8"
# the five levels (满意 … 非常不满意) from green to red, white text on each
LEVEL_COLOURS = {1: "#14532d", 2: "#365314", 3: "#713f12", 4: "#9a3412", 5: "#7f1d1d"}
OK_COLOUR = "#14532d"  # submit, confirm (#1f9d55 was 3.5:1)
NEUTRAL_COLOUR = "#334155"  # skip, 有误
EVALUATOR: dict[str, Pair] = {
    "text": Pair(TEXT, BG),
    "muted": Pair(MUTED, BG),
    "summary": Pair(NUMBER, BG),
    "error": Pair("#fecaca", BG),
    "thanks": Pair(NUMBER, BG),
    "phone": Pair(NUMBER, BG_DARK),
    "button": Pair(TEXT, PANEL),
    "button checked": Pair(BG, NUMBER),
    "submit": Pair(TEXT, OK_COLOUR),
    "skip": Pair(TEXT, NEUTRAL_COLOUR),
    **{f"level {level}": Pair(TEXT, ground) for level, ground in LEVEL_COLOURS.items()},
}
TABLET: dict[str, Pair] = {
    **EVALUATOR,
    "field": Pair(MUTED, PANEL),
    "value": Pair(TEXT, PANEL),
    "item": Pair(NUMBER, PANEL),
    "count": Pair(MUTED, BG),
    "confirm": Pair(TEXT, OK_COLOUR),
    "wrong": Pair(TEXT, NEUTRAL_COLOUR),
    "comment": Pair(TEXT, BG_DARK),
}

PALETTES: dict[str, dict[str, Pair]] = {
    "caller": CALLER,
    "display": DISPLAY,
    "board": BOARD,
    "evaluator": EVALUATOR,
    "tablet": TABLET,
}
