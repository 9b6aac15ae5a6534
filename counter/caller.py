"""``CallerWindow``: the clerk's caller (叫号器) on the window PC, with its keypad.

The clerk logs in with the 工号 and a PIN (on screen, or on the keypad: the login
key, the 工号 in digits, Enter, the PIN, Enter; the engine checks the PIN), calls the
next citizen, recalls,
starts, finishes, marks a no-show (过号), transfers (to a queue or a window;
the citizen keeps their place), pauses with a reason and resumes, sets the
去向牌, and sees who waits.  The keypad (evdev, key map from the settings)
sends the same commands.

The current ticket shows what the clerk needs before a word is said: its item(s),
绿色通道 with its reason or 预约, the minutes waited and where it was transferred
from.  A ticket covers one or more cases (一事一评): the clerk picks the item (the
ticket's by default), types or scans the 办件编号 (a keyboard-wedge scanner types into
the focused field; one read by evdev, :meth:`CallerWindow.scanner_from`, fills it
too) and presses 办结本件; each finished case is listed.  办结 finishes the ticket.

Every command is a request to the queue engine through ``QtLink`` (the UI never
waits for the network) and ends in a visible confirmation or the engine's Chinese
error message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from evdev import InputEvent

from counter import fanout, palette
from counter.caller_flow import (
    STAFF_NO_MAX,
    CallerFlow,
    CaseInputError,
    CurrentTicket,
    KeypadLogin,
    allowed_buttons,
    clean_case_no,
    current_ticket,
    default_item,
    error_text,
    finish_args,
    finish_case_args,
    item_choices,
    names_of,
)
from counter.keys import KeyBridge, key_hint
from counter.settings import STAFF_STATUSES, CounterSettings
from counter.texts import WindowSide, window_model
from drivers.keys import KeyDevice, Opener, WedgeAssembler, open_input_device
from hall.core.clock import Clock, SystemClock
from hall.ui.qt import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    Qt,
    QTimer,
    QtWidgets,
    QVBoxLayout,
    QWidget,
    Signal,
)
from hall.ui.qtlink import LINK_DOWN_ZH, QtLink
from sync import topics
from sync.mqtt import Message

log = logging.getLogger(__name__)

_C = palette.CALLER
STYLE = f"""
QWidget {{ font-family: "WenQuanYi Micro Hei"; font-size: 20px; color: {_C["text"].text}; }}
CallerWindow {{ background: {_C["text"].ground}; }}
QLabel#title {{ font-size: 28px; font-weight: bold; color: {_C["title"].text}; }}
QLabel#link[up="true"] {{ color: {_C["link up"].text}; font-weight: bold; }}
QLabel#link[up="false"] {{ color: {_C["link down"].text}; font-weight: bold; }}
QLabel#clerk {{ font-size: 22px; }}
QLabel#current {{ font-size: 72px; font-weight: bold; color: {_C["current number"].text}; }}
QLabel#currentInfo {{ font-size: 22px; color: {_C["current info"].text}; }}
QLabel#flag {{ font-size: 22px; font-weight: bold; padding: 4px 10px; border-radius: 6px; }}
QLabel#flag[kind="green"] {{ background: {_C["flag green"].ground};
                            color: {_C["flag green"].text}; }}
QLabel#flag[kind="appointment"] {{ background: {_C["flag appointment"].ground};
                                  color: {_C["flag appointment"].text}; }}
QLabel#flag[kind="normal"] {{ background: transparent; }}
QLabel#ticketInfo {{ font-size: 20px; color: {_C["ticket info"].text};
                    background: {_C["ticket info"].ground}; padding: 6px 8px; border-radius: 6px; }}
QListWidget#cases {{ font-size: 18px; }}
QPushButton#finish_case {{ font-weight: bold; color: {_C["finish case"].text};
                          border: 2px solid {_C["finish case"].text}; }}
QLabel#message {{ font-size: 22px; padding: 10px; border-radius: 6px; }}
QLabel#message[kind="ok"] {{ background: {_C["message ok"].ground};
                            color: {_C["message ok"].text}; }}
QLabel#message[kind="error"] {{ background: {_C["message error"].ground};
                               color: {_C["message error"].text}; }}
QLabel#message[kind="info"] {{ background: {_C["message info"].ground};
                              color: {_C["message info"].text}; }}
QPushButton {{ font-size: 22px; padding: 10px; min-height: 44px; border-radius: 6px;
              color: {_C["button"].text}; background: {_C["button"].ground};
              border: 1px solid {palette.CALLER_BORDER}; }}
QPushButton:disabled {{ color: {palette.CALLER_DISABLED.text};
                       background: {palette.CALLER_DISABLED.ground}; }}
QPushButton#primary {{ background: {_C["primary"].ground}; color: {_C["primary"].text};
                      font-weight: bold; font-size: 26px; min-height: 64px; border: none; }}
QPushButton#primary:disabled {{ color: {palette.CALLER_DISABLED.text};
                               background: {palette.CALLER_DISABLED.ground};
                               border: 1px solid {palette.CALLER_BORDER}; }}
QLineEdit, QComboBox {{ font-size: 22px; padding: 6px; min-height: 40px;
                       color: {_C["field"].text}; background: {_C["field"].ground}; }}
QListWidget {{ font-size: 26px; color: {_C["field"].text}; background: {_C["field"].ground}; }}
QGroupBox {{ font-weight: bold; margin-top: 14px; border: 1px solid {palette.CALLER_GROUP_BORDER};
            border-radius: 6px; padding: 8px; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 10px; padding: 0 4px; }}
"""


class CallerWindow(WindowSide, QWidget):
    """Signals: ``command_done(cmd, ok, result_or_error)``, ``state_applied(state)``."""

    command_done = Signal(str, bool, object)
    state_applied = Signal(object)
    scanned = Signal(str)  # a code from the barcode scanner read by evdev (any thread)

    def __init__(
        self,
        qtlink: QtLink,
        window_id: str,
        *,
        settings: CounterSettings | None = None,
        clock: Clock | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._attach(qtlink, window_id, settings)
        self.catalog: dict[str, Any] = {}
        self._names = names_of(self.catalog)
        self.clock = clock or SystemClock()
        self.ticket: CurrentTicket | None = None
        self.scanner: KeyDevice | None = None
        self.message = ""
        self.message_kind = ""
        self._in_flight: set[str] = set()
        self._last_clerk = ""
        self._shown_staff_status = ""  # the 去向 the chooser was last set to from a state
        self._unsubscribe: list[Callable[[], None]] = []
        self.keys = KeyBridge(self.settings.caller_keys, self)
        self.flow = CallerFlow(
            clock=self.clock, show=self._show, login=self.login, typing=self.keys.typing
        )
        self._entry_timer = QTimer(self)
        self._entry_timer.setSingleShot(True)
        self._entry_timer.timeout.connect(self._entry_tick)
        self.keys.pressed.connect(self._on_key)
        self.keys.status.connect(self._on_key_status)
        self.scanned.connect(self.case_scanned)
        self._build()
        self.setWindowTitle(f"{window_id}号窗口 叫号器")
        hall = qtlink.hall_id
        self._topic = topics.command(hall, qtlink.device_id)
        self._unsubscribe = [
            fanout.subscribe(qtlink, topics.window_state(hall, window_id), self._on_state_message),
            fanout.subscribe(qtlink, topics.catalog(hall), self._on_catalog_message),
        ]
        qtlink.connection_changed.connect(self._on_connection)
        self._on_connection(qtlink.link.connected.is_set())

    # ------------------------------------------------------------------ building

    def _button(self, text: str, action: str, slot: Callable[[], None]) -> QPushButton:
        hint = key_hint(self.settings.caller_keys, action)
        button = QPushButton(f"{text}  [{hint}]" if hint else text)
        button.setObjectName(action)
        button.clicked.connect(slot)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        return button

    def _build(self) -> None:
        """Two columns on a landscape screen (a clerk's PC: 1024×768 and up), one on a
        narrow or portrait window: commands and messages left, lists and choices right."""
        self.setStyleSheet(STYLE)
        self.columns = QtWidgets.QBoxLayout(QtWidgets.QBoxLayout.Direction.LeftToRight, self)
        self.columns.setContentsMargins(14, 10, 14, 10)
        self.columns.setSpacing(16)
        left, right = QVBoxLayout(), QVBoxLayout()
        left.setSpacing(8)
        right.setSpacing(8)
        self.columns.addLayout(left, 1)
        self.columns.addLayout(right, 1)

        head = QHBoxLayout()
        self.title = QLabel(f"{self.window_id}号窗口 叫号器")
        self.title.setObjectName("title")
        self.link_label = QLabel("")
        self.link_label.setObjectName("link")
        head.addWidget(self.title, 1)
        head.addWidget(self.link_label)
        left.addLayout(head)

        login = QHBoxLayout()
        self.staff_input = QtWidgets.QLineEdit()
        self.staff_input.setPlaceholderText("工号")
        self.staff_input.setMaxLength(STAFF_NO_MAX)
        self.pin_input = QtWidgets.QLineEdit()
        self.pin_input.setObjectName("pin")
        self.pin_input.setPlaceholderText("密码")
        self.pin_input.setMaxLength(8)
        self.pin_input.setEchoMode(QtWidgets.QLineEdit.EchoMode.Password)
        self.pin_input.setInputMethodHints(
            Qt.InputMethodHint.ImhDigitsOnly | Qt.InputMethodHint.ImhSensitiveData
        )
        self.staff_input.returnPressed.connect(self.pin_input.setFocus)
        self.pin_input.returnPressed.connect(lambda: self.login())
        self.login_button = self._button("登录", "login", lambda: self.login())
        self.logout_button = self._button("退出", "logout", self.logout)
        login.addWidget(self.staff_input, 1)
        login.addWidget(self.pin_input, 1)
        login.addWidget(self.login_button)
        login.addWidget(self.logout_button)
        left.addLayout(login)

        self.clerk_label = QLabel("未登录")
        self.clerk_label.setObjectName("clerk")
        self.clerk_label.setWordWrap(True)
        left.addWidget(self.clerk_label)

        current = QHBoxLayout()
        self.current_label = QLabel("—")
        self.current_label.setObjectName("current")
        beside = QVBoxLayout()
        self.flag_label = QLabel("")
        self.flag_label.setObjectName("flag")
        self.current_info = QLabel("")
        self.current_info.setObjectName("currentInfo")
        self.current_info.setWordWrap(True)
        flag_row = QHBoxLayout()
        flag_row.addWidget(self.flag_label)
        flag_row.addStretch(1)
        beside.addLayout(flag_row)
        beside.addWidget(self.current_info)
        current.addWidget(self.current_label)
        current.addLayout(beside, 1)
        left.addLayout(current)
        self.ticket_info = QLabel("")
        self.ticket_info.setObjectName("ticketInfo")
        self.ticket_info.setWordWrap(True)
        self.ticket_info.setTextFormat(Qt.TextFormat.PlainText)
        left.addWidget(self.ticket_info)

        self.call_button = self._button("呼叫下一位", "call_next", self.call_next)
        self.call_button.setObjectName("primary")
        left.addWidget(self.call_button)
        grid = QGridLayout()
        grid.setSpacing(8)
        self.recall_button = self._button("重呼", "recall", self.recall)
        self.start_button = self._button("开始办理", "start", self.start)
        self.finish_button = self._button("办结", "finish", self.finish)
        self.no_show_button = self._button("过号", "no_show", self.no_show)
        self.resume_button = self._button("恢复服务", "resume", self.resume)
        for i, b in enumerate(
            (self.recall_button, self.start_button, self.finish_button, self.no_show_button)
        ):
            grid.addWidget(b, i // 2, i % 2)
        left.addLayout(grid)
        self.message_label = QLabel("")
        self.message_label.setObjectName("message")
        self.message_label.setWordWrap(True)
        self.message_label.setMinimumHeight(56)
        left.addWidget(self.message_label)
        self.case_list = QtWidgets.QListWidget()
        self.case_list.setObjectName("cases")
        self.case_list.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.case_list.setMinimumHeight(60)
        self.case_list.setWordWrap(True)
        left.addWidget(self.case_list, 1)

        case = QtWidgets.QGroupBox("办件（一事一评：每件办结后请群众评价）")
        case_rows = QVBoxLayout(case)
        row = QHBoxLayout()
        row.addWidget(QLabel("事项"))
        self.case_item = QtWidgets.QComboBox()
        self.case_item.setMinimumContentsLength(10)
        self.case_item.setSizeAdjustPolicy(
            QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        row.addWidget(self.case_item, 1)
        case_rows.addLayout(row)
        row = QHBoxLayout()
        self.case_no_input = QtWidgets.QLineEdit()
        self.case_no_input.setObjectName("case_no")
        self.case_no_input.setPlaceholderText("办件编号：扫码或输入")
        self.case_no_input.setMaxLength(100)  # longer is refused with a message, not cut
        self.case_no_input.returnPressed.connect(self._case_entered)
        self.finish_case_button = self._button(
            "办结本件", "finish_case", lambda: self.finish_case()
        )
        row.addWidget(self.case_no_input, 1)
        row.addWidget(self.finish_case_button)
        case_rows.addLayout(row)
        right.addWidget(case)

        transfer = QtWidgets.QGroupBox("转移（群众保留排队位置）")
        row = QHBoxLayout(transfer)
        self.transfer_target = QtWidgets.QComboBox()
        self.transfer_target.addItem("请选择转移目标…", None)
        self.transfer_target.setMinimumContentsLength(8)
        self.transfer_target.setSizeAdjustPolicy(
            QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.transfer_button = self._button("转移", "transfer", lambda: self.transfer())
        row.addWidget(self.transfer_target, 1)
        row.addWidget(self.transfer_button)
        right.addWidget(transfer)

        pause = QtWidgets.QGroupBox("暂停服务（选择或输入原因）")
        row = QHBoxLayout(pause)
        self.pause_reason = QtWidgets.QComboBox()
        self.pause_reason.setEditable(True)
        self.pause_reason.addItems(list(self.settings.pause_reasons))
        self.pause_reason.lineEdit().setMaxLength(40)
        self.pause_button = self._button("暂停", "pause", lambda: self.pause())
        row.addWidget(self.pause_reason, 1)
        row.addWidget(self.pause_button)
        row.addWidget(self.resume_button)
        right.addWidget(pause)

        staff = QtWidgets.QGroupBox("去向牌")
        row = QHBoxLayout(staff)
        self.staff_status = QtWidgets.QComboBox()
        self.staff_status.addItems(list(STAFF_STATUSES))
        self.staff_status_button = QPushButton("设置去向")
        self.staff_status_button.clicked.connect(lambda: self.set_staff_status())
        self.staff_status_label = QLabel("")
        row.addWidget(self.staff_status, 1)
        row.addWidget(self.staff_status_button)
        row.addWidget(self.staff_status_label)
        right.addWidget(staff)

        self.waiting_label = QLabel("等候 0 人")
        right.addWidget(self.waiting_label)
        self.waiting_list = QtWidgets.QListWidget()
        self.waiting_list.setFlow(QtWidgets.QListView.Flow.LeftToRight)
        self.waiting_list.setWrapping(True)
        self.waiting_list.setSpacing(4)
        self.waiting_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.waiting_list.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.waiting_list.setMinimumHeight(90)
        right.addWidget(self.waiting_list, 1)
        self._render()

    def resizeEvent(self, event: Any) -> None:
        # By width only: a single-column layout is taller than 768, so a test on
        # height would keep a 1024x768 screen in one (clipped) column.
        landscape = self.width() >= 900
        self.columns.setDirection(
            QtWidgets.QBoxLayout.Direction.LeftToRight
            if landscape
            else QtWidgets.QBoxLayout.Direction.TopToBottom
        )
        super().resizeEvent(event)

    # ------------------------------------------------------------------ incoming

    def _on_connection(self, up: bool) -> None:
        self.link_label.setText("● 已连接" if up else "● 连接中断")
        self.link_label.setProperty("up", "true" if up else "false")
        self.link_label.style().unpolish(self.link_label)
        self.link_label.style().polish(self.link_label)

    def _on_key_status(self, status: str) -> None:
        if status == "disconnected":
            self._show("error", "叫号键盘未连接，请检查USB连接（屏幕按钮仍可使用）")
        elif status == "connected":
            self._show("info", "叫号键盘已连接")
        elif status == "storm":
            self._show("error", "叫号键盘按键异常（按键卡住？），暂时忽略按键")

    def _on_state_message(self, message: Message) -> None:
        if isinstance(message.payload, dict):
            self.apply_state(message.payload)

    def _on_catalog_message(self, message: Message) -> None:
        if isinstance(message.payload, dict):
            self.apply_catalog(message.payload)

    def apply_state(self, state: Mapping[str, Any]) -> None:
        before = self.ticket
        self.state = dict(state)
        self.model = window_model(state)
        self.ticket = current_ticket(state, self._names, self.clock.now())
        after = self.ticket
        if (before.code if before else "") != (after.code if after else ""):
            self.case_no_input.clear()  # a number typed for the ticket before
            self._fill_case_items()
        now_serving = after is not None and after.status == "serving"
        if now_serving and (before is None or before.status != "serving"):
            self.case_no_input.setFocus()  # where a keyboard-wedge scanner types
        self._render()
        self.state_applied.emit(self.state)

    def _fill_case_items(self) -> None:
        """The hall's items, the ticket's own first and chosen."""
        self.case_item.clear()
        for ident, name in item_choices(self.catalog, self.ticket):
            self.case_item.addItem(name, ident)
        chosen = default_item(self.catalog, self.ticket)
        index = self.case_item.findData(chosen) if chosen else -1
        if index < 0 and chosen:  # not in the catalogue (yet): still the ticket's
            self.case_item.insertItem(0, chosen, chosen)
            index = 0
        self.case_item.setCurrentIndex(max(0, index))

    def apply_catalog(self, catalog: Mapping[str, Any]) -> None:
        """Fill the transfer targets: other queues and other windows."""
        self.catalog = dict(catalog)
        self._names = names_of(self.catalog)
        chosen = self.transfer_target.currentData()
        self.transfer_target.clear()
        self.transfer_target.addItem("请选择转移目标…", None)
        for q in catalog.get("queues") or ():
            self.transfer_target.addItem(f"队列 {q['prefix']} {q['name']}", f"queue:{q['id']}")
        for w in catalog.get("windows") or ():
            if str(w["id"]) != self.window_id:
                label = f"{w.get('name') or w['id']}（{w.get('department', '')}）"
                self.transfer_target.addItem(label, f"window:{w['id']}")
        index = self.transfer_target.findData(chosen) if chosen else 0
        self.transfer_target.setCurrentIndex(max(0, index))
        if self.state is not None:  # names for the items, queues and windows shown
            self.ticket = current_ticket(self.state, self._names, self.clock.now())
        self._fill_case_items()
        self._render()

    def _render(self) -> None:
        m = self.model
        if m.clerk_name or m.staff_no:
            self.clerk_label.setText(
                f"当前登录：{m.clerk_name}（工号 {m.staff_no}）  状态：{m.status_line}"
            )
        else:
            self.clerk_label.setText(f"未登录  状态：{m.status_line}")
        t = self.ticket
        if m.code:
            self.current_label.setText(m.code)
            doing = f"已呼叫 {m.call_count} 次：开始办理、重呼或过号" if m.called else "办理中"
            waited = t.waited_text if t else ""
            self.current_info.setText(f"{doing}\n{waited}".strip())  # one line each
        else:
            self.current_label.setText("—")
            self.current_info.setText("暂无当前号码")
        flag = t.flag if t and m.code else ""
        self.flag_label.setText(flag)
        self.flag_label.setVisible(bool(flag))
        kind = t.priority if t else "normal"
        if self.flag_label.property("kind") != kind:  # a restyle only when the kind changes
            self.flag_label.setProperty("kind", kind)
            self.flag_label.style().unpolish(self.flag_label)
            self.flag_label.style().polish(self.flag_label)
        lines = []
        if t and m.code:
            names = "、".join(t.item_names) if t.item_names else "未指定（按队列取号）"
            lines.append(f"事项：{names}")
            lines.extend(f"转移：{line}" for line in t.transfers)
        self.ticket_info.setText("\n".join(lines))
        self.ticket_info.setVisible(bool(lines))
        cases = t.cases if t and m.code else ()
        _set_items(self.case_list, [c.text for c in cases] or ["本号尚无办结的办件"])
        self.waiting_label.setText(f"本窗口等候 {m.waiting} 人")
        _set_items(self.waiting_list, list(m.waiting_codes), to_bottom=False)
        self.staff_status_label.setText(f"当前：{m.staff_status}" if m.staff_status else "")
        if m.staff_status != self._shown_staff_status:  # the chooser follows a change (暂离
            self._shown_staff_status = m.staff_status  # on pause), not every state
            index = self.staff_status.findText(m.staff_status)
            if index >= 0:
                self.staff_status.setCurrentIndex(index)
        allowed = allowed_buttons(m)
        for name, button in (
            ("logout", self.logout_button),
            ("call_next", self.call_button),
            ("pause", self.pause_button),
            ("recall", self.recall_button),
            ("start", self.start_button),
            ("no_show", self.no_show_button),
            ("finish", self.finish_button),
            ("finish_case", self.finish_case_button),
            ("transfer", self.transfer_button),
            ("resume", self.resume_button),
            ("staff_status", self.staff_status_button),
        ):
            button.setEnabled(allowed[name])

    def _show(self, kind: str, text: str) -> None:
        self.message, self.message_kind = text, kind
        self.message_label.setText(text)
        if self.message_label.property("kind") != kind:  # a restyle (0.2-0.3 ms) only
            self.message_label.setProperty("kind", kind)  # when the colours change, not
            self.message_label.style().unpolish(self.message_label)  # at every answer
            self.message_label.style().polish(self.message_label)

    # ------------------------------------------------------------------ commands

    def _send(
        self, cmd: str, extra: dict[str, Any] | None = None, *, ok_text: Callable[[Any], str]
    ) -> None:
        if cmd in self._in_flight:
            self._show("info", "正在处理上一个操作，请稍候")
            return
        self._in_flight.add(cmd)
        payload = {"cmd": cmd, "window": self.window_id, **(extra or {})}

        def reply(ok: bool, result: Any) -> None:
            self._in_flight.discard(cmd)
            if ok:
                text = ok_text(result)
                self._show("error" if text.startswith("!") else "ok", text.lstrip("!"))
            else:
                self._show("error", error_text(result, LINK_DOWN_ZH))
            self.command_done.emit(cmd, ok, result)

        self.qtlink.request(self._topic, payload, reply)

    def login(self, staff_no: str | None = None, pin: str | None = None) -> None:
        """Log in with the 工号 and the PIN (from the screen's fields when not given).

        The PIN goes only into the request to the engine (which checks it); the field is
        cleared at once and nothing keeps or shows it."""
        staff_no = (staff_no if staff_no is not None else self.staff_input.text()).strip()
        staff_no = staff_no or self._last_clerk
        pin = pin if pin is not None else self.pin_input.text()
        self.pin_input.clear()
        if not staff_no:
            self._show("error", "请先输入工号")
            return
        if not pin:
            self._show("error", "请输入密码")
            self.pin_input.setFocus()
            return
        self._last_clerk = staff_no

        def ok(result: Any) -> str:
            clerk = (result or {}).get("clerk") or {}
            self.staff_input.clear()
            return f"登录成功：{clerk.get('name', '')}（工号 {clerk.get('staff_no', staff_no)}）"

        self._send("login", {"clerk": staff_no, "pin": pin}, ok_text=ok)

    def logout(self) -> None:
        self._send("logout", ok_text=lambda _r: "已退出登录")

    def call_next(self) -> None:
        def ok(result: Any) -> str:
            ticket = (result or {}).get("ticket")
            finished = (result or {}).get("finished")
            done = f"{finished['code']} 已办结；" if finished else ""
            if not ticket:
                return f"!{done}当前没有等候的号码"
            return f"{done}已呼叫 {ticket['code']}"

        self._send("call_next", ok_text=ok)

    def recall(self) -> None:
        def ok(result: Any) -> str:
            ticket = (result or {}).get("ticket") or {}
            if (result or {}).get("auto_no_show"):
                return f"!{ticket.get('code', '')} 多次呼叫未到，已按过号处理"
            return f"已重呼 {ticket.get('code', '')}（第 {ticket.get('call_count', '')} 次）"

        self._send("recall", ok_text=ok)

    def start(self) -> None:
        self._send("start", ok_text=lambda r: f"开始办理 {(r or {}).get('code', '')}")

    def finish(self) -> None:
        """办结: the ticket (with the typed 办件编号 when no case of it was finished yet)."""
        try:
            item, text = self.case_item.currentData(), self.case_no_input.text()
            extra = finish_args(self.ticket, item, text)
        except CaseInputError as exc:
            self._show("error", str(exc))
            return

        def ok(result: Any) -> str:
            self.case_no_input.clear()
            return f"{(result or {}).get('code', '')} 已办结"

        self._send("finish", extra, ok_text=ok)

    def finish_case(self, item: str | None = None, case_no: str | None = None) -> None:
        """办结本件: one case of the ticket being served (the chosen item, the 办件编号)."""
        item = item if item is not None else self.case_item.currentData()
        text = case_no if case_no is not None else self.case_no_input.text()
        try:
            extra = finish_case_args(self.ticket, item, text, self.catalog)
        except CaseInputError as exc:
            self._show("error", str(exc))
            return

        chosen = self.case_item.currentText() if item == self.case_item.currentData() else ""

        def ok(result: Any) -> str:
            case = result if isinstance(result, dict) else {}
            case = case.get("case") if isinstance(case.get("case"), dict) else case
            self.case_no_input.clear()
            self._fill_case_items()
            name = case.get("item_name") or chosen or "本件"
            number = case.get("case_no") or extra.get("case_no")
            return f"已办结本件：{name}" + (f"（办件编号 {number}）" if number else "")

        self._send("finish_case", extra, ok_text=ok)

    def _case_entered(self) -> None:
        """Enter in the 办件编号 field (a scanner ends its code with it): check the number."""
        self.case_scanned(self.case_no_input.text())

    def case_scanned(self, text: str) -> None:
        """A 办件编号 from the scanner (or Enter in the field): in the field, checked, and
        selected so that the next scan replaces it."""
        try:
            value = clean_case_no(text)
        except CaseInputError as exc:
            self._show("error", str(exc))
            return
        if value is None:
            return
        self.case_no_input.setText(value)
        self.case_no_input.selectAll()
        self._show("info", f"办件编号 {value} 已录入，按“办结本件”提交")

    def scanner_from(self, spec: str, *, opener: Opener = open_input_device) -> None:
        """Read the window's barcode scanner (``/dev/input/by-id/...``, grabbed, so its
        keys type nowhere else): each code goes into the 办件编号 field."""
        if self.scanner is not None:
            raise RuntimeError(f"already reading {self.scanner.spec}")
        self.scanner = KeyDevice(spec, WedgeAssembler(), on_code=self.scanned.emit, opener=opener)
        self.scanner.start()

    def no_show(self) -> None:
        self._send("no_show", ok_text=lambda r: f"{(r or {}).get('code', '')} 已过号")

    def transfer(self, *, to_queue: str | None = None, to_window: str | None = None) -> None:
        if to_queue is None and to_window is None:
            target = self.transfer_target.currentData()
            if not target:
                self._show("error", "请先在屏幕上选择转移目标（队列或窗口）")
                return
            kind, _, ident = str(target).partition(":")
            to_queue, to_window = (ident, None) if kind == "queue" else (None, ident)
        extra = {"to_queue": to_queue} if to_queue else {"to_window": to_window}
        where = f"队列 {to_queue}" if to_queue else f"{to_window}号窗口"
        self._send(
            "transfer",
            extra,
            ok_text=lambda r: f"{(r or {}).get('code', '')} 已转至{where}，保留排队位置",
        )

    def pause(self, reason: str | None = None) -> None:
        reason = (reason if reason is not None else self.pause_reason.currentText()).strip()
        if not reason:
            self._show("error", "请选择或输入暂停原因")
            return
        self._send("pause", {"reason": reason[:40]}, ok_text=lambda _r: f"已暂停服务：{reason}")

    def resume(self) -> None:
        self._send("resume", ok_text=lambda _r: "已恢复服务")

    def set_staff_status(self, status: str | None = None) -> None:
        status = status or self.staff_status.currentText()
        self._send("staff_status", {"status": status}, ok_text=lambda _r: f"去向已设为：{status}")

    # ------------------------------------------------------------------ keypad

    @property
    def entry(self) -> KeypadLogin | None:
        """The keypad login being typed, if any."""
        return self.flow.entry

    def _on_key(self, key: str, action: str) -> None:
        """A key pressed on the keypad: part of a keypad login being typed, or an action."""
        if self.flow.typing_login:
            self.flow.key(key)
            self._arm_entry_timer()
        elif action:
            self.perform(action)

    def start_keypad_login(self) -> None:
        """The login key: the keypad's digits now type the 工号, then the PIN."""
        self.flow.start_keypad_login()
        self._arm_entry_timer()

    def _arm_entry_timer(self) -> None:
        left = self.flow.time_left()
        if left is None:
            self._entry_timer.stop()
        else:
            self._entry_timer.start(max(1, int(left * 1000 + 0.999)))

    def _entry_tick(self) -> None:
        self.flow.tick()
        self._arm_entry_timer()

    def perform(self, action: str) -> None:
        """A keypad action (same as the buttons)."""
        if action == "login":
            self.start_keypad_login()
        elif action == "pause":
            self.pause(self.settings.keypad_pause_reason)
        elif action == "transfer":
            self.transfer()
        elif action in (
            "call_next",
            "recall",
            "start",
            "finish",
            "finish_case",
            "no_show",
            "resume",
            "logout",
        ):
            getattr(self, action)()
        else:
            log.debug("caller: no handler for key action %s", action)

    def keys_from(self, spec: str, *, opener: Opener = open_input_device) -> None:
        """Read the clerk's keypad (``/dev/input/by-id/...``)."""
        self.keys.open(spec, opener=opener)

    def feed_keys(self, events: Iterable[InputEvent]) -> list[str]:
        """Run key events through the keypad decoder on this thread (the bench)."""
        return self.keys.feed(events)

    def shutdown(self) -> None:
        for stop in self._unsubscribe:
            stop()
        self.keys.close()
        if self.scanner is not None:
            self.scanner.stop()
            self.scanner = None


def _error_text(error: Any) -> str:
    return error_text(error, LINK_DOWN_ZH)


def _set_items(widget: Any, items: list[str], *, to_bottom: bool = True) -> None:
    """A list widget showing ``items``, rebuilt only when they changed (a window state
    arrives after every call in the hall, most of them not this window's list)."""
    if [widget.item(i).text() for i in range(widget.count())] == items:
        return
    widget.clear()
    widget.addItems(items)
    if to_bottom:
        widget.scrollToBottom()  # the latest case in sight
