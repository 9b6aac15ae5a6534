"""The hall manager's console in a real browser (Debian's chromium, headless) on the real
thing: the demo hall's engine on Mosquitto, ``hall web`` served by uvicorn."""

from __future__ import annotations

import pytest
from clerks import DEMO_PIN
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait
from web_doubles import viewport

from hall.demo_apps import DEMO_MANAGER_PASSWORD
from sync import topics

pytestmark = pytest.mark.broker

HALL = "demo-hall"
DESKTOP = (1366, 768)


def cmd(link, payload):
    answer = link.request(topics.command(HALL, link.device_id), payload, timeout=5.0)
    assert answer["ok"], answer
    return answer["result"]


def log_in(browser, web, password=DEMO_PIN, account="manager"):
    browser.get(web.url + "/console")
    browser.find_element(By.ID, "account").clear()
    browser.find_element(By.ID, "account").send_keys(account)
    browser.find_element(By.ID, "password").send_keys(password)
    browser.find_element(By.ID, "login").click()


def login_error(browser) -> str:
    return (
        WebDriverWait(browser, 5)
        .until(ec.visibility_of_element_located((By.ID, "login-error")))
        .text
    )


def click(browser, css: str) -> None:
    """Click what ``css`` finds now (the console redraws itself on every update)."""

    def clicked(d):
        try:
            d.find_element(By.CSS_SELECTOR, css).click()
            return True
        except StaleElementReferenceException:
            return False

    WebDriverWait(browser, 5, poll_frequency=0.05).until(clicked)


def until(what, timeout: float = 5.0):
    return WebDriverWait(None, timeout, poll_frequency=0.05).until(lambda _d: what())


def test_login_refuses_a_wrong_password_and_locks_the_account(
    web, engine_service, browser, screenshots
):
    viewport(browser, *DESKTOP, mobile=False)
    browser.get(web.url + "/console")
    browser.save_screenshot(str(screenshots / "web-console-login-1366x768.png"))
    limit = engine_service.engine.config.staff_login.max_failures
    for left in range(limit - 1, 0, -1):
        log_in(browser, web, password="not-the-password")
        assert f"账号或密码错误，还可尝试 {left} 次" in login_error(browser)
        if left == limit - 1:
            browser.save_screenshot(str(screenshots / "web-console-login-refused-1366x768.png"))
    log_in(browser, web, password="not-the-password")
    assert "账号已锁定 15 分钟" in login_error(browser)
    log_in(browser, web, password=DEMO_MANAGER_PASSWORD)  # the right one: still locked
    assert "账号已锁定" in login_error(browser)
    assert browser.find_elements(By.ID, "alerts") == []  # no console


def test_the_console_live(web, engine_service, device, browser, hall_clock, screenshots):
    engine = engine_service.engine
    kiosk, caller = device("kiosk-1"), device("caller-4")
    cmd(caller, {"cmd": "login", "clerk": "2001", "pin": DEMO_PIN})
    viewport(browser, *DESKTOP, mobile=False)
    log_in(browser, web, password=DEMO_MANAGER_PASSWORD)
    WebDriverWait(browser, 5).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, '#windows tr[data-window="4"]'))
    )
    assert browser.find_element(By.ID, "no-alerts").is_displayed()
    assert "刘主任" in browser.find_element(By.CSS_SELECTOR, ".bar").text

    # an alert appears when a rule is crossed: people wait for A and no open window serves A
    for key in "ab":
        cmd(kiosk, {"cmd": "issue", "item": "hj-birth", "person_key": key * 32})
    cmd(kiosk, {"cmd": "issue", "item": "rs-card"})  # B001, issued after A001 and A002
    hall_clock.advance(minutes=7)  # they wait (the chart and the longest waits show it)
    alert = (By.CSS_SELECTOR, '#alerts li[data-key="no_open_window:A"]')
    WebDriverWait(browser, 2).until(ec.text_to_be_present_in_element(alert, "户籍业务有 2 人等候"))
    assert "no open window" in browser.find_element(*alert).text
    WebDriverWait(browser, 2).until(
        ec.text_to_be_present_in_element((By.CSS_SELECTOR, '#queues tr[data-queue="A"]'), "2")
    )
    browser.save_screenshot(str(screenshots / "web-console-alert-1366x768.png"))

    # an action without the CSRF token is refused (the session cookie alone is not enough)
    status = browser.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        fetch("/console/api/close_window", {method: "POST", credentials: "same-origin",
            headers: {"Content-Type": "application/json"}, body: JSON.stringify({window: "4"})})
          .then((r) => done(r.status), (e) => done(String(e)));
        """
    )
    assert status == 403 and not engine.closed_by_manager("4")

    # the manager moves window 4 to queue A, then to queue B
    click(browser, '#windows tr[data-window="4"] input[value="B"]')
    click(browser, '#windows tr[data-window="4"] input[value="A"]')
    click(browser, '#windows tr[data-window="4"] button[data-action="save-queues"]')
    until(lambda: engine.window_queues("4") == ("A",))
    assert cmd(caller, {"cmd": "call_next"})["ticket"]["code"] == "A001"
    for step in ("start", "finish"):
        cmd(caller, {"cmd": step})
    click(browser, '#windows tr[data-window="4"] input[value="A"]')
    click(browser, '#windows tr[data-window="4"] input[value="B"]')
    click(browser, '#windows tr[data-window="4"] button[data-action="save-queues"]')
    until(lambda: engine.window_queues("4") == ("B",))
    # window 4's next call takes a B ticket, though A002 has waited longer
    assert cmd(caller, {"cmd": "call_next"})["ticket"]["code"] == "B001"
    WebDriverWait(browser, 2).until(
        ec.text_to_be_present_in_element((By.CSS_SELECTOR, '#windows tr[data-window="4"]'), "B001")
    )

    # the alert acknowledged leaves the console
    click(browser, '#alerts li[data-key="no_open_window:A"] button')
    WebDriverWait(browser, 2).until(ec.invisibility_of_element_located(alert))

    # the manager closes window 4 with a click: the engine refuses its next call
    for step in ("start", "finish"):
        cmd(caller, {"cmd": step})
    click(browser, '#windows tr[data-window="4"] button[data-action="close"]')
    until(lambda: engine.closed_by_manager("4"))
    refused = caller.request(topics.command(HALL, "caller-4"), {"cmd": "call_next"}, timeout=5)
    assert refused["error"]["code"] == "window_closed"

    # a notice posted from the console reaches the board
    browser.find_element(By.ID, "notice-text").send_keys("社保业务系统升级，请耐心等候")
    browser.find_element(By.ID, "notice-button").click()
    WebDriverWait(browser, 2).until(
        ec.text_to_be_present_in_element((By.ID, "notice-now"), "社保业务系统升级")
    )
    browser.execute_script("window.scrollTo(0, 0)")
    WebDriverWait(browser, 2).until(
        ec.text_to_be_present_in_element(
            (By.CSS_SELECTOR, '#windows tr[data-window="4"] button[data-action="open"]'), "开放"
        )
    )
    browser.save_screenshot(str(screenshots / "web-console-after-actions-1366x768.png"))


def test_the_recommendation_applied_with_one_click(
    web, engine_service, device, browser, hall_clock, screenshots
):
    """People have waited for 户籍 20 minutes while window 4 serves only 社保 with nobody
    waiting: the console proposes that window 4 serve 户籍 too; 采纳 makes it so."""
    engine = engine_service.engine
    kiosk, caller = device("kiosk-1"), device("caller-4")
    cmd(caller, {"cmd": "login", "clerk": "2001", "pin": DEMO_PIN})
    assert engine.window_queues("4") == ("B",)
    viewport(browser, *DESKTOP, mobile=False)
    log_in(browser, web, password=DEMO_MANAGER_PASSWORD)
    WebDriverWait(browser, 5).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, '#windows tr[data-window="4"]'))
    )
    assert not browser.find_element(By.ID, "recommend-panel").is_displayed()
    for key in "abc":
        cmd(kiosk, {"cmd": "issue", "item": "hj-birth", "person_key": key * 32})
    hall_clock.advance(minutes=20)  # over half the 30 minutes of alerts.longest_wait_min
    WebDriverWait(browser, 20).until(
        ec.text_to_be_present_in_element((By.ID, "recommend-zh"), "开放4号窗口办理户籍业务")
    )
    assert "等候 3 人，最长 20 分钟" in browser.find_element(By.ID, "recommend-zh").text
    browser.save_screenshot(str(screenshots / "web-console-recommendation-1366x768.png"))
    click(browser, "#adopt")
    until(lambda: engine.window_queues("4") == ("B", "A"))
    # the window's next call takes the 户籍 citizen who waited longest
    assert cmd(caller, {"cmd": "call_next"})["ticket"]["code"] == "A001"
    events = [
        e
        for e in engine.conn.execute("SELECT kind, payload FROM outbox").fetchall()
        if e[0] == "manager_action"
    ]
    assert any('"set_window_queues"' in e[1] and '"mgr-1"' in e[1] for e in events)
