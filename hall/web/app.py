"""The web role's Starlette app: the citizen's page and the hall manager's console.

Routes (see docs/web.md):

* ``GET /t/{token}`` the citizen's page; ``GET /t/{token}/events`` its live view (SSE).
* ``GET /console`` the login form or the console; ``POST /console/login``,
  ``POST /console/logout``; ``GET /console/api/overview`` and ``GET /console/events``
  (SSE) the console's data; ``POST /console/api/{action}`` a manager's action.
* ``GET /console/api/follow_ups`` the follow-ups (回访整改) without phone numbers;
  ``POST /console/api/follow_up_contact`` one citizen's number for the call-back
  (CSRF; answered to that manager only, never logged, never in the live stream).
* ``GET /healthz`` for ``hall doctor``; ``/static/...`` the scripts and styles.

The citizen's endpoints carry only their own token's view; every console endpoint
needs a logged-in session, every POST its CSRF token.  Every response has the
security headers (:class:`SecurityHeaders`); pages are never cached.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sse_starlette import EventSourceResponse
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hall.web.gateway import (
    EngineRefused,
    EngineUnavailable,
    Full,
    Gateway,
    Subscription,
    valid_token,
)
from hall.web.sessions import COOKIE, CSRF_FIELD, CSRF_HEADER, IDLE_S, Session, Sessions
from hall.web.texts import present

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
ACCOUNT_RE = re.compile(r"^[a-z0-9._-]{2,32}$")
ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
CODE_RE = re.compile(r"^[A-Z]{1,2}\d{1,4}$")
ALERT_RE = re.compile(r"^[a-z_]{1,20}:[A-Za-z0-9_.:-]{1,64}$")
RATING_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
MAX_ANSWER = 200  # 回访: the citizen's answer, as the manager notes it
MAX_RECTIFICATION = 400  # 整改: what was done
MAX_BODY = 16 * 1024
SSE_PING_S = 15
SSE_SEND_TIMEOUT_S = 10
SSE_RETRY_MS = 2000

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


@dataclass(frozen=True)
class WebSettings:
    https: bool = False  # served over TLS (or behind a TLS proxy): cookies are Secure
    session_idle_s: float = IDLE_S


class SecurityHeaders:
    """Adds the security headers to every HTTP response (pure ASGI: SSE streams too)."""

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.headers = [
            (b"content-security-policy", CSP.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),  # the token is in the URL
            (b"x-frame-options", b"DENY"),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
        ]
        if https:
            self.headers.append((b"strict-transport-security", b"max-age=31536000"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() not in {h for h, _ in self.headers}
                    and (static or k.lower() != b"cache-control")
                ]
                headers += self.headers
                if not static:  # pages, data and streams: never kept by a cache
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _sse(event: str, data: Any, *, retry: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"event": event, "data": json.dumps(data, ensure_ascii=False)}
    if retry is not None:
        out["retry"] = retry
    return out


def create_app(gateway: Gateway, settings: WebSettings | None = None) -> Starlette:
    """The app serving through ``gateway`` (started and closed by the app's lifespan)."""
    settings = settings or WebSettings()
    templates = Jinja2Templates(directory=str(HERE / "templates"))  # autoescaped
    sessions = Sessions(idle_s=settings.session_idle_s)

    def page(
        request: Request, name: str, context: dict[str, Any], status_code: int = 200
    ) -> Response:
        context = {"hall_name": gateway.hall_name, **context}
        return templates.TemplateResponse(request, name, context, status_code=status_code)

    # ------------------------------------------------------------------ citizen

    def ticket_gone(request: Request) -> Response:
        """The one answer for a token that is malformed, unknown or another day's."""
        return page(request, "gone.html", {}, status_code=404)

    def engine_away(request: Request) -> Response:
        return page(request, "away.html", {}, status_code=503)

    async def ticket_page(request: Request) -> Response:
        token = request.path_params["token"]
        if not valid_token(token):
            return ticket_gone(request)
        try:
            view = await gateway.lookup(token)
        except (EngineUnavailable, EngineRefused):
            return engine_away(request)
        if view is None:
            return ticket_gone(request)
        shown = present(view, gateway.remind_ahead)
        return page(request, "ticket.html", {"t": shown})

    async def ticket_events(request: Request) -> Response:
        token = request.path_params["token"]
        if not valid_token(token):
            return JSONResponse({"error": "not_found"}, status_code=404)
        try:
            view = await gateway.lookup(token)
        except (EngineUnavailable, EngineRefused):
            return JSONResponse({"error": "unavailable"}, status_code=503)
        if view is None:
            return JSONResponse({"error": "not_found"}, status_code=404)
        try:
            sub = gateway.watch(token, view)
        except Full:
            return JSONResponse({"error": "busy"}, status_code=503)

        def encode(kind: str, data: Any) -> dict[str, Any]:
            if kind == "view":
                return _sse("view", present(data, gateway.remind_ahead))
            return _sse(kind, data)

        return _stream(gateway, sub, encode)

    # ------------------------------------------------------------------ console

    def session_of(request: Request) -> Session | None:
        return sessions.get(request.cookies.get(COOKIE))

    def set_cookie(response: Response, session: Session) -> None:
        response.set_cookie(
            COOKIE,
            session.id,
            path="/console",
            httponly=True,
            samesite="strict",
            secure=settings.https,
        )

    def login_form(
        request: Request,
        session: Session | None,
        *,
        error_zh: str = "",
        error_en: str = "",
        account: str = "",
        status_code: int = 200,
    ) -> Response:
        if session is None or session.logged_in:
            session = sessions.new()
        response = page(
            request,
            "login.html",
            {
                "csrf": session.csrf,
                "error_zh": error_zh,
                "error_en": error_en,
                "account": account,
            },
            status_code=status_code,
        )
        set_cookie(response, session)
        return response

    async def console(request: Request) -> Response:
        session = session_of(request)
        if session is None or not session.logged_in:
            return login_form(request, session)
        assert session.manager is not None
        return page(request, "console.html", {"csrf": session.csrf, "manager": session.manager})

    async def form_of(request: Request) -> dict[str, str]:
        if int(request.headers.get("content-length") or 0) > MAX_BODY:
            raise HTTPException(413)
        async with request.form(max_files=0, max_fields=10) as form:
            return {k: v for k, v in form.items() if isinstance(v, str)}

    async def login(request: Request) -> Response:
        session = session_of(request)
        form = await form_of(request)
        if session is None or not session.csrf_ok(form.get(CSRF_FIELD)):
            return login_form(
                request,
                None,
                error_zh="登录页面已过期，请重新输入",
                error_en="The login form expired: please try again",
                status_code=403,
            )
        account = form.get("account", "").strip().lower()[:40]
        password = form.get("password", "")
        if not ACCOUNT_RE.match(account) or not password or len(password) > 128:
            return login_form(
                request,
                session,
                error_zh="账号或密码错误",
                error_en="Wrong account or password",
                account=account if ACCOUNT_RE.match(account) else "",
                status_code=401,
            )
        try:
            result = await gateway.request(
                {"cmd": "manager_login", "account": account, "password": password}
            )
        except EngineUnavailable:
            return login_form(
                request,
                session,
                error_zh="暂时无法连接排队系统，请稍后再试",
                error_en="The queue system cannot be reached: please try again later",
                account=account,
                status_code=503,
            )
        except EngineRefused as exc:
            data = exc.error.get("data") or {}
            if exc.code == "manager_locked":
                minutes = max(1, math.ceil(float(data.get("retry_after_s") or 60) / 60))
                zh = f"账号已锁定 {minutes} 分钟，请稍后再试"
                en = f"The account is locked for {minutes} min"
                status = 423
            else:
                left = data.get("attempts_left")
                zh, en = "账号或密码错误", "Wrong account or password"
                if isinstance(left, int):
                    zh += f"，还可尝试 {left} 次"
                    en += f": {left} attempt{'s' if left != 1 else ''} left"
                status = 401
            log.info("console login refused for account %s: %s", account, exc.code)
            return login_form(
                request, session, error_zh=zh, error_en=en, account=account, status_code=status
            )
        manager = result.get("manager") if isinstance(result, dict) else None
        if not isinstance(manager, dict) or "id" not in manager:
            return engine_away(request)
        new = sessions.login(session, manager)
        log.info("manager %s logged in to the console", new.manager and new.manager["id"])
        response = RedirectResponse("/console", status_code=303)
        set_cookie(response, new)
        return response

    async def logout(request: Request) -> Response:
        session = session_of(request)
        form = await form_of(request)
        if session is None or not session.csrf_ok(form.get(CSRF_FIELD)):
            return JSONResponse({"error": "csrf"}, status_code=403)
        sessions.drop(session.id)
        response = RedirectResponse("/console", status_code=303)
        response.delete_cookie(COOKIE, path="/console")
        return response

    def manager_session(request: Request) -> Session | None:
        session = session_of(request)
        return session if session is not None and session.logged_in else None

    async def overview(request: Request) -> Response:
        if manager_session(request) is None:
            return JSONResponse({"error": "login"}, status_code=401)
        try:
            return JSONResponse(await gateway.overview())
        except (EngineUnavailable, EngineRefused):
            return JSONResponse({"error": "unavailable"}, status_code=503)

    async def follow_ups(request: Request) -> Response:
        session = manager_session(request)
        if session is None or session.manager is None:
            return JSONResponse({"error": "login"}, status_code=401)
        try:
            return JSONResponse(await gateway.follow_ups(session.manager["id"]))
        except (EngineUnavailable, EngineRefused):
            return JSONResponse({"error": "unavailable"}, status_code=503)

    async def console_events(request: Request) -> Response:
        session = manager_session(request)
        if session is None or session.manager is None:
            return JSONResponse({"error": "login"}, status_code=401)
        manager_id = session.manager["id"]
        try:
            data = await gateway.overview()
        except (EngineUnavailable, EngineRefused):
            return JSONResponse({"error": "unavailable"}, status_code=503)
        try:
            follow = await gateway.follow_ups(manager_id)
        except (EngineUnavailable, EngineRefused):
            follow = None  # an engine older than #14: the console without the panel's data
        try:
            sub = gateway.watch_console(data, follow, manager=manager_id)
        except Full:
            return JSONResponse({"error": "busy"}, status_code=503)
        return _stream(gateway, sub, _sse)

    async def posted(request: Request) -> tuple[Session | None, dict[str, Any], Response | None]:
        """A console POST's session and JSON body, or the refusal (no session, too big,
        no valid CSRF token, not logged in)."""
        session = session_of(request)
        if session is None:
            return None, {}, JSONResponse({"ok": False, "error": _err("login")}, status_code=403)
        if int(request.headers.get("content-length") or 0) > MAX_BODY:
            refused = JSONResponse({"ok": False, "error": _err("bad_request")}, status_code=413)
            return None, {}, refused
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            body = {}
        token = request.headers.get(CSRF_HEADER) or body.get(CSRF_FIELD)
        if not session.csrf_ok(token):
            log.warning("console action refused: no valid CSRF token")
            return None, {}, JSONResponse({"ok": False, "error": _err("csrf")}, status_code=403)
        if not session.logged_in or session.manager is None:
            return None, {}, JSONResponse({"ok": False, "error": _err("login")}, status_code=401)
        return session, body, None

    async def follow_up_contact(request: Request) -> Response:
        """The citizen's number for the call-back: to the logged-in manager who asked, in
        this answer only (no-store, like every answer); the log says who looked, not what."""
        session, body, refused = await posted(request)
        if refused is not None or session is None or session.manager is None:
            assert refused is not None
            return refused
        rating_id = _text(body.get("rating_id"), RATING_ID_RE)
        if rating_id is None:
            return JSONResponse({"ok": False, "error": _err("bad_request")}, status_code=400)
        manager_id = session.manager["id"]
        try:
            contact = await gateway.follow_up_contact(manager_id, rating_id)
        except EngineUnavailable:
            return JSONResponse({"ok": False, "error": _err("unavailable")}, status_code=503)
        except EngineRefused as exc:
            if exc.code == "unknown_manager":
                sessions.drop(session.id)
                return JSONResponse({"ok": False, "error": exc.error}, status_code=401)
            return JSONResponse({"ok": False, "error": exc.error}, status_code=409)
        if contact is None:
            return JSONResponse({"ok": False, "error": _err("no_contact")}, status_code=404)
        log.info("manager %s looked up the contact of rating %s", manager_id, rating_id)
        return JSONResponse({"ok": True, "result": {"rating_id": rating_id, "contact": contact}})

    async def action(request: Request) -> Response:
        session, body, refused = await posted(request)
        if refused is not None or session is None or session.manager is None:
            assert refused is not None
            return refused
        name = request.path_params["action"]
        build = ACTIONS.get(name)
        if build is None:
            return JSONResponse({"ok": False, "error": _err("bad_request")}, status_code=404)
        args = build(body)
        if args is None:
            return JSONResponse({"ok": False, "error": _err("bad_request")}, status_code=400)
        manager_id = session.manager["id"]
        try:
            result = await gateway.request({"cmd": name, "manager": manager_id, **args})
        except EngineUnavailable:
            return JSONResponse({"ok": False, "error": _err("unavailable")}, status_code=503)
        except EngineRefused as exc:
            if exc.code == "unknown_manager":  # the hall config no longer lists them
                sessions.drop(session.id)
                return JSONResponse({"ok": False, "error": exc.error}, status_code=401)
            return JSONResponse({"ok": False, "error": exc.error}, status_code=409)
        log.info("manager %s: %s %s", manager_id, name, _describe(args))
        gateway.mark_dirty()
        return JSONResponse({"ok": True, "result": result})

    # ------------------------------------------------------------------ operations

    async def healthz(_request: Request) -> Response:
        ok = gateway.connected and gateway.alive()
        body = {"ok": ok, "broker": gateway.connected, "alive": gateway.alive(), **gateway.stats()}
        return JSONResponse(body, status_code=200 if ok else 503)

    async def home(request: Request) -> Response:
        return page(request, "home.html", {})

    async def not_found(request: Request, _exc: Exception) -> Response:
        if request.url.path.startswith("/t/"):  # a token with a slash in it: still a bad one
            return ticket_gone(request)
        return page(request, "notfound.html", {}, status_code=404)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await gateway.start()
        try:
            yield
        finally:
            await gateway.close()

    routes = [
        Route("/", home),
        Route("/t/{token}", ticket_page),
        Route("/t/{token}/events", ticket_events),
        Route("/console", console),
        Route("/console/login", login, methods=["POST"]),
        Route("/console/logout", logout, methods=["POST"]),
        Route("/console/api/overview", overview),
        Route("/console/events", console_events),
        Route("/console/api/follow_ups", follow_ups),
        Route("/console/api/follow_up_contact", follow_up_contact, methods=["POST"]),
        Route("/console/api/{action}", action, methods=["POST"]),
        Route("/healthz", healthz),
        Mount("/static", app=StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={404: not_found})
    app.state.gateway = gateway
    app.state.sessions = sessions
    app.add_middleware(SecurityHeaders, https=settings.https)
    return app


def _stream(
    gateway: Gateway, sub: Subscription, encode: Callable[[str, Any], dict[str, Any]]
) -> Response:
    """An SSE response of ``sub``'s events; the page's subscription ends with it."""

    async def events() -> AsyncIterator[dict[str, Any]]:
        try:
            first = True
            while True:
                item = await sub.next()
                if item is None:
                    return  # closed, dropped (too slow) or stopping: the browser reconnects
                event = encode(*item)
                if first:
                    event["retry"] = SSE_RETRY_MS
                    first = False
                yield event
        finally:
            gateway.unwatch(sub)

    return EventSourceResponse(
        events(),
        ping=SSE_PING_S,
        send_timeout=SSE_SEND_TIMEOUT_S,
        headers={"Cache-Control": "no-store"},
    )


def _err(code: str) -> dict[str, str]:
    zh = {
        "csrf": "页面已过期，请刷新后重试",
        "login": "请重新登录",
        "bad_request": "请求格式错误",
        "unavailable": "暂时无法连接排队系统，请稍后再试",
        "no_contact": "该评价没有留下联系电话",
    }.get(code, "操作失败")
    return {"code": code, "message_zh": zh, "message": code.replace("_", " ")}


def _text(value: Any, pattern: re.Pattern[str]) -> str | None:
    return value if isinstance(value, str) and pattern.match(value) else None


def _window(body: dict[str, Any]) -> dict[str, Any] | None:
    window = _text(body.get("window"), ID_RE)
    return {"window": window} if window else None


def _window_queues(body: dict[str, Any]) -> dict[str, Any] | None:
    window = _text(body.get("window"), ID_RE)
    queues = body.get("queues")
    if not window or not isinstance(queues, list) or not 1 <= len(queues) <= 10:
        return None
    if not all(_text(q, ID_RE) for q in queues):
        return None
    return {"window": window, "queues": list(dict.fromkeys(queues))}


def _move(body: dict[str, Any]) -> dict[str, Any] | None:
    code = body.get("code")
    code = code.strip().upper() if isinstance(code, str) else None
    to_queue = _text(body.get("to_queue"), ID_RE)
    if not code or not CODE_RE.match(code) or not to_queue:
        return None
    return {"code": code, "to_queue": to_queue}


def _notice(body: dict[str, Any]) -> dict[str, Any] | None:
    text = body.get("text", "")
    minutes = body.get("minutes", 60)
    if isinstance(minutes, str) and minutes.isdigit():
        minutes = int(minutes)
    if not isinstance(text, str) or len(text) > 80 or any(not c.isprintable() for c in text):
        return None
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= 480:
        return None
    return {"text": " ".join(text.split()), "minutes": minutes}


def _ack(body: dict[str, Any]) -> dict[str, Any] | None:
    alert = _text(body.get("alert"), ALERT_RE)
    return {"alert": alert} if alert else None


def _words(value: Any, most: int, *, least: int = 0) -> str | None:
    """Free text the manager types (a citizen's answer, what was done): one line of
    printable characters, spaces collapsed, ``least``..``most`` characters."""
    if not isinstance(value, str) or any(not c.isprintable() and c not in "\r\n\t" for c in value):
        return None
    text = " ".join(value.split())
    return text if least <= len(text) <= most else None


def _callback(body: dict[str, Any]) -> dict[str, Any] | None:
    rating_id = _text(body.get("rating_id"), RATING_ID_RE)
    reached = body.get("reached")
    answer = _words(body.get("answer", ""), MAX_ANSWER)
    if rating_id is None or not isinstance(reached, bool) or answer is None:
        return None
    return {"rating_id": rating_id, "reached": reached, "answer": answer}


def _rectify(body: dict[str, Any]) -> dict[str, Any] | None:
    rating_id = _text(body.get("rating_id"), RATING_ID_RE)
    action = _words(body.get("action"), MAX_RECTIFICATION, least=1)
    if rating_id is None or action is None:
        return None
    return {"rating_id": rating_id, "action": action}


ACTIONS: dict[str, Callable[[dict[str, Any]], dict[str, Any] | None]] = {
    "set_window_queues": _window_queues,
    "open_window": _window,
    "close_window": _window,
    "move_ticket": _move,
    "post_notice": _notice,
    "ack_alert": _ack,
    "follow_up_callback": _callback,
    "follow_up_rectify": _rectify,
}

#: Arguments that are someone's words: the log has their length, never the text.
_WORDS = ("text", "answer", "action")


def _describe(args: dict[str, Any]) -> str:
    """An action's arguments for the log: a notice's text, the citizen's answer and the
    rectification are people's words (they may hold a name or a number), so only their
    lengths."""
    shown = {k: v for k, v in args.items() if k not in _WORDS}
    for key in _WORDS:
        if key in args:
            shown[f"{key}_chars"] = len(args[key])
    return json.dumps(shown, ensure_ascii=False)
