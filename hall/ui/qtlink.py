"""Qt side of the hall link: MQTT messages and request results on the GUI thread.

:class:`sync.mqtt.MqttLink` calls handlers on its dispatcher thread; widgets
may only be touched from the GUI thread.  ``QtLink`` marshals both ways with
queued signals, and runs blocking requests on a small worker pool so the UI
never waits for the network.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from hall.ui.qt import QObject, Signal, Slot
from sync.mqtt import LinkError, Message, MqttLink

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

    def __init__(self, link: MqttLink, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.link = link
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="qtlink")
        self._closed = False
        self._busy: dict[int, float] = {}  # running request -> when its worker is stuck
        self._busy_lock = threading.Lock()
        self._busy_ids = itertools.count()
        self._message.connect(self._deliver_message)
        self._reply.connect(self._deliver_reply)
        self._call.connect(self._run_call)
        link.on_connection_change = self.connection_changed.emit

    @property
    def hall_id(self) -> str:
        return self.link.hall_id

    @property
    def device_id(self) -> str:
        return self.link.device_id

    def subscribe(self, topic_filter: str, callback: Callable[[Message], None]) -> None:
        """``callback(message)`` runs on the GUI thread."""
        # the emit only queues the message for the GUI thread: straight from paho's thread
        self.link.subscribe(topic_filter, lambda m: self._message.emit(callback, m), inline=True)

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
            try:
                response = self.link.request(topic, payload, timeout=timeout)
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

        serve_control(self.link, {name: on_gui(name, fn) for name, fn in handlers.items()})

    def alive(self) -> bool:
        """For the app's watchdog: the MQTT link's threads run (:meth:`MqttLink.alive`),
        and no request worker is stuck (busy long past its request's timeout)."""
        if self._closed:
            return True  # stopping
        with self._busy_lock:
            stuck_at = min(self._busy.values(), default=None)
        return self.link.alive() and (stuck_at is None or time.monotonic() < stuck_at)

    def close(self) -> None:
        """Detach from the link (which may outlive this object) and stop the workers."""
        self._closed = True
        self.link.on_connection_change = None
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
