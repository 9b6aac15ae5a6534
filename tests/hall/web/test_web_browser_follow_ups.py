"""回访整改 on the manager's console in a real browser (Debian's chromium, headless) on the
real thing: the demo hall's engine on Mosquitto, ``hall web`` served by uvicorn.

A 非常不满意 rating made through the engine (evaluator-1 at window 1) appears as an open
follow-up with its deadline; the manager reveals the number, records the call-back and the
rectification, and it closes; the day's rates move; a POST without CSRF is refused."""

from __future__ import annotations

import json
import logging
import uuid

import pytest
from clerks import DEMO_PIN
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait
from test_web_browser_console import DESKTOP, click, cmd, log_in
from web_doubles import viewport

from hall.demo_apps import DEMO_MANAGER_PASSWORD

pytestmark = pytest.mark.broker

PHONE = "13912345678"


def figure(browser, name: str) -> str:
    return browser.find_element(By.CSS_SELECTOR, f'#fu-figures [data-figure="{name}"] dd').text


def post_without_csrf(browser, action: str, body: dict) -> int:
    return browser.execute_async_script(
        """
        const [action, body, done] = arguments;
        fetch("/console/api/" + action, {method: "POST", credentials: "same-origin",
            headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)})
          .then((r) => done(r.status), (e) => done(String(e)));
        """,
        action,
        body,
    )


def test_a_bad_rating_followed_up_and_closed(
    web, engine_service, device, browser, screenshots, caplog
):
    caplog.set_level(logging.DEBUG)
    engine = engine_service.engine
    kiosk, caller, evaluator = device("kiosk-1"), device("caller-1"), device("evaluator-1")
    cmd(caller, {"cmd": "login", "clerk": "2001", "pin": DEMO_PIN})
    ticket = cmd(kiosk, {"cmd": "issue", "item": "hj-birth", "person_key": "a" * 32})["ticket"]
    assert cmd(caller, {"cmd": "call_next"})["ticket"]["code"] == ticket["code"]
    for step in ("start", "finish"):
        cmd(caller, {"cmd": step})
    case = cmd(evaluator, {"cmd": "window_view", "window": "1"})["to_rate"][0]

    viewport(browser, *DESKTOP, mobile=False)
    log_in(browser, web, password=DEMO_MANAGER_PASSWORD)
    WebDriverWait(browser, 5).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, '#fu-figures [data-figure="opened"]'))
    )
    assert browser.find_element(By.ID, "no-follow-ups").is_displayed()
    assert figure(browser, "opened") == "0" and figure(browser, "callback_rate") == "—"

    # the citizen presses 非常不满意, picks a reason and leaves a number
    rating_id = str(uuid.uuid4())
    rating = {
        "rating_id": rating_id,
        "ticket_id": case["ticket_id"],
        "case_id": case["case_id"],
        "level": 5,
        "reasons": ["服务态度差"],
        "contact": PHONE,
        "channel": "evaluator",
    }
    assert cmd(evaluator, {"cmd": "rate", "window": "1", "rating": rating})["duplicate"] is False

    item = (By.CSS_SELECTOR, f'#follow-ups li[data-rating="{rating_id}"]')
    WebDriverWait(browser, 3).until(ec.text_to_be_present_in_element(item, "非常不满意"))
    card = browser.find_element(*item)
    text = card.text
    assert ticket["code"] in text and "服务态度差" in text
    staff = engine.config.staff_member("2001")
    assert f"{staff.name}（工号 {staff.staff_no}）" in text and "1 号窗口" in text
    assert engine.config.item("hj-birth").name in text
    # the deadline: 15 working days from Monday 2026-11-23
    assert "期限 2026-12-14" in text and "还剩 15 个工作日" in text
    assert "139****5678" in text
    assert PHONE not in browser.page_source  # masked until asked for
    assert browser.find_element(By.ID, "fu-link-count").text == "1"
    assert figure(browser, "opened") == "1" and figure(browser, "callback_rate") == "0%"
    assert figure(browser, "rectification_rate") == "0%" and figure(browser, "overdue") == "0"
    alerts = browser.find_element(By.ID, "alerts").text
    assert ticket["code"] in alerts and "回访" in alerts
    browser.execute_script("arguments[0].scrollIntoView()", card)
    browser.save_screenshot(str(screenshots / "web-console-follow-up-open-1366x768.png"))

    # without the CSRF token: no number, no rectification
    assert post_without_csrf(browser, "follow_up_contact", {"rating_id": rating_id}) == 403
    no_csrf = {"rating_id": rating_id, "action": "伪造的整改"}
    assert post_without_csrf(browser, "follow_up_rectify", no_csrf) == 403
    row = engine.conn.execute(
        "SELECT status, rectified_at FROM follow_ups WHERE rating_id=?", (rating_id,)
    ).fetchone()
    assert tuple(row) == ("open", None)

    # 显示号码: the number for the call-back, to this manager only
    click(browser, f'#follow-ups li[data-rating="{rating_id}"] [data-action="show-contact"]')
    WebDriverWait(browser, 3).until(ec.text_to_be_present_in_element(item, PHONE))
    tel = browser.find_element(By.CSS_SELECTOR, f'#follow-ups li[data-rating="{rating_id}"] a')
    assert tel.get_attribute("href") == f"tel:{PHONE}"
    browser.save_screenshot(str(screenshots / "web-console-follow-up-number-1366x768.png"))

    # 回访: reached, the citizen's answer
    form = f'#follow-ups li[data-rating="{rating_id}"] form[data-form="callback"]'
    click(browser, form + ' input[value="yes"]')
    browser.find_element(By.CSS_SELECTOR, form + ' input[name="answer"]').send_keys(
        "已致歉，群众表示理解"
    )
    click(browser, form + ' button[type="submit"]')
    WebDriverWait(browser, 3).until(ec.text_to_be_present_in_element(item, "已回访，待整改"))
    assert "已联系上：已致歉，群众表示理解" in browser.find_element(*item).text
    WebDriverWait(browser, 3).until(lambda b: figure(b, "callback_rate") == "100%")
    assert figure(browser, "rectification_rate") == "0%"

    # 整改: what was done; with the call-back, the follow-up closes
    form = f'#follow-ups li[data-rating="{rating_id}"] form[data-form="rectify"]'
    browser.find_element(By.CSS_SELECTOR, form + ' input[name="action"]').send_keys(
        "对窗口人员进行服务规范培训"
    )
    click(browser, form + ' button[type="submit"]')
    WebDriverWait(browser, 3).until(ec.invisibility_of_element_located(item))
    closed = (By.CSS_SELECTOR, f'#follow-ups-closed li[data-rating="{rating_id}"]')
    WebDriverWait(browser, 3).until(ec.text_to_be_present_in_element(closed, "服务规范培训"))
    assert browser.find_element(By.ID, "no-follow-ups").is_displayed()
    assert figure(browser, "rectification_rate") == "100%"
    assert browser.find_element(By.ID, "fu-link-count").text == "0"
    assert PHONE not in browser.page_source  # the revealed number went with the card
    panel = browser.find_element(By.ID, "follow-ups-panel")
    browser.execute_script("arguments[0].scrollIntoView()", panel)
    browser.save_screenshot(str(screenshots / "web-console-follow-up-closed-1366x768.png"))

    # every step is an outbox event with the manager, none with the number
    steps = [
        json.loads(p)
        for k, p in engine.conn.execute("SELECT kind, payload FROM outbox").fetchall()
        if k == "follow_up"
    ]
    mine = [s for s in steps if s["rating_id"] == rating_id]
    assert [s["step"] for s in mine] == ["opened", "callback", "rectified"]
    assert all(s.get("manager") == "mgr-1" for s in mine[1:])
    assert PHONE not in json.dumps(steps)
    status = engine.conn.execute(
        "SELECT status FROM follow_ups WHERE rating_id=?", (rating_id,)
    ).fetchone()[0]
    assert status == "closed"
    # never in a log line of ours, the web role's or the engine's (selenium's own debug
    # lines carry what the browser shows)
    ours = [r for r in caplog.records if not r.name.startswith(("selenium", "urllib3"))]
    assert ours and not [r for r in ours if PHONE in r.getMessage()]


# ---------------------------------------------------------------- on the fake engine


def test_deadlines_in_colour_and_a_draft_kept_through_a_live_update(browser, screenshots):
    """Near the deadline (≤ remind_days_before working days) red, past it 已逾期; what the
    manager types stays while the list redraws with another manager's step."""
    from web_doubles import FOLLOW_UP, FakeLink

    from hall.core.appliance import Notifier
    from hall.web.gateway import Gateway
    from hall.web.server import WebServer
    from sync.client import Message

    link = FakeLink()
    soon = {**FOLLOW_UP, "days_left": 2}
    late = {
        **FOLLOW_UP,
        "rating_id": "late-1",
        "code": "B007",
        "item_name": "社保卡补办",
        "level": 4,
        "level_name": "不满意",
        "reasons": ["多次跑腿"],
        "comment": "",
        "opened_at": "2026-10-30T10:00:00",  # not today: counted in 累计 only
        "deadline": "2026-11-20",
        "days_left": -1,
        "overdue": True,
        "status": "called",
        "callback": {"reached": False, "answer": "", "at": "2026-11-10T15:00:00", "by": "mgr-1"},
    }
    link.follow_ups = [late, soon]
    server = WebServer(
        Gateway(link, refresh_every_s=3600), host="127.0.0.1", port=0, notify=Notifier({})
    ).start_in_thread()
    try:
        viewport(browser, *DESKTOP, mobile=False)
        log_in(browser, server, password="right-password")
        late_item = (By.CSS_SELECTOR, '#follow-ups li[data-rating="late-1"]')
        WebDriverWait(browser, 5).until(ec.text_to_be_present_in_element(late_item, "已逾期"))
        soon_item = (By.CSS_SELECTOR, f'#follow-ups li[data-rating="{FOLLOW_UP["rating_id"]}"]')
        left = browser.find_element(soon_item[0], soon_item[1] + " .fu-left")
        assert left.text.startswith("还剩 2 个工作日") and "soon" in left.get_attribute("class")
        overdue = browser.find_element(late_item[0], late_item[1] + " .fu-left")
        assert "overdue" in overdue.get_attribute("class")
        assert overdue.value_of_css_property("color") == "rgba(255, 255, 255, 1)"
        assert figure(browser, "overdue") == "1"
        # the day's rates over today's one; the engine's over both
        assert figure(browser, "opened") == "1" and figure(browser, "callback_rate") == "0%"
        assert (
            "累计 2 件差评：回访率 50%，整改率 0%" in browser.find_element(By.ID, "fu-total").text
        )
        # not reached: the call-back may be tried again
        late_text = browser.find_element(*late_item).text
        assert "未联系上" in late_text and "再次回访" in late_text and "记录回访" in late_text
        # the manager types; another console's step redraws the list meanwhile
        answer = browser.find_element(soon_item[0], soon_item[1] + ' input[name="answer"]')
        answer.send_keys("正在联系")
        link.follow_ups[0] = {**late, "rectification": {"action": "x", "at": "", "by": "m"}}
        link.follow_ups[0]["status"] = "closed"
        link.closed.append(link.follow_ups.pop(0))
        server.gateway._on_message(Message("hall/demo-hall/window/1/state", {}, b"{}", True))
        WebDriverWait(browser, 3).until(ec.invisibility_of_element_located(late_item))
        again = browser.find_element(soon_item[0], soon_item[1] + ' input[name="answer"]')
        assert again.get_attribute("value") == "正在联系"
        assert browser.switch_to.active_element == again
        link.follow_ups.insert(0, late)  # back, for the picture
        link.closed.clear()
        server.gateway._on_message(Message("hall/demo-hall/window/1/state", {}, b"{}", True))
        WebDriverWait(browser, 3).until(ec.presence_of_element_located(late_item))
        panel = browser.find_element(By.ID, "follow-ups-panel")
        browser.execute_script("arguments[0].scrollIntoView()", panel)
        browser.save_screenshot(str(screenshots / "web-console-follow-up-deadlines-1366x768.png"))
    finally:
        server.stop()
