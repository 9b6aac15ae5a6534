"""Debian's chromium, headless, through its chromium-driver: screenshots of the pages.

The one way the demo and the tests open a browser: selenium with the system
``/usr/bin/chromedriver`` named explicitly, so that selenium never looks for,
or downloads, a driver of its own. Selenium is a development dependency: a
queue host serves the pages and never needs a browser.
"""

from __future__ import annotations

import shutil
from typing import Any

CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM = "/usr/bin/chromium"


def available() -> bool:
    """Chromium, its driver and selenium are all there."""
    if not (shutil.which(CHROMEDRIVER) and shutil.which(CHROMIUM)):
        return False
    try:
        import selenium  # noqa: F401
    except ImportError:
        return False
    return True


def open_chromium(width: int = 390, height: int = 844, *, lang: str = "zh-CN") -> Any:
    """A headless chromium of ``width`` x ``height`` CSS pixels (a phone by default)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",  # root in CI
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",  # nothing leaves the machine
        "--disable-component-update",
        "--hide-scrollbars",
        "--disable-features=Translate,MediaRouter",
        "--autoplay-policy=no-user-gesture-required",  # the page's ring, in the tests too
        f"--lang={lang}",
        f"--window-size={width},{height}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    # Headless windows have a least width and a browser frame: the viewport is set
    # exactly, as a phone (touch, its viewport meta honoured) below 600 px wide.
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )
    return driver
