"""What every screen is: a widget that rebuilds itself from the kiosk's state.

A screen never holds state of its own beyond its widgets: :meth:`Screen.refresh`
builds fresh content from the context (the window), :meth:`Screen.clear`
throws it away (so no personal data stays in a hidden label).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from hall.ui.qt import QVBoxLayout, QWidget
from kiosk.screens.widgets import scroll_area
from kiosk.texts import tr

if TYPE_CHECKING:
    from kiosk.catalog import Catalog, QueueLoad
    from kiosk.flow import StaffEntry
    from kiosk.session import Session
    from kiosk.settings import KioskSettings
    from kiosk.theme import Theme


class Context(Protocol):
    """What screens read from and call on (the :class:`~kiosk.app.KioskWindow`)."""

    theme: Theme
    settings: KioskSettings

    @property
    def lang(self) -> str: ...
    @property
    def catalog(self) -> Catalog | None: ...
    @property
    def loads(self) -> dict[str, QueueLoad]: ...
    @property
    def session(self) -> Session: ...
    @property
    def issuing(self) -> bool: ...
    @property
    def staff(self) -> StaffEntry: ...
    @property
    def staff_pin_set(self) -> bool: ...
    def now(self) -> datetime: ...
    def printer_usable(self) -> bool: ...
    def unprinted(self) -> list[Any]: ...
    def printer_state(self) -> str: ...
    def open_category(self, queue_id: str) -> None: ...
    def open_item(self, item_id: str) -> None: ...
    def take_ticket(self, item_id: str | None = None) -> None: ...
    def print_guide(self) -> None: ...
    def open_green_channel(self) -> None: ...
    def open_assisted(self) -> None: ...
    def identify_way(self, kind: str) -> None: ...
    def toggle_elderly(self) -> None: ...
    def connecting_s(self) -> float: ...
    @property
    def link_up(self) -> bool: ...
    def go_home(self) -> None: ...
    def go_back(self) -> None: ...
    def retry_print(self) -> None: ...
    def refusal_action(self, action: str) -> None: ...
    def confirm_staff(self, reason: str | None, pin: str) -> str | None: ...
    def reprint(self, ticket_id: str) -> None: ...
    def staff_choose(self, reason: str) -> None: ...
    def staff_key(self, key: str) -> None: ...


class Screen(QWidget):
    name = "screen"

    def __init__(self, ctx: Context) -> None:
        super().__init__()
        self.ctx = ctx
        self.setObjectName(f"screen-{self.name}")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        # Content that fits the screen fills it; content that does not (a long guide in
        # 大字模式) scrolls instead of being squeezed on top of itself.
        self._scroll = scroll_area(QWidget())
        outer.addWidget(self._scroll)
        self._content: QWidget | None = None

    def t(self, key: str, **values: Any) -> str:
        return tr(key, self.ctx.lang, **values)

    def refresh(self) -> None:
        content = QWidget()
        layout = QVBoxLayout(content)
        portrait = self.ctx.theme.portrait
        m, top = (36, 28) if portrait else (40, 20)  # landscape: the height is short
        layout.setContentsMargins(m, top, m, top)
        layout.setSpacing(22)
        self.build(layout)
        self._swap(content)

    def issuing_changed(self) -> None:
        """``ctx.issuing`` changed: a screen showing it updates itself (default: rebuilt)."""
        self.refresh()

    def clear(self) -> None:
        self._swap(QWidget())

    def _swap(self, content: QWidget) -> None:
        old = self._scroll.takeWidget()
        self._content = content
        self._scroll.setWidget(content)
        content.show()  # at once, not on the next event-loop pass
        if old is not None:
            old.hide()
            old.deleteLater()  # freed on the next pass of the event loop

    def build(self, layout: QVBoxLayout) -> None:
        raise NotImplementedError
