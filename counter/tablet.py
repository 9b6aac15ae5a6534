"""``TabletWindow``: the evaluator app in touch mode (平板评价, #14), for a 1280×800 tablet.

互动式确认、事项公开、服务质量评价: when the window finishes a case, the tablet
shows it (the item, the 办件编号, the ticket, the clerk with 工号, department and
photo from the catalogue's staff, the window) for the citizen to confirm (确认 /
有误), then the five levels as big buttons, after 不满意 / 非常不满意 the reasons
(the catalogue's ``haochaping.reasons``) and a phone for 回访 (masked), then an
optional comment (a field and preset phrases, at most 200 characters), then
thanks.  The rules (pages, time limits, what is recorded) are
:class:`counter.evaluator_flow.EvaluatorFlow` in ``mode="tablet"``; the store and
the delivery are the button evaluator's (:class:`counter.evaluator.EvaluatorWindow`,
which this extends): ratings go out with channel ``tablet``.

Every text and button here is white on a colour of at least 7:1 (or the deep blue
on amber, 9.7:1); the levels are told apart by hue and by their words.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from counter import fanout, paint, palette
from counter.evaluator import EvaluatorWindow
from counter.ratings_store import COMMENT_MAX
from counter.settings import CounterSettings
from counter.texts import RATING_ZH
from hall.core.clock import Clock
from hall.ui.qt import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    Qt,
    QtWidgets,
    QVBoxLayout,
    QWidget,
)
from hall.ui.qtlink import QtLink
from hall.ui.voice.announcer import Announcer
from sync import topics
from sync.mqtt import Message

# counter.palette's TABLET pairs (each checked at >= 7:1 in test_counter_contrast.py)
_T = palette.TABLET
TABLET_LEVEL_COLOURS = palette.LEVEL_COLOURS
OK_COLOUR = palette.OK_COLOUR
NEUTRAL_COLOUR = palette.NEUTRAL_COLOUR
PANEL_COLOUR = palette.PANEL

# The tablet's words (its own: counter/texts.py is the screens').
CONFIRM_TITLE = "请核对本次办理的事项"
CONFIRM_HINT = "信息无误请点“确认”，然后对本次服务进行评价"
CONFIRM_OK = "确认"
CONFIRM_WRONG = "有误"
LEVELS_TITLE = "请对本次服务进行评价"
REASONS_TITLE = "很抱歉！请告诉我们原因（可多选）"
COMMENT_TITLE = "您还有什么意见或建议？（可不填）"
COMMENT_HINT = "点下面的短语，或直接输入"
FIELDS = (
    ("item", "办理事项"),
    ("case_no", "办件编号"),
    ("code", "排队号码"),
    ("clerk", "经办人员"),
    ("department", "所属部门"),
    ("window", "办理窗口"),
)

TABLET_STYLE = f"""
QLabel#field {{ font-size: 30px; color: {_T["field"].text}; }}
QLabel#value {{ font-size: 36px; font-weight: bold; color: {_T["value"].text}; }}
QLabel#item {{ font-size: 46px; font-weight: bold; color: {_T["item"].text}; }}
QLabel#count {{ font-size: 28px; color: {_T["count"].text}; }}
QWidget#panel {{ background: {PANEL_COLOUR}; border-radius: 16px; }}
QWidget#panel QLabel {{ background: {PANEL_COLOUR}; }}
QPushButton#confirm, QPushButton#submit {{ background: {_T["confirm"].ground};
    color: {_T["confirm"].text}; font-size: 44px; font-weight: bold;
    border: 3px solid {palette.WHITE}; }}
QPushButton#wrong, QPushButton#skip {{ background: {_T["wrong"].ground};
    color: {_T["wrong"].text}; font-size: 40px; border: 3px solid {palette.EVAL_LIGHT_BORDER}; }}
QPushButton#phrase {{ font-size: 30px; }}
QLineEdit {{ font-size: 36px; color: {_T["comment"].text}; background: {_T["comment"].ground};
    border: 2px solid {palette.EVAL_BORDER};
    border-radius: 10px; padding: 12px; }}
"""


class TabletWindow(EvaluatorWindow):
    """The touch evaluator.  Signals as :class:`EvaluatorWindow`'s."""

    def __init__(
        self,
        qtlink: QtLink | None,
        window_id: str,
        db_path: str | Path,
        *,
        settings: CounterSettings | None = None,
        clock: Clock | None = None,
        voice: Announcer | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            qtlink,
            window_id,
            db_path,
            settings=settings,
            clock=clock,
            voice=voice,
            parent=parent,
            mode="tablet",
        )
        self.setWindowTitle(f"{window_id}号窗口 平板评价")
        if qtlink is not None:
            self._unsubscribe.append(
                fanout.subscribe(qtlink, topics.catalog(qtlink.hall_id), self._on_catalog_message)
            )

    # ------------------------------------------------------------------ building

    def _build(self) -> None:
        super()._build()  # idle, prompt (the levels), reasons, thanks
        self.setStyleSheet(self.styleSheet() + TABLET_STYLE)
        self._build_confirm()
        self._restyle_levels()
        self._build_comment()
        self.skip_button.setMinimumHeight(96)
        self.submit_button.setMinimumHeight(96)

    def _build_confirm(self) -> None:
        page = QWidget()
        lay = QVBoxLayout(page)
        lay.setContentsMargins(50, 30, 50, 30)
        lay.setSpacing(22)
        title = QLabel(CONFIRM_TITLE)
        title.setObjectName("big")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        lay.addWidget(title)
        panel = QWidget()
        panel.setObjectName("panel")
        panel.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        row = QHBoxLayout(panel)
        row.setContentsMargins(30, 24, 30, 24)
        row.setSpacing(36)
        self.confirm_photo = QLabel()
        self.confirm_photo.setFixedSize(240, 240)
        self.confirm_photo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        row.addWidget(self.confirm_photo, 0, Qt.AlignmentFlag.AlignTop)
        grid = QGridLayout()
        grid.setHorizontalSpacing(24)
        grid.setVerticalSpacing(10)
        self.confirm_values: dict[str, QLabel] = {}
        for i, (key, label) in enumerate(FIELDS):
            name = QLabel(label)
            name.setObjectName("field")
            value = QLabel("")
            value.setObjectName("item" if key == "item" else "value")
            value.setWordWrap(True)
            grid.addWidget(name, i, 0, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(value, i, 1)
            self.confirm_values[key] = value
        grid.setColumnStretch(1, 1)
        row.addLayout(grid, 1)
        lay.addWidget(panel, 1)
        hint = QLabel(CONFIRM_HINT)
        hint.setObjectName("muted")
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        lay.addWidget(hint)
        buttons = QHBoxLayout()
        buttons.setSpacing(30)
        self.wrong_button = QPushButton(CONFIRM_WRONG)
        self.wrong_button.setObjectName("wrong")
        self.wrong_button.setMinimumHeight(110)
        self.wrong_button.clicked.connect(self.wrong)
        self.confirm_button = QPushButton(CONFIRM_OK)
        self.confirm_button.setObjectName("confirm")
        self.confirm_button.setMinimumHeight(110)
        self.confirm_button.clicked.connect(self.confirm)
        buttons.addWidget(self.wrong_button, 1)
        buttons.addWidget(self.confirm_button, 2)
        lay.addLayout(buttons)
        self._add_page("confirm", page)

    def _restyle_levels(self) -> None:
        self.prompt_title.setText(LEVELS_TITLE)
        for level, b in self.level_buttons.items():
            b.setText(RATING_ZH[level])
            b.setMinimumHeight(380)
            b.setStyleSheet(
                f"QPushButton {{ background: {_T[f'level {level}'].ground}; "
                f"color: {_T[f'level {level}'].text}; font-size: 38px; font-weight: bold; "
                f"border: 3px solid {palette.WHITE}; "
                "border-radius: 18px; }"
            )

    def _build_comment(self) -> None:
        page = QWidget()
        lay = QVBoxLayout(page)
        lay.setContentsMargins(50, 30, 50, 30)
        lay.setSpacing(20)
        title = QLabel(COMMENT_TITLE)
        title.setStyleSheet("font-size: 48px; font-weight: bold;")
        lay.addWidget(title)
        hint = QLabel(COMMENT_HINT)
        hint.setObjectName("muted")
        lay.addWidget(hint)
        self.comment_field = QtWidgets.QLineEdit()
        self.comment_field.setMaxLength(COMMENT_MAX)
        self.comment_field.setMinimumHeight(90)
        self.comment_field.setPlaceholderText("请输入（最多200字）")
        self.comment_field.textEdited.connect(self._on_comment_typed)
        lay.addWidget(self.comment_field)
        self.comment_count = QLabel("")
        self.comment_count.setObjectName("count")
        self.comment_count.setAlignment(Qt.AlignmentFlag.AlignRight)
        lay.addWidget(self.comment_count)
        self.phrase_grid = QGridLayout()
        self.phrase_grid.setSpacing(14)
        self.phrase_buttons: list[QPushButton] = []
        lay.addLayout(self.phrase_grid)
        lay.addStretch(1)
        buttons = QHBoxLayout()
        buttons.setSpacing(30)
        self.comment_skip = QPushButton("跳过")
        self.comment_skip.setObjectName("skip")
        self.comment_skip.setMinimumHeight(96)
        self.comment_skip.clicked.connect(self.skip_comment)
        self.comment_submit = QPushButton("提交")
        self.comment_submit.setObjectName("submit")
        self.comment_submit.setMinimumHeight(96)
        self.comment_submit.clicked.connect(self.submit_comment)
        buttons.addWidget(self.comment_skip, 1)
        buttons.addWidget(self.comment_submit, 2)
        lay.addLayout(buttons)
        self._add_page("comment", page)

    def _fill_buttons(
        self,
        grid: QGridLayout,
        old: list[QPushButton],
        texts: tuple[str, ...],
        *,
        columns: int,
        make: Callable[[str], QPushButton],
    ) -> list[QPushButton]:
        """Replace a grid's buttons (the catalogue's reasons, the level's phrases)."""
        for b in old:
            grid.removeWidget(b)
            b.hide()
            b.deleteLater()
        made = []
        for i, text in enumerate(texts):
            b = make(text)
            grid.addWidget(b, i // columns, i % columns)
            made.append(b)
        return made

    def _reason_button(self, text: str) -> QPushButton:
        b = QPushButton(text)
        b.setCheckable(True)
        b.setMinimumHeight(84)
        b.toggled.connect(lambda on, t=text: self.flow.choose_reason(t, on))
        return b

    def _phrase_button(self, text: str) -> QPushButton:
        b = QPushButton(text)
        b.setObjectName("phrase")
        b.setCheckable(True)  # amber once it is in the comment
        b.setMinimumHeight(80)
        b.clicked.connect(lambda _c=False, t=text: self.add_phrase(t))
        return b

    # ------------------------------------------------------------------ drawing

    def _on_page(self, page: str) -> None:
        if page == "reasons":
            if tuple(b.text() for b in self.reason_buttons) != self.flow.reasons:
                self.reason_buttons = self._fill_buttons(
                    self.reasons_grid,
                    self.reason_buttons,
                    self.flow.reasons,
                    columns=2,
                    make=self._reason_button,
                )
        elif page == "comment":
            self.comment_field.setText(self.flow.comment_text)
            self.phrase_buttons = self._fill_buttons(
                self.phrase_grid,
                self.phrase_buttons,
                self.flow.phrases,
                columns=3,
                make=self._phrase_button,
            )
        super()._on_page(page)
        if page == "comment":
            self.comment_field.setFocus()

    def _draw(self) -> None:
        f = self.flow
        if f.page == "confirm":
            view = f.confirm_view()
            clerk = "  ".join(part for part in (view.clerk_name, view.staff_text) if part)
            values = {
                "item": view.item_name or "—",
                "case_no": view.case_no or "—",
                "code": f"{view.code} 号" if view.code else "—",
                "clerk": clerk or "—",
                "department": view.department or "—",
                "window": view.window,
            }
            for key, label in self.confirm_values.items():
                label.setText(values[key])
            self.confirm_photo.setPixmap(
                paint.photo(
                    view.photo, view.clerk_name or "评", 230, self.settings.display.photo_dir
                )
            )
        elif f.page == "comment":
            self.comment_count.setText(f"{len(self.comment_field.text())}/{COMMENT_MAX}")
            for b in self.phrase_buttons:
                b.setChecked(b.text() in f.comment_text)
        else:
            super()._draw()

    # ------------------------------------------------------------------ catalogue, taps

    def _on_catalog_message(self, message: Message) -> None:
        if isinstance(message.payload, dict) and not self.closed:
            self.apply_catalog(message.payload)

    def apply_catalog(self, catalog: Mapping[str, Any]) -> None:
        self.flow.apply_catalog(catalog)
        if self.flow.page == "confirm":
            self._draw()  # the clerk's photo and department may have come with it

    def confirm(self) -> None:
        self.flow.confirm()

    def wrong(self) -> None:
        self.flow.wrong()

    def _on_comment_typed(self, text: str) -> None:
        self.flow.set_comment(text)
        self._arm_timer()  # still typing: keep the page
        self._draw()

    def add_phrase(self, phrase: str) -> None:
        self.flow.add_phrase(phrase)
        self.comment_field.setText(self.flow.comment_text)
        self._arm_timer()
        self._draw()

    def submit_comment(self) -> None:
        self.flow.set_comment(self.comment_field.text())
        self.flow.submit_comment()

    def skip_comment(self) -> None:
        self.flow.skip_comment()
