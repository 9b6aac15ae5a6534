"""Looks of the kiosk: normal and elderly (大字模式) themes, portrait and landscape.

Pure data and one style-sheet builder; widgets carry a ``role`` property
(``h1``, ``tile``, ``primary`` ...) that the sheet styles.  The elderly theme
is larger (x1.35 text, taller targets) and high contrast (white and yellow on
black), as in the hall's accessibility guidance.
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


NORMAL = Palette(
    bg="#EEF3F8", fg="#10233A", muted="#40546B",
    header_bg="#0B4F9C", header_fg="#FFFFFF",
    panel_bg="#FFFFFF", panel_border="#C9D6E4",
    tile_bg="#FFFFFF", tile_fg="#10233A", tile_border="#0B4F9C",
    accent="#0B4F9C",
    primary_bg="#C62828", primary_fg="#FFFFFF",
    secondary_bg="#FFFFFF", secondary_fg="#0B4F9C",
    warn_bg="#FFF1E6", warn_fg="#A23000", ok_fg="#1B6E2A",
    chip_bg="#E3EDF9", chip_fg="#0B3F7C",
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
)  # fmt: skip


@dataclass(frozen=True)
class Theme:
    elderly: bool = False
    portrait: bool = True

    @property
    def palette(self) -> Palette:
        return HIGH_CONTRAST if self.elderly else NORMAL

    @property
    def scale(self) -> float:
        return 1.35 if self.elderly else 1.0

    def px(self, size: float) -> int:
        return round(size * self.scale)

    def header_px(self, size: float) -> int:
        """The header bar grows less: it must hold the hall name, clock and two buttons."""
        return round(size * (1.12 if self.elderly else 1.0))

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
        return self.px(190)

    def stylesheet(self) -> str:
        p = self.palette
        px, hp = self.px, self.header_px
        border = 4 if self.elderly else 3
        return f"""
        QWidget#kiosk {{ background: {p.bg}; }}
        QWidget {{ font-family: "{FONT_FAMILY}"; color: {p.fg}; }}
        QLabel {{ background: transparent; }}
        QScrollArea, QScrollArea > QWidget > QWidget {{ background: transparent; border: none; }}
        *[role="header"] {{ background: {p.header_bg}; }}
        *[role="header"] QLabel {{ color: {p.header_fg}; }}
        QLabel[role="hall"] {{ font-size: {hp(38)}px; font-weight: bold; }}
        QLabel[role="clock"] {{ font-size: {hp(34)}px; }}
        QLabel[role="link"] {{ font-size: {hp(26)}px; color: {p.warn_fg};
            background: {p.warn_bg}; border-radius: 8px; padding: 4px 12px; }}
        QPushButton[role="headerbtn"] {{ font-size: {hp(30)}px; color: {p.header_fg};
            background: transparent; border: 2px solid {p.header_fg}; border-radius: 12px;
            padding: 8px 18px; min-height: {hp(72)}px; }}
        QScrollBar:vertical {{ width: 28px; background: {p.bg}; }}
        QScrollBar::handle:vertical {{ background: {p.panel_border}; border-radius: 10px;
            min-height: 80px; }}
        QLabel[role="h1"] {{ font-size: {px(56)}px; font-weight: bold; color: {p.fg}; }}
        QLabel[role="h2"] {{ font-size: {px(40)}px; font-weight: bold; color: {p.accent}; }}
        QLabel[role="body"] {{ font-size: {px(34)}px; color: {p.fg}; }}
        QLabel[role="muted"] {{ font-size: {px(30)}px; color: {p.muted}; }}
        QLabel[role="label"] {{ font-size: {px(30)}px; color: {p.muted}; font-weight: bold; }}
        QLabel[role="value"] {{ font-size: {px(36)}px; color: {p.fg}; }}
        QLabel[role="chip"] {{ font-size: {px(30)}px; color: {p.chip_fg}; background: {p.chip_bg};
            border-radius: 10px; padding: 6px 16px; }}
        QLabel[role="warn"] {{ font-size: {px(34)}px; color: {p.warn_fg}; background: {p.warn_bg};
            border: {border}px solid {p.warn_fg}; border-radius: 14px; padding: 16px 22px; }}
        QLabel[role="ok"] {{ font-size: {px(44)}px; font-weight: bold; color: {p.ok_fg}; }}
        QLabel[role="number"] {{ font-size: {px(220) if self.portrait else 220}px;
            font-weight: bold; color: {p.accent}; }}
        QLabel[role="notice"] {{ font-size: {px(30)}px; color: {p.fg}; padding: 6px 0; }}
        QFrame[role="panel"] {{ background: {p.panel_bg}; border: {border - 1}px solid
            {p.panel_border}; border-radius: 20px; }}
        QFrame[role="panel"] QLabel {{ border: none; }}
        QFrame[role="ticket"] {{ background: {p.panel_bg}; border: {border}px dashed
            {p.tile_border}; border-radius: 20px; }}
        QPushButton[role="tile"] {{ background: {p.tile_bg}; border: {border}px solid
            {p.tile_border}; border-radius: 22px; min-height: {self.tile_height}px;
            text-align: left; }}
        QPushButton[role="tile"]:pressed {{ background: {p.chip_bg}; }}
        QLabel[role="tiletitle"] {{ font-size: {px(42)}px; font-weight: bold; color: {p.tile_fg}; }}
        QLabel[role="tilesub"] {{ font-size: {px(30)}px; color: {p.accent}; }}
        QLabel[role="tilecount"] {{ font-size: {px(32)}px; color: {p.accent}; font-weight: bold; }}
        QPushButton[role="primary"] {{ background: {p.primary_bg}; color: {p.primary_fg};
            font-size: {px(76)}px; font-weight: bold; border: none; border-radius: 28px;
            min-height: {self.primary_height}px; }}
        QPushButton[role="primary"]:disabled {{ background: {p.muted}; }}
        QPushButton[role="secondary"] {{ background: {p.secondary_bg}; color: {p.secondary_fg};
            font-size: {px(38)}px; font-weight: bold; border: {border}px solid
            {p.secondary_fg}; border-radius: 20px; min-height: {self.button_height}px;
            padding: 0 28px; }}
        QPushButton[role="secondary"]:checked {{ background: {p.secondary_fg};
            color: {p.secondary_bg}; }}
        QPushButton[role="key"] {{ background: {p.secondary_bg}; color: {p.fg};
            font-size: {px(52)}px; border: {border}px solid {p.panel_border};
            border-radius: 18px; min-height: {px(120 if self.portrait else 76)}px; }}
        QPushButton[role="footerbtn"] {{ background: {p.secondary_bg}; color: {p.secondary_fg};
            font-size: {hp(34)}px; font-weight: bold; border: {border}px solid
            {p.secondary_fg}; border-radius: 16px; min-height: {hp(84)}px; padding: 0 34px; }}
        QLabel[role="hint"] {{ font-size: {hp(28)}px; color: {p.muted}; }}
        *[role="footer"] {{ background: {p.bg}; border-top: 2px solid {p.panel_border}; }}
        """
