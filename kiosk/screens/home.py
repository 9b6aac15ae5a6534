"""The first screen (idle): common items, all categories with live waiting counts,
how to identify, and the hall's notices (政务公开).

Portrait stacks them (tiles in grids); landscape puts them in three columns.
"""

from __future__ import annotations

from drivers.printer.ticket import text_width
from hall.ui.qt import QGridLayout, QHBoxLayout, Qt, QVBoxLayout, QWidget
from kiosk.catalog import QueueLoad
from kiosk.flow import CONNECT_PATIENCE_S
from kiosk.screens.base import Screen
from kiosk.screens.widgets import CardIcon, Tile, button, label, panel, spacer
from kiosk.texts import PRIORITY_KEYS


class HomeScreen(Screen):
    name = "home"

    def __init__(self, ctx):  # type: ignore[no-untyped-def]
        super().__init__(ctx)
        self.count_tiles: dict[str, list[Tile]] = {}  # queue id -> tiles showing its count

    def count_text(self, queue_id: str, sep: str = " · ") -> str:
        load = self.ctx.loads.get(queue_id, QueueLoad())
        text = self.t("waiting_n", n=load.waiting)
        if load.est_wait_min:
            text += sep + self.t("est_min", m=load.est_wait_min)
        return text

    def _sep(self) -> str:
        # narrow category tiles (portrait grid) put the estimate on its own line
        return "\n" if self.ctx.theme.portrait else " · "

    def _category_count(self, queue_id: str) -> str:
        if self.ctx.theme.elderly and self.ctx.theme.portrait:
            # 大字模式 portrait: the count alone, so the first screen holds everything
            load = self.ctx.loads.get(queue_id, QueueLoad())
            return self.t("waiting_n", n=load.waiting)
        return self.count_text(queue_id, self._sep())

    def update_loads(self) -> None:
        """Live counts changed: update the labels in place (no rebuild under a finger)."""
        for queue_id, tiles in self.count_tiles.items():
            for tile in tiles:
                category = tile.objectName().startswith("category-")
                tile.set_count(
                    self._category_count(queue_id) if category else self.count_text(queue_id)
                )

    def build(self, layout: QVBoxLayout) -> None:
        self.count_tiles = {}
        ctx, theme = self.ctx, self.ctx.theme
        catalog = ctx.catalog
        portrait = theme.portrait
        if catalog is None:
            self._connecting(layout)
            return
        # the title and 大字模式, as large as the title: a row on top, or (大字模式 in
        # landscape, where the height is short) the top of the right column
        in_side = theme.elderly and not portrait
        top = QVBoxLayout() if in_side else QHBoxLayout()
        top.setSpacing(18 if in_side else 24)
        welcome = self.t("welcome_short" if theme.elderly else "welcome")
        top.addWidget(label(welcome, "h1", name="welcome"), 0 if in_side else 1)
        top.addWidget(
            button(
                self.t("elderly_off" if theme.elderly else "elderly_on"),
                "bigtoggle",
                ctx.toggle_elderly,
                name="elderly-big",
            ),
            0,
            Qt.AlignmentFlag.AlignLeft if in_side else Qt.AlignmentFlag.AlignRight,
        )
        if not in_side:
            layout.addLayout(top)
        self._identity_banner(layout)
        if not catalog.issuing:
            key = {
                "after_close": "closed_today",
                "before_open": "before_open_banner",
                "closing_soon": "closing_banner",
                "lunch_break": "lunch_banner",
            }.get(catalog.closed_reason(ctx.now()), "not_issuing")
            layout.addWidget(
                label(self.t(key, hours=catalog.hours_text(ctx.lang)), "warn", name="not-issuing")
            )
        elif catalog.calls_from:  # the midday break: tickets now, called from then
            layout.addWidget(
                label(self.t("lunch_issuing_banner", t=catalog.calls_from), "warn", name="lunch")
            )

        # common items ------------------------------------------------------------
        common_box = QVBoxLayout()
        common_box.setSpacing(18)
        limit = (2 if theme.elderly else 4) if portrait else 3
        common = catalog.common_items(ctx.settings.common_items, limit=limit)
        if common:
            common_box.addWidget(label(self.t("common_items"), "h2"))
            cols = theme.columns("common") if portrait else 1
            grid = _grid(cols, 18 if portrait else 12)
            for n, item in enumerate(common):
                cat = catalog.category(item.queue)
                sub = "" if theme.elderly else cat.title(ctx.lang)
                tile = Tile(
                    item.title(ctx.lang), sub, self.count_text(item.queue), name=f"common-{item.id}"
                )
                tile.clicked.connect(lambda _c=False, i=item.id: ctx.open_item(i))
                self.count_tiles.setdefault(item.queue, []).append(tile)
                grid.addWidget(tile, n // cols, n % cols)
            common_box.addLayout(grid)

        # categories ----------------------------------------------------------------
        cat_box = QVBoxLayout()
        cat_box.setSpacing(18)
        cat_box.addWidget(label(self.t("all_categories"), "h2"))
        cols = theme.columns("category") if portrait else 1
        grid = _grid(cols, 18 if portrait else 12)
        for n, cat in enumerate(catalog.categories):
            tile = Tile(
                cat.title(ctx.lang),
                "",
                self._category_count(cat.id),
                name=f"category-{cat.id}",
            )
            tile.clicked.connect(lambda _c=False, q=cat.id: ctx.open_category(q))
            self.count_tiles.setdefault(cat.id, []).append(tile)
            grid.addWidget(tile, n // cols, n % cols)
        cat_box.addLayout(grid)

        # how to identify, notices ---------------------------------------------------------
        side = QVBoxLayout()
        side.setSpacing(18)
        if in_side:
            side.addLayout(top)
        hint, hint_layout = panel()
        icons = QHBoxLayout()
        for kind in ("idcard", "citizencard", "qr"):
            icons.addWidget(CardIcon(kind, theme.palette.accent, theme.px(64 if portrait else 44)))
        icons.addItem(spacer(vertical=False))
        hint_layout.addLayout(icons)
        hint_layout.addWidget(label(self.t("id_hint"), "body"))
        side.addWidget(hint)
        if catalog.notices:
            notices, notices_layout = panel()
            notices_layout.addWidget(label(self.t("notices"), "h2"))
            for notice in fitting_notices(catalog.notice_list(ctx.lang), theme.elderly):
                notices_layout.addWidget(label("· " + notice, "notice"))
            side.addWidget(notices)

        if portrait:
            layout.addLayout(common_box)
            layout.addLayout(cat_box)
            layout.addItem(spacer())
            layout.addLayout(side)
            return
        row = QHBoxLayout()
        row.setSpacing(30)
        for box, stretch in ((common_box, 1), (cat_box, 1), (side, 1)):
            box.setContentsMargins(0, 0, 0, 0)
            box.addItem(spacer())
            column = QWidget()
            column.setLayout(box)
            row.addWidget(column, stretch)
        layout.addLayout(row, 1)

    def _connecting(self, layout: QVBoxLayout) -> None:
        """No catalogue yet: say what is happening, and for how long, instead of a choice."""
        ctx = self.ctx
        layout.addItem(spacer())
        box, b = panel()
        b.setSpacing(20)
        b.addWidget(label(self.t("connecting"), "h1", center=True, name="connecting"))
        seconds = int(ctx.connecting_s())
        if ctx.link_up:
            key = "connecting_state"  # connected: the catalogue is on its way
        else:
            key = "connecting_link" if seconds < CONNECT_PATIENCE_S else "connecting_down"
        b.addWidget(label(self.t(key, s=seconds), "body", center=True, name="connecting-state"))
        layout.addWidget(box)
        layout.addItem(spacer())

    def _identity_banner(self, layout: QVBoxLayout) -> None:
        s = self.ctx.session
        if s.identity is None:
            return
        row = QHBoxLayout()
        name = s.identity.masked_name
        text = self.t("greeting", name=name) if name else self.t("greeting_anon")
        row.addWidget(label(text, "chip", wrap=False, name="identity"))
        reason = s.staff_reason or (
            "elderly" if s.identity.elderly(self.ctx.settings.elderly_age) else None
        )
        if reason:
            row.addWidget(label(self.t(PRIORITY_KEYS[reason]), "chip", wrap=False, name="green"))
        row.addItem(spacer(vertical=False))
        layout.addLayout(row)


def _grid(cols: int, spacing: int) -> QGridLayout:
    grid = QGridLayout()
    grid.setSpacing(spacing)  # landscape: tighter, its height is short
    for c in range(cols):
        grid.setColumnStretch(c, 1)
    return grid


#: How much notice text the first screen holds, in printer columns (a Chinese character
#: is two, a letter one): the demo hall's four notices in Chinese, three in English.
NOTICE_BUDGET = 220


def fitting_notices(notices: tuple[str, ...], elderly: bool) -> tuple[str, ...]:
    """The notices shown on the first screen: in order while they fit the budget (at
    least the first; one in 大字模式), so that none is cut or pushes the screen into a
    scroll bar in either language."""
    if elderly:
        return notices[:1]
    shown: list[str] = []
    used = 0
    for notice in notices:
        used += text_width(notice)
        if shown and used > NOTICE_BUDGET:
            break
        shown.append(notice)
    return tuple(shown)
