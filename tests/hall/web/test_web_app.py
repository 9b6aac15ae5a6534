"""The web app without a broker (a fake engine link): tokens, sessions, CSRF, headers."""

from __future__ import annotations

import re

import pytest
from web_doubles import OTHER, TOKEN

from hall.web.sessions import COOKIE


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html) or re.search(
        r'name="csrf-token" content="([^"]+)"', html
    )
    assert match, "no CSRF token in the page"
    return match.group(1)


def login(client, account="manager", password="right-password"):
    page = client.get("/console")
    return client.post(
        "/console/login",
        data={"csrf": csrf_of(page.text), "account": account, "password": password},
        follow_redirects=False,
    )


def logged_in(client) -> str:
    answer = login(client)
    assert answer.status_code == 303, answer.text
    return csrf_of(client.get("/console").text)


# ---------------------------------------------------------------- the citizen's page


def test_the_ticket_page_shows_the_view(client):
    page = client.get(f"/t/{TOKEN}")
    assert page.status_code == 200
    assert "A012" in page.text and "等候中" in page.text and "户籍证明" in page.text
    assert 'data-field="ahead_zh">3<' in page.text


@pytest.mark.parametrize(
    "token",
    ["short", "A" * 65, "bad*chars" + "x" * 10, "..%2F..%2Fetc", "<script>alert(1)</script>xx"],
)
def test_a_malformed_token_never_reaches_the_engine(client, fake_link, token):
    page = client.get(f"/t/{token}")
    assert page.status_code == 404
    assert "号码无效或已过期" in page.text and "Ticket not found or expired" in page.text
    assert client.get(f"/t/{token}/events").status_code == 404
    assert fake_link.commands("progress") == []


def test_unknown_and_expired_tokens_get_the_same_page(client, fake_link):
    unknown = client.get(f"/t/{OTHER}")
    fake_link.views.pop(TOKEN)  # the day ended: the engine no longer knows it
    expired = client.get(f"/t/{TOKEN}")
    assert unknown.status_code == expired.status_code == 404
    assert unknown.text == expired.text
    assert TOKEN not in expired.text and OTHER not in unknown.text


def test_the_engine_away_is_not_a_wrong_ticket(client, fake_link):
    fake_link.fail = "link"
    page = client.get(f"/t/{TOKEN}")
    assert page.status_code == 503 and "暂时无法查询" in page.text


def test_security_headers_on_every_page(client):
    for path in (f"/t/{TOKEN}", f"/t/{OTHER}", "/console", "/", "/static/ticket.js", "/nowhere"):
        h = client.get(path).headers
        csp = h["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, path
        assert "unsafe-inline" not in csp
        assert h["x-content-type-options"] == "nosniff"
        assert h["referrer-policy"] == "no-referrer"
        assert h["x-frame-options"] == "DENY"
    assert client.get(f"/t/{TOKEN}").headers["cache-control"] == "no-store"
    assert client.get("/console").headers["cache-control"] == "no-store"


def test_pages_have_no_inline_script_or_style(client):
    logged_in(client)
    for path in (f"/t/{TOKEN}", "/console"):
        html = client.get(path).text
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
        assert "<style" not in html and " style=" not in html, path
        assert "http://" not in html.replace('xmlns="http://', "") and "https://" not in html


def test_the_citizen_endpoints_do_not_give_console_data(client):
    assert client.get("/console/api/overview").status_code == 401
    assert client.get("/console/events").status_code == 401
    page = client.get(f"/t/{TOKEN}").text
    assert "刘主任" not in page and "windows" not in page


# ---------------------------------------------------------------- the console


def test_the_login_form_sets_a_strict_httponly_cookie(client):
    page = client.get("/console")
    cookie = page.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie  # plain HTTP on the hall network; see the https test
    session_id = cookie.split(";")[0].split("=", 1)[1]
    assert len(session_id) >= 43  # 256 bits in URL-safe base64


def test_cookies_are_secure_behind_tls(fake_link):
    from starlette.testclient import TestClient

    from hall.web.app import WebSettings, create_app
    from hall.web.gateway import Gateway

    app = create_app(Gateway(fake_link), WebSettings(https=True))
    with TestClient(app, base_url="https://hall.local") as c:
        page = c.get("/console")
        assert "Secure" in page.headers["set-cookie"]
        assert page.headers["strict-transport-security"].startswith("max-age=")


def test_login_refused_and_locked(client):
    wrong = login(client, password="wrong-password")
    assert wrong.status_code == 401
    assert "账号或密码错误，还可尝试 4 次" in wrong.text and "4 attempts left" in wrong.text
    locked = login(client, account="locked", password="whatever-it-is")
    assert locked.status_code == 423 and "账号已锁定 15 分钟" in locked.text
    assert client.get("/console/api/overview").status_code == 401


def test_login_without_csrf_is_refused(client, fake_link):
    client.get("/console")
    answer = client.post(
        "/console/login", data={"account": "manager", "password": "right-password"}
    )
    assert answer.status_code == 403
    assert fake_link.commands("manager_login") == []


def test_a_login_makes_a_new_session(client):
    client.get("/console")
    before = client.cookies.get(COOKIE)
    assert login(client).status_code == 303
    after = client.cookies.get(COOKIE)
    assert after and after != before
    assert client.get("/console/api/overview").json()["business_date"] == "2026-11-23"


def test_every_console_post_needs_the_csrf_token(client, fake_link):
    csrf = logged_in(client)
    body = {"window": "4", "queues": ["B"]}
    refused = [
        client.post("/console/api/set_window_queues", json=body),
        client.post("/console/api/set_window_queues", json=body, headers={"X-CSRF-Token": "x"}),
        client.post("/console/api/close_window", json={"window": "4", "csrf": csrf[:-1]}),
        client.post("/console/logout", data={}),
    ]
    assert [r.status_code for r in refused] == [403, 403, 403, 403]
    assert fake_link.commands("set_window_queues") == fake_link.commands("close_window") == []
    ok = client.post("/console/api/set_window_queues", json=body, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200 and ok.json()["ok"]
    sent = fake_link.commands("set_window_queues")
    assert sent == [
        {"cmd": "set_window_queues", "manager": "mgr-1", "window": "4", "queues": ["B"]}
    ]


def test_an_action_is_the_logged_in_managers(client, fake_link):
    csrf = logged_in(client)
    answer = client.post(
        "/console/api/close_window",
        json={"window": "4", "manager": "someone-else"},
        headers={"X-CSRF-Token": csrf},
    )
    assert answer.status_code == 200
    assert fake_link.commands("close_window")[0]["manager"] == "mgr-1"


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("set_window_queues", {"window": "4", "queues": []}),
        ("set_window_queues", {"window": "../4", "queues": ["B"]}),
        ("move_ticket", {"code": "A1; DROP", "to_queue": "B"}),
        ("post_notice", {"text": "x" * 81}),
        ("post_notice", {"text": "ok", "minutes": 100000}),
        ("ack_alert", {"alert": "../../etc"}),
    ],
)
def test_bad_action_arguments_are_refused_here(client, fake_link, action, body):
    csrf = logged_in(client)
    answer = client.post(f"/console/api/{action}", json=body, headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 400
    assert fake_link.commands(action) == []


def test_unknown_actions_and_methods(client, fake_link):
    csrf = logged_in(client)
    assert (
        client.post("/console/api/issue", json={}, headers={"X-CSRF-Token": csrf}).status_code
        == 404
    )
    assert client.get("/console/api/close_window").status_code == 405


def test_logout_ends_the_session(client):
    csrf = logged_in(client)
    answer = client.post("/console/logout", data={"csrf": csrf}, follow_redirects=False)
    assert answer.status_code == 303
    assert client.get("/console/api/overview").status_code == 401


def test_an_idle_session_expires():
    from hall.web.sessions import Sessions

    now = [0.0]
    sessions = Sessions(idle_s=60, clock=lambda: now[0])
    s = sessions.new({"id": "mgr-1", "name": "x"})
    now[0] = 59
    assert sessions.get(s.id) is s
    now[0] = 59 + 61
    assert sessions.get(s.id) is None


def test_sessions_are_bounded_and_login_forms_go_first():
    from hall.web.sessions import Sessions

    now = [0.0]
    sessions = Sessions(max_sessions=3, clock=lambda: now[0])
    manager = sessions.new({"id": "mgr-1", "name": "x"})
    for _ in range(10):
        now[0] += 1
        sessions.new()
    assert len(sessions) == 3 and sessions.get(manager.id) is manager


def test_healthz(client, fake_link):
    ok = client.get("/healthz")
    assert ok.status_code == 200 and ok.json()["broker"] is True
    fake_link.connected.clear()
    assert client.get("/healthz").status_code == 503
