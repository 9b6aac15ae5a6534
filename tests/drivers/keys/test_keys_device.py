"""KeyDevice's reader loop, fed real InputEvents through a pipe-backed simulated device.

The simulator writes ``struct input_event`` records into a pipe and the
source reads them with python-evdev's own reader, so ``select``, ``read``,
``ENODEV`` on unplug and ``grab`` run through the same loop as on hardware.
"""

from __future__ import annotations

import errno
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from evdev import InputEvent

from drivers.keys.device import KeyDevice, KeyStatus, open_input_device
from drivers.keys.events import KeyDecoder, Output, WedgeAssembler
from drivers.keys.keymap import EVALUATOR_DEFAULT
from drivers.keys.simulator import SimulatedKeyboard, press_events

WAIT = 5.0  # generous upper bound; every wait ends as soon as its condition holds


class Recorder:
    """Collects callbacks from the reader thread; tests wait on conditions, never sleep."""

    def __init__(self) -> None:
        self.actions: list[str] = []
        self.codes: list[str] = []
        self.statuses: list[str] = []
        self._cond = threading.Condition()

    def _add(self, bucket: list[str], value: str) -> None:
        with self._cond:
            bucket.append(value)
            self._cond.notify_all()

    def on_action(self, action: str) -> None:
        self._add(self.actions, action)

    def on_code(self, code: str) -> None:
        self._add(self.codes, code)

    def on_status(self, status: str) -> None:
        self._add(self.statuses, status)

    def wait_for(self, predicate: Callable[[], bool], what: str) -> None:
        with self._cond:
            if not self._cond.wait_for(predicate, timeout=WAIT):
                pytest.fail(f"timed out waiting for {what}: {self.__dict__}")

    def wait_status(self, status: str, count: int = 1) -> None:
        self.wait_for(lambda: self.statuses.count(status) >= count, f"status {status} x{count}")


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def keyboard() -> SimulatedKeyboard:
    return SimulatedKeyboard(name="USB five-button evaluator")


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


def make_device(
    keyboard: SimulatedKeyboard, rec: Recorder, processor: object | None = None, **kw: object
) -> KeyDevice:
    options: dict[str, object] = {"retry_s": (0.01, 0.05), "poll_s": 0.05, **kw}
    return KeyDevice(
        keyboard.path,
        processor or KeyDecoder(EVALUATOR_DEFAULT),  # type: ignore[arg-type]
        on_action=rec.on_action,
        on_code=rec.on_code,
        on_status=rec.on_status,
        opener=keyboard.open,
        **options,  # type: ignore[arg-type]
    )


@pytest.fixture
def running(keyboard: SimulatedKeyboard, rec: Recorder) -> Iterator[KeyDevice]:
    device = make_device(keyboard, rec)
    device.start()
    try:
        rec.wait_status("connected")
        yield device
    finally:
        assert device.stop()


def test_actions_arrive_through_the_callback_and_the_device_is_grabbed(
    running: KeyDevice, keyboard: SimulatedKeyboard, rec: Recorder
) -> None:
    assert keyboard.grabbed and running.grabbed
    keyboard.press("KEY_KP1")
    keyboard.press("KEY_F5")
    keyboard.press("KEY_3")
    rec.wait_for(lambda: len(rec.actions) == 3, "three ratings")
    assert rec.actions == ["rate_1", "rate_5", "rate_3"]


def test_unplug_reports_disconnected_and_replug_reconnects(
    running: KeyDevice, keyboard: SimulatedKeyboard, rec: Recorder
) -> None:
    keyboard.press("KEY_2")
    rec.wait_for(lambda: rec.actions == ["rate_2"], "first rating")

    keyboard.unplug()  # the reader's read() raises OSError(ENODEV)
    rec.wait_status("disconnected")
    assert running.status == KeyStatus.DISCONNECTED and not running.grabbed
    with pytest.raises(RuntimeError, match="unplugged"):
        keyboard.press("KEY_4")

    keyboard.plug()
    rec.wait_status("connected", count=2)
    assert keyboard.grabbed  # grabbed again after re-open
    keyboard.press("KEY_4")
    rec.wait_for(lambda: rec.actions == ["rate_2", "rate_4"], "rating after replug")
    assert rec.statuses == ["connected", "disconnected", "connected"]


def test_stop_releases_the_grab_and_closes_the_device(
    keyboard: SimulatedKeyboard, rec: Recorder
) -> None:
    device = make_device(keyboard, rec, poll_s=60.0)  # stop must not wait for the poll
    device.start()
    rec.wait_status("connected")
    assert keyboard.grabbed and keyboard.open_count == 1
    assert device.stop(timeout=2.0)
    assert not keyboard.grabbed
    assert keyboard.open_count == 0


def test_absent_device_is_reported_and_picked_up_when_plugged(rec: Recorder) -> None:
    keyboard = SimulatedKeyboard(plugged=False)
    device = make_device(keyboard, rec)
    device.start()
    try:
        rec.wait_status("disconnected")
        keyboard.plug()
        rec.wait_status("connected")
        keyboard.press("KEY_KP5")
        rec.wait_for(lambda: rec.actions == ["rate_5"], "rating")
    finally:
        assert device.stop()


def test_grab_failure_is_a_warning_and_keys_still_work(
    rec: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    keyboard = SimulatedKeyboard(grab_errno=errno.EBUSY)
    device = make_device(keyboard, rec)
    device.start()
    try:
        rec.wait_status("connected")
        assert not device.grabbed
        keyboard.press("KEY_1")
        rec.wait_for(lambda: rec.actions == ["rate_1"], "rating")
    finally:
        assert device.stop()
    assert any("could not grab" in r.getMessage() for r in caplog.records)


def test_a_failing_callback_does_not_stop_the_reader(
    keyboard: SimulatedKeyboard, rec: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[str] = []

    def flaky(action: str) -> None:
        calls.append(action)
        if len(calls) == 1:
            raise ValueError("app bug")
        rec.on_action(action)

    device = KeyDevice(
        keyboard.path,
        KeyDecoder(EVALUATOR_DEFAULT),
        on_action=flaky,
        on_status=rec.on_status,
        opener=keyboard.open,
        poll_s=0.05,
    )
    device.start()
    try:
        rec.wait_status("connected")
        keyboard.press("KEY_1")
        keyboard.press("KEY_2")
        rec.wait_for(lambda: rec.actions == ["rate_2"], "second rating")
    finally:
        assert device.stop()
    assert any("callback" in r.getMessage() for r in caplog.records)


def test_scanner_codes_arrive_through_on_code(keyboard: SimulatedKeyboard, rec: Recorder) -> None:
    device = make_device(keyboard, rec, processor=WedgeAssembler())
    device.start()
    try:
        rec.wait_status("connected")
        keyboard.type_text("ABC-123")
        keyboard.type_text("https://hall.example/q?t=A001")
        rec.wait_for(lambda: len(rec.codes) == 2, "two codes")
        assert rec.codes == ["ABC-123", "https://hall.example/q?t=A001"]
    finally:
        assert device.stop()


class CountingProcessor:
    """Wraps a real decoder and counts the events the reader has fed it, so a test can
    wait until a burst is fully processed before it moves the clock."""

    def __init__(self, inner: KeyDecoder) -> None:
        self.inner = inner
        self.fed = 0
        self._cond = threading.Condition()

    def feed(self, event: InputEvent) -> list[Output]:
        out = self.inner.feed(event)
        with self._cond:
            self.fed += 1
            self._cond.notify_all()
        return out

    def tick(self, now: float | None = None) -> list[Output]:
        return self.inner.tick(now)

    def reset(self) -> None:
        self.inner.reset()

    def wait_fed(self, count: int) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: self.fed >= count, timeout=WAIT), self.fed


def test_storm_status_and_recovery_on_an_idle_device(
    keyboard: SimulatedKeyboard, rec: Recorder
) -> None:
    clock = FakeClock()
    decoder = CountingProcessor(
        KeyDecoder(EVALUATOR_DEFAULT, clock=clock, max_presses=5, quiet_s=2.0)
    )
    device = make_device(keyboard, rec, processor=decoder)
    device.start()
    try:
        rec.wait_status("connected")
        storm = []
        for i in range(200):
            storm += press_events(f"KEY_{i % 5 + 1}")
        keyboard.send(storm)  # 200 presses at one instant
        decoder.wait_fed(len(storm))
        assert rec.statuses == ["connected", "storm"]
        assert len(rec.actions) <= 5
        clock.now += 3.0  # quiet: the reader's idle tick ends the storm
        rec.wait_status("storm_over")
        keyboard.press("KEY_KP3")
        rec.wait_for(lambda: rec.actions[-1:] == ["rate_3"], "rating after the storm")
        assert rec.statuses == ["connected", "storm", "storm_over"]
    finally:
        assert device.stop()


def test_start_twice_is_refused(running: KeyDevice) -> None:
    with pytest.raises(RuntimeError, match="already started"):
        running.start()


def test_the_real_opener_reports_a_missing_or_bogus_device_as_disconnected(
    tmp_path: Path, rec: Recorder
) -> None:
    bogus = tmp_path / "event0"
    bogus.write_bytes(b"")  # exists, but the evdev ioctls fail on it
    with pytest.raises(OSError):
        open_input_device(str(bogus))
    for spec in (str(bogus), str(tmp_path / "hall-evaluator"), "by-id:nothing-here"):
        rec.statuses.clear()
        device = KeyDevice(spec, KeyDecoder(EVALUATOR_DEFAULT), on_status=rec.on_status)
        device.start()
        try:
            rec.wait_status("disconnected")
        finally:
            assert device.stop()
