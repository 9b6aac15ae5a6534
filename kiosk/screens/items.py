"""The items of one category: one big tile per item."""

from __future__ import annotations

from hall.ui.qt import QGridLayout, QVBoxLayout, QWidget
from kiosk.catalog import promised_text
from kiosk.screens.base import Screen
from kiosk.screens.widgets import Tile, label, scroll_area, spacer


class ItemsScreen(Screen):
    name = "items"

    def build(self, layout: QVBoxLayout) -> None:
        ctx = self.ctx
        catalog, queue_id = ctx.catalog, ctx.session.category
        if catalog is None or queue_id is None:
            return
        cat = catalog.category(queue_id)
        layout.addWidget(label(cat.title(ctx.lang), "h1", name="category-title"))
        load = ctx.loads.get(queue_id)
        sub = self.t("choose_item")
        if load is not None:
            sub += "  ·  " + self.t("waiting_n", n=load.waiting)
        layout.addWidget(label(sub, "muted"))
        grid = QGridLayout()
        grid.setSpacing(18)
        cols = ctx.theme.columns("item")
        for n, item in enumerate(catalog.items_of(queue_id)):
            parts = [promised_text(item, ctx.lang)]
            if item.requires_id:
                parts.append(self.t("needs_id"))
            tile = Tile(item.title(ctx.lang), " · ".join(parts), name=f"item-{item.id}")
            tile.clicked.connect(lambda _c=False, i=item.id: ctx.open_item(i))
            grid.addWidget(tile, n // cols, n % cols)
        for c in range(cols):
            grid.setColumnStretch(c, 1)
        inner = QWidget()
        box = QVBoxLayout(inner)
        box.setContentsMargins(0, 0, 0, 0)
        box.addLayout(grid)
        box.addItem(spacer())
        scroll = scroll_area(inner)
        layout.addWidget(scroll, 1)
