"""The tablet evaluator on screen (#14): confirm, levels, reasons, comment, thanks at
1280×800, readable (>= 7:1, nothing clipped), and on a real hall plane."""

from __future__ import annotations

import json

import pytest
from clerks import DEMO_PIN

from counter.paint import contrast
from counter.tablet import NEUTRAL_COLOUR, OK_COLOUR, TABLET_LEVEL_COLOURS, TabletWindow
from hall.ui.qt import QColor, QLabel, QPushButton, Qt

WAIT = 5000
CATALOG = {
    "hall": "demo-hall",
    "items": [{"id": "hj-birth", "name": "出生登记", "queue": "A"}],
    "staff": [
        {"id": "1001", "name": "王晓燕", "staff_no": "1001", "department": "综合受理"},
    ],
    "haochaping": {
        "reasons": [
            "服务态度差",
            "办事效率低",
            "业务不熟练",
            "一次性告知不到位",
            "材料要求多",
            "多次跑腿",
            "环境设施差",
            "其他",
        ],
        "tablet_comment": True,
    },
}


def state(*cases):
    return {
        "window": "1",
        "name": "1号窗口",
        "department": "综合受理",
        "status": "idle",
        "clerk": {"id": "1001", "name": "王晓燕", "staff_no": "1001"},
        "to_rate": [
            {
                "case_id": case,
                "ticket_id": "t1",
                "code": "A001",
                "item": "hj-birth",
                "item_name": "出生登记（户籍）",
                "case_no": "BJ-2026-000123",
                "finished_at": "2026-11-23T09:30:00",
            }
            for case in cases
        ],
    }


@pytest.fixture
def tablet(qtbot, tmp_path, hall_clock):
    made = []

    def make(qtlink=None):
        t = TabletWindow(qtlink, "1", tmp_path / "tablet.db", clock=hall_clock)
        qtbot.addWidget(t)
        t.resize(1280, 800)
        made.append(t)
        return t

    yield make
    for t in made:
        t.shutdown()


def clipped(widget) -> list[str]:
    """Texts on the current page wider than their widget (a button's padding counted)."""
    widget.grab()  # laid out as on screen
    page = widget.stack.currentWidget()
    out = []
    for w in page.findChildren(QPushButton) + page.findChildren(QLabel):
        if not w.isVisibleTo(widget) or (isinstance(w, QLabel) and w.wordWrap()):
            continue
        room = w.contentsRect().width() - (22 if isinstance(w, QPushButton) else 0)
        for line in w.text().split("\n"):
            if line and w.fontMetrics().horizontalAdvance(line) > room:
                out.append(line)
    return out


def test_the_colours_are_at_least_7_to_1():
    white = QColor("#ffffff")
    for colour in (*TABLET_LEVEL_COLOURS.values(), OK_COLOUR, NEUTRAL_COLOUR):
        assert contrast(QColor(colour), white) >= 7.0, colour
    assert contrast(QColor("#d6e0f5"), QColor("#123a75")) >= 7.0  # the labels on the panel
    assert contrast(QColor("#ffd21f"), QColor("#123a75")) >= 7.0  # the item on the panel


def test_the_pages_a_citizen_goes_through(qtbot, tablet, screenshots):
    t = tablet()
    pages = []
    t.page_changed.connect(pages.append)
    t.apply_catalog(CATALOG)
    t.apply_state(state("c1"))
    assert t.page == "confirm"
    values = {k: v.text() for k, v in t.confirm_values.items()}
    assert values == {
        "item": "出生登记（户籍）",
        "case_no": "BJ-2026-000123",
        "code": "A001 号",
        "clerk": "王晓燕  工号 1001",
        "department": "综合受理",
        "window": "1号窗口",
    }
    assert clipped(t) == []
    t.grab().save(str(screenshots / "counter-tablet_confirm.png"))

    qtbot.mouseClick(t.confirm_button, Qt.MouseButton.LeftButton)
    assert t.page == "prompt"
    assert [t.level_buttons[i].text() for i in range(1, 6)] == [
        "非常满意",
        "满意",
        "基本满意",
        "不满意",
        "非常不满意",
    ]
    assert clipped(t) == []
    t.grab().save(str(screenshots / "counter-tablet_levels.png"))

    qtbot.mouseClick(t.level_buttons[4], Qt.MouseButton.LeftButton)
    assert t.page == "reasons" and t.store.counts() == {"draft": 1}
    assert [b.text() for b in t.reason_buttons] == CATALOG["haochaping"]["reasons"]
    for b in t.reason_buttons:
        if b.text() in ("办事效率低", "多次跑腿"):
            qtbot.mouseClick(b, Qt.MouseButton.LeftButton)
    pad = {b.objectName(): b for b in t.findChildren(QPushButton)}
    for digit in "13812345678":
        qtbot.mouseClick(pad[f"pad_{digit}"], Qt.MouseButton.LeftButton)
    assert t.phone_label.text() == "138****5678（11位）"
    assert clipped(t) == []
    t.grab().save(str(screenshots / "counter-tablet_reasons.png"))

    qtbot.mouseClick(t.submit_button, Qt.MouseButton.LeftButton)
    assert t.page == "comment"
    phrases = {b.text(): b for b in t.phrase_buttons}
    qtbot.mouseClick(phrases["希望一次性告知"], Qt.MouseButton.LeftButton)
    qtbot.keyClicks(t.comment_field, " ok")
    assert t.comment_field.text() == "希望一次性告知 ok"
    assert t.comment_count.text() == "10/200"
    assert clipped(t) == []
    t.grab().save(str(screenshots / "counter-tablet_comment.png"))

    qtbot.mouseClick(t.comment_submit, Qt.MouseButton.LeftButton)
    assert t.page == "thanks" and t.thanks_info.text() == "您的评价：不满意"
    t.grab().save(str(screenshots / "counter-tablet_thanks.png"))
    assert pages == ["confirm", "prompt", "reasons", "comment", "thanks"]
    (rating,) = t.store.pending()
    assert (rating.case_id, rating.channel, rating.level) == ("c1", "tablet", 4)
    assert rating.reasons == ("办事效率低", "多次跑腿") and rating.contact == "13812345678"
    assert rating.comment == "希望一次性告知 ok"


def test_wrong_shows_a_neutral_page_and_records_nothing(qtbot, tablet, screenshots):
    t = tablet()
    t.apply_state(state("c1"))
    qtbot.mouseClick(t.wrong_button, Qt.MouseButton.LeftButton)
    assert t.page == "thanks"
    assert (t.thanks_title.text(), t.thanks_info.text()) == (
        "感谢您的反馈",
        "信息有误，请向窗口工作人员说明",
    )
    t.grab().save(str(screenshots / "counter-tablet_wrong.png"))
    assert t.store.counts() == {}


@pytest.mark.broker
def test_on_the_real_engine_a_confirmed_tap_reaches_it_once(
    qtbot, tablet, qtlink, hall, engine_service
):
    hall.cmd("1", {"cmd": "login", "clerk": "1001", "pin": DEMO_PIN})
    t = tablet(qtlink("evaluator-1"))
    qtbot.waitUntil(lambda: t.flow.catalog.get("hall") == "demo-hall", timeout=WAIT)
    code = hall.serve("1", "1001", item="gjj-query")
    qtbot.waitUntil(lambda: t.page == "confirm", timeout=WAIT)
    values = {k: v.text() for k, v in t.confirm_values.items()}
    assert values["code"] == f"{code} 号" and values["clerk"] == "王晓燕  工号 1001"
    assert values["item"] == "住房公积金个人账户查询"  # the catalogue's name
    qtbot.mouseClick(t.confirm_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(t.rating_acked, timeout=WAIT) as acked:
        qtbot.mouseClick(t.level_buttons[1], Qt.MouseButton.LeftButton)
        if t.page == "comment":  # an engine with cases: the comment is offered
            qtbot.mouseClick(t.comment_skip, Qt.MouseButton.LeftButton)
    rating, duplicate = acked.args
    assert not duplicate and rating.channel == "tablet"
    rows = engine_service.engine.conn.execute(
        "SELECT rating_id, level, reasons FROM ratings"
    ).fetchall()
    assert [(r[0], r[1], json.loads(r[2])) for r in rows] == [(rating.rating_id, 1, [])]
