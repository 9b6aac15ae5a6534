"""The window display on a real hall plane: TV and LED layouts, flashing, restart, voice."""

from __future__ import annotations

import pytest
from clerks import DEMO_PIN

from counter import paint
from counter.display import WindowDisplay, layout_for
from counter.settings import CounterSettings, DisplaySettings, VoiceSettings
from hall.ui.voice.announcer import Announcer, SilentOutput
from sync import topics

pytestmark = pytest.mark.broker
WAIT = 5000


def amber_pixels(widget) -> int:
    """How much of the screen shows the number colour (what a citizen sees flashing)."""
    image = widget.grab().toImage().scaled(320, 180)
    target = paint.NUMBER
    count = 0
    for y in range(image.height()):
        for x in range(image.width()):
            c = image.pixelColor(x, y)
            if (
                abs(c.red() - target.red())
                + abs(c.green() - target.green())
                + abs(c.blue() - target.blue())
                < 60
            ):
                count += 1
    return count


@pytest.fixture
def display(qtbot, qtlink):
    made = []

    def make(window="3", layout="tv", size=(1920, 1080), **kwargs):
        d = WindowDisplay(qtlink(f"display-{len(made) + 1}"), window, layout, **kwargs)
        qtbot.addWidget(d)
        d.resize(*size)
        made.append(d)
        return d

    yield make
    for d in made:
        d.shutdown()


def test_a_call_shows_the_number_flashing_then_serving(qtbot, hall, display, screenshots):
    d = display("3")
    qtbot.waitUntil(lambda: d.state is not None, timeout=WAIT)  # retained state at once
    assert d.model.status == "closed" and d.model.headline.startswith("本窗口暂未开放")
    hall.cmd("3", {"cmd": "login", "clerk": "1003", "pin": DEMO_PIN})
    hall.issue("gjj-query")
    hall.issue(queue="A")
    hall.cmd("3", {"cmd": "call_next"})
    qtbot.waitUntil(lambda: d.model.code == "D001" and d.model.called, timeout=WAIT)
    m = d.model
    assert (m.name, m.department, m.clerk_name, m.staff_no) == (
        "3号窗口",
        "综合受理",
        "陈静",
        "1003",
    )
    assert m.status_text == "办理中" and m.staff_status == "在岗" and m.waiting == 1
    assert m.headline == "请 D001 号到3号窗口办理"
    assert "住房公积金个人账户查询" in m.items
    assert d.flashing
    # The number blinks: amber on screen comes and goes while flashing.
    seen = []
    for _ in range(6):
        seen.append(amber_pixels(d))
        qtbot.wait(210)
    assert max(seen) - min(seen) > 400, seen
    d._flash_on = True
    d.grab().save(str(screenshots / "counter-display_tv_1920x1080.png"))

    hall.cmd("3", {"cmd": "start"})
    qtbot.waitUntil(lambda: not d.model.called, timeout=WAIT)
    assert d.model.headline == "D001 号正在办理" and not d.flashing


def test_a_recall_flashes_again_and_says_it_is_the_second_call(
    qtbot, hall, hall_clock, display, screenshots
):
    d = display("3")
    hall.cmd("3", {"cmd": "login", "clerk": "1003", "pin": DEMO_PIN})
    code = hall.issue("gjj-query")
    hall.cmd("3", {"cmd": "call_next"})
    qtbot.waitUntil(lambda: d.model.code == code and d.model.called, timeout=WAIT)
    assert d.model.number_label == "当前号码" and not d.model.recalled
    qtbot.waitUntil(lambda: not d.flashing, timeout=WAIT)
    hall_clock.advance(11)  # past the recall's 10 s
    hall.cmd("3", {"cmd": "recall"})
    qtbot.waitUntil(lambda: d.model.call_count == 2, timeout=WAIT)
    assert d.flashing  # the number blinks again
    assert d.model.number_label == "再次呼叫（第2次）"
    assert d.model.headline == f"请 {code} 号到3号窗口办理"
    d._flash_on = True
    d.grab().save(str(screenshots / "counter-display_tv_1920x1080_recall.png"))
    hall.cmd("3", {"cmd": "start"})
    qtbot.waitUntil(lambda: not d.model.called, timeout=WAIT)
    assert d.model.number_label == "当前号码"  # the citizen came


def test_a_restarted_display_shows_the_truth_at_once_without_flashing(qtbot, hall, display):
    hall.cmd("4", {"cmd": "login", "clerk": "2001", "pin": DEMO_PIN})
    hall.issue("rs-card")
    hall.cmd("4", {"cmd": "call_next"})
    d = display("4")
    qtbot.waitUntil(lambda: d.model.code == "B001", timeout=WAIT)
    assert d.model.clerk_name == "赵敏" and d.model.called
    assert not d.flashing  # an old call: no flashing after a restart


def test_pause_with_reason_and_closed_window(qtbot, hall, display, screenshots):
    d = display("5", size=(1280, 720))
    hall.cmd("5", {"cmd": "login", "clerk": "2002", "pin": DEMO_PIN})
    hall.cmd("5", {"cmd": "pause", "reason": "系统故障"})
    qtbot.waitUntil(lambda: d.model.status == "paused", timeout=WAIT)
    assert d.model.status_line == "暂停服务：系统故障"
    assert d.model.headline == "暂停服务：系统故障"
    assert d.model.staff_status == "暂离"
    d.grab().save(str(screenshots / "counter-display_tv_1280x720_paused.png"))
    hall.cmd("5", {"cmd": "resume"})
    hall.cmd("5", {"cmd": "logout"})
    qtbot.waitUntil(lambda: d.model.status == "closed", timeout=WAIT)
    assert d.model.status_line == "未开放" and d.model.clerk_name == ""


@pytest.mark.parametrize(("size", "lines"), [((1280, 160), 2), ((640, 64), 1)])
def test_led_strips_show_big_red_lines(qtbot, hall, display, screenshots, size, lines):
    d = display("1", layout="auto", size=size)
    assert d.layout_name == "led"
    hall.cmd("1", {"cmd": "login", "clerk": "1001", "pin": DEMO_PIN})
    hall.issue(queue="A")
    hall.cmd("1", {"cmd": "call_next"})
    qtbot.waitUntil(lambda: d.model.code == "A001", timeout=WAIT)
    d._flash_on = True
    if lines == 2:
        assert d.led_lines() == ("1号窗口 综合受理", "请A001号办理")
    else:
        assert d.led_lines() == ("1号窗口 请A001号办理",)
    image = d.grab().toImage()
    red = sum(
        1
        for x in range(0, size[0], 4)
        for y in range(0, size[1], 2)
        if image.pixelColor(x, y).red() > 200 and image.pixelColor(x, y).green() < 140
    )
    assert red > 50  # big red text on black
    d.grab().save(str(screenshots / f"counter-display_led_{size[0]}x{size[1]}.png"))


def test_layout_is_chosen_by_config_or_screen_shape(qtbot):
    assert layout_for(1920, 1080) == "tv" and layout_for(1280, 160) == "led"
    settings = CounterSettings(display=DisplaySettings(layout="led"))
    d = WindowDisplay(None, "2", "auto", settings=settings)
    qtbot.addWidget(d)
    d.resize(1920, 1080)
    assert d.layout_name == "led"
    with pytest.raises(ValueError):
        WindowDisplay(None, "2", "poster")


def test_each_window_display_as_the_speaker_says_its_own_calls(qtbot, hall, display, voice_pack):
    settings = CounterSettings(voice=VoiceSettings(speaker="display"))
    announcer = Announcer(voice_pack, SilentOutput())
    d = display("2", settings=settings, announcer=announcer)
    qtbot.waitUntil(lambda: d.state is not None, timeout=WAIT)
    received: list[str] = []  # what the display's link handed on, topic by topic
    d.qtlink._message.connect(lambda _callback, message: received.append(message.topic))
    for window, clerk, item in (("4", "2001", "rs-card"), ("2", "1002", None)):
        hall.cmd(window, {"cmd": "login", "clerk": clerk, "pin": DEMO_PIN})
        hall.issue(item, queue="A")
        hall.cmd(window, {"cmd": "call_next"})
    qtbot.waitUntil(lambda: len(announcer.history) == 1, timeout=WAIT)
    assert announcer.history[0].text == "请 A001 号到 2 号窗口办理"  # not window 4's B001
    # Window 4's call (announced first) never reached this display: it is not woken, nor
    # does it parse, for the other windows' calls (fifty displays each did, #16).
    assert topics.call(d.qtlink.hall_id, "2") in received
    assert not [
        t for t in received if "/event/call/" in t and t != topics.call(d.qtlink.hall_id, "2")
    ]


# ---------------------------------------------------------------------- 去向牌 (#14)

STAFF = [
    {"id": "1003", "name": "陈静", "staff_no": "1003", "department": "综合受理",
     "photo": "1003.png", "phone": "0755-86001003"},
    {"id": "2002", "name": "周文", "staff_no": "2002", "department": "人社局",
     "photo": "assets/staff/2002.png", "phone": "0755-86002002"},
]  # fmt: skip


def empty_window(window, clerk, **extra):
    member = next(m for m in STAFF if m["id"] == clerk)
    return {
        "window": window,
        "name": f"{window}号窗口",
        "department": member["department"],
        "status": "idle",
        "clerk": {k: member[k] for k in ("id", "name", "staff_no", "photo", "department")},
        "staff_status": "在岗",
        "current": None,
        "waiting": 0,
        "items": ["住房公积金个人账户查询"],
        **extra,
    }


def test_an_empty_window_shows_its_staff_card_and_a_ticket_takes_it_back(
    qtbot, tmp_path, screenshots
):
    from hall.ui.qt import QColor, QPixmap

    picture = QPixmap(300, 300)
    picture.fill(QColor("#d97706"))
    picture.save(str(tmp_path / "1003.png"))
    settings = CounterSettings(display=DisplaySettings(photo_dir=str(tmp_path)))
    d = WindowDisplay(None, "3", "tv", settings=settings)
    qtbot.addWidget(d)
    d.resize(1920, 1080)
    d.apply_catalog({"staff": STAFF})
    d.apply_state(empty_window("3", "1003"))
    assert d.shows_staff_card
    card = d.staff_card
    assert (card.title, card.department, card.status_text) == ("陈静", "综合受理", "在岗")
    assert card.phone_text == "电话 0755-86001003"
    image = d.grab().toImage().scaled(320, 180)
    photo = sum(  # the photo from the config's path is drawn, large
        image.pixelColor(x, y).name() == "#d97706" for x in range(320) for y in range(180)
    )
    assert photo > 320 * 180 * 0.08
    d.grab().save(str(screenshots / "counter-display_staff_1920x1080.png"))

    called = {"code": "A003", "status": "called", "call_count": 1}
    d.apply_state(empty_window("3", "1003", status="serving", current=called))
    assert not d.shows_staff_card and d.model.code == "A003"
    d.apply_state({"window": "3", "status": "closed", "clerk": None, "current": None})
    assert not d.shows_staff_card and d.model.headline.startswith("本窗口暂未开放")


def test_a_clerk_out_of_the_window_with_no_photo_shows_a_silhouette(qtbot, screenshots):
    d = WindowDisplay(None, "5", "tv")
    qtbot.addWidget(d)
    d.resize(1280, 720)
    d.apply_catalog({"staff": STAFF})
    d.apply_state(
        empty_window("5", "2002", status="paused", pause_reason="外出办事", staff_status="外出")
    )
    assert d.shows_staff_card and d.staff_card.status_text == "外出"
    assert d.staff_card.photo == "assets/staff/2002.png"  # missing: a silhouette instead
    image = d.grab().toImage()
    sil = paint.SILHOUETTE_BG
    assert any(image.pixelColor(x, 360) == sil for x in range(40, 400, 4))
    d.grab().save(str(screenshots / "counter-display_staff_1280x720_out.png"))


def test_a_hostile_staff_list_leaves_out_what_it_cannot_show(qtbot):
    d = WindowDisplay(None, "3", "tv")
    qtbot.addWidget(d)
    d.apply_catalog({"staff": [None, 3, {"id": "1003", "phone": "<script>" * 10,
                                         "name": ["x"]}]})  # fmt: skip
    d.apply_state(empty_window("3", "1003", staff_status="摸鱼"))
    card = d.staff_card
    assert card.phone == "" and card.status_text == "在岗" and card.name == "陈静"
    d.grab()


def _called(code: str, waiting: int) -> dict:
    return {
        "window": "3",
        "name": "3号窗口",
        "status": "serving",
        "clerk": {"id": "1003", "name": "陈静", "staff_no": "1003"},
        "current": {"ticket_id": f"t-{code}", "code": code, "queue": "A", "status": "called"},
        "call_count": 1,
        "waiting": waiting,
        "waiting_codes": [],
    }


def test_a_flashing_number_shows_two_frames_and_a_change_meanwhile_at_once(qtbot):
    """Each paint of a flash copies one of two frames drawn once; anything else shown
    (here the waiting count) changing during the flash is drawn at once, not the old
    frame again."""
    d = WindowDisplay(None, "3", "tv")
    qtbot.addWidget(d)
    d.resize(1280, 720)
    drawn = []
    draw = d._draw
    d._draw = lambda device, clip=None: (drawn.append(d._flash_on), draw(device, clip))  # type: ignore[method-assign]
    d.apply_state(_called("A001", waiting=2))
    assert d.flashing
    frames = []
    for _ in range(6):  # three flash periods, each step's frame as the citizen sees it
        frames.append(d.grab().toImage())
        d._flash_step()
    assert frames[0] == frames[2] == frames[4] and frames[1] == frames[3] == frames[5]
    assert frames[0] != frames[1]  # the number blinks
    assert sorted(drawn) == [False, True]  # two frames drawn for six paints
    d.apply_state({**_called("A001", waiting=2), "waiting": 9})  # the same call, 9 waiting
    changed = d.grab().toImage()
    assert changed not in (frames[0], frames[1])
    assert amber_pixels(d) > 0 and d.model.waiting == 9


def _largest_channel_difference(a, b, outside=None) -> int:
    """The largest difference of a colour channel between two same-sized images (in
    steps of 2 pixels), leaving out the rect ``outside`` when given."""
    from hall.ui.qt import QColor

    worst = 0
    for y in range(0, a.height(), 2):
        for x in range(0, a.width(), 2):
            if outside is not None and outside.contains(x, y):
                continue
            if a.pixel(x, y) != b.pixel(x, y):
                p, q = QColor(a.pixel(x, y)), QColor(b.pixel(x, y))
                worst = max(
                    worst,
                    abs(p.red() - q.red()),
                    abs(p.green() - q.green()),
                    abs(p.blue() - q.blue()),
                )
    return worst


def _shown_with_paints(qtbot, layout: str):
    """A 1280x720 display shown on the (offscreen) screen, and the area of each of its
    paints as Qt asks for them."""
    from hall.ui.qt import QRect

    d = WindowDisplay(None, "3", layout)
    qtbot.addWidget(d)
    d.resize(1280, 720)
    d.show()
    qtbot.waitExposed(d)
    painted: list[QRect] = []
    paint_event = d.paintEvent
    d.paintEvent = lambda e: (painted.append(QRect(e.rect())), paint_event(e))  # type: ignore[method-assign]
    return d, painted


def _on_screen(d):
    """What the platform shows: its copy of the window, as RGB."""
    from hall.ui.qt import QImage

    image = d.screen().grabWindow(d.winId()).toImage()
    return image.convertToFormat(QImage.Format.Format_RGB32)


@pytest.mark.parametrize("layout", ["tv", "led"])
def test_a_flash_step_repaints_only_the_number_and_the_screen_shows_the_whole_frame(qtbot, layout):
    """A flash step sends only the flashing area (the number, the LED's last line) to
    the screen, not the whole frame again; what the screen shows after each step is
    the frame a full repaint draws (to the invisible text smoothing of two draws)."""
    from hall.ui.qt import QImage

    d, painted = _shown_with_paints(qtbot, layout)
    d.apply_state(_called("A001", waiting=2))
    qtbot.waitUntil(lambda: bool(painted))
    d._flash.stop()  # the steps below, one at a time
    whole = d.width() * d.height()
    rgb = QImage.Format.Format_RGB32

    def screen() -> QImage:
        return _on_screen(d)

    shown = []
    for _ in range(4):
        before = len(painted)
        d._flash_step()
        qtbot.waitUntil(lambda: len(painted) > before)  # noqa: B023  (this step's paint)
        area = painted[-1]
        assert area.width() * area.height() < whole / 2  # the flashing area, not the frame
        on_screen = screen()
        full = d.grab().toImage().convertToFormat(rgb)
        assert on_screen.size() == full.size()
        assert _largest_channel_difference(on_screen, full) <= 8
        shown.append((on_screen, area))
    # the flashing area itself changes from step to step: the citizen sees it blink
    assert _largest_channel_difference(shown[0][0], shown[1][0]) > 60
    # and nothing outside it does
    assert _largest_channel_difference(shown[0][0], shown[1][0], outside=shown[0][1]) <= 8


def test_a_new_waiting_count_alone_redraws_only_the_count_and_shows_what_a_full_draw_shows(
    qtbot,
):
    """A call at another window of the queue changes only this window's waiting count: the
    screen gets the count's area, not the whole frame, and shows what a display drawing
    that state afresh shows (the old count nowhere); the frame kept for the next paints
    has it too."""
    from hall.ui.qt import QImage, QRect

    serving = {**_called("A001", waiting=12), "current": {
        "ticket_id": "t-A001", "code": "A001", "queue": "A", "status": "serving"}}  # fmt: skip
    d, painted = _shown_with_paints(qtbot, "tv")
    d.apply_state(serving)
    qtbot.waitUntil(lambda: bool(painted))
    rgb = QImage.Format.Format_RGB32

    def screen() -> QImage:
        return _on_screen(d)

    before_image, before = screen(), len(painted)
    d.apply_state({**serving, "waiting": 9, "waiting_codes": ["A002"], "updated_at": "x"})
    qtbot.waitUntil(lambda: len(painted) > before)
    area = painted[-1]
    assert area.width() * area.height() < d.width() * d.height() / 10  # the count only
    fresh = WindowDisplay(None, "3", "tv")
    qtbot.addWidget(fresh)
    fresh.resize(1280, 720)
    fresh.apply_state({**serving, "waiting": 9})
    expected = fresh.grab().toImage().convertToFormat(rgb)
    assert _largest_channel_difference(screen(), expected) <= 8  # 等候 9 人, nothing stale
    assert _largest_channel_difference(d.grab().toImage().convertToFormat(rgb), expected) <= 8
    assert _largest_channel_difference(before_image, screen()) > 60  # the count did change
    assert _largest_channel_difference(before_image, screen(), outside=area) == 0
    # anything else in the state changed: the whole frame again
    before = len(painted)
    d.apply_state({**serving, "waiting": 8, "name": "三号窗口"})
    qtbot.waitUntil(lambda: len(painted) > before)
    assert painted[before] == QRect(0, 0, d.width(), d.height())
