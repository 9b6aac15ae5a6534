"""The engine on the hall plane: answers commands, publishes retained state.

Commands arrive on ``hall/{hall}/dev/{device}/cmd``; the device id in the
topic (enforced by the broker's ACL) decides what the device may do: a
caller only commands its own window, a display only reads.  Every answer is
``{"ok": true, "result": ...}`` or ``{"ok": false, "error": {...}}``; a
refused command changes nothing.  After each change the affected windows'
retained state, the board and (for calls) an announcement are published.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hall.core.db import reading, transaction
from kiosk.engine.config import (
    HallConfig,
    Item,
    fee_en,
    item_location,
    materials_en,
    notices_en,
)
from kiosk.engine.engine import CallResult, Issued, QueueEngine, Ticket
from kiosk.engine.errors import EngineError
from kiosk.engine.hours import issue_window
from sync import topics
from sync.contract import command_errors, mutating_commands, role_commands
from sync.mqtt import Message, MqttLink, Respond

log = logging.getLogger(__name__)

MAX_COMMAND_BYTES = 4096
# Which commands change the queue and which role may send which: the contract's
# x-commands table (sync/asyncapi.yaml), beside its cmd enum.
MUTATING = mutating_commands()
ROLE_COMMANDS: dict[str, frozenset[str]] = role_commands()
WINDOW_BOUND_ROLES = frozenset({"caller", "evaluator"})
# A caller's commands that need a clerk logged in at its window (besides those the engine
# checks itself: call_next, recall, start, finish, no_show, transfer, pause, ...).
CLERK_COMMANDS = frozenset({"requeue"})
# In a burst of commands the alerts are evaluated once it is over, or after this long.
ALERTS_LAG_S = 1.0
# After a batch, the commanding windows' states are on their way before anything else is
# done (the broker's acknowledgement awaited, at most this long): the network thread then
# sends them at once, not when this thread next lets go of the interpreter.
HANDOVER_WAIT_S = 0.005
IDLE_SWEEP_S = 15.0  # how often idle clerks are looked for (staff_login.idle_logout_min)
# The web role's commands (#13): none names a window of the device's own.
WEB_COMMANDS = frozenset(
    {
        "progress",
        "overview",
        "manager_login",
        "set_window_queues",
        "open_window",
        "close_window",
        "move_ticket",
        "post_notice",
        "ack_alert",
        "follow_ups",
        "follow_up_callback",
        "follow_up_rectify",
    }
)
# Fields a command may carry only as text and only with one command; never repeated in a
# refusal or a log line (the contract leaves them unconstrained for that reason).
SECRET_FIELDS = {"pin": "login", "password": "manager_login"}


class EngineService:
    def __init__(
        self, engine: QueueEngine, link: MqttLink, *, idle_sweep_s: float = IDLE_SWEEP_S
    ) -> None:
        self.engine = engine
        self.link = link
        self.hall = engine.config.hall_id
        self._published: dict[str, dict[str, Any]] = {}  # topic -> the state last sent
        self.on_change: Callable[[], None] | None = None
        self.idle_sweep_s = idle_sweep_s
        self._stopping = threading.Event()
        self._sweeper: threading.Thread | None = None
        self._notice_seen: dict[str, Any] | None = None
        self._calls: list[CallResult] | None = None  # a group's calls, announced after it
        self._alerts_at = 0.0  # monotonic time the alerts were last evaluated
        self._alerts_due = False  # changed since (the board and touched windows too)
        self._touched_due: set[str] = set()  # windows whose state waits for a burst's end

    def start(self) -> None:
        self.link.serve_batch(topics.commands_filter(self.hall), self.handle_batch)
        self.link.add_connection_listener(self._on_link_change)
        self.publish_all()
        if self.idle_sweep_s > 0:
            self._sweeper = threading.Thread(
                target=self._sweep_loop, name="engine-idle-logout", daemon=True
            )
            self._sweeper.start()

    def stop(self) -> None:
        """Stop the idle-logout sweep (the link and the engine belong to the caller)."""
        self._stopping.set()
        if self._sweeper is not None and self._sweeper is not threading.current_thread():
            self._sweeper.join(5)

    # ------------------------------------------------------------------ idle logout

    def sweep_idle(self) -> list[str]:
        """Log out idle clerks (``staff_login.idle_logout_min``) and show it on their
        windows' displays at once; the windows logged out."""
        closed = self.engine.logout_idle()
        if closed:
            self.publish_windows(closed)
            self.publish_board()
            if self.on_change:
                self.on_change()
        return closed

    def sweep(self) -> None:
        """The periodic sweep: idle clerks logged out, the follow-ups' reminders and
        overdue flags (follow_up events), the console's alerts evaluated (raised / cleared
        alarms to the outbox), an expired notice taken off the screens."""
        closed = self.sweep_idle()
        self.publish_catalog()  # sent only when changed: issuing and its reason by the clock
        steps = self.engine.sweep_follow_ups()  # reminders and overdue, once each
        changes = self.engine.evaluate_alerts()
        notice = self.engine.notice()
        notice_changed = notice != self._notice_seen
        if notice_changed:
            self._notice_seen = notice
            self.publish_windows([w.id for w in self.engine.config.windows])
            self.publish_board()
        elif changes and self.engine.config.alerts.show_on_board:
            self.publish_board()
        if (changes or notice_changed or steps) and not closed and self.on_change:
            self.on_change()

    def _sweep_loop(self) -> None:
        while not self._stopping.wait(self.idle_sweep_s):
            try:
                self.sweep()
            except sqlite3.ProgrammingError:  # the engine was closed: nothing left to do
                return
            except Exception:
                log.exception("periodic sweep failed")

    def republish_all(self) -> None:
        """Publish the catalogue, every window's state and the board again, changed or not.

        ``_published`` only knows what was sent, not what the broker still holds:
        a broker killed before it saved its persistence (or restarted on an empty
        disk) has lost the retained state, and no screen that subscribes would see
        the hall until something changed.
        """
        self._published.clear()
        self.publish_all()

    def _on_link_change(self, up: bool) -> None:
        """On the link's dispatcher thread, like ``handle``: connected again (subscriptions
        confirmed), so the broker may be a new, empty one."""
        if up:
            log.info("connected to the broker again: republishing the hall's retained state")
            self.republish_all()

    # ------------------------------------------------------------------ publishing

    def publish_catalog(self) -> None:
        with self.engine.lock:
            self._publish_catalog()

    def _publish_catalog(self) -> None:
        payload = catalog_payload(self.engine.config, self.engine.clock.now())
        self._publish_retained(topics.catalog(self.hall), payload)

    def publish_all(self) -> None:
        with self.engine.lock:
            self.publish_catalog()
            self.publish_windows([w.id for w in self.engine.config.windows])
            self.publish_board()

    # Views are read and published under the engine's lock: commands (the link's thread)
    # and the idle sweep (its own) never publish a state another thread is changing, and
    # the last state published is the last one committed.

    def publish_windows(self, window_ids: list[str]) -> Any:
        """Publish the windows' states that changed; the last one's publish (or None)."""
        last = None
        with self.engine.lock:
            # Every view read first, then every state published: a burst's fifty states go
            # out together.  Published as each was read, the displays drew the first ones
            # while the engine still read the rest, and on a busy box those took turns.
            # All read from one snapshot (:func:`reading`): as of one moment, and the
            # memo of reads need not ask SQLite at every read whether another wrote.
            with reading(self.engine.conn):
                views = [(w, self.engine.window_view(w)) for w in window_ids]
            for window_id, view in views:
                last = (
                    self._publish_retained(
                        topics.window_state(self.hall, window_id),
                        {"hall": self.hall, **view, "updated_at": _now_iso(self.engine)},
                        compare_without="updated_at",
                    )
                    or last
                )
        return last

    def publish_board(self) -> None:
        with self.engine.lock:
            with reading(self.engine.conn):  # one snapshot, left before the link is given it
                board = self.engine.board_view()
            self._notice_seen = board.get("notice")  # the sweep takes it down once expired
            self._publish_retained(
                topics.board(self.hall),
                {**board, "updated_at": _now_iso(self.engine)},
                compare_without="updated_at",
            )

    def _publish_retained(
        self, topic: str, payload: dict[str, Any], compare_without: str | None = None
    ) -> Any:
        # compared as data (no JSON encoding but the one the link does to send it)
        key = {k: v for k, v in payload.items() if k != compare_without}
        if self._published.get(topic) == key:
            return None
        self._published[topic] = key
        return self.link.publish(topic, payload, qos=1, retain=True)

    def announce(self, result: CallResult) -> None:
        t = result.ticket
        if t is None or result.auto_no_show:
            return
        window = self.engine.config.window(result.window_id)
        self.link.publish(
            topics.call(self.hall, window.id),
            {
                "code": t.code,
                "window": window.id,
                "window_name": window.name,
                "queue": t.queue_id,
                "recall": result.recall,
                "call_count": t.call_count,
                "at": _now_iso(self.engine),
            },
            qos=1,
        )

    def _windows_touching(self, queue_ids: set[str]) -> list[str]:
        """The windows serving any of ``queue_ids`` today (a manager may have changed them)."""
        return [
            w for w, queues in self.engine.effective_queues().items() if queue_ids & set(queues)
        ]

    # ------------------------------------------------------------------ commands

    def handle(self, message: Message) -> dict[str, Any]:
        """One command alone: its answer, given once its change is durable."""
        answers: list[dict[str, Any]] = []
        self.handle_batch([message], lambda _m, answer: answers.append(answer))
        return answers[0]

    def handle_batch(self, messages: list[Message], respond: Respond) -> None:
        """Commands that arrived together (a burst of presses): a group commit.

        Each command is applied in turn in its own savepoint (a refused one changes
        nothing) and all of them share one durable commit.  Only then are the
        windows they changed published, once each (the commanding windows first:
        their displays are what people watch), the calls announced, the alerts
        evaluated, the board published once, and each command answered.  Should
        the commit fail, no change is answered as done.
        """
        e = self.engine
        done: list[_Done] = []
        calls: list[CallResult] = []
        with e.lock:
            self._calls = calls
            try:
                with transaction(e.conn):  # the group: one durable commit
                    for message in messages:
                        done.append(self._apply(message))
            except Exception:
                log.exception("the group commit of %d commands failed", len(messages))
                failed = _internal_error()
                done = [_Done(d.answer if not d.changed else failed) for d in done] + [
                    _Done(failed) for _ in messages[len(done) :]
                ]
                calls.clear()
            finally:
                self._calls = None
            changed = [d for d in done if d.changed]
            own: list[str] = []
            touched: set[str] = set()
            for d in changed:
                touched |= d.touched
                if d.window in d.touched and d.window not in own:
                    own.append(d.window)
            try:
                sent = self.publish_windows(own)
                for result in calls:
                    self.announce(result)
                _handed_over(sent)
            except Exception:  # state is committed; a publish problem must not hide it
                log.exception("publishing state after %d commands failed", len(changed))
            # The console's alerts, the other windows' states (their waiting lists) and the
            # board after the changes (before the answers: an answer means all its
            # consequences are in): once a burst is over (the commands still waiting
            # change them again), at least every ALERTS_LAG_S.  A burst of fifty presses
            # publishes each window's waiting list once, not once per group.
            self._alerts_due = self._alerts_due or bool(changed)
            self._touched_due |= touched - set(own)
            self._touched_due -= set(own)  # published above, with its waiting list
            if self._alerts_due and (
                not self._more_waiting() or time.monotonic() - self._alerts_at >= ALERTS_LAG_S
            ):
                self._alerts_due = False
                self._alerts_at = time.monotonic()
                try:
                    self.engine.evaluate_alerts()
                except Exception:  # the changes are committed; an alert problem must not hide them
                    log.exception("evaluating the alerts after %d commands failed", len(changed))
                others, self._touched_due = sorted(self._touched_due), set()
                try:
                    self.publish_windows(others)
                    self.publish_board()
                except Exception:
                    log.exception("publishing state after %d commands failed", len(changed))
            for message, d in zip(messages, done, strict=True):
                respond(message, d.answer)
        if changed and self.on_change:
            self.on_change()

    def _more_waiting(self) -> bool:
        waiting = getattr(self.link, "waiting", None)
        return bool(waiting()) if callable(waiting) else False

    def _apply(self, message: Message) -> _Done:
        """One command of a group (inside its transaction): the answer, what it changed."""
        device_id = topics.device_of(message.topic)
        try:
            cmd = self._validate(message)
            role = self._authorise(device_id, cmd)
            if role == "caller" and cmd["cmd"] in CLERK_COMMANDS:
                self.engine.require_clerk(cmd["window"])  # 请先登录
            result, touched = self._run(cmd)
        except EngineError as exc:
            if exc.code in ("bad_request", "unauthorised", "internal"):
                log.warning("refused %s from %s: %s", _cmd_name(message), device_id, exc.message)
            return _Done({"ok": False, "error": exc.to_dict()})
        except Exception:
            log.exception("command %s from %s failed", _cmd_name(message), device_id)
            return _Done(
                {"ok": False, "error": EngineError("internal", "internal error").to_dict()}
            )
        mutating = cmd["cmd"] in MUTATING
        return _Done(
            {"ok": True, "result": result},
            changed=mutating,
            window=cmd.get("window") or "",
            touched=touched if mutating else set(),
        )

    def _validate(self, message: Message) -> dict[str, Any]:
        if message.error:
            raise EngineError("bad_request", f"unreadable command: {message.error}")
        if len(message.raw) > MAX_COMMAND_BYTES:
            raise EngineError(
                "bad_request", f"command of {len(message.raw)} bytes exceeds {MAX_COMMAND_BYTES}"
            )
        # the link checked it against the contract on the way in; a hand-made one is not
        problem = None if message.validated else command_errors(message.payload)
        if problem:
            raise EngineError("bad_request", f"invalid command: {problem}")
        cmd: dict[str, Any] = message.payload
        # The contract leaves ``pin`` and ``password`` unconstrained so that no schema error
        # repeats them; they are checked here, and the refusal never says what they were.
        for secret, only in SECRET_FIELDS.items():
            if secret in cmd and (cmd["cmd"] != only or not isinstance(cmd[secret], str)):
                raise EngineError(
                    "bad_request", f"invalid command: {secret} is text, sent only with {only}"
                )
        return cmd

    def _authorise(self, device_id: str, cmd: dict[str, Any]) -> str:
        """Refuse a command the device may not send; the device's role."""
        cfg: HallConfig = self.engine.config
        device = cfg.device(device_id)
        if device is None:
            raise EngineError("unauthorised", f"unknown device {device_id!r}", device=device_id)
        allowed = ROLE_COMMANDS.get(device.role, frozenset())
        if device.role == "engine":
            allowed = frozenset(ROLE_COMMANDS["monitor"])
        if cmd["cmd"] not in allowed:
            raise EngineError(
                "unauthorised", f"a {device.role} may not {cmd['cmd']}", device=device_id
            )
        if device.role in WINDOW_BOUND_ROLES:
            window = cmd.setdefault("window", device.window)
            if window != device.window:
                raise EngineError(
                    "unauthorised",
                    f"{device_id} belongs to window {device.window}, not {window}",
                    device=device_id,
                )
        return device.role

    def _run(self, cmd: dict[str, Any]) -> tuple[Any, set[str]]:
        e = self.engine
        name = cmd["cmd"]
        window = cmd.get("window")
        if name in WEB_COMMANDS:
            return self._run_web(cmd)
        if (
            name not in ("issue", "estimate", "requeue", "board", "statistics", "ticket_status")
            and not window
        ):
            raise EngineError("bad_request", f"{name} needs a window")
        if name == "issue":
            appointment = cmd.get("appointment")
            issued = e.issue(
                queue_id=cmd.get("queue"),
                item_id=cmd.get("item"),
                person_key=cmd.get("person_key"),
                masked_name=cmd.get("masked_name"),
                priority_reason=cmd.get("priority_reason"),
                appointment_start=_parse_ts(appointment, "start"),
                appointment_end=_parse_ts(appointment, "end"),
            )
            return _issued(issued), set(self._windows_touching({issued.ticket.queue_id}))
        if name == "estimate":
            if not cmd.get("queue"):
                raise EngineError("bad_request", "estimate needs a queue")
            return e.estimate(cmd["queue"]), set()
        if name == "requeue":
            if not cmd.get("code"):
                raise EngineError("bad_request", "requeue needs a ticket code")
            issued = e.requeue(cmd["code"])
            return _issued(issued), set(self._windows_touching({issued.ticket.queue_id}))
        if name == "board":
            return e.board_view(), set()
        if name == "statistics":
            return e.statistics(), set()
        if name == "ticket_status":
            return e.ticket_status(cmd.get("ticket_id", "")), set()
        assert window is not None
        e._window(window)
        shared = set(self._windows_touching(set(e.window_queues(window)))) | {window}
        if name == "window_view":
            return e.window_view(window), set()
        if name == "login":
            if not cmd.get("clerk"):
                raise EngineError("bad_request", "login needs a staff number")
            # the PIN is checked by the engine, never echoed or logged
            left = e.login(window, cmd["clerk"], cmd.get("pin"))
            return e.window_view(window), shared | ({left} if left else set())
        if name == "logout":
            e.logout(window)
            return None, shared
        if name == "pause":
            e.pause(window, cmd.get("reason", ""))
            return None, {window}
        if name == "resume":
            e.resume(window)
            return None, {window}
        if name == "staff_status":
            e.set_staff_status(window, cmd.get("status", ""))
            return None, {window}
        if name in ("call_next", "recall"):
            result = e.call_next(window) if name == "call_next" else e.recall(window)
            if self._calls is not None:
                self._calls.append(result)  # announced once the group is durable
            else:
                self.announce(result)
            return {
                "ticket": _ticket(result.ticket),
                "recall": result.recall,
                "auto_no_show": result.auto_no_show,
                "finished": _ticket(result.finished),
            }, shared
        if name == "start":
            return _ticket(e.start(window)), {window}
        if name == "finish":
            return _ticket(e.finish(window, cmd.get("case_no"))), {window}
        if name == "finish_case":
            return e.finish_case(window, item=cmd.get("item"), case_no=cmd.get("case_no")), {window}
        if name == "no_show":
            return _ticket(e.no_show(window)), shared
        if name == "transfer":
            ticket = e.transfer(
                window, to_queue=cmd.get("to_queue"), to_window=cmd.get("to_window")
            )
            targets = set(self._windows_touching({ticket.queue_id}))
            if cmd.get("to_window"):
                targets.add(cmd["to_window"])
            return _ticket(ticket), shared | targets
        if name == "rate":
            rating = cmd.get("rating") or {}
            return e.rate(window=window, **_rating_args(rating)), {window}
        raise EngineError("bad_request", f"unknown command {name!r}")

    def _run_web(self, cmd: dict[str, Any]) -> tuple[Any, set[str]]:
        """The web role's commands: the citizen's page and the manager's console."""
        e = self.engine
        name = cmd["cmd"]
        if name == "progress":
            return e.progress(cmd.get("tokens") or []), set()
        if name == "overview":
            return e.overview(), set()
        if name == "manager_login":
            if not cmd.get("account") or "password" not in cmd:
                raise EngineError("bad_request", "manager_login needs an account and a password")
            # the password is checked by the engine, never echoed or logged
            return e.manager_login(cmd["account"], cmd["password"]), set()
        if "manager" not in cmd:
            raise EngineError("bad_request", f"{name} needs the manager's id")
        manager = cmd["manager"]
        window: str = cmd.get("window") or ""
        if name in ("set_window_queues", "open_window", "close_window") and not window:
            raise EngineError("bad_request", f"{name} needs a window")
        if name == "set_window_queues":
            return e.set_window_queues(manager, window, cmd.get("queues")), {window}
        if name == "open_window":
            return e.open_window(manager, window), {window}
        if name == "close_window":
            return e.close_window(manager, window), {window}
        if name == "move_ticket":
            if not cmd.get("code") or not cmd.get("to_queue"):
                raise EngineError("bad_request", "move_ticket needs a ticket code and to_queue")
            moved = e.move_ticket(manager, cmd["code"], cmd["to_queue"])
            queues = {moved["from_queue"], cmd["to_queue"]}
            return moved, set(self._windows_touching(queues))
        if name == "post_notice":
            notice = e.post_notice(manager, cmd.get("text", ""), cmd.get("minutes", 60))
            return {"notice": notice}, {w.id for w in e.config.windows}
        if name == "ack_alert":
            if not cmd.get("alert"):
                raise EngineError("bad_request", "ack_alert needs an alert key")
            return e.ack_alert(manager, cmd["alert"]), set()
        if name == "follow_ups":
            # the one answer with the citizen's full phone number (for the call-back)
            return e.follow_ups(manager), set()
        if name in ("follow_up_callback", "follow_up_rectify"):
            if not cmd.get("rating_id"):
                raise EngineError("bad_request", f"{name} needs the rating_id")
            if name == "follow_up_callback":
                if "reached" not in cmd:
                    raise EngineError("bad_request", "follow_up_callback needs reached")
                done = e.follow_up_callback(
                    manager, cmd["rating_id"], cmd["reached"], cmd.get("answer", "")
                )
            else:
                if "action" not in cmd:
                    raise EngineError("bad_request", "follow_up_rectify needs the action")
                done = e.follow_up_rectify(manager, cmd["rating_id"], cmd["action"])
            return done, set()
        raise EngineError("bad_request", f"unknown command {name!r}")


@dataclass
class _Done:
    """One command of a group: its answer, and (a change) its window and those it touched."""

    answer: dict[str, Any]
    changed: bool = False
    window: str = ""
    touched: set[str] = field(default_factory=set)


def _handed_over(sent: Any) -> None:
    """Wait (at most ``HANDOVER_WAIT_S``) for the broker to acknowledge ``sent`` (a paho
    publish of the link's): meanwhile this thread holds nothing the network thread needs."""
    if sent is None or getattr(sent, "rc", None) != 0:  # nothing sent; no connection
        return
    wait = getattr(sent, "wait_for_publish", None)
    if callable(wait):
        with contextlib.suppress(RuntimeError, ValueError):  # dropped meanwhile
            wait(HANDOVER_WAIT_S)


def _internal_error() -> dict[str, Any]:
    return {"ok": False, "error": EngineError("internal", "internal error").to_dict()}


def _rating_args(rating: dict[str, Any]) -> dict[str, Any]:
    allowed = {
        "rating_id",
        "ticket_id",
        "level",
        "reasons",
        "contact",
        "rated_at",
        "case_id",
        "channel",
        "comment",
    }
    extra = set(rating) - allowed
    if extra:
        raise EngineError("bad_request", f"unknown rating fields {sorted(extra)}")
    if "rating_id" not in rating:
        raise EngineError("bad_request", "a rating needs a rating_id")
    return rating


def _parse_ts(obj: dict[str, Any] | None, key: str) -> datetime | None:
    if not obj or not obj.get(key):
        return None
    try:
        return datetime.fromisoformat(obj[key])
    except ValueError:
        raise EngineError("bad_request", f"appointment {key} is not an ISO time") from None


def _ticket(t: Ticket | None) -> dict[str, Any] | None:
    return None if t is None else t.public()


def _issued(issued: Issued) -> dict[str, Any]:
    """The ``issue`` / ``requeue`` answer.  ``follow_url`` (the ticket's QR) carries the
    ticket's secret token: it goes only to the kiosk that asked, never into a state."""
    out: dict[str, Any] = {
        "ticket": issued.ticket.public(),
        "ahead": issued.ahead,
        "est_wait_min": issued.est_wait_min,
        "follow_url": issued.follow_url,
    }
    if issued.calls_from is not None:  # issued in the lunch break: called from then
        when = issued.calls_from.isoformat(timespec="seconds")
        out["calls_from"] = when
        out["ticket"]["calls_from"] = when
    return out


def catalog_payload(cfg: HallConfig, now: datetime) -> dict[str, Any]:
    """The hall's catalogue as the engine publishes it (retained) at ``now``: queues,
    items with their derived locations and English values, windows, notices, hours and
    whether tickets are issued now; ``hall ticket preview`` renders the same."""
    window = issue_window(cfg.hours, now)
    payload: dict[str, Any] = {
        "hall": cfg.hall_id,
        "hall_name": cfg.hall_name,
        "hall_name_en": cfg.hall_name_en,
        "version": cfg.version,
        # whether tickets are issued now and why not (the refusal's reason); kept
        # current by the periodic sweep, which republishes it when it changes
        "issuing": window.allowed,
        "issuing_reason": window.reason,
        "next_open": window.next_open.isoformat(timespec="seconds") if window.next_open else None,
        "queues": [
            {"id": q.id, "name": q.name, "name_en": q.name_en, "prefix": q.prefix}
            for q in cfg.queues
        ],
        "items": [
            {
                "id": i.id,
                "name": i.name,
                "name_en": i.name_en,
                "queue": i.queue,
                "department": i.department,
                "kind": i.kind,
                "requires_id": i.requires_id,
                "legal_days": i.legal_days,
                "promised_days": i.promised_days,
                "fee": i.fee,
                "materials": list(i.materials),
                "legal_basis": i.legal_basis,
                **_item_english(cfg, i),
            }
            for i in cfg.items
        ],
        "windows": [
            {
                "id": w.id,
                "name": w.name,
                "department": w.department,
                "kind": w.kind,
                "queues": list(w.queues),
                "name_en": w.name_en,
            }
            for w in cfg.windows
        ],
        "notices": list(cfg.notices),
        "notices_en": list(notices_en(cfg)),
        # 好差评: the bad-review reasons and whether the tablet offers a comment
        "haochaping": {
            "reasons": list(cfg.haochaping.reasons),
            "tablet_comment": cfg.haochaping.tablet_comment,
        },
        # the tablet's confirm page and the 去向牌 (no PIN hash)
        "staff": [
            {
                "id": st.id,
                "name": st.name,
                "staff_no": st.staff_no,
                "department": st.department,
                "photo": st.photo,
                "phone": st.phone,
            }
            for st in cfg.staff
        ],
        "hours": {
            "sessions": [[a.strftime("%H:%M"), b.strftime("%H:%M")] for a, b in cfg.hours.sessions],
            "weekdays": list(cfg.hours.weekdays),
        },
    }
    if window.calls_from is not None:  # the lunch break: tickets called from then
        payload["calls_from"] = window.calls_from.isoformat(timespec="seconds")
    return payload


def _item_english(cfg: HallConfig, item: Item) -> dict[str, Any]:
    """An item's location (derived from the windows serving its queue) and its English
    values, for the catalogue (the kiosk's guide, ticket and English mode)."""
    location, location_en = item_location(cfg, item)
    return {
        "location": location,
        "location_en": location_en,
        "location_note": item.location_note,
        "location_note_en": item.location_note_en,
        "materials_en": list(materials_en(item)),
        "fee_en": fee_en(item),
        "legal_basis_en": item.legal_basis_en,
        "department_en": item.department_en,
    }


def _cmd_name(message: Message) -> str:
    if isinstance(message.payload, dict):
        return str(message.payload.get("cmd", "?"))[:20]
    return "?"


def _now_iso(engine: QueueEngine) -> str:
    return engine.clock.now().isoformat(timespec="seconds")
