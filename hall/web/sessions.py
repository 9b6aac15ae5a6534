"""The console's server-side sessions and their CSRF tokens.

* A session id is 256 random bits (``secrets.token_urlsafe(32)``), kept only in
  this process and in the manager's cookie (HttpOnly, SameSite=Strict, Secure
  behind TLS); nothing about the manager is in the cookie.
* Every session, also the one that only shows the login form, has its own CSRF
  token (256 bits); every POST must carry it (form field or ``X-CSRF-Token``),
  compared in constant time.
* Logging in makes a new session (new id, new CSRF token): an id known before the
  login is worth nothing after it.
* Sessions end after ``idle_s`` without a request (login-form sessions sooner),
  and there are at most ``max_sessions`` (the oldest login-form ones go first).
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

IDLE_S = 30 * 60
ANONYMOUS_IDLE_S = 10 * 60
MAX_SESSIONS = 500
COOKIE = "hall_console"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"


def new_secret() -> str:
    return secrets.token_urlsafe(32)  # 256 bits


@dataclass
class Session:
    id: str = field(repr=False)
    csrf: str = field(repr=False)
    last_seen: float
    manager: dict[str, Any] | None = None  # {"id", "name"} once logged in

    @property
    def logged_in(self) -> bool:
        return self.manager is not None

    def csrf_ok(self, presented: object) -> bool:
        return isinstance(presented, str) and hmac.compare_digest(
            presented.encode(), self.csrf.encode()
        )


class Sessions:
    def __init__(
        self,
        *,
        idle_s: float = IDLE_S,
        anonymous_idle_s: float = ANONYMOUS_IDLE_S,
        max_sessions: int = MAX_SESSIONS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.idle_s = idle_s
        self.anonymous_idle_s = anonymous_idle_s
        self.max_sessions = max_sessions
        self._clock = clock
        self._sessions: dict[str, Session] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def _expired(self, session: Session, now: float) -> bool:
        limit = self.idle_s if session.logged_in else self.anonymous_idle_s
        return now - session.last_seen > limit

    def get(self, session_id: str | None) -> Session | None:
        """The live session with this id (its idle time restarts), or None."""
        if not session_id or not isinstance(session_id, str) or len(session_id) > 100:
            return None
        session = self._sessions.get(session_id)
        if session is None:
            return None
        now = self._clock()
        if self._expired(session, now):
            del self._sessions[session_id]
            return None
        session.last_seen = now
        return session

    def new(self, manager: dict[str, Any] | None = None) -> Session:
        now = self._clock()
        self._make_room(now)
        session = Session(new_secret(), new_secret(), now, manager)
        self._sessions[session.id] = session
        return session

    def login(self, old: Session | None, manager: dict[str, Any]) -> Session:
        """A new session for ``manager``; ``old`` (the login form's) ends."""
        if old is not None:
            self.drop(old.id)
        return self.new({"id": str(manager["id"]), "name": str(manager.get("name") or "")})

    def drop(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)

    def drop_manager(self, manager_id: str) -> None:
        for sid in [
            s.id for s in self._sessions.values() if (s.manager or {}).get("id") == manager_id
        ]:
            self.drop(sid)

    def _make_room(self, now: float) -> None:
        for sid in [s.id for s in self._sessions.values() if self._expired(s, now)]:
            del self._sessions[sid]
        if len(self._sessions) < self.max_sessions:
            return
        # the login forms first (anyone can open one), oldest first; then the oldest at all
        ordered = sorted(self._sessions.values(), key=lambda s: (s.logged_in, s.last_seen))
        for session in ordered[: len(self._sessions) - self.max_sessions + 1]:
            del self._sessions[session.id]
