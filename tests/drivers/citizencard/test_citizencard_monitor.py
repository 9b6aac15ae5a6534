"""CardMonitor through a real pcscd: one on_card per insertion, removals, errors, outages."""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Iterator

import pytest

from drivers.citizencard import CardMonitor, CitizenCard, NoReader, PinRequired, WrongCard
from drivers.citizencard.pcscd import PcscdProcess, wait_for_reader
from drivers.citizencard.vcard import CardContents, Mode, VirtualCard

pytestmark = pytest.mark.pcsc

EVENT_TIMEOUT = 5.0
InsertCard = Callable[..., VirtualCard]


class Events:
    """Everything the monitor reports, in order, with bounded waits."""

    def __init__(self) -> None:
        self.queue: queue.Queue[tuple[str, object]] = queue.Queue()

    def card(self, card: CitizenCard) -> None:
        self.queue.put(("card", card))

    def error(self, error: Exception) -> None:
        self.queue.put(("error", error))

    def readers(self, readers: list[str]) -> None:
        self.queue.put(("readers", readers))

    def removed(self, reader: str) -> None:
        self.queue.put(("removed", reader))

    def next(self, timeout: float = EVENT_TIMEOUT) -> tuple[str, object]:
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"monitor reported nothing within {timeout}s") from None

    def next_kind(self, kind: str, timeout: float = EVENT_TIMEOUT) -> object:
        """The next event, which must be of ``kind`` (reader lists may come first)."""
        deadline = time.monotonic() + timeout
        while True:
            got, value = self.next(max(0.0, deadline - time.monotonic()))
            if got == "readers" and kind != "readers":
                continue
            assert got == kind, f"expected {kind}, monitor reported {got}: {value!r}"
            return value

    def pending(self) -> list[tuple[str, object]]:
        items = []
        while not self.queue.empty():
            items.append(self.queue.get_nowait())
        return items


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture
def monitor(events: Events, reader_name: str, vcard: VirtualCard) -> Iterator[CardMonitor]:
    m = CardMonitor(
        on_card=events.card,
        on_error=events.error,
        on_reader_change=events.readers,
        on_removed=events.removed,
        reader_name=reader_name,
        poll=0.5,
        retry_interval=0.2,
    )
    m.start()
    try:
        yield m
    finally:
        m.stop()


def test_one_card_per_insertion(
    events: Events, monitor: CardMonitor, vcard: VirtualCard, reader_name: str
) -> None:
    assert events.next() == ("readers", [reader_name])
    vcard.insert()
    first = events.next_kind("card")
    assert isinstance(first, CitizenCard) and first.name == "张三"

    vcard.remove()
    assert events.next_kind("removed") == reader_name  # no second on_card came before it

    vcard.insert(CardContents(name="李四", card_number="T00000002"))
    second = events.next_kind("card")
    assert isinstance(second, CitizenCard)
    assert second.to_json_dict(mask=False)["card_number"] == "T00000002"

    vcard.remove()
    assert events.next_kind("removed") == reader_name
    assert events.pending() == []


def test_card_already_in_at_start_is_read_once(
    events: Events, insert: InsertCard, reader_name: str
) -> None:
    insert()
    with CardMonitor(on_card=events.card, on_error=events.error, reader_name=reader_name, poll=0.5):
        card = events.next_kind("card")
    assert isinstance(card, CitizenCard)
    assert events.pending() == []


def test_pin_and_wrong_card_reach_on_error_once(
    events: Events, monitor: CardMonitor, vcard: VirtualCard, reader_name: str
) -> None:
    vcard.insert(mode=Mode.PIN_REQUIRED)
    error = events.next_kind("error")
    assert isinstance(error, PinRequired)
    assert error.user_message == "此卡需要输入密码，请到人工窗口办理"
    vcard.remove()
    assert events.next_kind("removed") == reader_name

    vcard.insert(mode=Mode.WRONG_CARD)
    assert isinstance(events.next_kind("error"), WrongCard)
    vcard.remove()
    assert events.next_kind("removed") == reader_name
    assert events.pending() == []


def test_a_failing_callback_does_not_stop_the_monitor(
    events: Events, vcard: VirtualCard, reader_name: str
) -> None:
    calls: list[CitizenCard] = []

    def explode(card: CitizenCard) -> None:
        calls.append(card)
        events.card(card)
        raise RuntimeError("kiosk bug")

    with CardMonitor(on_card=explode, on_removed=events.removed, reader_name=reader_name, poll=0.5):
        vcard.insert()
        events.next_kind("card")
        vcard.remove()
        events.next_kind("removed")
        vcard.insert()
        events.next_kind("card")
    assert len(calls) == 2


def test_stop_is_prompt(monitor: CardMonitor, events: Events) -> None:
    events.next_kind("readers")
    started = time.monotonic()
    monitor.stop()
    assert time.monotonic() - started < 1.0
    assert not monitor.running


def test_unknown_reader_name_reports_no_reader(events: Events, pcscd: PcscdProcess) -> None:
    with CardMonitor(
        on_card=events.card,
        on_error=events.error,
        on_reader_change=events.readers,
        reader_name="ACS ACR39U",
    ):
        assert events.next() == ("readers", [])
        error = events.next_kind("error")
    assert isinstance(error, NoReader)
    assert "ACS ACR39U" in str(error)


def test_pcscd_outage_is_reported_once_and_recovered(
    events: Events, pcscd: PcscdProcess, vcard: VirtualCard, reader_name: str
) -> None:
    monitor = CardMonitor(
        on_card=events.card,
        on_error=events.error,
        on_reader_change=events.readers,
        reader_name=reader_name,
        poll=0.5,
        retry_interval=0.1,
    )
    with monitor:
        assert events.next() == ("readers", [reader_name])
        pcscd.stop()
        try:
            assert events.next() == ("readers", [])
            error = events.next()[1]
            assert isinstance(error, NoReader)
            assert "systemctl status pcscd" in str(error)
            assert error.user_message == "读卡器未连接，请联系工作人员"
        finally:
            pcscd.start()
            assert wait_for_reader(reader_name, timeout=15), pcscd.log_tail()
        assert events.next(timeout=15) == ("readers", [reader_name])
        vcard.insert()
        card = events.next_kind("card", timeout=10)
    assert isinstance(card, CitizenCard)
    assert events.pending() == []  # the outage was reported once, not once per retry
