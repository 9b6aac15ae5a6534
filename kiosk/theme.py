"""Looks of the kiosk: normal and elderly (大字模式) themes, portrait and landscape.

Pure data and one style-sheet builder; widgets carry a ``role`` property
(``h1``, ``tile``, ``primary`` ...) that the sheet styles.  The elderly theme
is larger (x1.35 text, taller targets) and high contrast (white and yellow on
black), as in the hall's accessibility guidance.

Every text colour the sheet sets comes from a named :class:`TextPair` of
:data:`TEXT_PAIRS` (text colour, the background it is drawn on): the sheet
looks the colours up by the pair's name, so a pair the widgets use is a pair
that :meth:`Theme.text_pairs` lists and the contrast test checks (>= 7:1,
``hall.core.contrast.KEY_TEXT_MIN``).
"""

from __future__ import annotations

from dataclasses import dataclass

from hall.ui.app import CJK_FONT

FONT_FAMILY = CJK_FONT  # one name for every screen (hall.ui.app)


@dataclass(frozen=True)
class Palette:
    bg: str
    fg: str
    muted: str
    header_bg: str
    header_fg: str
    panel_bg: str
    panel_border: str
    tile_bg: str
    tile_fg: str
    tile_border: str
    accent: str  # titles inside tiles, numbers
    primary_bg: str
    primary_fg: str
    secondary_bg: str
    secondary_fg: str
    warn_bg: str
    warn_fg: str
    ok_fg: str
    chip_bg: str
    chip_fg: str
    pressed_bg: str  # a tile under the finger


NORMAL = Palette(
    bg="#EEF3F8", fg="#10233A", muted="#364A60",
    header_bg="#0B4F9C", header_fg="#FFFFFF",
    panel_bg="#FFFFFF", panel_border="#C9D6E4",
    tile_bg="#FFFFFF", tile_fg="#10233A", tile_border="#0A4690",
    accent="#0A4690",
    primary_bg="#A31F1F", primary_fg="#FFFFFF",
    secondary_bg="#FFFFFF", secondary_fg="#0A4690",
    warn_bg="#FFF1E6", warn_fg="#862600", ok_fg="#12561F",
    chip_bg="#E3EDF9", chip_fg="#0B3F7C",
    pressed_bg="#F4F8FC",
)  # fmt: skip

HIGH_CONTRAST = Palette(
    bg="#000000", fg="#FFFFFF", muted="#F2F2F2",
    header_bg="#000000", header_fg="#FFD600",
    panel_bg="#000000", panel_border="#FFFFFF",
    tile_bg="#000000", tile_fg="#FFFFFF", tile_border="#FFD600",
    accent="#FFD600",
    primary_bg="#FFD600", primary_fg="#000000",
    secondary_bg="#000000", secondary_fg="#FFD600",
    warn_bg="#3A0000", warn_fg="#FFFFFF", ok_fg="#7CFF8A",
    chip_bg="#FFD600", chip_fg="#000000",
    pressed_bg="#262626",
)  # fmt: skip


@dataclass(frozen=True)
class TextPair:
    """One text colour on one background, by :class:`Palette` field names."""

    name: str  # where the widgets use it (the style sheet looks it up by this name)
    fg: str
    bg: str


# Every (text, background) pair the kiosk draws key text with.  A label without a
# background of its own sits on the page (``bg``), a panel or ticket card
# (``panel_bg``) or a tile (``tile_bg``): each surface a role appears on is a pair.
TEXT_PAIRS: tuple[TextPair, ...] = (
    TextPair("page", "fg", "bg"),
    TextPair("page-panel", "fg", "panel_bg"),
    TextPair("header", "header_fg", "header_bg"),
    TextPair("link", "warn_fg", "warn_bg"),
    TextPair("h2", "accent", "bg"),
    TextPair("h2-panel", "accent", "panel_bg"),
    TextPair("muted", "muted", "bg"),
    TextPair("muted-panel", "muted", "panel_bg"),
    TextPair("chip", "chip_fg", "chip_bg"),
    TextPair("warn", "warn_fg", "warn_bg"),
    TextPair("ok", "ok_fg", "bg"),
    TextPair("ok-panel", "ok_fg", "panel_bg"),
    TextPair("number", "accent", "panel_bg"),
    TextPair("tiletitle", "tile_fg", "tile_bg"),
    TextPair("tiletitle-pressed", "tile_fg", "pressed_bg"),
    TextPair("tilesub", "accent", "tile_bg"),
    TextPair("tilesub-pressed", "accent", "pressed_bg"),
    TextPair("primary", "primary_fg", "primary_bg"),
    TextPair("primary-disabled", "primary_fg", "muted"),
    TextPair("secondary", "secondary_fg", "secondary_bg"),
    TextPair("secondary-checked", "secondary_bg", "secondary_fg"),
    TextPair("key", "fg", "secondary_bg"),
    TextPair("big-toggle", "secondary_fg", "secondary_bg"),
)
PAIRS_BY_NAME = {pair.name: pair for pair in TEXT_PAIRS}


@dataclass(frozen=True)
class Theme:
    elderly: bool = False
    portrait: bool = True

    @property
    def palette(self) -> Palette:
        return HIGH_CONTRAST if self.elderly else NORMAL

    def text_pairs(self) -> list[tuple[str, str, str]]:
        """``(name, text colour, background colour)`` of every pair this theme draws."""
        p = self.palette
        return [(t.name, getattr(p, t.fg), getattr(p, t.bg)) for t in TEXT_PAIRS]

    def fg(self, pair: str) -> str:
        """The text colour of the named pair (:data:`TEXT_PAIRS`)."""
        return str(getattr(self.palette, PAIRS_BY_NAME[pair].fg))

    def bg(self, pair: str) -> str:
        """The background colour of the named pair."""
        return str(getattr(self.palette, PAIRS_BY_NAME[pair].bg))

    @property
    def scale(self) -> float:
        return 1.35 if self.elderly else 1.0

    def px(self, size: float) -> int:
        return round(size * self.scale)

    def header_px(self, size: float) -> int:
        """The header bar grows less: it must hold the hall name, clock and two buttons."""
        return round(size * (1.12 if self.elderly else 1.0))

    @property
    def h1_px(self) -> int:
        """The largest text of the first screen (its title); the 大字模式 button matches it."""
        return self.px(56)

    # layout decisions -------------------------------------------------------
    def columns(self, kind: str) -> int:
        """Tiles per row for ``kind``: "category", "item", "common"."""
        if self.portrait:
            if kind == "category":
                return 2
            return 1 if self.elderly else 2
        if kind == "category":
            return 4 if not self.elderly else 2
        return 2

    @property
    def tile_height(self) -> int:
        return self.px(120)

    @property
    def button_height(self) -> int:
        return self.px(110)

    @property
    def primary_height(self) -> int:
        return self.px(190 if self.portrait else 150)

    def stylesheet(self) -> str:
        p = self.palette
        fg, bg = self.fg, self.bg
        px, hp = self.px, self.header_px
        border = 4 if self.elderly else 3
        return f"""
        QWidget#kiosk {{ background: {bg("page")}; }}
        QWidget {{ font-family: "{FONT_FAMILY}"; color: {fg("page")}; }}
        QLabel {{ background: transparent; }}
        QScrollArea, QScrollArea > QWidget > QWidget {{ background: transparent; border: none; }}
        *[role="header"] {{ background: {bg("header")}; }}
        *[role="header"] QLabel {{ color: {fg("header")}; }}
        QLabel[role="hall"] {{ font-size: {hp(38)}px; font-weight: bold; }}
        QLabel[role="clock"] {{ font-size: {hp(34)}px; }}
        QLabel[role="link"] {{ font-size: {hp(26)}px; color: {fg("link")};
            background: {bg("link")}; border-radius: 8px; padding: 4px 12px; }}
        QPushButton[role="headerbtn"] {{ font-size: {hp(30)}px; color: {fg("header")};
            background: transparent; border: 2px solid {fg("header")}; border-radius: 12px;
            padding: 8px 18px; min-height: {hp(72)}px; }}
        QScrollBar:vertical {{ width: 28px; background: {p.bg}; }}
        QScrollBar::handle:vertical {{ background: {p.panel_border}; border-radius: 10px;
            min-height: 80px; }}
        QLabel[role="h1"] {{ font-size: {self.h1_px}px; font-weight: bold;
            color: {fg("page")}; }}
        QLabel[role="h2"] {{ font-size: {px(40)}px; font-weight: bold; color: {fg("h2")}; }}
        QLabel[role="body"] {{ font-size: {px(34)}px; color: {fg("page")}; }}
        QLabel[role="muted"] {{ font-size: {px(30)}px; color: {fg("muted")}; }}
        QLabel[role="label"] {{ font-size: {px(30)}px; color: {fg("muted")}; font-weight: bold; }}
        QLabel[role="value"] {{ font-size: {px(36)}px; color: {fg("page")}; }}
        QLabel[role="chip"] {{ font-size: {px(30)}px; color: {fg("chip")};
            background: {bg("chip")}; border-radius: 10px; padding: 6px 16px; }}
        QLabel[role="warn"] {{ font-size: {px(34)}px; color: {fg("warn")};
            background: {bg("warn")}; border: {border}px solid {fg("warn")};
            border-radius: 14px; padding: 16px 22px; }}
        QLabel[role="ok"] {{ font-size: {px(44)}px; font-weight: bold; color: {fg("ok")}; }}
        QLabel[role="number"] {{ font-size: {px(220) if self.portrait else 220}px;
            font-weight: bold; color: {fg("number")}; }}
        QLabel[role="notice"] {{ font-size: {px(30)}px; color: {fg("page")}; padding: 6px 0; }}
        QFrame[role="panel"] {{ background: {bg("page-panel")}; border: {border - 1}px solid
            {p.panel_border}; border-radius: 20px; }}
        QFrame[role="panel"] QLabel {{ border: none; }}
        QFrame[role="ticket"] {{ background: {bg("page-panel")}; border: {border}px dashed
            {p.tile_border}; border-radius: 20px; }}
        QPushButton[role="tile"] {{ background: {bg("tiletitle")}; border: {border}px solid
            {p.tile_border}; border-radius: 22px; min-height: {self.tile_height}px;
            text-align: left; }}
        QPushButton[role="tile"]:pressed {{ background: {bg("tiletitle-pressed")}; }}
        QLabel[role="tiletitle"] {{ font-size: {px(42)}px; font-weight: bold;
            color: {fg("tiletitle")}; }}
        QLabel[role="tilesub"] {{ font-size: {px(30)}px; color: {fg("tilesub")}; }}
        QLabel[role="tilecount"] {{ font-size: {px(32)}px; color: {fg("tilesub")};
            font-weight: bold; }}
        QPushButton[role="primary"] {{ background: {bg("primary")}; color: {fg("primary")};
            font-size: {px(76)}px; font-weight: bold; border: none; border-radius: 28px;
            min-height: {self.primary_height}px; }}
        QPushButton[role="primary"]:disabled {{ background: {bg("primary-disabled")};
            color: {fg("primary-disabled")}; }}
        QPushButton[role="secondary"] {{ background: {bg("secondary")};
            color: {fg("secondary")}; font-size: {px(38)}px; font-weight: bold;
            border: {border}px solid {fg("secondary")}; border-radius: 20px;
            min-height: {self.button_height}px; padding: 0 28px; }}
        QPushButton[role="secondary"]:checked {{ background: {bg("secondary-checked")};
            color: {fg("secondary-checked")}; }}
        QPushButton[role="bigtoggle"] {{ background: {bg("big-toggle")};
            color: {fg("big-toggle")}; font-size: {self.h1_px}px; font-weight: bold;
            border: {border + 1}px solid {fg("big-toggle")}; border-radius: 22px;
            padding: 6px 30px; }}
        QPushButton[role="key"] {{ background: {bg("key")}; color: {fg("key")};
            font-size: {px(52)}px; border: {border}px solid {p.panel_border};
            border-radius: 18px; min-height: {px(120 if self.portrait else 76)}px; }}
        QPushButton[role="footerbtn"] {{ background: {bg("secondary")};
            color: {fg("secondary")}; font-size: {hp(34)}px; font-weight: bold;
            border: {border}px solid {fg("secondary")}; border-radius: 16px;
            min-height: {hp(84)}px; padding: 0 34px; }}
        QLabel[role="hint"] {{ font-size: {hp(28)}px; color: {fg("muted")}; }}
        *[role="footer"] {{ background: {bg("page")}; border-top: 2px solid {p.panel_border}; }}
        """
