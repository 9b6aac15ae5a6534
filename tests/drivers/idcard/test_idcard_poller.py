"""CardPoller: one swipe one read, and a pulled cable that comes back."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from drivers.idcard import codec, poller
from drivers.idcard.card import IdCard
from drivers.idcard.errors import (
    CardReadFailed,
    IdCardError,
    ReaderDisconnected,
    ReaderNotFound,
)
from drivers.idcard.poller import CardPoller
from drivers.idcard.reader import SamReader
from drivers.idcard.sim import SamSimulator, make_card

WAIT = 5.0  # upper bound for anything the poller thread should do "now"


class Recorder:
    """Collects callbacks from the poller thread; tests wait on conditions, never sleep."""

    def __init__(self) -> None:
        self.cards: list[IdCard] = []
        self.errors: list[IdCardError] = []
        self.connects = 0
        self._cond = threading.Condition()

    def on_card(self, card: IdCard) -> None:
        with self._cond:
            self.cards.append(card)
            self._cond.notify_all()

    def on_error(self, exc: IdCardError) -> None:
        with self._cond:
            self.errors.append(exc)
            self._cond.notify_all()

    def on_connect(self) -> None:
        with self._cond:
            self.connects += 1
            self._cond.notify_all()

    def wait(self, predicate: Callable[[], bool], timeout: float = WAIT) -> bool:
        with self._cond:
            return self._cond.wait_for(predicate, timeout)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SamSimulator]:
    with SamSimulator(link_path=tmp_path / "hall-idcard") as s:
        yield s


def make_poller(
    sim: SamSimulator, rec: Recorder, *, read_timeout: float = 0.6, **kwargs: object
) -> CardPoller:
    reader = SamReader(str(sim.link_path), timeout=0.3, read_timeout=read_timeout)
    return CardPoller(
        reader,
        on_card=rec.on_card,
        on_error=rec.on_error,
        on_connect=rec.on_connect,
        **kwargs,  # type: ignore[arg-type]
    )


# --------------------------------------------------------------------------- step by step


def test_one_swipe_one_read_step_by_step(sim: SamSimulator) -> None:
    rec = Recorder()
    p = make_poller(sim, rec, removal_polls=2)
    try:
        assert p.poll_once() == poller.NO_CARD
        assert rec.connects == 1
        sim.insert(make_card())
        assert p.poll_once() == poller.CARD
        assert [p.poll_once() for _ in range(5)] == [poller.CARD_HELD] * 5
        assert [c.name for c in rec.cards] == ["张三"]
        sim.remove()
        assert [p.poll_once() for _ in range(2)] == [poller.NO_CARD] * 2
        sim.insert(make_card("permit"))
        assert p.poll_once() == poller.CARD
        assert [c.card_type for c in rec.cards] == ["resident", "permit"]
        assert rec.errors == [] and rec.connects == 1
    finally:
        p.stop()


def test_a_single_missed_find_does_not_read_the_card_again(sim: SamSimulator) -> None:
    rec = Recorder()
    p = make_poller(sim, rec, removal_polls=2)
    try:
        sim.insert(make_card())
        assert p.poll_once() == poller.CARD
        sim.reply_status_next(codec.SW_NO_CARD, command="find")  # one glitch in the field
        assert p.poll_once() == poller.NO_CARD
        assert p.poll_once() == poller.CARD_HELD
        assert len(rec.cards) == 1
    finally:
        p.stop()


def test_reader_that_halts_a_read_card_still_reads_once_per_swipe(tmp_path: Path) -> None:
    rec = Recorder()
    with SamSimulator(link_path=tmp_path / "r", halt_after_read=True) as sim:
        p = make_poller(sim, rec)
        try:
            sim.insert(make_card())
            assert p.poll_once() == poller.CARD
            assert [p.poll_once() for _ in range(4)] == [poller.NO_CARD] * 4
            sim.remove()
            sim.insert(make_card())
            assert p.poll_once() == poller.CARD
            assert len(rec.cards) == 2
        finally:
            p.stop()


def test_an_unreadable_card_is_reported_once(sim: SamSimulator) -> None:
    rec = Recorder()
    p = make_poller(sim, rec)
    try:
        sim.insert(make_card())
        sim.reply_status_next(codec.SW_READ_FAILED, 3, command="read")
        assert p.poll_once() == poller.READ_ERROR
        assert p.poll_once() == poller.CARD_HELD
        assert [type(e) for e in rec.errors] == [CardReadFailed]
        assert rec.errors[0].user_message == "读卡失败，请重新放置身份证"
        sim.remove()
        p.poll_once()
        p.poll_once()
        sim.insert(make_card())
        assert p.poll_once() == poller.CARD  # lifted and put back: read
    finally:
        p.stop()


def test_pulled_cable_backoff_with_an_injected_clock(sim: SamSimulator) -> None:
    rec = Recorder()
    clock = FakeClock()
    p = make_poller(sim, rec, backoff=(0.5, 2.0), clock=clock)
    try:
        sim.insert(make_card())
        assert p.poll_once() == poller.CARD
        sim.pull_cable()
        assert p.poll_once() == poller.LINK_ERROR
        assert [type(e) for e in rec.errors] == [ReaderDisconnected]
        assert p.poll_once() == poller.WAITING  # not due yet
        clock.now += 0.5
        assert p.poll_once() == poller.OFFLINE
        assert [type(e) for e in rec.errors] == [ReaderDisconnected, ReaderNotFound]
        clock.now += 0.5
        assert p.poll_once() == poller.OFFLINE  # backoff doubled: next try at +1.0
        clock.now += 0.9
        assert p.poll_once() == poller.WAITING
        clock.now += 0.1
        assert p.poll_once() == poller.OFFLINE
        assert len(rec.errors) == 2  # the same trouble is reported once
        sim.plug_back()
        clock.now += 2.0
        # The card stayed on the reader and was read before the cable went: no second read.
        assert p.poll_once() == poller.CARD_HELD
        assert rec.connects == 2 and len(rec.cards) == 1
    finally:
        p.stop()


def test_card_read_interrupted_by_the_cable_is_read_after_reconnect(sim: SamSimulator) -> None:
    rec = Recorder()
    clock = FakeClock()
    p = make_poller(sim, rec, clock=clock, read_timeout=0.1)
    try:
        assert p.poll_once() == poller.NO_CARD
        sim.insert(make_card())
        sim.silence_next(3, command="read")  # the reader dies mid-read
        assert p.poll_once() == poller.LINK_ERROR
        clock.now += 1.0
        assert p.poll_once() == poller.CARD
        assert len(rec.cards) == 1
    finally:
        p.stop()


# --------------------------------------------------------------------------- the thread


def test_thread_one_swipe_one_read(sim: SamSimulator) -> None:
    rec = Recorder()
    p = make_poller(sim, rec, interval=0.01)
    p.start()
    try:
        assert rec.wait(lambda: rec.connects == 1)
        sim.insert(make_card())
        assert rec.wait(lambda: len(rec.cards) == 1)
        # The card stays on the reader through many more polls: still one read.
        assert sim.wait_for_commands("find", sim.count("find") + 10, WAIT)
        assert len(rec.cards) == 1
        sim.remove()
        assert sim.wait_for_commands("find", sim.count("find") + 3, WAIT)
        sim.insert(make_card("foreign"))
        assert rec.wait(lambda: len(rec.cards) == 2)
        assert rec.cards[1].card_type == "foreign"
        assert rec.errors == []
    finally:
        assert p.stop()
    assert not p.connected


def test_thread_survives_a_pulled_cable(sim: SamSimulator) -> None:
    rec = Recorder()
    p = make_poller(sim, rec, interval=0.01, backoff=(0.02, 0.1))
    p.start()
    try:
        assert rec.wait(lambda: rec.connects == 1)
        sim.pull_cable()
        assert rec.wait(lambda: len(rec.errors) >= 1)
        assert isinstance(rec.errors[0], ReaderDisconnected)
        assert rec.errors[0].user_message == "身份证读卡器已断开，请联系工作人员"
        assert rec.wait(lambda: any(isinstance(e, ReaderNotFound) for e in rec.errors))
        sim.plug_back()
        assert rec.wait(lambda: rec.connects == 2)
        sim.insert(make_card())
        assert rec.wait(lambda: len(rec.cards) == 1)
        assert rec.cards[0].name == "张三"
    finally:
        assert p.stop()


def test_a_failing_callback_does_not_stop_the_poller(sim: SamSimulator) -> None:
    rec = Recorder()
    calls: list[IdCard] = []

    def bad_on_card(card: IdCard) -> None:
        calls.append(card)
        raise RuntimeError("kiosk bug")

    p = CardPoller(
        SamReader(str(sim.link_path), timeout=0.3),
        on_card=bad_on_card,
        on_error=rec.on_error,
        on_connect=rec.on_connect,
        interval=0.01,
    )
    p.start()
    try:
        sim.insert(make_card())
        assert sim.wait_for_commands("read", 1, WAIT)
        sim.remove()
        assert sim.wait_for_commands("find", sim.count("find") + 3, WAIT)
        sim.insert(make_card())
        assert sim.wait_for_commands("read", 2, WAIT)
    finally:
        assert p.stop()
    assert len(calls) == 2
