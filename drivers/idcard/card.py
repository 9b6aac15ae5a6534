"""What a resident ID card holds, parsed from the SAM's "read" reply (pure).

Read reply data (after ``SW1 SW2 SW3 = 00 00 90``)::

    text_len(2 BE) | photo_len(2 BE) [| fp_len(2 BE)] | text | wlt [| fp]

The 256-byte text block is UCS-2LE, space padded; byte offsets below are
from docs/protocols/idcard.md.  Three layouts share it, told apart by bytes 248-250:
spaces = resident ID card, ``J`` = Hong Kong/Macao/Taiwan residence permit,
``I`` = foreign permanent resident card.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

from drivers.idcard.errors import InvalidCard
from hall.core.privacy import mask_id, mask_name

TEXT_SIZE = 256
WLT_SIZE = 1024
LONG_TERM = "长期"  # valid_to of a card that never expires

# GB 3304 nation codes as printed on the card.
NATIONS: dict[str, str] = {
    "01": "汉", "02": "蒙古", "03": "回", "04": "藏", "05": "维吾尔",
    "06": "苗", "07": "彝", "08": "壮", "09": "布依", "10": "朝鲜",
    "11": "满", "12": "侗", "13": "瑶", "14": "白", "15": "土家",
    "16": "哈尼", "17": "哈萨克", "18": "傣", "19": "黎", "20": "傈僳",
    "21": "佤", "22": "畲", "23": "高山", "24": "拉祜", "25": "水",
    "26": "东乡", "27": "纳西", "28": "景颇", "29": "柯尔克孜", "30": "土",
    "31": "达斡尔", "32": "仫佬", "33": "羌", "34": "布朗", "35": "撒拉",
    "36": "毛南", "37": "仡佬", "38": "锡伯", "39": "阿昌", "40": "普米",
    "41": "塔吉克", "42": "怒", "43": "乌孜别克", "44": "俄罗斯", "45": "鄂温克",
    "46": "德昂", "47": "保安", "48": "裕固", "49": "京", "50": "塔塔尔",
    "51": "独龙", "52": "鄂伦春", "53": "赫哲", "54": "门巴", "55": "珞巴",
    "56": "基诺", "97": "其他", "98": "外国血统",
}  # fmt: skip
NATION_CODES: dict[str, str] = {name: code for code, name in NATIONS.items()}

SEXES: dict[str, str] = {"1": "男", "2": "女"}
SEX_CODES: dict[str, str] = {name: code for code, name in SEXES.items()}

CARD_TYPES: dict[str, str] = {" ": "resident", "J": "permit", "I": "foreign"}
TYPE_MARKS: dict[str, str] = {kind: mark for mark, kind in CARD_TYPES.items()}

# (field, first byte, end byte) in the text block.
RESIDENT_LAYOUT: tuple[tuple[str, int, int], ...] = (
    ("name", 0, 30),
    ("sex", 30, 32),
    ("nation", 32, 36),
    ("birth", 36, 52),
    ("address", 52, 122),
    ("id_number", 122, 158),
    ("authority", 158, 188),
    ("valid_from", 188, 204),
    ("valid_to", 204, 220),
)
PERMIT_LAYOUT = (*RESIDENT_LAYOUT, ("pass_number", 220, 238), ("issue_count", 238, 242))
FOREIGN_LAYOUT: tuple[tuple[str, int, int], ...] = (
    ("english_name", 0, 120),
    ("sex", 120, 122),
    ("id_number", 122, 152),  # permanent residence number
    ("nationality", 152, 158),  # ISO 3166 alpha-3
    ("name", 158, 188),  # Chinese name
    ("valid_from", 188, 204),
    ("valid_to", 204, 220),
    ("birth", 220, 236),
    ("version", 236, 240),
    ("authority", 240, 248),  # code of the accepting authority
)
LAYOUTS = {"resident": RESIDENT_LAYOUT, "permit": PERMIT_LAYOUT, "foreign": FOREIGN_LAYOUT}
TYPE_AT = (248, 250)

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)  # 2**(17-i) mod 11
_CHECK_CHARS = "10X98765432"


def id_check_digit(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character for the first 17 digits of an ID number."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("need exactly 17 ASCII digits")
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def id_check_digit_ok(number: str) -> bool:
    """True if ``number`` is 18 characters whose last one is the MOD 11-2 check."""
    if len(number) != 18 or not number[:17].isascii() or not number[:17].isdigit():
        return False
    return id_check_digit(number[:17]) == number[17].upper()


@dataclass(frozen=True, repr=False)
class IdCard:
    """One card as read.  ``repr()`` masks the person: safe to log by accident."""

    card_type: str  # "resident" | "permit" | "foreign"
    name: str  # Chinese name (foreign card: its Chinese name field, may be "")
    sex: str  # "男" | "女"
    nation: str  # GB 3304 name, e.g. "汉"; "" on permits and foreign cards
    birth: str  # YYYYMMDD
    address: str  # "" on foreign cards
    id_number: str  # 18-char ID number; foreign card: permanent residence number
    authority: str  # issuing authority; foreign card: its 4-digit authority code
    valid_from: str  # YYYYMMDD
    valid_to: str  # YYYYMMDD or "长期"
    pass_number: str = ""  # permit: HK/Macao/Taiwan pass number
    issue_count: int | None = None  # permit: times issued
    english_name: str = ""  # foreign card
    nationality: str = ""  # foreign card: ISO 3166 alpha-3 code
    photo_wlt: bytes = b""  # encrypted photo as read (1024 bytes)
    photo: bytes | None = None  # BMP from the optional WLT decoder
    fingerprint: bytes | None = None  # only with "read text+photo+fingerprint"

    # -- derived -----------------------------------------------------------

    @property
    def birth_date(self) -> dt.date:
        return _date(self.birth, "birth")

    def age_on(self, day: dt.date) -> int:
        """Age in full years on ``day`` (the kiosk's elderly green channel)."""
        born = self.birth_date
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))

    def expired_on(self, day: dt.date) -> bool:
        """True if the card is no longer valid on ``day`` (the end date is included)."""
        if self.valid_to == LONG_TERM:
            return False
        return day > _date(self.valid_to, "valid_to")

    # -- privacy -----------------------------------------------------------

    def masked(self) -> IdCard:
        """The card as a screen or ticket may show it: names, numbers, address,
        birth day masked; photo and fingerprint dropped."""
        return dataclasses.replace(
            self,
            name=mask_name(self.name),
            english_name=mask_name(self.english_name),
            id_number=mask_id(self.id_number),
            pass_number=mask_id(self.pass_number),
            address=self.address[:6] + "*" * min(4, max(0, len(self.address) - 6)),
            birth=self.birth[:4] + "****" if self.birth else "",
            photo_wlt=b"",
            photo=None,
            fingerprint=None,
        )

    def to_json_dict(self, mask: bool = True) -> dict[str, Any]:
        """Plain JSON-able fields; masked unless ``mask=False`` is asked for."""
        card = self.masked() if mask else self
        out: dict[str, Any] = {
            "card_type": card.card_type,
            "name": card.name,
            "sex": card.sex,
            "nation": card.nation,
            "birth": card.birth,
            "address": card.address,
            "id_number": card.id_number,
            "authority": card.authority,
            "valid_from": card.valid_from,
            "valid_to": card.valid_to,
        }
        if self.card_type == "permit":
            out["pass_number"] = card.pass_number
            out["issue_count"] = card.issue_count
        if self.card_type == "foreign":
            out["english_name"] = card.english_name
            out["nationality"] = card.nationality
        out["photo_wlt_bytes"] = len(self.photo_wlt)
        out["photo_decoded"] = self.photo is not None
        return out

    def __repr__(self) -> str:
        return (
            f"IdCard(card_type={self.card_type!r}, name={mask_name(self.name)!r}, "
            f"id_number={mask_id(self.id_number)!r}, photo_wlt={len(self.photo_wlt)} bytes, "
            f"photo={'yes' if self.photo is not None else 'no'})"
        )

    __str__ = __repr__

    # -- encoding (the simulator's side, and round-trip tests) ------------------

    def to_text_block(self) -> bytes:
        """The 256-byte UCS-2LE text block a card with these fields holds."""
        values = {
            "name": self.name,
            "sex": SEX_CODES.get(self.sex, self.sex),
            "nation": NATION_CODES.get(self.nation, self.nation),
            "birth": self.birth,
            "address": self.address,
            "id_number": self.id_number,
            "authority": self.authority,
            "valid_from": self.valid_from,
            "valid_to": self.valid_to,
            "pass_number": self.pass_number,
            "issue_count": "" if self.issue_count is None else f"{self.issue_count:02d}",
            "english_name": self.english_name,
            "nationality": self.nationality,
            "version": "",
        }
        block = bytearray(" ".encode("utf-16-le") * (TEXT_SIZE // 2))
        for field, start, end in LAYOUTS[self.card_type]:
            raw = values[field].encode("utf-16-le")
            if len(raw) > end - start:
                raise ValueError(f"{field} does not fit in {(end - start) // 2} characters")
            block[start : start + len(raw)] = raw
        block[TYPE_AT[0] : TYPE_AT[1]] = TYPE_MARKS[self.card_type].encode("utf-16-le")
        return bytes(block)


# --------------------------------------------------------------------------- parsing


def parse_text_block(block: bytes) -> IdCard:
    """Parse the 256-byte text block; raise :class:`InvalidCard` if it is not a card."""
    if len(block) != TEXT_SIZE:
        raise InvalidCard(f"text block is {len(block)} bytes, expected {TEXT_SIZE}")
    mark = _text(block, *TYPE_AT)
    card_type = CARD_TYPES.get(mark or " ")
    if card_type is None:
        raise InvalidCard(f"unsupported card type mark {mark!r} at bytes 248-250")
    f = {field: _text(block, start, end) for field, start, end in LAYOUTS[card_type]}

    sex = SEXES.get(f["sex"])
    if sex is None:
        raise InvalidCard(f"unknown sex code {f['sex']!r}")
    _date(f["birth"], "birth")
    _date(f["valid_from"], "valid_from")
    if f["valid_to"] != LONG_TERM:
        _date(f["valid_to"], "valid_to")

    id_number = f["id_number"].upper()
    if card_type == "foreign":
        if not id_number or not id_number.isascii() or not id_number.isalnum():
            raise InvalidCard("permanent residence number is missing or not alphanumeric")
    elif not id_check_digit_ok(id_number):
        raise InvalidCard(
            f"ID number fails the ISO 7064 MOD 11-2 check (length {len(id_number)}, "
            f"masked {mask_id(id_number)})"
        )

    issue_count: int | None = None
    if card_type == "permit":
        count = f["issue_count"]
        if count:
            if not (count.isascii() and count.isdigit()):
                raise InvalidCard(f"issue count {count!r} is not a number")
            issue_count = int(count)

    nation = ""
    if card_type == "resident":
        nation = NATIONS.get(f["nation"], "")

    return IdCard(
        card_type=card_type,
        name=f["name"],
        sex=sex,
        nation=nation,
        birth=f["birth"],
        address=f.get("address", ""),
        id_number=id_number,
        authority=f["authority"],
        valid_from=f["valid_from"],
        valid_to=f["valid_to"],
        pass_number=f.get("pass_number", ""),
        issue_count=issue_count,
        english_name=f.get("english_name", ""),
        nationality=f.get("nationality", ""),
    )


def parse_read_data(data: bytes, *, with_fingerprint: bool = False) -> IdCard:
    """Parse the data of a successful read reply (the bytes after SW1 SW2 SW3)."""
    n_lengths = 3 if with_fingerprint else 2
    head = 2 * n_lengths
    if len(data) < head:
        raise InvalidCard(f"read reply of {len(data)} bytes has no length fields")
    lengths = [int.from_bytes(data[i : i + 2], "big") for i in range(0, head, 2)]
    if head + sum(lengths) != len(data):
        raise InvalidCard(
            f"read reply lengths {lengths} do not add up to its {len(data) - head} data bytes"
        )
    text_len, photo_len = lengths[0], lengths[1]
    body = data[head:]
    card = parse_text_block(body[:text_len])
    photo_wlt = body[text_len : text_len + photo_len]
    fingerprint = body[text_len + photo_len :] if with_fingerprint else None
    return dataclasses.replace(card, photo_wlt=photo_wlt, fingerprint=fingerprint or None)


def build_read_data(
    text: bytes, photo_wlt: bytes, fingerprint: bytes | None = None, *, with_fingerprint: bool
) -> bytes:
    """The inverse of :func:`parse_read_data` (what the simulator sends)."""
    parts = [text, photo_wlt]
    if with_fingerprint:
        parts.append(fingerprint or b"")
    return b"".join(len(p).to_bytes(2, "big") for p in parts) + b"".join(parts)


def _text(block: bytes, start: int, end: int) -> str:
    try:
        value = block[start:end].decode("utf-16-le")
    except UnicodeDecodeError as exc:
        raise InvalidCard(f"bytes {start}-{end} are not UCS-2LE text") from exc
    return value.strip(" \x00")


def _date(value: str, field: str) -> dt.date:
    if len(value) != 8 or not value.isascii() or not value.isdigit():
        raise InvalidCard(f"{field} is not a YYYYMMDD date ({len(value)} characters)")
    try:
        return dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError as exc:  # the value itself stays out of logs: a birth date is personal
        raise InvalidCard(f"{field} is not a calendar date") from exc
