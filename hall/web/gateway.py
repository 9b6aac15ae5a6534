"""The web role's one door to the queue engine: an :class:`~sync.mqtt.MqttLink` as device web-1.

* Subscribes to the window states, the board and the call announcements.  Any of
  them marks the gateway dirty; after a short debounce (:data:`DEBOUNCE_S`) it asks
  the engine for ``progress`` of the tokens that have a live page (chunks of at most
  100 tokens and :data:`MAX_CHUNK_BYTES`), and for ``overview`` when a console is
  open, and hands each subscriber only what changed.  A periodic refresh
  (estimates, served minutes, alerts raised by the engine's sweep) runs meanwhile.
* Requests to the engine block (``MqttLink.request``): they run on the gateway's
  worker threads; ``loop.run_in_executor`` hands each result back to the asyncio
  loop (``call_soon_threadsafe`` underneath).  MQTT callbacks (the link's
  dispatcher thread) only mark the gateway dirty with ``call_soon_threadsafe``.
* Bounded: live pages per token and in total, consoles, and each subscriber's
  queue; a subscriber that does not keep up is dropped (its page reconnects and
  gets the current view).  Lookups of tokens without a live page are limited in
  number at a time and remembered briefly when unknown.
* Nothing a peer sends and no engine error stops a loop: failures are logged (once
  per outage) and the last good views stay.

The gateway never sees personal data beyond what the engine's web commands give
(the progress view has none; the overview names clerks for the console only), and
never logs a token.  The follow-ups (回访整改) the consoles get live are the
engine's ``follow_ups`` answer without the citizen's full phone number
(:func:`without_contacts`): only :meth:`Gateway.follow_up_contact` gives it, for
one follow-up, to the logged-in manager who asked; it is neither kept nor logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sync import topics
from sync.mqtt import LinkError, Message, MqttLink

log = logging.getLogger(__name__)

#: A follow-page token as the engine makes them (``secrets.token_urlsafe(16)``: 22
#: characters); the contract allows 16..64 of the URL-safe alphabet.
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
DEBOUNCE_S = 0.04
REFRESH_EVERY_S = 15.0  # estimates, served minutes and swept alerts move with time
REQUEST_TIMEOUT_S = 3.0
MAX_TOKENS_PER_REQUEST = 100
MAX_CHUNK_BYTES = 3000  # the engine refuses commands over 4096 bytes
MAX_PAGES_PER_TOKEN = 5
MAX_PAGES = 3000
MAX_CONSOLES = 20
QUEUE_SIZE = 8  # events waiting for one subscriber; more: it is too slow and dropped
MAX_LOOKUPS = 8  # engine lookups at a time for pages opening
UNKNOWN_TTL_S = 10.0
UNKNOWN_MAX = 2000
WORKERS = 4


def valid_token(token: object) -> bool:
    return isinstance(token, str) and TOKEN_RE.match(token) is not None


class EngineUnavailable(RuntimeError):
    """The engine did not answer (broker away, engine down, timeout)."""


class Full(RuntimeError):
    """Too many live pages (for this token, or in total) or consoles."""


class EngineRefused(RuntimeError):
    """The engine answered ``ok: false`` (its error dict in ``error``)."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(str(error.get("message") or error.get("code") or "refused"))
        self.error = error

    @property
    def code(self) -> str:
        return str(self.error.get("code") or "")


def without_contacts(follow_ups: dict[str, Any]) -> dict[str, Any]:
    """The engine's ``follow_ups`` answer as the consoles get it live: every list's
    entries without ``contact`` (the full number; ``contact_masked`` stays)."""
    out = dict(follow_ups)
    for key in ("open", "recent"):
        entries = out.get(key)
        out[key] = (
            [{k: v for k, v in e.items() if k != "contact"} for e in entries if isinstance(e, dict)]
            if isinstance(entries, list)
            else []
        )
    return out


@dataclass(eq=False)
class Subscription:
    """One live page (or console): events for it wait in a bounded queue.

    Events are ``(kind, data)`` tuples; ``None`` ends the stream (closed or dropped).
    """

    key: str  # the token, or "" for a console
    manager: str | None = None  # a console's logged-in manager (asks for the follow-ups)
    queue: asyncio.Queue[tuple[str, Any] | None] = field(
        default_factory=lambda: asyncio.Queue(QUEUE_SIZE + 1)
    )
    closed: bool = False
    dropped: bool = False

    def offer(self, kind: str, data: Any) -> bool:
        """Queue an event; False (and the subscription ends) when it is full."""
        if self.closed:
            return False
        if self.queue.qsize() >= QUEUE_SIZE:
            self.dropped = True
            self.end()
            return False
        self.queue.put_nowait((kind, data))
        return True

    def end(self) -> None:
        if self.closed:
            return
        self.closed = True
        while True:  # make room for the end marker
            try:
                self.queue.put_nowait(None)
                return
            except asyncio.QueueFull:
                with contextlib.suppress(asyncio.QueueEmpty):
                    self.queue.get_nowait()

    async def next(self) -> tuple[str, Any] | None:
        return await self.queue.get()


class Gateway:
    """See the module docstring.  Use from one asyncio loop: :meth:`start` there first."""

    def __init__(
        self,
        link: MqttLink,
        *,
        debounce_s: float = DEBOUNCE_S,
        refresh_every_s: float = REFRESH_EVERY_S,
        request_timeout_s: float = REQUEST_TIMEOUT_S,
        max_pages_per_token: int = MAX_PAGES_PER_TOKEN,
        max_pages: int = MAX_PAGES,
        max_consoles: int = MAX_CONSOLES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.link = link
        self.debounce_s = debounce_s
        self.refresh_every_s = refresh_every_s
        self.request_timeout_s = request_timeout_s
        self.max_pages_per_token = max_pages_per_token
        self.max_pages = max_pages
        self.max_consoles = max_consoles
        self._clock = clock
        self._topic = topics.command(link.hall_id, link.device_id)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._dirty: asyncio.Event | None = None
        self._mark_scheduled = False  # a mark from the MQTT side is on its way to the loop
        self._tasks: list[asyncio.Task[None]] = []
        self._pages: dict[str, set[Subscription]] = {}
        self._views: dict[str, dict[str, Any]] = {}  # the last view sent per live token
        self._consoles: set[Subscription] = set()
        self._overview: dict[str, Any] | None = None
        self._follow_ups: dict[str, Any] | None = None  # without contacts
        self._follow_ups_failing = False
        self._remind_ahead: list[int] = [5, 2]
        self._unknown: dict[str, float] = {}  # token -> when the engine said unknown
        self._lookups: asyncio.Semaphore | None = None
        self._failing = False
        self.refreshes = 0  # for tests and the bench
        self.last_refresh_ok: float | None = None
        self._closed = False
        self.hall_name = ""  # from the board: the page's heading

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> Gateway:
        self._loop = asyncio.get_running_loop()
        self._executor = ThreadPoolExecutor(WORKERS, thread_name_prefix="web-engine")
        self._dirty = asyncio.Event()
        self._lookups = asyncio.Semaphore(MAX_LOOKUPS)
        hall = self.link.hall_id
        filters = (topics.window_states_filter(hall), topics.board(hall), topics.calls(hall))

        def subscribe() -> None:
            for topic_filter in filters:
                self.link.subscribe(topic_filter, self._on_message)
            self.link.add_connection_listener(self._on_connection)

        await self._loop.run_in_executor(self._executor, subscribe)
        self._tasks = [
            asyncio.create_task(self._refresh_loop(), name="web-refresh"),
            asyncio.create_task(self._tick_loop(), name="web-tick"),
        ]
        return self

    def end_streams(self) -> None:
        """End every live page's and console's stream (before the server stops)."""
        for subs in list(self._pages.values()):
            for sub in list(subs):
                sub.end()
        for sub in list(self._consoles):
            sub.end()
        self._pages.clear()
        self._consoles.clear()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.end_streams()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._executor is not None:
            executor = self._executor
            await asyncio.get_running_loop().run_in_executor(
                None, lambda: executor.shutdown(wait=True, cancel_futures=True)
            )

    @property
    def connected(self) -> bool:
        return self.link.connected.is_set()

    def alive(self) -> bool:
        """The link's threads run and our loops have not died."""
        tasks_ok = bool(self._tasks) and not any(t.done() for t in self._tasks)
        return tasks_ok and self.link.alive()

    def stats(self) -> dict[str, Any]:
        return {
            "pages": sum(len(s) for s in self._pages.values()),
            "tokens": len(self._pages),
            "consoles": len(self._consoles),
            "refreshes": self.refreshes,
        }

    # ------------------------------------------------------------------ MQTT side

    def _on_message(self, message: Message) -> None:
        """Dispatcher thread: a state changed somewhere; refresh soon."""
        payload = message.payload
        if message.topic.endswith("/board") and isinstance(payload, dict):
            name = payload.get("hall_name")
            if isinstance(name, str) and name:
                self.hall_name = name[:40]
        self._mark_threadsafe()

    def _on_connection(self, up: bool) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(self._connection_changed, up)

    def _mark_threadsafe(self) -> None:
        loop = self._loop
        if loop is None or self._mark_scheduled or loop.is_closed():
            return
        self._mark_scheduled = True
        try:
            loop.call_soon_threadsafe(self._mark_from_thread)
        except RuntimeError:  # the loop closed meanwhile
            self._mark_scheduled = False

    def _mark_from_thread(self) -> None:
        self._mark_scheduled = False
        self.mark_dirty()

    def mark_dirty(self) -> None:
        if self._dirty is not None:
            self._dirty.set()

    def _connection_changed(self, up: bool) -> None:
        for sub in self._all_subscriptions():
            sub.offer("link", {"online": up})
        if up:
            self.mark_dirty()

    def _all_subscriptions(self) -> Iterable[Subscription]:
        for subs in list(self._pages.values()):
            yield from list(subs)
        yield from list(self._consoles)

    # ------------------------------------------------------------------ engine requests

    def _request_blocking(self, payload: dict[str, Any]) -> Any:
        """On a worker thread: the engine's ``result``; raises EngineUnavailable/EngineRefused."""
        try:
            answer = self.link.request(self._topic, payload, timeout=self.request_timeout_s)
        except LinkError as exc:
            raise EngineUnavailable(str(exc)) from None
        if not isinstance(answer, dict):
            raise EngineUnavailable("the engine's answer is not an object")
        if answer.get("ok") is True:
            return answer.get("result")
        error = answer.get("error")
        raise EngineRefused(error if isinstance(error, dict) else {"code": "internal"})

    async def request(self, payload: dict[str, Any]) -> Any:
        """Ask the engine (on a worker thread); the ``result``, or raises as above."""
        if self._loop is None or self._executor is None or self._closed:
            raise EngineUnavailable("the web gateway is not running")
        return await self._loop.run_in_executor(self._executor, self._request_blocking, payload)

    async def _progress(self, tokens: list[str]) -> dict[str, dict[str, Any]]:
        """The views of ``tokens`` (absent: unknown or another day's), in parallel chunks."""
        results = await asyncio.gather(
            *(self.request({"cmd": "progress", "tokens": chunk}) for chunk in chunks(tokens))
        )
        views: dict[str, dict[str, Any]] = {}
        for result in results:
            if not isinstance(result, dict):
                continue
            ahead = result.get("remind_ahead")
            if isinstance(ahead, list) and all(isinstance(n, int) for n in ahead):
                self._remind_ahead = ahead
            tickets = result.get("tickets")
            if isinstance(tickets, dict):
                views.update(
                    (t, v) for t, v in tickets.items() if isinstance(v, dict) and valid_token(t)
                )
        return views

    @property
    def remind_ahead(self) -> list[int]:
        return list(self._remind_ahead)

    # ------------------------------------------------------------------ citizen pages

    async def lookup(self, token: str) -> dict[str, Any] | None:
        """The view of one ticket (None: unknown, malformed or expired); EngineUnavailable."""
        if not valid_token(token):
            return None
        if token in self._views:
            return self._views[token]
        now = self._clock()
        seen = self._unknown.get(token)
        if seen is not None and now - seen < UNKNOWN_TTL_S:
            return None
        assert self._lookups is not None, "start() first"
        async with self._lookups:
            views = await self._progress([token])
        view = views.get(token)
        if view is None:
            self._remember_unknown(token, now)
        return view

    def _remember_unknown(self, token: str, now: float) -> None:
        if len(self._unknown) >= UNKNOWN_MAX:
            for old in [t for t, at in self._unknown.items() if now - at >= UNKNOWN_TTL_S]:
                del self._unknown[old]
            while len(self._unknown) >= UNKNOWN_MAX:
                del self._unknown[next(iter(self._unknown))]
        self._unknown[token] = now

    def watch(self, token: str, view: dict[str, Any]) -> Subscription:
        """A live page for ``token`` (whose current ``view`` the caller just looked up)."""
        if self._closed:
            raise Full("the web role is stopping")
        subs = self._pages.get(token, set())
        if len(subs) >= self.max_pages_per_token:
            raise Full(f"more than {self.max_pages_per_token} live pages for one ticket")
        if sum(len(s) for s in self._pages.values()) >= self.max_pages:
            raise Full(f"more than {self.max_pages} live pages")
        sub = Subscription(token)
        self._pages.setdefault(token, set()).add(sub)
        current = self._views.setdefault(token, view)
        sub.offer("view", current)
        return sub

    def unwatch(self, sub: Subscription) -> None:
        sub.closed = True
        if sub.key == "":
            self._consoles.discard(sub)
            if not self._consoles:
                self._overview = None
                self._follow_ups = None
            return
        subs = self._pages.get(sub.key)
        if subs is None:
            return
        subs.discard(sub)
        if not subs:
            del self._pages[sub.key]
            self._views.pop(sub.key, None)

    # ------------------------------------------------------------------ consoles

    async def overview(self) -> dict[str, Any]:
        """The console's data now (EngineUnavailable / EngineRefused)."""
        result = await self.request({"cmd": "overview"})
        if not isinstance(result, dict):
            raise EngineUnavailable("the engine's overview is not an object")
        if self._consoles:
            self._overview = result
        return result

    async def follow_ups(self, manager: str) -> dict[str, Any]:
        """The open and today's closed follow-ups and the day's rates, asked as
        ``manager``, without the citizens' full numbers (EngineUnavailable / EngineRefused)."""
        result = await self.request({"cmd": "follow_ups", "manager": manager})
        if not isinstance(result, dict):
            raise EngineUnavailable("the engine's follow-ups are not an object")
        shown = without_contacts(result)
        if self._consoles:
            self._follow_ups = shown
        return shown

    async def follow_up_contact(self, manager: str, rating_id: str) -> str | None:
        """The full phone number the citizen left with rating ``rating_id`` (None: no such
        open follow-up, or no number), for ``manager`` to call back.  Not kept, not logged."""
        result = await self.request({"cmd": "follow_ups", "manager": manager})
        if not isinstance(result, dict):
            raise EngineUnavailable("the engine's follow-ups are not an object")
        for key in ("open", "recent"):
            for entry in result.get(key) or []:
                if isinstance(entry, dict) and entry.get("rating_id") == rating_id:
                    contact = entry.get("contact")
                    return contact if isinstance(contact, str) and contact else None
        return None

    def watch_console(
        self,
        overview: dict[str, Any],
        follow_ups: dict[str, Any] | None = None,
        *,
        manager: str | None = None,
    ) -> Subscription:
        """A live console (``manager`` logged in) whose current data the caller just got."""
        if self._closed:
            raise Full("the web role is stopping")
        if len(self._consoles) >= self.max_consoles:
            raise Full(f"more than {self.max_consoles} consoles")
        sub = Subscription("", manager=manager)
        self._consoles.add(sub)
        if self._overview is None:
            self._overview = overview
        if self._follow_ups is None and follow_ups is not None:
            self._follow_ups = without_contacts(follow_ups)
        sub.offer("overview", self._overview)
        if self._follow_ups is not None:
            sub.offer("follow_ups", self._follow_ups)
        return sub

    def _console_manager(self) -> str | None:
        for sub in self._consoles:
            if sub.manager:
                return sub.manager
        return None

    # ------------------------------------------------------------------ refreshing

    async def _refresh_loop(self) -> None:
        assert self._dirty is not None
        while True:
            await self._dirty.wait()
            await asyncio.sleep(self.debounce_s)  # one refresh for a burst of messages
            self._dirty.clear()
            try:
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception:  # never let one bad turn end the loop
                log.exception("refreshing the live pages failed")

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_every_s)
            if self._pages or self._consoles:
                self.mark_dirty()

    async def refresh(self) -> None:
        """Ask the engine for what the open pages show and push what changed."""
        tokens = sorted(self._pages)
        want_overview = bool(self._consoles)
        if not tokens and not want_overview:
            return
        jobs: list[Any] = []
        if tokens:
            jobs.append(self._progress(tokens))
        if want_overview:
            jobs.append(self.request({"cmd": "overview"}))
        manager = self._console_manager() if want_overview else None
        follow_ups_job = (
            asyncio.ensure_future(self.request({"cmd": "follow_ups", "manager": manager}))
            if manager
            else None
        )
        results = await asyncio.gather(*jobs, return_exceptions=True)
        if follow_ups_job is not None:
            self._fan_out_follow_ups(await _settled(follow_ups_job))
        self.refreshes += 1
        failed = [r for r in results if isinstance(r, BaseException)]
        for error in failed:
            if isinstance(error, asyncio.CancelledError):
                raise error
        if failed:
            if not self._failing:
                log.warning("cannot refresh the live pages from the engine: %s", failed[0])
            self._failing = True
        elif self._failing:
            log.info("the engine answers the web role again")
            self._failing = False
        if not failed:
            self.last_refresh_ok = self._clock()
        if tokens and not isinstance(results[0], BaseException):
            self._fan_out_views(tokens, results[0])
        if want_overview and not isinstance(results[-1], BaseException):
            self._fan_out_overview(results[-1])

    def _fan_out_views(self, tokens: list[str], views: dict[str, dict[str, Any]]) -> None:
        for token in tokens:
            subs = self._pages.get(token)
            if not subs:
                continue  # closed while we asked
            view = views.get(token)
            if view is None:  # the day ended, or the engine forgot it: the page says so
                for sub in list(subs):
                    sub.offer("gone", {})
                    sub.end()
                del self._pages[token]
                self._views.pop(token, None)
                continue
            if self._views.get(token) == view:
                continue
            self._views[token] = view
            for sub in list(subs):
                if not sub.offer("view", view):
                    subs.discard(sub)
            if not subs:
                del self._pages[token]
                self._views.pop(token, None)

    def _fan_out_follow_ups(self, result: Any) -> None:
        """The follow-ups to the consoles when they changed.  Their failure is apart from
        the overview's: an engine without the command (older than #14) leaves the
        panel empty, logged once."""
        if isinstance(result, BaseException) or not isinstance(result, dict):
            if isinstance(result, EngineUnavailable):
                return  # the overview's refresh says so, once per outage
            if not self._follow_ups_failing:
                log.warning("cannot get the follow-ups from the engine: %s", _reason(result))
            self._follow_ups_failing = True
            return
        if self._follow_ups_failing:
            log.info("the engine gives the follow-ups again")
            self._follow_ups_failing = False
        if not self._consoles:
            return
        shown = without_contacts(result)
        previous = self._follow_ups
        self._follow_ups = shown
        if previous is not None and _same_overview(previous, shown):
            return
        for sub in list(self._consoles):
            if not sub.offer("follow_ups", shown):
                self._consoles.discard(sub)

    def _fan_out_overview(self, overview: Any) -> None:
        if not isinstance(overview, dict) or not self._consoles:
            return
        previous = self._overview
        self._overview = overview
        if previous is not None and _same_overview(previous, overview):
            return
        for sub in list(self._consoles):
            if not sub.offer("overview", overview):
                self._consoles.discard(sub)


async def _settled(future: asyncio.Future[Any]) -> Any:
    """The future's result, or the exception it raised (not CancelledError)."""
    try:
        return await future
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        return exc


def _reason(result: Any) -> str:
    if isinstance(result, EngineRefused):
        return f"refused ({result.code})"  # never the answer itself: it has phone numbers
    if isinstance(result, BaseException):
        return type(result).__name__ + (f": {result}" if str(result) else "")
    return "not an object"


def _same_overview(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Equal but for the clock (``now`` changes at every request)."""
    return {k: v for k, v in a.items() if k != "now"} == {k: v for k, v in b.items() if k != "now"}


def chunks(tokens: list[str]) -> list[list[str]]:
    """``tokens`` in requests of at most 100 tokens and :data:`MAX_CHUNK_BYTES`."""
    out: list[list[str]] = []
    current: list[str] = []
    size = 0
    for token in tokens:
        cost = len(token) + 3  # quotes and comma in the JSON
        if current and (len(current) >= MAX_TOKENS_PER_REQUEST or size + cost > MAX_CHUNK_BYTES):
            out.append(current)
            current, size = [], 0
        current.append(token)
        size += cost
    if current:
        out.append(current)
    return out
