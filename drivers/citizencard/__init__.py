"""Citizen / social-security card (社会保障卡/市民卡) reader over PC/SC (pyscard).

Modules:
    apdu     pure codec: APDU builders, status words, TLV records, ``CitizenCard``
    session  the SSSE read sequence over any ``transmit`` (61xx / 6Cxx handling)
    pcsc     thin pyscard layer; PC/SC result codes -> named errors
    reader   ``CitizenCardReader``, ``list_readers``, ``wait_for_card``
    monitor  ``CardMonitor``: one ``on_card`` per insertion
    vcard    virtual card for vsmartcard's vpcd (tests and demo)
    pcscd    start pcscd where no systemd does (tests, demo, doctor)
    cli      ``hall citizencard read|readers|vcard``
"""

from drivers.citizencard.apdu import CitizenCard
from drivers.citizencard.errors import (
    CardReadFailed,
    CitizenCardError,
    NoCard,
    NoReader,
    PinRequired,
    RecordFormatError,
    WrongCard,
)
from drivers.citizencard.monitor import CardMonitor
from drivers.citizencard.pcscd import VPCD_READER, ensure_pcscd
from drivers.citizencard.reader import CitizenCardReader, list_readers, wait_for_card

__all__ = [
    "VPCD_READER",
    "CardMonitor",
    "CardReadFailed",
    "CitizenCard",
    "CitizenCardError",
    "CitizenCardReader",
    "NoCard",
    "NoReader",
    "PinRequired",
    "RecordFormatError",
    "WrongCard",
    "ensure_pcscd",
    "list_readers",
    "wait_for_card",
]
