"""Pure codec for the social-security (SSSE) card: APDUs, status words, TLV records.

Bytes in, objects out; no PC/SC, no I/O.  The card layout (docs/protocols/citizencard.md):

* application ``SSSE``: AID ``73 78 31 2E 73 68 2E C9 E7 BB E1 B1 A3 D5 CF``
  (``"sx1.sh."`` + ``社会保障`` in GBK);
* EF05: record 01 card identifier (16 bytes, shown as hex; its first 6
  digits are the region code), record 07 card number (9 characters);
* EF06: record 08 social-security number (18 characters), record 09 name
  (30 bytes GBK, padded with 00, FF or spaces).

Each record is TLV: tag (= the record number), length, value.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.citizencard.errors import RecordFormatError
from hall.core.privacy import mask_id, mask_name

# -- identifiers -------------------------------------------------------------

SSSE_AID = b"sx1.sh." + "社会保障".encode("gbk")
EF05 = 0xEF05
EF06 = 0xEF06

CLA = 0x00
INS_SELECT = 0xA4
INS_READ_RECORD = 0xB2
INS_GET_RESPONSE = 0xC0
P2_RECORD_NUMBER_IN_P1 = 0x04


# -- APDU builders ------------------------------------------------------------


def select_aid(aid: bytes) -> bytes:
    """SELECT by DF name: ``00 A4 04 00 Lc AID``."""
    if not 1 <= len(aid) <= 16:
        raise ValueError(f"AID must be 1..16 bytes, got {len(aid)}")
    return bytes([CLA, INS_SELECT, 0x04, 0x00, len(aid)]) + aid


def select_ef(fid: int) -> bytes:
    """SELECT by file identifier: ``00 A4 00 00 02 FID``."""
    if not 0 <= fid <= 0xFFFF:
        raise ValueError(f"file id out of range: {fid:#x}")
    return bytes([CLA, INS_SELECT, 0x00, 0x00, 0x02]) + fid.to_bytes(2, "big")


def read_record(number: int, le: int) -> bytes:
    """READ RECORD, record number in P1: ``00 B2 NN 04 Le`` (Le 0 means 256)."""
    if not 1 <= number <= 0xFE:
        raise ValueError(f"record number out of range: {number}")
    return bytes([CLA, INS_READ_RECORD, number, P2_RECORD_NUMBER_IN_P1, _le_byte(le)])


def get_response(le: int) -> bytes:
    """GET RESPONSE after ``61xx``: ``00 C0 00 00 xx``."""
    return bytes([CLA, INS_GET_RESPONSE, 0x00, 0x00, _le_byte(le)])


def with_le(apdu: bytes, le: int) -> bytes:
    """The same command with its Le replaced (or added): the answer to ``6Cxx``."""
    if len(apdu) < 4:
        raise ValueError(f"APDU too short: {apdu.hex(' ')}")
    if len(apdu) == 4:  # case 1
        return apdu + bytes([_le_byte(le)])
    if len(apdu) == 5:  # case 2: the fifth byte is Le
        return apdu[:4] + bytes([_le_byte(le)])
    lc = apdu[4]
    if len(apdu) == 5 + lc:  # case 3
        return apdu + bytes([_le_byte(le)])
    if len(apdu) == 6 + lc:  # case 4
        return apdu[:-1] + bytes([_le_byte(le)])
    raise ValueError(f"not a short APDU: {apdu.hex(' ')}")


def _le_byte(le: int) -> int:
    if not 0 <= le <= 256:
        raise ValueError(f"Le out of range: {le}")
    return le & 0xFF  # 256 is encoded as 00


SELECT_SSSE = select_aid(SSSE_AID)
SELECT_EF05 = select_ef(EF05)
SELECT_EF06 = select_ef(EF06)


@dataclass(frozen=True)
class RecordSpec:
    """Where one field lives on the card and how many bytes to ask for."""

    field: str
    ef: int
    record: int
    le: int

    @property
    def apdu(self) -> bytes:
        return read_record(self.record, self.le)


CARD_ID = RecordSpec("card_id", EF05, 0x01, 0x12)
CARD_NUMBER = RecordSpec("card_number", EF05, 0x07, 0x0B)
SSN = RecordSpec("ssn", EF06, 0x08, 0x14)
NAME = RecordSpec("name", EF06, 0x09, 0x20)
RECORDS: tuple[RecordSpec, ...] = (CARD_ID, CARD_NUMBER, SSN, NAME)


# -- status words -------------------------------------------------------------

SW_OK = 0x9000
SW_SECURITY_NOT_SATISFIED = 0x6982
SW_AUTH_BLOCKED = 0x6983
SW_FILE_NOT_FOUND = 0x6A82
SW_RECORD_NOT_FOUND = 0x6A83
SW_WRONG_LENGTH = 0x6700

STATUS_WORDS: dict[int, str] = {
    0x9000: "success",
    0x6200: "warning: state of non-volatile memory unchanged",
    0x6281: "warning: part of returned data may be corrupted",
    0x6282: "warning: end of file or record reached before Le bytes",
    0x6283: "warning: selected file invalidated",
    0x6581: "memory failure",
    0x6700: "wrong length",
    0x6881: "logical channel not supported",
    0x6882: "secure messaging not supported",
    0x6981: "command incompatible with file structure",
    0x6982: "security status not satisfied (PIN required)",
    0x6983: "authentication method blocked (PIN locked)",
    0x6984: "referenced data invalidated",
    0x6985: "conditions of use not satisfied",
    0x6986: "command not allowed (no current EF)",
    0x6A80: "incorrect parameters in the data field",
    0x6A81: "function not supported",
    0x6A82: "file or application not found",
    0x6A83: "record not found",
    0x6A84: "not enough memory space in the file",
    0x6A86: "incorrect parameters P1-P2",
    0x6A88: "referenced data not found",
    0x6B00: "wrong parameters P1-P2",
    0x6D00: "instruction code not supported",
    0x6E00: "class not supported",
    0x6F00: "no precise diagnosis",
}


@dataclass(frozen=True)
class StatusWord:
    """SW1 SW2 of a response APDU."""

    sw1: int
    sw2: int

    @property
    def value(self) -> int:
        return (self.sw1 << 8) | self.sw2

    @property
    def ok(self) -> bool:
        return self.value == SW_OK

    @property
    def more_data(self) -> int | None:
        """``61xx``: xx more bytes wait for GET RESPONSE (0 means 256)."""
        return (self.sw2 or 256) if self.sw1 == 0x61 else None

    @property
    def exact_le(self) -> int | None:
        """``6Cxx``: wrong Le, resend with Le = xx (0 means 256)."""
        return (self.sw2 or 256) if self.sw1 == 0x6C else None

    @property
    def pin_required(self) -> bool:
        return self.value in (SW_SECURITY_NOT_SATISFIED, SW_AUTH_BLOCKED)

    @property
    def meaning(self) -> str:
        return describe_sw(self.sw1, self.sw2)

    def __str__(self) -> str:
        return f"{self.value:04X} ({self.meaning})"


def describe_sw(sw1: int, sw2: int) -> str:
    """English meaning of a status word, for logs and error messages."""
    value = (sw1 << 8) | sw2
    if value in STATUS_WORDS:
        return STATUS_WORDS[value]
    if sw1 == 0x61:
        return f"{sw2 or 256} more bytes available (GET RESPONSE)"
    if sw1 == 0x6C:
        return f"wrong Le, exact length is {sw2 or 256}"
    if sw1 == 0x63 and sw2 & 0xF0 == 0xC0:
        return f"verification failed, {sw2 & 0x0F} tries left"
    if sw1 == 0x62:
        return "warning: state of non-volatile memory unchanged"
    if sw1 == 0x63:
        return "warning: state of non-volatile memory changed"
    if sw1 == 0x64:
        return "execution error, memory unchanged"
    if sw1 == 0x65:
        return "execution error, memory changed"
    return "unknown status"


@dataclass(frozen=True)
class Response:
    """A response APDU split into data and status word."""

    data: bytes
    sw: StatusWord

    @classmethod
    def from_bytes(cls, raw: bytes) -> Response:
        if len(raw) < 2:
            raise RecordFormatError(
                f"response APDU shorter than a status word: {len(raw)} bytes ({raw.hex(' ')})"
            )
        return cls(bytes(raw[:-2]), StatusWord(raw[-2], raw[-1]))

    def to_bytes(self) -> bytes:
        return self.data + bytes([self.sw.sw1, self.sw.sw2])


# -- TLV records --------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """One TLV record: tag (the record number on SSSE cards) and value."""

    tag: int
    value: bytes


def parse_record(data: bytes) -> Record:
    """Parse ``tag len value``; bytes after the value (padding up to Le) are ignored.

    The length is BER: one byte below 0x80, or ``81 xx`` / ``82 xx xx``.
    Anything else raises :class:`RecordFormatError`.
    """
    if len(data) < 2:
        raise RecordFormatError(f"record too short for tag and length: {len(data)} bytes")
    tag, first = data[0], data[1]
    offset = 2
    if first < 0x80:
        length = first
    elif first in (0x81, 0x82):
        n = first - 0x80
        if len(data) < 2 + n:
            raise RecordFormatError(
                f"record {tag:02X}: length field {data[1 : 2 + n].hex(' ')} truncated"
            )
        length = int.from_bytes(data[2 : 2 + n], "big")
        offset = 2 + n
    else:
        raise RecordFormatError(f"record {tag:02X}: unsupported length byte {first:02X}")
    if len(data) < offset + length:
        raise RecordFormatError(
            f"record {tag:02X}: length {length} but only {len(data) - offset} value bytes"
            f" (header {data[:offset].hex(' ')})"
        )
    return Record(tag, bytes(data[offset : offset + length]))


def record_value(data: bytes, expected_tag: int) -> bytes:
    """The value of a record whose tag must be ``expected_tag``."""
    record = parse_record(data)
    if record.tag != expected_tag:
        raise RecordFormatError(
            f"expected record {expected_tag:02X}, card returned tag {record.tag:02X}"
            f" (header {data[:2].hex(' ')})"
        )
    return record.value


def encode_record(tag: int, value: bytes) -> bytes:
    """The inverse of :func:`parse_record` (short or ``81``/``82`` length)."""
    if len(value) < 0x80:
        header = bytes([tag, len(value)])
    elif len(value) <= 0xFF:
        header = bytes([tag, 0x81, len(value)])
    else:
        header = bytes([tag, 0x82]) + len(value).to_bytes(2, "big")
    return header + value


# -- field decoding -----------------------------------------------------------

_PADDING = b"\x00\xff "


def decode_text(value: bytes, *, field: str = "field") -> str:
    """ASCII fields (card number, social-security number): padding stripped."""
    stripped = value.strip(_PADDING)
    try:
        text = stripped.decode("ascii")
    except UnicodeDecodeError as exc:
        raise RecordFormatError(f"{field}: not ASCII at byte {exc.start}") from None
    if not text.isprintable():
        raise RecordFormatError(f"{field}: contains control characters")
    return text.strip()


def decode_name(value: bytes) -> str:
    """GBK name; strips 00 / FF / space padding (also the full-width space)."""
    stripped = value.strip(_PADDING)
    for codec in ("gbk", "gb18030"):
        try:
            text = stripped.decode(codec)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise RecordFormatError(f"name: not GBK/GB18030 ({len(stripped)} bytes)")
    text = text.strip(" \u3000\x00")
    if not text.isprintable():
        raise RecordFormatError("name: contains control characters")
    return text


def encode_name(name: str, width: int = 30) -> bytes:
    """GBK name padded with 00 to ``width`` bytes (what a card stores)."""
    raw = name.encode("gbk")
    if len(raw) > width:
        raise ValueError(f"name needs {len(raw)} bytes, record holds {width}")
    return raw.ljust(width, b"\x00")


def decode_card_identifier(value: bytes) -> str:
    """Card identifier as printed by issuers: uppercase hex of the 16 bytes.

    A card that stores it as ASCII digits/letters (some do) is taken as text.
    """
    stripped = value.rstrip(b"\x00\xff")
    if stripped and stripped.isascii() and stripped.decode("ascii").isalnum():
        return stripped.decode("ascii").upper()
    return value.hex().upper()


def region_of(card_identifier: str) -> str:
    """The region code (行政区划代码): the first 6 digits of the card identifier."""
    region = card_identifier[:6]
    if len(region) != 6 or not region.isdigit():
        raise RecordFormatError(f"card identifier does not start with a region code: {region!r}")
    return region


# -- the card as the rest of the system sees it -------------------------------


@dataclass(frozen=True, repr=False)
class CitizenCard:
    """What a citizen card tells us.  ``repr``/``str`` are masked; use fields deliberately."""

    card_number: str
    region: str
    ssn: str
    name: str

    def masked(self) -> dict[str, str]:
        return {
            "card_number": mask_id(self.card_number),
            "region": self.region,
            "ssn": mask_id(self.ssn),
            "name": mask_name(self.name),
        }

    def to_json_dict(self, mask: bool = True) -> dict[str, str]:
        """``{card_number, region, ssn, name}``; masked unless ``mask=False``."""
        if mask:
            return self.masked()
        return {
            "card_number": self.card_number,
            "region": self.region,
            "ssn": self.ssn,
            "name": self.name,
        }

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.masked().items())
        return f"CitizenCard({fields})"
