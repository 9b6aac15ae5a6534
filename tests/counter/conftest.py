"""The window side on a real hall plane: Mosquitto, the engine service, Qt links, key devices."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from clerks import DEMO_PIN

from drivers.keys.simulator import SimulatedKeyboard
from hall.ui.voice.generate import generate
from hall.ui.voice.pack import VoicePack
from kiosk.engine.service import EngineService
from sync import topics
from sync.broker import Mosquitto
from sync.mqtt import MqttLink

HALL = "demo-hall"
WAIT_MS = 5000


@pytest.fixture
def qtlink(broker: Mosquitto, qapp: Any) -> Iterator[Callable[[str], Any]]:
    """``qtlink("caller-3")``: a connected ``QtLink`` for a device of the demo hall."""
    from hall.ui.qtlink import QtLink

    made: list[QtLink] = []

    def make(device_id: str, role: str = "") -> QtLink:
        link = MqttLink(
            host=broker.host, port=broker.port, hall_id=HALL, device_id=device_id, role=role
        ).start()
        q = QtLink(link)
        made.append(q)
        return q

    yield make
    for q in made:
        q.close()
        q.link.stop()


def command(link: MqttLink, payload: dict[str, Any]) -> Any:
    """A command from a plain device link; fails the test on a refusal."""
    answer = link.request(topics.command(HALL, link.device_id), payload, timeout=5.0)
    assert answer["ok"], answer
    return answer["result"]


class Hall:
    """Drives the engine the way kiosks and callers do (through the broker)."""

    def __init__(self, device: Callable[[str], MqttLink]) -> None:
        self._device = device
        self._links: dict[str, MqttLink] = {}

    def link(self, device_id: str) -> MqttLink:
        if device_id not in self._links:
            self._links[device_id] = self._device(device_id)
        return self._links[device_id]

    def issue(self, item: str | None = None, *, queue: str | None = None) -> str:
        """A ticket for an item (one without an ID requirement) or a whole queue."""
        payload = {"cmd": "issue", **({"item": item} if item else {"queue": queue})}
        return str(command(self.link("kiosk-1"), payload)["ticket"]["code"])

    def cmd(self, window: str, payload: dict[str, Any]) -> Any:
        return command(self.link(f"caller-{window}"), payload)

    def serve(self, window: str, clerk: str, item: str = "gjj-query") -> str:
        """Issue a ticket, call it to ``window``, start and finish it; returns its code."""
        code = self.issue(item)
        state = self.cmd(window, {"cmd": "window_view"})
        if state["status"] == "closed":
            self.cmd(window, {"cmd": "login", "clerk": clerk, "pin": DEMO_PIN})
        called = self.cmd(window, {"cmd": "call_next"})
        assert called["ticket"]["code"] == code, called
        self.cmd(window, {"cmd": "start"})
        self.cmd(window, {"cmd": "finish"})
        return code


@pytest.fixture
def hall(engine_service: EngineService, device: Callable[[str], MqttLink]) -> Hall:
    return Hall(device)


@pytest.fixture
def keyboard() -> Callable[[str], SimulatedKeyboard]:
    """A simulated USB keypad / evaluator: real ``input_event`` records through a pipe."""

    def make(name: str = "keypad") -> SimulatedKeyboard:
        return SimulatedKeyboard(
            f"/dev/input/by-id/usb-hall_sim_{name}-event-kbd", name=f"hall simulated {name}"
        )

    return make


@pytest.fixture(scope="session")
def voice_pack(tmp_path_factory: pytest.TempPathFactory) -> VoicePack:
    """The default pack, generated once per run with espeak-ng and sox."""
    directory = tmp_path_factory.mktemp("voice") / "default"
    generate(directory)
    return VoicePack(directory)
