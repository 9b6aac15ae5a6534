"""Fixtures of the web role's tests: a fake engine link for the unit tests, and the real
thing (the demo hall's engine on Mosquitto, ``hall web`` served by uvicorn, Debian's
chromium through selenium) for the browser tests."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from web_doubles import FakeLink

# starlette 1.x prefers httpx2 for its TestClient and warns once, at import, when it finds
# the httpx the project declares; the client works the same.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    import starlette.testclient  # noqa: F401


@pytest.fixture
def fake_link() -> FakeLink:
    return FakeLink()


@pytest.fixture
def client(fake_link: FakeLink) -> Iterator[Any]:
    from starlette.testclient import TestClient

    from hall.web.app import create_app
    from hall.web.gateway import Gateway

    app = create_app(Gateway(fake_link, refresh_every_s=3600))
    with TestClient(app, base_url="http://hall.local") as c:
        yield c


# ---------------------------------------------------------------- the real thing


@pytest.fixture
def web(engine_service: Any, device: Callable[..., Any]) -> Iterator[Any]:
    """``hall web`` as device web-1 on the demo hall's engine and Mosquitto, served by
    uvicorn on a free port in a thread (``web.url``)."""
    from hall.core.appliance import Notifier
    from hall.web.gateway import Gateway
    from hall.web.server import WebServer

    link = device("web-1", "web")
    server = WebServer(
        Gateway(link), host="127.0.0.1", port=0, notify=Notifier({})
    ).start_in_thread()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def browser() -> Iterator[Any]:
    """Debian's chromium, headless, through Debian's chromedriver, opened the one way the
    demo opens it too (``hall.web.browser``); the tests set their own viewports."""
    from hall.web.browser import available, open_chromium

    if not available():
        pytest.fail("chromium and chromium-driver are needed (apt-get install chromium-driver)")
    driver = open_chromium(800, 600)
    try:
        yield driver
    finally:
        driver.quit()
