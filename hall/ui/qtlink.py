"""Qt side of the hall link: MQTT messages and request results on the GUI thread.

:class:`sync.mqtt.MqttLink` calls handlers on its dispatcher thread; widgets
may only be touched from the GUI thread.  ``QtLink`` marshals both ways with
queued signals, and runs blocking requests on a small worker pool so the UI
never waits for the network.

A ``QtLink`` may also be made before its link (:meth:`QtLink.pending`): a screen app
builds and paints its window first and starts the MQTT link (and loads paho) after
the first frame (:func:`hall.ui.app.start_link_after_first_frame`).  What the window
subscribes or serves meanwhile is kept and done on :meth:`QtLink.attach`; a request
before then answers ``link_down``.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING, Any

from hall.ui.qt import QObject, Signal, Slot

if TYPE_CHECKING:
    from sync.mqtt import Message, MqttLink

log = logging.getLogger(__name__)

# The outcome of a request: (ok, result-or-error-dict).  Transport failures
# arrive as ok=False with code "link_down" and a Chinese message for screens.
Reply = Callable[[bool, Any], None]

LINK_DOWN_ZH = "与服务器的连接中断，请稍候重试或联系工作人员"
BUSY_ZH = "设备忙，请稍后重试"
# How long a control command waits for the GUI thread (and for work it started).
CONTROL_TIMEOUT_S = 4.0
# A request worker still busy this long after its request's timeout is stuck.
STUCK_AFTER_S = 10.0


class QtLink(QObject):
    _message = Signal(object, object)  # (callback, Message)
    _reply = Signal(object, bool, object)  # (callback, ok, payload)
    _call = Signal(object)  # a no-argument callable to run on the GUI thread
    connection_changed = Signal(bool)

    def __init__(self, link: MqttLink | None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._link = link
        self._ids = (link.hall_id, link.device_id) if link is not None else ("", "")
        self._later: list[Callable[[MqttLink], None]] = []  # done on attach()
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="qtlink")
        self._closed = False
        self._busy: dict[int, float] = {}  # running request -> when its worker is stuck
        self._busy_lock = threading.Lock()
        self._busy_ids = itertools.count()
        self._message.connect(self._deliver_message)
        self._reply.connect(self._deliver_reply)
        self._call.connect(self._run_call)
        if link is not None:
            link.on_connection_change = self.connection_changed.emit

    @classmethod
    def pending(cls, hall_id: str, device_id: str, parent: QObject | None = None) -> QtLink:
        """A Qt link whose MQTT link comes later (:meth:`attach`)."""
        qtlink = cls(None, parent)
        qtlink._ids = (hall_id, device_id)
        return qtlink

    def attach(self, link: MqttLink) -> None:
        """The MQTT link of a :meth:`pending` Qt link: what was subscribed or served
        meanwhile is done now."""
        if self._link is not None:
            raise RuntimeError("this QtLink has its link already")
        if (link.hall_id, link.device_id) != self._ids:
            raise ValueError(f"link of {link.device_id}@{link.hall_id}, expected {self._ids}")
        self._link = link
        link.on_connection_change = self.connection_changed.emit
        later, self._later = self._later, []
        for do in later:
            do(link)

    @property
    def link(self) -> MqttLink:
        if self._link is None:
            raise RuntimeError("the hall link has not started yet")
        return self._link

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def attached(self) -> bool:
        return self._link is not None

    @property
    def connected(self) -> bool:
        """The MQTT link is connected (False while it has not started)."""
        return self._link is not None and self._link.connected.is_set()

    @property
    def hall_id(self) -> str:
        return self._ids[0]

    @property
    def device_id(self) -> str:
        return self._ids[1]

    def _when_attached(self, do: Callable[[MqttLink], None]) -> None:
        if self._link is None:
            self._later.append(do)
        else:
            do(self._link)

    def subscribe(self, topic_filter: str, callback: Callable[[Message], None]) -> None:
        """``callback(message)`` runs on the GUI thread."""
        # the emit only queues the message for the GUI thread: straight from paho's thread
        self._when_attached(
            lambda link: link.subscribe(
                topic_filter, lambda m: self._message.emit(callback, m), inline=True
            )
        )

    def request(
        self, topic: str, payload: dict[str, Any], callback: Reply, *, timeout: float = 3.0
    ) -> None:
        """Send a request off the GUI thread; ``callback(ok, result_or_error)`` on it."""

        def work() -> None:  # a worker busy with this is watched (see alive())
            token = next(self._busy_ids)
            with self._busy_lock:
                self._busy[token] = time.monotonic() + timeout + STUCK_AFTER_S
            try:
                ask()
            finally:
                with self._busy_lock:
                    self._busy.pop(token, None)

        def ask() -> None:
            from sync.client import LinkError

            try:
                if self._link is None:
                    raise LinkError("the hall link has not started yet")
                response = self._link.request(topic, payload, timeout=timeout)
            except LinkError as exc:
                log.warning("request %s failed: %s", payload.get("cmd"), exc)
                self._reply.emit(
                    callback,
                    False,
                    {"code": "link_down", "message": str(exc), "message_zh": LINK_DOWN_ZH},
                )
                return
            if not isinstance(response, dict) or "ok" not in response:
                self._reply.emit(
                    callback,
                    False,
                    {
                        "code": "bad_response",
                        "message": "malformed response",
                        "message_zh": LINK_DOWN_ZH,
                    },
                )
                return
            if response["ok"]:
                self._reply.emit(callback, True, response.get("result"))
            else:
                self._reply.emit(callback, False, response.get("error") or {})

        self._pool.submit(work)

    def serve_control(
        self,
        handlers: Mapping[str, Callable[[dict[str, Any]], Any]],
        *,
        timeout: float = CONTROL_TIMEOUT_S,
    ) -> None:
        """Answer the sync agent's control commands (:func:`sync.commands.serve_control`)
        with ``handlers`` run on the GUI thread.

        A handler may return a :class:`concurrent.futures.Future` for work it started
        off the GUI thread (a print job); its result is the answer.  No answer from the
        GUI thread (or the work) within ``timeout`` seconds refuses with code ``busy``.
        """
        from sync.commands import CommandError, serve_control

        def on_gui(name: str, fn: Callable[[dict[str, Any]], Any]) -> Callable[..., Any]:
            def run(args: dict[str, Any]) -> Any:
                done = threading.Event()
                box: dict[str, Any] = {}

                def call() -> None:
                    try:
                        box["result"] = fn(args)
                    except Exception as exc:
                        box["error"] = exc
                    finally:
                        done.set()

                self._call.emit(call)
                if not done.wait(timeout):
                    raise CommandError(
                        "busy", f"the UI did not run {name} within {timeout}s", BUSY_ZH
                    )
                if "error" in box:
                    raise box["error"]
                result = box["result"]
                if isinstance(result, Future):
                    try:
                        return result.result(timeout)
                    except FutureTimeout:
                        raise CommandError(
                            "busy", f"{name} still running after {timeout}s", BUSY_ZH
                        ) from None
                return result

            return run

        served = {name: on_gui(name, fn) for name, fn in handlers.items()}
        self._when_attached(lambda link: serve_control(link, served))

    def alive(self) -> bool:
        """For the app's watchdog: the MQTT link's threads run (:meth:`MqttLink.alive`),
        and no request worker is stuck (busy long past its request's timeout)."""
        if self._closed:
            return True  # stopping
        with self._busy_lock:
            stuck_at = min(self._busy.values(), default=None)
        link_alive = self._link is None or self._link.alive()  # not started: nothing to watch
        return link_alive and (stuck_at is None or time.monotonic() < stuck_at)

    def close(self) -> None:
        """Detach from the link (which may outlive this object) and stop the workers."""
        self._closed = True
        self._later.clear()
        if self._link is not None:
            self._link.on_connection_change = None
        self._pool.shutdown(wait=False, cancel_futures=True)

    @Slot(object, object)
    def _deliver_message(self, callback: Callable[[Message], None], message: Message) -> None:
        try:
            callback(message)
        except Exception:
            log.exception("UI handler for %s failed", message.topic)

    @Slot(object)
    def _run_call(self, call: Callable[[], None]) -> None:
        call()

    @Slot(object, bool, object)
    def _deliver_reply(self, callback: Reply, ok: bool, payload: Any) -> None:
        try:
            callback(ok, payload)
        except Exception:
            log.exception("UI reply handler failed")
