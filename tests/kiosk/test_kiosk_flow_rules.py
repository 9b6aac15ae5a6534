"""The kiosk's rules (kiosk.flow.KioskFlow) without Qt: taps and navigation, cards and
scanned codes, the green channel, the re-print panel, the staff PIN lockout, printer
trouble and the idle reset, on a fake clock with a recording screen and printer."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest

from drivers.citizencard.apdu import CitizenCard
from drivers.idcard import make_card
from hall.core.clock import FakeClock
from hall.core.pins import hash_pin
from hall.core.privacy import person_key
from kiosk.appointment import make_code
from kiosk.catalog import parse_catalog
from kiosk.flow import PIN_LOCK_S, PIN_MAX_FAILURES, KioskFlow
from kiosk.refusals import describe
from kiosk.settings import KioskSettings
from kiosk.ticketing import IssuedTicket

SALT = b"test-hall-salt-0123456789"
PIN = "7461"
NO_PIN = "未设置工作人员密码，请联系技术人员用 hall provision 设置"

CATALOG = {
    "hall": "demo-hall",
    "hall_name": "示范街道为民服务中心",
    "version": 3,
    "queues": [
        {"id": "A", "name": "户籍业务", "prefix": "A"},
        {"id": "D", "name": "公积金业务", "prefix": "D", "name_en": "Housing fund"},
    ],
    "items": [
        {"id": "gjj-query", "name": "住房公积金个人账户查询", "queue": "D"},
        {"id": "gjj-rent", "name": "提取住房公积金（租房）", "queue": "D", "requires_id": True},
        {"id": "hj-birth", "name": "新生儿入户", "queue": "A", "requires_id": True},
    ],
}


@dataclass(frozen=True)
class Outcome:
    ok: bool
    state: str = "ok"
    user_message: str = ""


PAPER_OUT = Outcome(False, "paper_out", "打印机缺纸，请联系工作人员")


@dataclass
class Screen:
    """What the citizen sees: the screen shown and how often it was drawn."""

    shown: list[str] = field(default_factory=list)
    redraws: int = 0
    issuing_changes: int = 0
    forgotten: int = 0
    idle_s: float | None = None

    def draw_screen(self, screen: str) -> None:
        self.shown.append(screen)

    def redraw(self) -> None:
        self.redraws += 1

    def issuing_changed(self) -> None:
        self.issuing_changes += 1

    def restyle(self) -> None:
        pass

    def relabel(self) -> None:
        pass

    def loads_changed(self) -> None:
        pass

    def forget(self) -> None:
        self.forgotten += 1

    def arm_idle(self, seconds: float | None) -> None:
        self.idle_s = seconds


@dataclass
class Printer:
    """A printer port that records jobs; outcomes are told to the flow by the test."""

    usable: bool = True
    last: Outcome = Outcome(True)
    unprinted: dict[str, IssuedTicket] = field(default_factory=dict)
    tickets: list[str] = field(default_factory=list)
    guides: list[str] = field(default_factory=list)

    def print_ticket(self, ticket: IssuedTicket) -> None:
        self.tickets.append(ticket.code)

    def reprint(self, ticket_id: str) -> bool:
        ticket = self.unprinted.get(ticket_id)
        if ticket is None:
            return False
        self.tickets.append(ticket.code)
        return True

    def print_guide(self, item: Any, _hall_name: str) -> None:
        self.guides.append(item.id)


@dataclass
class Rig:
    flow: KioskFlow
    clock: FakeClock
    screen: Screen
    printer: Printer
    sent: list[dict[str, Any]]
    answers: list[Any]
    said: list[str]
    health: dict[str, tuple[str, str]]

    def answer(self, ok: bool = True, result: Any = None, code: str = "D001") -> None:
        """The engine answers the oldest command still waiting."""
        if result is None:
            item = self.sent[len(self.sent) - len(self.answers)]["item"]
            queue = self.flow.catalog.item(item).queue  # type: ignore[union-attr]
            result = {
                "ticket": {"id": f"t-{code}", "code": code, "queue": queue, "item": item},
                "ahead": 2,
            }
        self.answers.pop(0)(ok, result)

    def message(self) -> str:
        """The refusal screen's title and next step, as the citizen reads them."""
        refused = self.flow.session.refusal
        assert refused is not None
        _, title, next_step = describe(
            refused.code, refused.data, lang=self.flow.lang, engine_message_zh=refused.message_zh
        )
        return f"{title}\n{next_step}"

    def keys(self, pin: str) -> str:
        """Type ``pin`` on the staff keypad and confirm; the panel's message afterwards."""
        for key in pin:
            self.flow.staff_key(key)
        self.flow.staff_key("confirm")
        return self.flow.staff.error


def make_rig(
    *, catalog: dict[str, Any] | None = CATALOG, link: bool = True, **settings: Any
) -> Rig:
    values: dict[str, Any] = dict(
        salt=SALT,
        staff_pin_hash=hash_pin(PIN),
        idle_timeout_s=120,
        ticket_timeout_s=30,
        problem_timeout_s=90,
        message_timeout_s=20,
    )
    values.update(settings)
    clock = FakeClock(datetime(2026, 11, 23, 9, 30))
    screen, printer = Screen(), Printer()
    sent: list[dict[str, Any]] = []
    answers: list[Any] = []
    said: list[str] = []
    health: dict[str, tuple[str, str]] = {}

    def send(command: dict[str, Any], answer: Any) -> None:
        sent.append(command)
        answers.append(answer)

    flow = KioskFlow(
        KioskSettings(**values),
        clock=clock,
        view=screen,
        printer=printer,
        send_issue=send,
        say=said.append,
        report=lambda part, state, detail="": health.__setitem__(part, (state, detail)),
        catalog=parse_catalog(catalog) if catalog else None,
    )
    flow.link_changed(link)
    flow.show("home")
    return Rig(flow, clock, screen, printer, sent, answers, said, health)


@pytest.fixture
def rig() -> Rig:
    return make_rig()


def test_the_flow_needs_no_qt():
    probe = (
        "import sys, kiosk.flow; "
        "print([m for m in sys.modules if m.startswith(('PySide6', 'hall.ui'))])"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- taps and navigation ---------------------------------------------------------------


def test_category_item_and_take_sends_the_issue_command(rig):
    flow = rig.flow
    flow.open_category("D")
    assert flow.screen == "items" and rig.said == ["choose_item"]
    flow.open_item("gjj-query")
    assert flow.screen == "guide"
    flow.take_ticket()
    assert rig.sent == [{"cmd": "issue", "item": "gjj-query"}]
    assert flow.issuing
    flow.take_ticket()  # a second tap while the engine answers sends nothing
    assert len(rig.sent) == 1
    rig.answer()
    assert flow.screen == "ticket" and not flow.issuing
    assert flow.session.ticket.code == "D001" and flow.session.ticket.ahead == 2
    assert rig.printer.tickets == ["D001"]


def test_back_and_home(rig):
    flow = rig.flow
    flow.open_category("D")
    flow.open_item("gjj-query")
    flow.go_back()
    assert flow.screen == "items"
    flow.go_back()
    assert flow.screen == "home" and flow.session.category is None
    flow.open_item("gjj-query")  # a common item on the first screen
    flow.go_back()
    assert flow.screen == "items"  # back goes to its category
    flow.open_item("hj-birth")
    flow.take_ticket()
    assert flow.screen == "identify" and "swipe_id" in rig.said
    flow.go_back()  # cancel the card: back to the guide, nothing pending
    assert flow.screen == "guide" and flow.session.pending_item is None
    flow.go_home()
    assert flow.screen == "home" and flow.session.item is None


def test_print_guide_and_its_outcome(rig):
    flow = rig.flow
    flow.open_item("gjj-query")
    flow.print_guide()
    assert rig.printer.guides == ["gjj-query"]
    flow.guide_printed(PAPER_OUT)
    assert flow.session.guide_printed is False
    assert flow.session.print_message == "打印机缺纸，请联系工作人员"


def test_no_link_no_catalogue_unknown_item_are_refused_kindly():
    rig = make_rig(link=False)
    rig.flow.take_ticket("gjj-query")
    assert rig.flow.screen == "message" and rig.sent == []
    assert "与大厅服务器的连接中断" in rig.message()
    rig = make_rig(catalog=None)
    rig.flow.take_ticket("gjj-query")
    assert "系统正在启动" in rig.message()
    rig = make_rig()
    rig.flow.take_ticket("no-such-item")
    assert rig.flow.screen == "message" and rig.sent == []


def test_language_and_elderly_mode(rig):
    flow = rig.flow
    flow.toggle_language()
    assert flow.lang == "en"
    flow.take_ticket("no-such-item")
    assert flow.screen == "message"
    flow.toggle_elderly()
    assert flow.elderly
    assert flow.confirm_staff(None, "0") == "Choose a reason first"


# -- engine answers --------------------------------------------------------------------


def test_refusal_from_the_engine_shows_its_message(rig):
    flow = rig.flow
    flow.take_ticket("gjj-query")
    rig.answer(False, {"code": "person_active", "message_zh": "x", "data": {}})
    assert flow.screen == "message"
    assert "您已经取过该业务的号" in rig.message()
    assert rig.printer.tickets == []
    flow.refusal_action("home")
    assert flow.screen == "home"


def test_unknown_refusal_shows_the_engines_chinese_message(rig):
    rig.flow.take_ticket("gjj-query")
    rig.answer(False, {"code": "brand_new", "message_zh": "今日该事项暂停办理"})
    assert "今日该事项暂停办理" in rig.message()
    assert "sorry" in rig.said


def test_engine_asking_for_a_card_opens_the_identify_screen(rig):
    rig.flow.open_item("gjj-query")
    rig.flow.take_ticket()
    rig.answer(False, {"code": "id_required"})
    assert rig.flow.screen == "identify"
    rig.flow.id_card(make_card("resident"))
    assert rig.sent[-1]["person_key"] and rig.sent[-1]["masked_name"] == "张*"


# -- identification --------------------------------------------------------------------


def test_id_card_for_an_item_that_needs_it(rig):
    card = make_card("resident")  # 张三, born 1990
    flow = rig.flow
    flow.open_item("hj-birth")
    flow.take_ticket()
    assert flow.screen == "identify" and rig.sent == []
    flow.id_card(card)
    assert rig.sent == [
        {
            "cmd": "issue",
            "item": "hj-birth",
            "person_key": person_key(card.id_number, SALT),
            "masked_name": "张*",
        }
    ]
    assert card.id_number not in repr(rig.sent)
    rig.answer(code="A001")
    assert flow.screen == "ticket" and flow.session.pending_item is None


def test_citizen_card_identifies_too(rig):
    card = CitizenCard(
        card_number="A1234567", region="330100", ssn="33010219800101001X", name="李四"
    )
    rig.flow.open_item("hj-birth")
    rig.flow.take_ticket()
    rig.flow.citizen_card(card)
    assert rig.sent[-1]["person_key"] == person_key("33010219800101001X", SALT)
    assert rig.sent[-1]["masked_name"] == "李*"


def test_elderly_card_takes_the_green_channel():
    rig = make_rig(elderly_age=65)
    rig.flow.id_card(make_card("resident", name="李秀英", birth="19490310"))
    assert rig.flow.screen == "home" and "green_channel" in rig.said
    rig.flow.take_ticket("gjj-query")
    assert rig.sent[-1]["priority_reason"] == "elderly"
    rig = make_rig(elderly_age=80)
    rig.flow.id_card(make_card("resident", name="李秀英", birth="19490310"))
    rig.flow.take_ticket("gjj-query")
    assert "priority_reason" not in rig.sent[-1]


def test_a_card_without_a_number_is_refused(rig):
    rig.flow.id_card(make_card("resident", id_number=" "))
    assert rig.flow.screen == "message"
    assert "这张卡片无法用于取号" in rig.message()
    assert rig.flow.session.identity is None


def test_card_errors_are_told_where_a_citizen_waits(rig):
    rig.flow.card_error("card_unreadable", "no answer")
    assert rig.flow.screen == "message" and "卡片没有读取成功" in rig.message()
    rig.flow.take_ticket("gjj-query")
    rig.answer()
    rig.flow.card_error("card_unreadable", "no answer")
    assert rig.flow.screen == "ticket"  # the number stays on screen


def test_a_new_card_on_the_ticket_screen_starts_a_new_visit(rig):
    rig.flow.id_card(make_card("resident", name="孙丽华"))
    rig.flow.take_ticket("gjj-query")
    rig.answer()
    assert rig.flow.screen == "ticket"
    rig.flow.id_card(make_card("resident", name="赵敏"))
    assert rig.flow.screen == "home"
    assert rig.flow.session.ticket is None
    assert rig.flow.session.identity.masked_name == "赵*"


def test_scanned_appointment_checks_in(rig):
    start = rig.clock.now().replace(hour=9, minute=45)
    rig.flow.scanned(make_code("AB12CD", start, "gjj-query"))
    (cmd,) = rig.sent
    assert cmd["item"] == "gjj-query" and cmd["appointment"]["ref"] == "AB12CD"
    assert "priority_reason" not in cmd


def test_scanned_appointment_for_an_item_needing_a_card(rig):
    start = rig.clock.now().replace(hour=10, minute=0)
    rig.flow.scanned(make_code("ZX9-881", start, "gjj-rent"))
    assert rig.flow.screen == "identify" and rig.sent == []
    rig.flow.id_card(make_card("resident"))
    assert rig.sent[-1]["appointment"]["ref"] == "ZX9-881" and rig.sent[-1]["masked_name"] == "张*"


def test_scanned_codes_that_cannot_check_in(rig):
    flow = rig.flow
    flow.scanned("https://example.com/not-ours")
    assert "无法识别该预约码" in rig.message()
    flow.go_home()
    flow.scanned(make_code("QQ77", rig.clock.now().replace(hour=11)))  # no item in the code
    assert "请先选择预约的事项" in rig.message()
    flow.go_home()
    flow.scanned(make_code("QQ77", rig.clock.now().replace(hour=11), "gjj-query"))
    assert "还没到预约签到时间" in rig.message() and "11:00" in rig.message()
    flow.refusal_action("normal")  # take a normal ticket instead
    assert flow.screen == "guide" and flow.session.appointment is None
    assert rig.sent == []


def test_short_appointment_code_on_the_guide_screen(rig):
    rig.flow.open_item("gjj-query")
    rig.flow.scanned(make_code("QQ77", rig.clock.now().replace(minute=40)))
    assert rig.sent[-1]["item"] == "gjj-query" and rig.sent[-1]["appointment"]["ref"] == "QQ77"


# -- green channel and the staff PIN ---------------------------------------------------


def test_green_channel_confirmed_by_staff(rig):
    flow = rig.flow
    flow.open_item("gjj-query")
    flow.open_green_channel()
    assert flow.screen == "staff"
    assert rig.keys("1") == "请先选择类别"
    flow.staff_choose("pregnant")
    assert rig.keys("1111") == "密码不正确，请重新输入"
    assert flow.session.staff_reason is None and flow.staff.pin == ""
    rig.keys(PIN)
    assert flow.screen == "guide" and flow.session.staff_reason == "pregnant"
    assert "green_channel" in rig.said
    flow.take_ticket()
    assert rig.sent[-1]["priority_reason"] == "pregnant"


def test_the_keypad_takes_eight_digits_and_clears(rig):
    rig.flow.open_green_channel()
    for key in "1234567890":
        rig.flow.staff_key(key)
    assert rig.flow.staff.pin == "12345678"
    rig.flow.staff_key("clear")
    assert rig.flow.staff.pin == ""
    rig.flow.go_back()
    assert rig.flow.screen == "home"


def test_without_a_staff_pin_the_panels_are_refused(caplog):
    rig = make_rig(staff_pin_hash=None)
    flow = rig.flow
    flow.open_item("gjj-query")
    flow.open_green_channel()
    assert flow.screen == "staff" and not flow.staff_pin_set
    assert "no staff PIN is configured" in caplog.text
    for pin in ("", "0000", PIN):
        assert flow.confirm_staff("disabled", pin) == NO_PIN
    flow.go_home()
    flow.open_staff_panel()
    assert rig.keys(PIN) == NO_PIN and not flow.staff.unlocked
    assert flow.session.staff_reason is None


def test_guessing_the_pin_locks_it_and_the_lock_ends(rig):
    flow = rig.flow
    flow.open_item("gjj-query")
    flow.open_green_channel()
    flow.staff_choose("disabled")
    for guess in ("0000", "1234", "1111", "9999"):
        assert rig.keys(guess) == "密码不正确，请重新输入"
    assert PIN_MAX_FAILURES == 5
    assert rig.keys("4321") == "密码错误次数过多，请5分钟后再试或联系工作人员"
    assert rig.health["staff_pin"] == ("locked", "5 wrong staff PINs; locked for 5 minutes")
    assert rig.keys(PIN) == "密码错误次数过多，请5分钟后再试或联系工作人员"
    rig.clock.advance(PIN_LOCK_S - 1)
    assert rig.keys(PIN) == "密码错误次数过多，请5分钟后再试或联系工作人员"
    assert flow.session.staff_reason is None
    rig.clock.advance(2)
    rig.keys(PIN)
    assert flow.screen == "guide" and flow.session.staff_reason == "disabled"


def test_wrong_pins_far_apart_do_not_lock(rig):
    rig.flow.open_staff_panel()
    for guess in ("0000", "1234", "1111", "9999"):
        assert rig.keys(guess) == "密码不正确，请重新输入"
    rig.clock.advance(minutes=11)  # older failures fall out of the 10-minute window
    assert rig.keys("4321") == "密码不正确，请重新输入"
    rig.keys(PIN)
    assert rig.flow.staff.unlocked and "staff_pin" not in rig.health


def test_a_right_pin_forgets_earlier_wrong_ones(rig):
    rig.flow.open_staff_panel()
    for guess in ("0000", "1234", "1111", "9999"):
        rig.keys(guess)
    rig.keys(PIN)
    rig.flow.go_home()
    rig.flow.open_staff_panel()
    assert rig.keys("0000") == "密码不正确，请重新输入"  # not the fifth in a row


# -- printing and the re-print panel ---------------------------------------------------


def test_paper_out_keeps_the_number_and_prints_once_paper_is_back(rig):
    flow = rig.flow
    flow.take_ticket("gjj-query")
    rig.answer()
    ticket = flow.session.ticket
    rig.printer.unprinted[ticket.ticket_id] = ticket
    flow.ticket_printed(ticket.ticket_id, PAPER_OUT)
    assert flow.session.print_state == "failed" and rig.said[-1] == "paper_out"
    assert flow.session.print_message == "打印机缺纸，请联系工作人员"
    assert rig.screen.idle_s == 90  # a problem: the citizen gets longer to call staff
    flow.printer_changed(PAPER_OUT)
    flow.printer_changed(Outcome(True))  # a poll: paper is back
    assert rig.printer.tickets == ["D001", "D001"] and flow.session.print_state == "printing"
    flow.ticket_printed(ticket.ticket_id, Outcome(True))
    assert flow.session.print_state == "ok" and rig.said[-1] == "take_ticket"
    assert rig.screen.idle_s == 30


def test_retry_print_on_the_ticket_screen(rig):
    rig.flow.take_ticket("gjj-query")
    rig.answer()
    ticket = rig.flow.session.ticket
    rig.flow.ticket_printed(ticket.ticket_id, PAPER_OUT)
    rig.flow.retry_print()  # not held by the printer (yet): printed as new
    assert rig.printer.tickets == ["D001", "D001"]


def test_reprint_panel_after_the_citizen_left(rig):
    flow = rig.flow
    flow.take_ticket("gjj-query")
    rig.answer()
    ticket = flow.session.ticket
    rig.printer.unprinted[ticket.ticket_id] = ticket
    rig.printer.last = PAPER_OUT
    flow.ticket_printed(ticket.ticket_id, PAPER_OUT)
    flow.go_home()
    rig.printer.tickets.clear()

    flow.hall_name_pressed()
    rig.clock.advance(1)
    flow.hall_name_released()  # too short a hold
    assert flow.screen == "home"
    flow.hall_name_pressed()
    rig.clock.advance(2)
    flow.hall_name_released()
    assert flow.screen == "staff" and flow.session.staff_mode == "service"
    assert not flow.staff.unlocked
    assert rig.keys("0000") == "密码不正确，请重新输入" and not flow.staff.unlocked
    rig.keys(PIN)
    assert flow.screen == "staff" and flow.staff.unlocked
    assert flow.printer_state() == "打印机缺纸，请联系工作人员"
    assert [t.code for t in flow.unprinted()] == ["D001"]
    flow.reprint(ticket.ticket_id)
    assert rig.printer.tickets == ["D001"]
    flow.go_home()
    flow.open_staff_panel()
    assert not flow.staff.unlocked  # the next time asks for the PIN again


# -- idle ------------------------------------------------------------------------------


def test_inactivity_forgets_the_person_and_resets_language_and_mode(rig):
    flow = rig.flow
    assert rig.screen.idle_s is None  # nothing to forget on a fresh first screen
    flow.set_language("en")
    flow.set_elderly(True)
    flow.id_card(make_card("resident", name="欧阳小明", birth="19500101"))
    flow.open_item("gjj-query")
    assert rig.screen.idle_s == 120
    rig.clock.advance(119)
    flow.tick()
    assert flow.screen == "guide"
    flow.touched()  # a touch restarts the countdown
    rig.clock.advance(119)
    flow.tick()
    assert flow.screen == "guide"
    rig.clock.advance(1)
    flow.tick()
    assert flow.screen == "home" and rig.screen.forgotten >= 1
    assert flow.session.identity is None and flow.session.item is None
    assert flow.lang == "zh" and not flow.elderly
    assert rig.screen.idle_s is None and flow.idle_deadline is None


def test_ticket_and_message_screens_time_out_sooner(rig):
    rig.flow.take_ticket("gjj-query")
    rig.answer()
    assert rig.screen.idle_s == 30
    rig.clock.advance(30)
    rig.flow.tick()
    assert rig.flow.screen == "home" and rig.flow.session.ticket is None
    rig.flow.take_ticket("no-such-item")
    assert rig.screen.idle_s == 20


def test_first_touch_on_the_first_screen_greets_once(rig):
    rig.flow.touched()
    rig.flow.touched()
    assert rig.said.count("welcome") == 1
    rig.flow.go_idle()
    rig.flow.touched()
    assert rig.said.count("welcome") == 2


# -- #15: 大字模式 by card, the no-card path, lunch tickets, English guide texts ----------------


def test_big_mode_comes_with_an_older_card_and_ends_with_the_visit(rig):
    rig.flow.id_card(make_card("resident", name="李秀英", birth="19660310"))  # 60 on the day
    assert rig.flow.elderly and rig.flow.elderly_auto
    rig.flow.go_home()
    assert not rig.flow.elderly  # the visit ended: back to the kiosk's own mode
    # a younger citizen next, after an older one whose visit did not end with 首页
    rig.flow.id_card(make_card("resident", name="李秀英", birth="19500310"))
    assert rig.flow.elderly
    rig.flow.id_card(make_card("resident", name="王小明", birth="19900307"))
    assert not rig.flow.elderly
    # chosen by hand, it stays for a younger card too (until idle)
    rig.flow.set_elderly(True)
    rig.flow.id_card(make_card("resident", name="王小明", birth="19900307"))
    rig.flow.go_home()
    assert rig.flow.elderly
    rig.flow.go_idle()
    assert not rig.flow.elderly


def test_big_mode_age_is_a_setting():
    rig = make_rig(large_text_age=70)
    rig.flow.id_card(make_card("resident", name="李秀英", birth="19600310"))  # 66
    assert not rig.flow.elderly
    assert KioskSettings().large_text_age == 60


def test_no_card_ticket_after_the_staff_pin_holds_no_personal_data(rig):
    rig.flow.open_item("hj-birth")
    rig.flow.take_ticket()
    assert rig.flow.screen == "identify"
    rig.flow.open_assisted()
    assert rig.flow.screen == "staff" and rig.sent == []
    assert rig.keys("0000") == "密码不正确，请重新输入"
    assert rig.sent == []
    rig.keys(PIN)
    first = rig.sent[-1]
    assert first["item"] == "hj-birth" and first["masked_name"] == "协助取号"
    assert len(first["person_key"]) == 32 and "priority_reason" not in first
    rig.answer()
    ticket = rig.flow.session.ticket
    assert ticket is not None and rig.flow.screen == "ticket"
    rig.flow.go_home()
    rig.flow.open_item("hj-birth")
    rig.flow.take_ticket()
    rig.flow.open_assisted()
    rig.keys(PIN)
    assert rig.sent[-1]["person_key"] != first["person_key"]  # a key names nobody


def test_a_lunch_ticket_prints_when_calling_resumes():
    from kiosk.ticketing import issued_from_result, ticket_data

    catalog = parse_catalog(CATALOG)
    now = datetime(2026, 11, 23, 12, 30)
    result = {
        "ticket": {"id": "t1", "code": "D001", "queue": "D", "item": "gjj-query"},
        "calls_from": "2026-11-23T13:00:00+08:00",
    }
    ticket = issued_from_result(result, catalog, now=now)
    assert ticket.calls_from is not None and f"{ticket.calls_from:%H:%M}" == "13:00"
    assert ticket_data(ticket).notes[0] == "13:00 开始叫号"
    plain = issued_from_result({**result, "calls_from": "soon"}, catalog, now=now)
    assert plain.calls_from is None and "开始叫号" not in "".join(ticket_data(plain).notes)


def test_english_guide_texts_fall_back_to_chinese():
    payload = {
        **CATALOG,
        "items": [
            {
                "id": "gjj-query",
                "name": "住房公积金个人账户查询",
                "queue": "D",
                "fee": "每份5元",
                "fee_en": "5 yuan a copy",
                "location": "3号窗口",
                "location_en": "Window 3",
                "materials": ["身份证", "公积金卡"],
                "materials_en": ["ID card", "Housing fund card"],
            },
            {"id": "gjj-rent", "name": "提取", "queue": "D", "materials": ["身份证"]},
        ],
    }
    from kiosk.catalog import fee_text

    catalog = parse_catalog(payload)
    full, bare = catalog.item("gjj-query"), catalog.item("gjj-rent")
    assert full.where("en") == "Window 3" and full.where("zh") == "3号窗口"
    assert full.material_list("en") == ("ID card", "Housing fund card")
    assert fee_text(full, "en") == "5 yuan a copy" and fee_text(full) == "每份5元"
    assert bare.material_list("en") == ("身份证",) and fee_text(bare, "en") == "Free of charge"


@pytest.mark.parametrize(
    ("reason", "title", "not_said"),
    [
        ("after_close", "今日已下班", "即将"),
        ("before_open", "还未开始取号", "下班"),
        ("lunch_break", "午间休息，暂停取号", "下班"),
    ],
)
def test_the_words_for_each_moment_outside_hours(reason, title, not_said):
    data = {"reason": reason, "next_open": "2026-11-24T09:00:00+08:00"}
    _r, shown, next_step = describe("outside_hours", data, hours="周一至周五 09:00-17:00")
    assert shown == title and not_said not in shown + next_step
    assert "下次取号时间：11月24日 09:00" in next_step
    _r, soon, soon_next = describe("closing_soon", data)
    assert "即将停止取号" in soon and "下个工作日" in soon_next


def test_the_link_down_banner_waits_for_a_real_loss_or_the_patience():
    from kiosk.flow import CONNECT_PATIENCE_S

    starting = make_rig(link=False)  # a start: the link is still connecting
    assert not starting.flow.link_down_shown()
    starting.clock.advance(CONNECT_PATIENCE_S - 1)
    assert not starting.flow.link_down_shown()
    starting.clock.advance(1)  # never came up in time: say so
    assert starting.flow.link_down_shown()
    starting.flow.link_changed(True)
    assert not starting.flow.link_down_shown()

    running = make_rig(link=False)
    running.flow.link_changed(True)
    running.flow.link_changed(False)  # lost after it was up: at once
    assert running.flow.link_down_shown()
    assert running.health["link"][0] == "offline"


def test_taking_a_ticket_shows_issuing_in_place_without_rebuilding_the_guide(rig):
    rig.flow.open_item("gjj-query")
    assert rig.screen.shown[-1] == "guide"
    redraws = rig.screen.redraws
    rig.flow.take_ticket()
    assert rig.flow.issuing and len(rig.sent) == 1
    assert rig.screen.issuing_changes == 1 and rig.screen.redraws == redraws
