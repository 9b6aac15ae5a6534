"""The citizen's page in a real browser (Debian's chromium, headless) on the real thing:
the demo hall's engine on Mosquitto, ``hall web`` served by uvicorn.  The page's address
comes from the QR code of the ticket the kiosk would print (ESC/POS bytes -> the
renderer -> zxing-cpp)."""

from __future__ import annotations

import time
from datetime import datetime
from urllib.parse import urlsplit

import pytest
import zxingcpp
from clerks import DEMO_PIN
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait
from web_doubles import viewport

from drivers.printer.escpos_codec import build_ticket
from drivers.printer.render import render
from kiosk.catalog import parse_catalog
from kiosk.ticketing import issued_from_result, ticket_data
from sync import topics

pytestmark = pytest.mark.broker

HALL = "demo-hall"
PHONE = (390, 844)


def cmd(link, payload):
    answer = link.request(topics.command(HALL, link.device_id), payload, timeout=5.0)
    assert answer["ok"], answer
    return answer["result"]


def qr_of_printed_ticket(result, catalog) -> str:
    """The URL a phone reads from the ticket the kiosk prints for this issue answer."""
    ticket = issued_from_result(result, catalog, now=datetime(2026, 11, 23, 9, 30))
    image = render(build_ticket(ticket_data(ticket), "80mm"))
    codes = [c for c in zxingcpp.read_barcodes(image) if c.format == zxingcpp.BarcodeFormat.QRCode]
    assert len(codes) == 1, "the ticket carries one QR code"
    return codes[0].text


def on_our_server(url: str, web) -> str:
    """The QR's http://hall.local/t/<token> on the test's server (same path)."""
    parts = urlsplit(url)
    assert parts.netloc == "hall.local" and parts.path.startswith("/t/"), url
    return web.url + parts.path


def text_of(driver, element_id: str) -> str:
    return driver.find_element(By.ID, element_id).text


def wait_text(driver, element_id: str, text: str, timeout: float = 5.0) -> None:
    WebDriverWait(driver, timeout, poll_frequency=0.02).until(
        ec.text_to_be_present_in_element((By.ID, element_id), text)
    )


def test_the_page_follows_the_ticket_live(
    web, engine_service, device, browser, retained, screenshots
):
    kiosk, caller = device("kiosk-1"), device("caller-1")
    catalog = parse_catalog(retained(topics.catalog(HALL)))
    first, _second, mine = (
        cmd(kiosk, {"cmd": "issue", "item": "hj-proof", "person_key": key * 32}) for key in "abc"
    )
    url = qr_of_printed_ticket(mine, catalog)
    assert url == mine["follow_url"]
    # a second ticket's token says nothing about the next one
    token, other = urlsplit(url).path.rsplit("/", 1)[1], first["follow_url"].rsplit("/", 1)[1]
    assert len(token) >= 22 and token != other  # 22 URL-safe characters: 128 random bits
    assert sum(a != b for a, b in zip(token, other, strict=True)) >= 10

    viewport(browser, *PHONE, mobile=True)
    browser.get(on_our_server(url, web))
    assert text_of(browser, "ticket").startswith("您的号码") or "A003" in browser.page_source
    wait_text(browser, "ahead", "2")
    assert "等候中" in text_of(browser, "status")
    assert (
        "公安派出所出具证明" in browser.page_source and "Police certificate" in browser.page_source
    )
    WebDriverWait(browser, 5).until(
        lambda d: "本页自动更新" in text_of(d, "live")
    )  # the live stream is open
    browser.find_element(By.ID, "sound").click()  # the gesture the browser wants for sound
    wait_text(browser, "sound", "声音提醒已开启")
    browser.save_screenshot(str(screenshots / "web-citizen-waiting-390x844.png"))

    cmd(caller, {"cmd": "login", "clerk": "1001", "pin": DEMO_PIN})
    assert cmd(caller, {"cmd": "call_next"})["ticket"]["code"] == "A001"
    wait_text(browser, "ahead", "1", timeout=1.0)  # the position falls, without a reload
    for step in ("start", "finish"):
        cmd(caller, {"cmd": step})
    cmd(caller, {"cmd": "call_next"})
    wait_text(browser, "ahead", "0", timeout=1.0)
    assert "下一位就是您" in text_of(browser, "status")
    for step in ("start", "finish"):
        cmd(caller, {"cmd": step})

    rang_before = browser.find_element(By.TAG_NAME, "body").get_attribute("data-rang")
    called = cmd(caller, {"cmd": "call_next"})
    called_at = time.monotonic()
    assert called["ticket"]["code"] == mine["ticket"]["code"]
    wait_text(browser, "status", "请到 1 号窗口", timeout=1.0)  # within a second of the call
    assert time.monotonic() - called_at < 1.0
    assert "Please go to window 1" in text_of(browser, "status")
    assert browser.find_element(By.ID, "waiting").is_displayed() is False
    # it rang (the page's beep and vibration ran) for the call
    assert browser.find_element(By.TAG_NAME, "body").get_attribute("data-rang") != rang_before
    browser.save_screenshot(str(screenshots / "web-citizen-called-390x844.png"))

    cmd(caller, {"cmd": "start"})
    wait_text(browser, "status", "办理中", timeout=1.0)
    cmd(caller, {"cmd": "finish"})
    wait_text(browser, "status", "已办结，请评价", timeout=1.0)
    browser.save_screenshot(str(screenshots / "web-citizen-done-390x844.png"))
    # nothing personal and no ticket id on the page
    assert mine["ticket"]["id"] not in browser.page_source


def test_a_wrong_or_expired_token_gets_a_clear_page(
    web, engine_service, device, browser, hall_clock, screenshots
):
    kiosk = device("kiosk-1")
    issued = cmd(kiosk, {"cmd": "issue", "item": "rs-card"})
    path = urlsplit(issued["follow_url"]).path
    viewport(browser, *PHONE, mobile=True)

    browser.get(web.url + "/t/" + "x" * 22)  # well formed, never issued
    wrong = browser.find_element(By.TAG_NAME, "main").text
    assert "号码无效或已过期" in wrong and "Ticket not found or expired" in wrong
    browser.save_screenshot(str(screenshots / "web-citizen-wrong-token-390x844.png"))
    browser.get(web.url + "/t/short")
    assert browser.find_element(By.TAG_NAME, "main").text == wrong

    browser.get(web.url + path)  # valid today: the live page
    wait_text(browser, "status", "等候中")
    WebDriverWait(browser, 5).until(lambda d: "本页自动更新" in text_of(d, "live"))
    hall_clock.advance(24 * 3600)  # the next business day (a Tuesday)
    cmd(kiosk, {"cmd": "issue", "item": "rs-card"})  # the hall moves: the page refreshes
    WebDriverWait(browser, 2).until(lambda d: d.find_element(By.ID, "gone").is_displayed())
    assert "号码已失效" in text_of(browser, "gone")
    browser.get(web.url + path)  # and opened again: the same page as a wrong token
    assert browser.find_element(By.TAG_NAME, "main").text == wrong


def test_the_citizens_page_cannot_reach_the_console(web, engine_service, device, browser):
    issued = cmd(device("kiosk-1"), {"cmd": "issue", "item": "rs-card"})
    browser.get(web.url + urlsplit(issued["follow_url"]).path)
    wait_text(browser, "status", "等候中")
    statuses = browser.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        Promise.all(["/console/api/overview", "/console/events"].map(
            (u) => fetch(u, {credentials: "include"}).then((r) => r.status)
        )).then(done, (e) => done(String(e)));
        """
    )
    assert statuses == [401, 401]
