"""The hall's retained state is back within seconds after the broker died and lost it.

Mosquitto keeps retained messages in memory and saves them every
``autosave_interval``: killed with SIGKILL (a crash, a power cut) it restarts
with an older save, or empty (no save yet, a new disk).  The engine publishes a
retained topic only when it changed since it last sent it, so without help a
screen subscribing afterwards would see an empty or outdated hall until
something changed.  When its link is connected again, the engine republishes
every window's state, the board and the catalogue, changed or not.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from typing import Any

import pytest
from clerks import DEMO_PIN

from counter.evaluator import EvaluatorWindow
from hall.ui.qtlink import QtLink
from kiosk.engine.service import EngineService
from sync import topics
from sync.broker import PERSISTENCE_FILE, Mosquitto
from sync.mqtt import LinkError, Message, MqttLink

pytestmark = [pytest.mark.broker, pytest.mark.slow]
HALL = "demo-hall"
WAIT = 10.0


def cmd(link: MqttLink, payload: dict[str, Any]) -> Any:
    answer = link.request(topics.command(HALL, link.device_id), payload, timeout=5.0)
    assert answer["ok"], answer
    return answer["result"]


def serve(kiosk: MqttLink, caller: MqttLink, *, finish: bool = True) -> dict[str, Any]:
    """A citizen's ticket at the caller's window: issued, called, started (and finished)."""
    cmd(kiosk, {"cmd": "issue", "item": "gjj-query"})
    ticket = cmd(caller, {"cmd": "call_next"})["ticket"]
    cmd(caller, {"cmd": "start"})
    if finish:
        cmd(caller, {"cmd": "finish"})
    return dict(ticket)


def engine_answers(engine_service: EngineService, kiosk: MqttLink) -> None:
    """The engine is connected and subscribed again (it answers a kiosk).

    Its reconnect handler was queued on its dispatcher thread before this command
    (the SUBACK precedes any command on its connection), so what it republished
    reached the broker before the answer: from here on it is retained there.
    """
    deadline = time.monotonic() + WAIT
    for link in (engine_service.link, kiosk):
        assert link.connected.wait(WAIT), f"{link.device_id} did not reconnect"
    while time.monotonic() < deadline:
        try:
            kiosk.request(topics.command(HALL, kiosk.device_id), {"cmd": "board"}, timeout=1.0)
            return
        except LinkError:  # sent between the engine's CONNACK and its SUBSCRIBE: lost
            continue
    pytest.fail("the engine does not answer after the broker restart")


def expected_state(engine_service: EngineService) -> dict[str, dict[str, Any]]:
    """What a screen subscribing now must get, by topic (without ``updated_at``)."""
    e = engine_service.engine
    want = {
        topics.window_state(HALL, w.id): {"hall": HALL, **e.window_view(w.id)}
        for w in e.config.windows
    }
    want[topics.board(HALL)] = e.board_view()
    return want


def retained_now(device: Callable[..., MqttLink], device_id: str) -> dict[str, Message]:
    """Everything a screen starting now receives on the hall's state topics, by topic."""
    got: dict[str, Message] = {}
    link = device(device_id)
    for topic_filter in (
        topics.window_states_filter(HALL),
        topics.board(HALL),
        topics.catalog(HALL),
    ):
        link.subscribe(topic_filter, lambda m: got.setdefault(m.topic, m))
    return got


def wait_for(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {timeout}s")
        time.sleep(0.02)


def assert_hall_state(
    got: dict[str, Message], engine_service: EngineService, device_id: str
) -> None:
    want = expected_state(engine_service)
    wanted = set(want) | {topics.catalog(HALL)}
    wait_for(
        lambda: wanted <= set(got),
        f"{device_id} did not get {sorted(wanted - set(got))} (has {sorted(got)})",
    )
    for topic, message in got.items():
        assert message.retain, f"{topic} was not retained on the broker"
    for topic, state in want.items():
        payload = {k: v for k, v in got[topic].payload.items() if k != "updated_at"}
        assert payload == state, topic
    catalog = got[topics.catalog(HALL)].payload
    config = engine_service.engine.config
    assert catalog["version"] == config.version
    assert [w["id"] for w in catalog["windows"]] == [w.id for w in config.windows]


def test_a_broker_restarted_empty_gets_every_window_board_and_catalogue_again(
    broker: Mosquitto, engine_service: EngineService, device: Callable[..., MqttLink]
) -> None:
    kiosk, caller1, caller3 = device("kiosk-1"), device("caller-1"), device("caller-3")
    cmd(caller1, {"cmd": "login", "clerk": "1001", "pin": DEMO_PIN})
    cmd(caller3, {"cmd": "login", "clerk": "1003", "pin": DEMO_PIN})
    serve(kiosk, caller1)
    serve(kiosk, caller3, finish=False)  # window 3 is serving
    cmd(kiosk, {"cmd": "issue", "item": "gjj-query"})  # and one citizen waits
    assert_hall_state(retained_now(device, "display-1"), engine_service, "display-1")

    broker.kill()
    broker.wipe()  # it had saved nothing, or its disk is new
    broker.start()
    engine_answers(engine_service, kiosk)

    assert_hall_state(retained_now(device, "board-1"), engine_service, "board-1")


def test_a_broker_restarted_from_an_older_save_gets_the_current_state(
    broker: Mosquitto,
    engine_service: EngineService,
    device: Callable[..., MqttLink],
    tmp_path: Any,
) -> None:
    kiosk, caller1 = device("kiosk-1"), device("caller-1")
    cmd(caller1, {"cmd": "login", "clerk": "1001", "pin": DEMO_PIN})
    first = serve(kiosk, caller1, finish=False)
    broker.stop()  # SIGTERM: Mosquitto saves, window 1 serves the first citizen
    saved = tmp_path / "older-save.db"
    shutil.copy(broker.dir / PERSISTENCE_FILE, saved)
    broker.start()
    engine_answers(engine_service, kiosk)

    cmd(caller1, {"cmd": "finish"})
    second = serve(kiosk, caller1, finish=False)
    broker.kill()  # before its next autosave: what it saved is the first citizen
    shutil.copy(saved, broker.dir / PERSISTENCE_FILE)
    broker.start()
    engine_answers(engine_service, kiosk)

    got = retained_now(device, "display-1")
    window1 = topics.window_state(HALL, "1")
    wait_for(lambda: window1 in got, "display-1 did not get window 1's state")
    assert got[window1].payload["current"]["code"] == second["code"] != first["code"]
    assert_hall_state(got, engine_service, "display-1")


# --------------------------------------------------------------------------- the evaluator


@pytest.fixture
def evaluator(qapp: Any, qtbot: Any, broker: Mosquitto, hall_clock: Any, tmp_path: Any) -> Any:
    """``evaluator()``: window 1's evaluator on its own connected link, on the engine's clock."""
    made: list[tuple[EvaluatorWindow, QtLink, MqttLink]] = []

    def make() -> EvaluatorWindow:
        link = MqttLink(
            host=broker.host,
            port=broker.port,
            hall_id=HALL,
            device_id="evaluator-1",
            role="evaluator",
        ).start(wait=WAIT)
        qtlink = QtLink(link)
        ev = EvaluatorWindow(qtlink, "1", tmp_path / "evaluator.db", clock=hall_clock)
        qtbot.addWidget(ev)
        made.append((ev, qtlink, link))
        return ev

    yield make
    for ev, qtlink, link in made:
        ev.shutdown()
        qtlink.close()
        link.stop()


def test_an_evaluator_starting_after_an_empty_restart_prompts_for_the_last_citizen(
    broker: Mosquitto,
    engine_service: EngineService,
    device: Callable[..., MqttLink],
    evaluator: Any,
    qtbot: Any,
) -> None:
    kiosk, caller1 = device("kiosk-1"), device("caller-1")
    cmd(caller1, {"cmd": "login", "clerk": "1001", "pin": DEMO_PIN})
    finished = serve(kiosk, caller1)  # while no evaluator ran
    broker.kill()
    broker.wipe()
    broker.start()

    ev = evaluator()
    qtbot.waitUntil(lambda: ev.page == "prompt", timeout=int(WAIT * 1000))
    assert ev.prompt_ticket is not None
    assert ev.prompt_ticket["ticket_id"] == finished["id"]
    assert ev.idle_name.text() == "王晓燕"  # the clerk, from the same state


def test_an_evaluator_first_on_an_empty_broker_does_not_prompt_for_an_old_finish(
    broker: Mosquitto,
    engine_service: EngineService,
    device: Callable[..., MqttLink],
    evaluator: Any,
    hall_clock: Any,
    qtbot: Any,
) -> None:
    """An evaluator (re)started while the broker was away subscribes to the new, empty
    broker before the engine is back: the engine's republished state reaches it as a
    live message, and its finish is still old news, judged as at start-up."""
    kiosk, caller1 = device("kiosk-1"), device("caller-1")
    cmd(caller1, {"cmd": "login", "clerk": "1001", "pin": DEMO_PIN})
    serve(kiosk, caller1)
    hall_clock.advance(minutes=10)  # that citizen left long ago
    engine_service.link._client.reconnect_delay_set(min_delay=3, max_delay=3)
    broker.kill()
    broker.wipe()
    broker.start()
    ev = evaluator()
    assert not engine_service.link.connected.is_set(), "the engine was back first"
    engine_answers(engine_service, kiosk)
    # A later change of window 1 reaches the evaluator after the republished state.
    cmd(caller1, {"cmd": "pause", "reason": "午休"})
    qtbot.waitUntil(lambda: (ev.state or {}).get("status") == "paused", timeout=int(WAIT * 1000))
    assert ev.page == "idle"
    assert ev.prompt_ticket is None
    assert ev.idle_name.text() == "王晓燕"
