"""Serving the web app with uvicorn, as a daemon under systemd or in a thread for tests.

* uvicorn's programmatic server; its own signal handling is replaced by ours
  (``loop.add_signal_handler``): SIGTERM/SIGINT end the live streams first (an
  SSE stream never ends by itself, and uvicorn waits for open connections), then
  ask uvicorn to stop; the gateway closes in the app's lifespan, the caller then
  stops the MQTT link.
* ``READY=1`` once uvicorn listens; ``WATCHDOG=1`` from a task on the event loop at
  half of ``WatchdogSec`` while the loop turns (the task runs) and the gateway is
  alive (the link's threads and the gateway's loops run).
* No access log: the citizen's URL holds the token.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import Generator

import uvicorn

from hall.core.appliance import Notifier, notifier
from hall.web.app import WebSettings, create_app
from hall.web.gateway import Gateway

log = logging.getLogger(__name__)

GRACEFUL_S = 5


class _Uvicorn(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield  # WebServer handles the signals (and does not re-raise them afterwards)


class WebServer:
    def __init__(
        self,
        gateway: Gateway,
        *,
        host: str = "0.0.0.0",
        port: int = 8080,
        settings: WebSettings | None = None,
        notify: Notifier | None = None,
    ) -> None:
        self.gateway = gateway
        self.app = create_app(gateway, settings)
        config = uvicorn.Config(
            self.app,
            host=host,
            port=port,
            log_config=None,  # the root logger: English, personal data masked
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=GRACEFUL_S,
            server_header=False,
            proxy_headers=False,
        )
        self.server = _Uvicorn(config)
        self.notify = notify or notifier()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.started = threading.Event()
        self.failed: BaseException | None = None

    @property
    def port(self) -> int:
        """The port listened on (the real one when 0 was asked for)."""
        for server in getattr(self.server, "servers", []):
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        return int(self.server.config.port)

    # ------------------------------------------------------------------ running

    async def serve(self, *, signals: bool = True) -> None:
        self._loop = asyncio.get_running_loop()
        if signals and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._loop.add_signal_handler(sig, self._on_signal, sig)
        watchdog = asyncio.create_task(self._notify_loop(), name="web-watchdog")
        try:
            await self.server.serve()
        finally:
            watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watchdog
            if signals and threading.current_thread() is threading.main_thread():
                for sig in (signal.SIGTERM, signal.SIGINT):
                    self._loop.remove_signal_handler(sig)

    def _on_signal(self, sig: int) -> None:
        log.info("received %s, stopping", signal.Signals(sig).name)
        self.notify.stopping()
        self._stop_in_loop()

    def _stop_in_loop(self) -> None:
        if self.server.should_exit:
            self.server.force_exit = True  # a second signal: do not wait any more
        self.gateway.end_streams()
        self.server.should_exit = True

    def request_stop(self) -> None:
        """From any thread: end the streams and stop serving."""
        loop = self._loop
        if loop is None or loop.is_closed():
            self.server.should_exit = True
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._stop_in_loop)

    async def _notify_loop(self) -> None:
        while not self.server.started:
            if self.server.should_exit:
                return
            await asyncio.sleep(0.05)
        self.started.set()
        log.info("hall web listening on port %d", self.port)
        self.notify.ready(f"serving on port {self.port}")
        interval = self.notify.watchdog_interval_s
        if interval is None:
            return
        healthy = True
        while True:
            now_healthy = self.gateway.alive()
            if now_healthy:
                self.notify.watchdog()
            if now_healthy != healthy:
                if now_healthy:
                    log.info("watchdog: the web role is alive again; pinging")
                else:
                    log.warning("watchdog: the MQTT link or the gateway stopped; not pinging")
                healthy = now_healthy
            await asyncio.sleep(min(1.0, interval))

    # ------------------------------------------------------------------ in a thread (tests)

    def start_in_thread(self, timeout: float = 10.0) -> WebServer:
        def run() -> None:
            try:
                asyncio.run(self.serve(signals=False))
            except BaseException as exc:  # for the caller: why it never started
                self.failed = exc
                self.started.set()

        self._thread = threading.Thread(target=run, name="hall-web", daemon=True)
        self._thread.start()
        if not self.started.wait(timeout) or self.failed is not None:
            self.stop()
            raise RuntimeError(f"hall web did not start: {self.failed!r}")
        return self

    def stop(self, timeout: float = 15.0) -> None:
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.error("hall web did not stop within %.0fs", timeout)

    @property
    def url(self) -> str:
        host = self.server.config.host
        host = "127.0.0.1" if host in ("0.0.0.0", "") else host
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.port}"
