"""A real pcscd with vsmartcard's vpcd reader, and a virtual card in it.

``pcscd`` (session): uses a running pcscd, or starts ``pcscd --foreground``
(no ``--auto-exit``: an idle minute between tests must not stop it) and
stops it at the end.  Skips only when the pcscd binary is missing; a pcscd
that does not list the vpcd reader is a failure, not a skip.
``vcard`` (per test): a virtual card, not yet inserted; the reader is empty
before and after the test.  ``insert`` puts it in and waits until pcscd sees
it; ``remove`` pulls it out and waits until pcscd has noticed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from drivers.citizencard.pcscd import (
    VPCD_CONFIG,
    VPCD_READER,
    PcscdProcess,
    pcscd_binary,
    pcscd_running,
    readers_now,
    wait_for_reader,
)
from drivers.citizencard.reader import wait_for_card
from drivers.citizencard.vcard import CardContents, Mode, VirtualCard

STARTUP_TIMEOUT = 15.0
CARD_TIMEOUT = 5.0


@pytest.fixture(scope="session")
def pcscd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PcscdProcess]:
    if pcscd_binary() is None:
        pytest.skip("pcscd is not installed (Debian: apt-get install pcscd vsmartcard-vpcd)")
    handle = PcscdProcess(log_path=tmp_path_factory.mktemp("pcscd") / "pcscd.log")
    if not pcscd_running():
        handle.start()
    try:
        if not wait_for_reader(VPCD_READER, STARTUP_TIMEOUT):
            code = handle.proc.poll() if handle.proc else None
            pytest.fail(
                f"pcscd did not list {VPCD_READER!r} within {STARTUP_TIMEOUT}s "
                f"(readers: {readers_now()}, pcscd exit status: {code}); is vsmartcard-vpcd "
                f"installed ({VPCD_CONFIG} exists: {VPCD_CONFIG.exists()})?\n{handle.log_tail()}"
            )
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def reader_name(pcscd: PcscdProcess) -> str:
    """Name of the vpcd reader the virtual card goes into."""
    return VPCD_READER


@pytest.fixture
def vcard(reader_name: str) -> Iterator[VirtualCard]:
    assert wait_for_card(reader_name, present=False, timeout=CARD_TIMEOUT), (
        "another card sits in the vpcd reader (a `hall citizencard vcard` still running?)"
    )
    card = VirtualCard(retry_interval=0.05).start(inserted=False)
    try:
        yield card
    finally:
        card.stop()
        if pcscd_running():
            assert wait_for_card(reader_name, present=False, timeout=CARD_TIMEOUT)


@pytest.fixture
def insert(vcard: VirtualCard, reader_name: str) -> Callable[..., VirtualCard]:
    """``insert(contents=None, mode=None)``: put the card in, wait until pcscd sees it."""

    def put_in(contents: CardContents | None = None, mode: Mode | str | None = None) -> VirtualCard:
        vcard.insert(contents, mode=mode)
        assert wait_for_card(reader_name, present=True, timeout=CARD_TIMEOUT), (
            "pcscd did not see the virtual card"
        )
        return vcard

    return put_in


@pytest.fixture
def remove(vcard: VirtualCard, reader_name: str) -> Callable[[], None]:
    """Pull the card out and wait until pcscd has noticed."""

    def pull_out() -> None:
        vcard.remove()
        assert wait_for_card(reader_name, present=False, timeout=CARD_TIMEOUT)

    return pull_out
