"""The demo's web role: ``hall web`` in its own process, as its systemd unit runs it.

It serves the citizen's page (the printed tickets' QR codes point at it: the
demo hall's ``web.ticket_url`` is set to this address) and the manager's
console. Offscreen, :meth:`DemoWeb.screenshots` photographs both in Debian's
headless chromium: a waiting ticket's page at 390×844 (a phone) and the
console at 1366×768 after the demo manager logged in.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from hall.web.process import WebProcess, free_port

__all__ = ["DemoWeb", "free_port"]

log = logging.getLogger(__name__)


class DemoWeb(WebProcess):
    def __init__(self, broker: Any, hall_id: str, workdir: Path, port: int) -> None:
        super().__init__(
            broker=f"{broker.host}:{broker.port}",
            hall_id=hall_id,
            log_path=workdir / "web.log",
            port=port,
        )

    def started(self) -> bool:
        try:
            self.wait_ready()
        except RuntimeError as exc:
            log.error("demo: %s", exc)
            return False
        return True

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
