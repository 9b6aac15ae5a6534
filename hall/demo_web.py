"""The demo's web role: ``hall web`` in its own process, as its systemd unit runs it.

It serves the citizen's page (the printed tickets' QR codes point at it: the
demo hall's ``web.ticket_url`` is set to this address) and the manager's
console. Offscreen, :meth:`DemoWeb.screenshots` photographs both in Debian's
headless chromium: a waiting ticket's page at 390×844 (a phone) and the
console at 1366×768 after the demo manager logged in.
"""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DemoWeb:
    def __init__(self, broker: Any, hall_id: str, workdir: Path, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._log = open(workdir / "web.log", "wb")  # noqa: SIM115 (open while it runs)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hall.cli",
                "web",
                "--listen",
                f"127.0.0.1:{port}",
                "--device",
                "web-1",
                "--broker",
                f"{broker.host}:{broker.port}",
                "--hall",
                hall_id,
            ],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        return True
            except OSError:
                time.sleep(0.2)
        log.error("demo: hall web did not come up (see its log: web.log in the demo's folder)")
        return False

    def screenshots(self, folder: Path, token: str | None, password: str) -> list[str]:
        """The citizen's page of ``token`` and the logged-in console, as PNGs in ``folder``."""
        from hall.web import browser

        if not browser.available():
            log.warning("demo: no chromium/chromedriver/selenium: no screenshots of the web pages")
            return []
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec
        from selenium.webdriver.support.ui import WebDriverWait

        folder.mkdir(parents=True, exist_ok=True)
        saved: list[str] = []
        if token:
            phone = browser.open_chromium(390, 844)
            try:
                phone.get(f"{self.url}/t/{token}")
                WebDriverWait(phone, 10).until(
                    ec.presence_of_element_located((By.CSS_SELECTOR, "body"))
                )
                path = folder / "web-ticket.png"
                phone.save_screenshot(str(path))
                saved.append(str(path))
            finally:
                phone.quit()
        desk = browser.open_chromium(1366, 768)
        try:
            desk.get(f"{self.url}/console")
            desk.find_element(By.ID, "account").send_keys("manager")
            desk.find_element(By.ID, "password").send_keys(password)
            desk.find_element(By.ID, "login").click()
            WebDriverWait(desk, 10).until(lambda d: "/console" in d.current_url)
            # the live figures arrive over the event stream after the page: wait for them
            WebDriverWait(desk, 15).until(
                lambda d: (
                    d.find_elements(By.CSS_SELECTOR, "#figures dd, #figures dt")
                    and d.find_elements(By.CSS_SELECTOR, "#live:not(.off)")
                )
            )
            path = folder / "web-console.png"
            desk.save_screenshot(str(path))
            saved.append(str(path))
        except Exception as exc:  # a screenshot that fails must not fail the demo's day
            log.warning("demo: console screenshot failed: %s", exc)
        finally:
            desk.quit()
        return saved

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
