"""The hall manager's notice (hall web's console, #13) on the window displays and the hall
board, and the console's alerts on the board: fed the engine's payloads (window state and
board with ``notice`` / ``alerts``, or without them from an older engine), on TVs and LED
strips, until the notice's ``until``; screenshots of what a citizen sees."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from counter import paint
from counter.board import HallBoard
from counter.display import WindowDisplay
from counter.texts import NOTICE_LABEL, alerts_of, notice_of

NOW = datetime(2026, 11, 23, 9, 30, 5).astimezone()
SHORT = "社保系统维护，社保业务暂停至14:00"
LONG = (  # the longest a manager may post: 80 characters
    "因社保系统升级，今日14:00前暂停办理社保卡挂失、补换卡业务；急需办理的群众请到"
    "3号窗口登记，系统恢复后我们将电话通知您，给您带来的不便敬请谅解。谢谢您配合！"
)
assert len(LONG) == 80


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def notice(text: str = SHORT, minutes: float = 60, now: datetime = NOW) -> dict:
    return {"text": text, "until": (now + timedelta(minutes=minutes)).isoformat()}


def window_state(**extra) -> dict:
    state = {
        "hall": "demo-hall",
        "window": "3",
        "name": "3号窗口",
        "department": "社保就业",
        "items": ["社保卡申领", "社保卡挂失", "参保证明打印"],
        "status": "serving",
        "pause_reason": None,
        "clerk": {"id": "1003", "name": "陈静", "staff_no": "1003", "photo": ""},
        "staff_status": "在岗",
        "current": {"code": "B012", "status": "called", "call_count": 1},
        "waiting": 7,
        "updated_at": NOW.isoformat(),
    }
    state.update(extra)
    return state


def board_payload(**extra) -> dict:
    board = {
        "hall": "demo-hall",
        "hall_name": "示范街道为民服务中心",
        "business_date": "2026-11-23",
        "queues": [
            {"id": "A", "name": "综合业务", "prefix": "A", "waiting": 6, "est_wait_min": 18},
            {"id": "B", "name": "社保就业", "prefix": "B", "waiting": 23, "est_wait_min": 41},
            {"id": "C", "name": "不动产登记", "prefix": "C", "waiting": 0, "est_wait_min": 0},
            {"id": "D", "name": "公积金", "prefix": "D", "waiting": 2, "est_wait_min": 6},
        ],
        "recent_calls": [
            {"code": "B012", "window": "3", "at": NOW.isoformat()},
            {"code": "A031", "window": "1", "at": NOW.isoformat()},
            {"code": "D007", "window": "6", "at": NOW.isoformat()},
        ],
        "notices": ["本中心工作时间：周一至周五 9:00-17:00"],
    }
    board.update(extra)
    return board


def amber_share(image, rect) -> float:
    """The part of ``rect`` painted in the notice's amber (what a citizen sees as a band)."""
    hits = total = 0
    for y in range(rect[1], rect[1] + rect[3], 4):
        for x in range(rect[0], rect[0] + rect[2], 8):
            c = image.pixelColor(x, y)
            total += 1
            hits += abs(c.red() - 0xFF) + abs(c.green() - 0xD2) + abs(c.blue() - 0x1F) < 40
    return hits / total


@pytest.fixture
def display(qtbot):
    made = []

    def make(size=(1920, 1080), layout="tv", clock=None):
        d = WindowDisplay(None, "3", layout, now=clock or Clock())
        qtbot.addWidget(d)
        d.resize(*size)
        made.append(d)
        return d

    yield make
    for d in made:
        d.shutdown()


@pytest.fixture
def board(qtbot):
    made = []

    def make(size=(1920, 1080), clock=None):
        b = HallBoard(None, now=clock or Clock())
        qtbot.addWidget(b)
        b.resize(*size)
        made.append(b)
        return b

    yield make
    for b in made:
        b.shutdown()


# ------------------------------------------------------------------ what the payloads say


def test_the_notice_and_alerts_of_a_payload():
    assert notice_of(window_state(notice=notice()), NOW).text == SHORT
    assert notice_of(window_state(), NOW) is None  # an engine older than hall web
    assert notice_of(window_state(notice=None), NOW) is None  # taken down
    assert notice_of(window_state(notice=notice(minutes=-1)), NOW) is None  # expired
    assert notice_of({"notice": {"text": "  ", "until": NOW.isoformat()}}, NOW) is None
    assert notice_of({"notice": {"text": SHORT, "until": "soon"}}, NOW) is None
    assert notice_of({"notice": {"text": SHORT}}, NOW) is None  # no end: not for ever
    assert notice_of({"notice": "text"}, NOW) is None
    naive = {"text": "a\nb", "until": (NOW + timedelta(minutes=5)).replace(tzinfo=None).isoformat()}
    assert notice_of({"notice": naive}, NOW).text == "a b"  # local time; one line
    assert alerts_of(board_payload()) == ()
    assert alerts_of(board_payload(alerts=["综合业务等候超过20人", 3, " ", "x"])) == (
        "综合业务等候超过20人",
        "x",
    )
    assert len(alerts_of(board_payload(alerts=["a"] * 30))) == 10


def test_the_colours_are_readable():
    assert paint.contrast(paint.NOTICE_BG, paint.NOTICE_TEXT) >= 7
    assert paint.contrast(paint.ALERT_BG, paint.ALERT_TEXT) >= 7
    assert paint.contrast(paint.TEXT, paint.TEXT) == pytest.approx(1)


# ------------------------------------------------------------------ the window display


@pytest.mark.parametrize(
    ("size", "text"), [((1920, 1080), SHORT), ((1920, 1080), LONG), ((1280, 720), LONG)]
)
def test_a_tv_shows_the_notice_as_a_band_and_the_number_stays(display, screenshots, size, text):
    d = display(size)
    d.apply_state(window_state(notice=notice(text)), live=False)
    assert d.notice_text == text
    s = size[1] / 1080
    image = d.grab().toImage()
    band_y = int(170 * s) + int(20 * s)
    assert amber_share(image, (0, band_y, size[0], int(110 * s))) > 0.5  # the amber band
    # the number (amber on blue) still stands where it stood, lower by the band
    number = (int(size[0] * 0.35), int(420 * s), int(size[0] * 0.55), int(250 * s))
    assert 0.03 < amber_share(image, number) < 0.9
    assert d.notice_px >= 34 * s  # readable from 2 m on a 43" screen
    d.grab().save(
        str(screenshots / f"counter-display_tv_{size[0]}x{size[1]}_notice_{len(text)}.png")
    )
    d.apply_state(window_state(notice=None), live=False)
    assert d.notice_text is None
    assert amber_share(d.grab().toImage(), (0, band_y, size[0], int(110 * s))) < 0.1


def test_a_display_without_the_field_shows_no_notice(display):
    d = display()
    d.apply_state(window_state(notice=notice()), live=False)
    d.apply_state(window_state(), live=False)  # an engine older than hall web
    assert d.notice_text is None


def test_the_notice_goes_at_its_until_without_a_new_state(display, qtbot):
    d = display(clock=lambda: datetime.now().astimezone())
    until = datetime.now().astimezone() + timedelta(milliseconds=400)
    d.apply_state(window_state(notice={"text": SHORT, "until": until.isoformat()}), live=False)
    assert d.notice_text == SHORT
    qtbot.waitUntil(lambda: d.notice_text is None, timeout=5000)
    assert datetime.now().astimezone() >= until


def panel_share(image, rect) -> float:
    """The part of ``rect`` painted in the clerk panel's blue (a stub peeking out)."""
    hits = total = 0
    target = paint.PANEL
    for y in range(rect[1], rect[1] + rect[3], 2):
        for x in range(rect[0], rect[0] + rect[2], 4):
            c = image.pixelColor(x, y)
            total += 1
            hits += (
                abs(c.red() - target.red())
                + abs(c.green() - target.green())
                + abs(c.blue() - target.blue())
                < 12
            )
    return hits / total


def test_the_centers_message_covers_the_notice_while_it_lasts(display, screenshots):
    d = display()
    d.apply_state(window_state(notice=notice()), live=False)
    d.show_message("请携带身份证原件办理", 30)
    image = d.grab().toImage()
    band = (0, 170 + 150 + 12, 1920, 1080 - 170 - 150 - 12 - 260)  # under the notice
    assert amber_share(image, (0, 190, 1920, 110)) > 0.5  # the notice stays in sight
    assert panel_share(image, band) == 0  # nothing of the clerk's panel round the message
    d.grab().save(str(screenshots / "counter-display_tv_notice_and_message.png"))
    d.clear_message()
    assert d.notice_text == SHORT


@pytest.mark.parametrize("size", [(1920, 1080), (1280, 720)])
@pytest.mark.parametrize("serving", [True, False], ids=["number", "staff_card"])
def test_the_centers_message_leaves_nothing_of_the_body_round_it(
    display, screenshots, size, serving
):
    d = display(size)
    d.apply_state(window_state(**({} if serving else {"current": None})), live=False)
    s = size[1] / 1080
    body = (0, int(170 * s) + 4, size[0], int(1080 * 0.62 * s))
    assert panel_share(d.grab().toImage(), body) > 0.05  # the clerk's panel / 去向牌
    d.show_message("请携带身份证原件办理", 30)
    image = d.grab().toImage()
    assert panel_share(image, body) == 0  # no blue stubs above or below the band
    assert amber_share(image, body) > 0.6  # the message's band is the whole body
    d.grab().save(
        str(screenshots / f"counter-display_tv_{size[0]}x{size[1]}_message_"
            f"{'number' if serving else 'staff_card'}.png")
    )  # fmt: skip
    d.clear_message()
    assert panel_share(d.grab().toImage(), body) > 0.05


@pytest.mark.parametrize("size", [(1280, 160), (640, 64)])
def test_a_strip_shows_a_short_notice_in_place_of_its_name(display, screenshots, size):
    d = display(size, layout="led")
    d.apply_state(window_state(notice=notice("社保暂停至14:00")), live=False)
    if size[1] >= 96:  # two lines: the notice, and the call stays
        assert d.led_lines() == ("社保暂停至14:00", "请B012号办理")
    else:  # one line: the call first
        assert d.led_lines() == ("3号窗口 请B012号办理",)
        d.apply_state(window_state(notice=notice("社保暂停至14:00"), current=None), live=False)
        assert d.led_lines() == ("社保暂停至14:00",)
    d.grab()
    assert not d._scroll.isActive()  # it fits: it stands still
    d.grab().save(str(screenshots / f"counter-display_led_{size[0]}x{size[1]}_notice.png"))


def test_a_strip_scrolls_a_long_notice_at_full_height(display, qtbot, screenshots):
    d = display((1280, 160), layout="led")
    d.apply_state(window_state(notice=notice(LONG)), live=False)
    d.show()
    qtbot.waitUntil(lambda: d.scroll_offset > 100, timeout=5000)  # it moves
    red_rows = set()
    image = d.grab().toImage()
    for y in range(0, 80):
        for x in range(0, 1280, 3):
            c = image.pixelColor(x, y)
            if c.red() > 200 and c.green() < 140 and c.blue() < 140:
                red_rows.add(y)
                break
    assert len(red_rows) > 40  # tall letters on the first line, not shrunk to fit
    d.grab().save(str(screenshots / "counter-display_led_1280x160_notice_scrolling.png"))
    d.apply_state(window_state(notice=None), live=False)
    d.grab()
    assert not d._scroll.isActive()


# ------------------------------------------------------------------ the hall board


@pytest.mark.parametrize("size", [(1920, 1080), (1280, 720)])
def test_the_board_shows_the_notice_banner_and_the_alerts(board, screenshots, size):
    clock = Clock()
    b = board(size, clock)
    for window, name, clerk, code in (
        ("1", "综合受理", "王晓燕", "A031"),
        ("3", "社保就业", "陈静", "B012"),
        ("6", "公积金", "孙丽华", "D007"),
    ):
        b.apply_window(
            window_state(
                window=window, name=f"{window}号窗口", department=name,
                clerk={"id": window, "name": clerk, "staff_no": window},
                current={"code": code, "status": "serving", "call_count": 1},
            )
        )  # fmt: skip
    b.apply_board(
        board_payload(
            notice=notice(LONG),
            alerts=["社保就业等候23人，超过20人", "社保就业最长等候41分钟，超过30分钟"],
        )
    )
    assert b.notice_text == LONG
    assert b.alert_line == "(1/2) 社保就业等候23人，超过20人"
    s = size[1] / 1080
    image = b.grab().toImage()
    assert amber_share(image, (0, int(140 * s), size[0], int(110 * s))) > 0.5
    assert b.notice_px >= 34 * s
    b.grab().save(str(screenshots / f"counter-board_{size[0]}x{size[1]}_notice_alerts.png"))
    b.next_notice()  # alerts take turns with the hall's notices
    assert b.alert_line == "(2/2) 社保就业最长等候41分钟，超过30分钟"
    clock.now = NOW + timedelta(minutes=61)  # past until: gone without a new board
    assert b.notice_text is None
    image = b.grab().toImage()
    assert amber_share(image, (0, int(140 * s), size[0], int(110 * s))) < 0.1


def test_the_board_of_an_older_engine_has_neither(board, screenshots):
    b = board()
    b.apply_board(board_payload(notice=notice(SHORT), alerts=["x"]))
    b.apply_board(board_payload())  # no such fields
    assert b.notice_text is None and b.alerts == () and b.alert_line == ""
    b.apply_board(board_payload(notice=notice(SHORT)))
    assert b.notice_text == SHORT and NOTICE_LABEL == "重要通知"
    b.grab().save(str(screenshots / "counter-board_notice_only.png"))
