"""Commands from the center reach the role apps: center -> sync agent -> hall plane -> app.

One local Mosquitto is both the hall broker and the center (as in the demo).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from sync_helpers import HALL, ROOT

from kiosk.engine.cli import reload_handler
from kiosk.engine.service import EngineService
from sync import topics
from sync.broker import Mosquitto
from sync.commands import CommandError, serve_control
from sync.mqtt import MqttLink

pytestmark = pytest.mark.broker
DEMO = ROOT / "assets" / "halls" / "demo.yaml"


def retained_catalog(device: Callable[..., MqttLink], want: Callable[[dict], bool]) -> dict:
    """Wait for a retained catalog that satisfies ``want`` (a fresh subscriber's view)."""
    seen: list[dict] = []
    got = threading.Event()

    def on_catalog(message: Any) -> None:
        if isinstance(message.payload, dict):
            seen.append(message.payload)
            if want(message.payload):
                got.set()

    watcher = device("board-1")
    watcher.subscribe(topics.catalog(HALL), on_catalog)
    assert got.wait(5), seen[-1:] if seen else "no catalog"
    return seen[-1]


def test_reload_serves_the_new_config_and_refuses_a_bad_one(
    engine_service: EngineService, relay, device, tmp_path: Path
):
    config_file = tmp_path / "hall.yaml"
    data = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    config_file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    serve_control(
        engine_service.link,
        {"reload": reload_handler(config_file, engine_service.engine, engine_service)},
    )
    center = relay("engine", "reload")

    # The sync agent's config applier wrote a new version: queue A renamed.
    data["version"] = 7
    data["queues"][0]["name"] = "户籍与出入境"
    config_file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    answer = center.command(HALL, "engine", "reload")
    assert answer == {"ok": True, "result": {"version": 7}}
    catalog = retained_catalog(device, lambda c: c["version"] == 7)
    assert catalog["queues"][0] == {
        "id": "A",
        "name": "户籍与出入境",
        "name_en": "Household registration",
        "prefix": "A",
    }

    # A broken file: refused with the path and the reason; version 7 stays.
    del data["windows"]
    data["version"] = 8
    config_file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    answer = center.command(HALL, "engine", "reload")
    assert not answer["ok"]
    error = answer["error"]
    assert error["code"] == "bad_config"
    assert str(config_file) in error["message"] and "windows" in error["message"]
    assert error["message_zh"] == "新配置无效，仍使用原配置"
    assert engine_service.engine.config.version == 7
    assert retained_catalog(device, lambda c: True)["version"] == 7

    config_file.unlink()
    answer = center.command(HALL, "engine", "reload")
    assert answer["error"]["code"] == "bad_config" and "No such file" in answer["error"]["message"]


def test_message_shows_a_banner_on_the_window_display_then_goes_away(
    qtbot, qapp, broker: Mosquitto, engine_service, relay, screenshots: Path
):
    from counter.display import WindowDisplay
    from hall.ui.qtlink import QtLink

    # Started after the display subscribed: the broker confirms those before "connected".
    link = MqttLink(
        host=broker.host, port=broker.port, hall_id=HALL, device_id="display-3", role="display"
    )
    qtlink = QtLink(link)
    display = WindowDisplay(qtlink, "3", "tv")
    link.start()
    qtbot.addWidget(display)
    display.resize(1920, 1080)
    center = relay("display-3", "message")
    results: list[Any] = []

    def send(args: dict[str, Any]) -> None:
        # The center blocks until the answer; the GUI thread must keep running meanwhile.
        worker = threading.Thread(
            target=lambda: results.append(center.command(HALL, "display-3", "message", args))
        )
        worker.start()
        qtbot.waitUntil(lambda: not worker.is_alive(), timeout=8000)

    try:
        qtbot.waitUntil(lambda: display.state is not None, timeout=5000)
        send({"text": "3号窗口系统维护，请到5号窗口办理", "seconds": 60})
        assert results[-1] == {"ok": True, "result": {"shown": True, "seconds": 60}}
        assert display.message == "3号窗口系统维护，请到5号窗口办理"
        assert display.grab().save(str(screenshots / "counter-display_tv_message.png"))

        # Refusals say why, in Chinese too; the banner is left as it was.
        send({"text": "长" * 61})
        assert results[-1]["error"]["code"] == "bad_request"
        assert results[-1]["error"]["message_zh"] == "消息内容不能超过60个字"
        send({"text": "  "})
        assert results[-1]["error"]["message_zh"] == "消息内容不能为空"
        send({"text": "暂停", "seconds": 601})
        assert results[-1]["error"]["message_zh"] == "显示时长应为1至600秒"
        assert display.message == "3号窗口系统维护，请到5号窗口办理"

        # A short one replaces it and goes away by itself.
        send({"text": "午间休息", "seconds": 1})
        assert results[-1]["ok"] and display.message == "午间休息"
        display.resize(1280, 160)  # the LED layout shows it as its last line
        assert display.layout_name == "tv"  # asked for tv explicitly
        assert display.led_lines()[-1] == "午间休息"
        qtbot.waitUntil(lambda: display.message is None, timeout=3000)
        assert "午间休息" not in display.led_lines()
    finally:
        display.shutdown()
        qtlink.close()
        link.stop()


def test_qtlink_runs_control_handlers_on_the_gui_thread(qtbot, qapp, broker: Mosquitto):
    from hall.ui.qtlink import QtLink

    link = MqttLink(
        host=broker.host, port=broker.port, hall_id=HALL, device_id="display-9", role="display"
    )
    agent = MqttLink(
        host=broker.host,
        port=broker.port,
        hall_id=HALL,
        device_id="display-9",
        role="sync",
        presence=False,
    ).start()
    qtlink = QtLink(link)
    gui = threading.current_thread()
    ran_on: list[threading.Thread] = []
    answered = threading.Event()

    def where(args: dict[str, Any]) -> dict[str, Any]:
        ran_on.append(threading.current_thread())
        return {"echo": args}

    def refuse(_args: dict[str, Any]) -> None:
        raise CommandError("nope", "refused", "不行")

    def stuck(_args: dict[str, Any]) -> None:
        answered.wait(5)  # the GUI thread is held until the center has its answer

    qtlink.serve_control({"where": where, "refuse": refuse, "stuck": stuck}, timeout=0.5)
    link.start()  # the control topic is subscribed once connected
    topic = topics.control(HALL, "display-9")
    answers: list[Any] = []

    def ask(payload: dict[str, Any]) -> None:
        worker = threading.Thread(target=lambda: answers.append(agent.request(topic, payload)))
        worker.start()
        qtbot.waitUntil(lambda: not worker.is_alive(), timeout=5000)

    try:
        ask({"cmd": "where", "args": {"n": 1}})
        assert answers[-1] == {"ok": True, "result": {"echo": {"n": 1}}}
        assert ran_on == [gui]
        ask({"cmd": "refuse", "args": {}})
        assert answers[-1]["error"] == {"code": "nope", "message": "refused", "message_zh": "不行"}

        # The GUI thread does not get to the command in time (here: held by the handler
        # itself): the answer comes after the timeout, "busy".
        def busy() -> None:
            answers.append(agent.request(topic, {"cmd": "stuck", "args": {}}))
            answered.set()

        answers.clear()
        worker = threading.Thread(target=busy)
        worker.start()
        qtbot.waitUntil(lambda: not worker.is_alive(), timeout=5000)
        assert answers[0]["error"]["code"] == "busy"
        assert answers[0]["error"]["message_zh"] == "设备忙，请稍后重试"
    finally:
        answered.set()
        qtlink.close()
        agent.stop()
        link.stop()
