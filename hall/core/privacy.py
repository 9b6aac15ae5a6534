"""Personal data: masking for screens, tickets, logs and output; hashing for limits.

Rules: a full ID number, phone number or name never appears on a screen, a
ticket, an MQTT payload, a log line or what the ``hall`` command prints.
Per-person limits use a salted hash, never the number itself.

:func:`redact` is the one function that masks personal data wherever it may
hide: free text (a log message, a traceback, a line printed by ``hall``) and
structured data (a card's fields, a log argument that is a dict).  It finds

* ID numbers of every kind the card readers read:

  - 18-character numbers (6-digit region, ``YYYYMMDD`` birth date, 3-digit
    sequence, check digit or ``X``): the resident ID card (居民身份证), the
    Hong Kong / Macao / Taiwan residence card (港澳台居民居住证, region
    ``81``/``82``/``83``) and the 2023 foreign permanent resident ID card
    (外国人永久居留身份证, starting with ``9``).  Masked when the date is a
    calendar date, or the check digit is right, or the last character is ``X``;
  - 15-digit legacy resident numbers (``YYMMDD`` birth date);
  - the old foreign permanent resident number: 3 letters (ISO 3166 alpha-3)
    and 12 digits;
  - Hong Kong / Macao pass numbers (港澳居民来往内地通行证): ``H`` or ``M``
    and 8 or 10 digits;
  - Taiwan pass numbers (台湾居民来往大陆通行证): 8 digits.  Eight bare digits
    are also a date (``20240315``) or a counter, so these are masked where
    they are labelled (``pass_number=12345678``, ``台胞证号码：12345678``);
  - any value labelled as a document number (``id_number=``, ``ssn=``,
    ``card_number=``, ``证件号码：`` …), whatever its shape;

* phone numbers: mobile ``1[3-9]`` + 9 digits, with or without ``+86`` /
  ``0086`` and spaces or dashes (``+86 138-1234-5678``); landlines with their
  area code (``010-12345678``, ``(0755) 2345 6789``, ``02112345678``);

* names where the text says it is a name: ``name=张三``, ``姓名：张三``,
  ``holder="Zhang San"``, ``"english_name": "TEST, JOHN"``, and in structured
  data the person's fields (``name`` counts as a person's name in a dict that
  also holds a document number, a phone, a birth date …; alone it is usually
  a queue's or a window's name);

* in structured data also the address (住址) and the birth date.

What a technician needs to tell two records apart stays: an ID number keeps
its first 4 and last 4 characters (``3201**********1234``, the same as
:func:`mask_id`), shorter document numbers their letter and up to the last
4, never half of them (``H*****678``, ``H******7890``), a mobile its first 3
and last 4 (``138****5678``), a landline its area code and last 4
(``010-****5678``), a name its surname
(``张*``, ``欧阳**``), an address its first 6 characters, a birth date its
year.  Ticket codes (``A001``), timestamps, dates, versions, ports, sequence
numbers, UUIDs and long hashes (19 letters and digits or more) are left
alone.  Masked text stays masked when masked again.  Labels are matched in
any case (``ID_NUMBER=``, ``Phone:``).

:class:`RedactingStream` wraps ``sys.stdout`` / ``sys.stderr`` so that
everything printed goes through :func:`redact` (``hall`` installs it);
:func:`unredacted` gives the stream underneath, for the one thing a
technician may see in full (``hall idcard read --unmasked``).
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import re
import sys
from collections.abc import Mapping
from typing import Any, TextIO, TypeVar

T = TypeVar("T")

# --------------------------------------------------------------------------- single values


def mask_id(number: str) -> str:
    """``320102199001011234`` -> ``3201**********1234`` (first 4, last 4 kept).

    The screens' and the card models' rule; :func:`redact` uses
    :func:`mask_number`, which is the same for 15 characters and more.
    """
    number = (number or "").strip()
    if len(number) <= 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def mask_number(number: str) -> str:
    """Mask a document number, keeping what tells two apart and never half of it.

    15 characters or more (ID numbers): first 4 and last 4, as :func:`mask_id`
    (``1101**********0015``, ``USA1*******1501``).  Shorter ones (pass and card
    numbers): a leading letter (the document kind) and up to the last 4, with
    never more than half shown (``H*****678``, ``H******7890``, ``****5678``);
    4 characters or fewer: all hidden.
    """
    number = (number or "").strip()
    n = len(number)
    if n >= 15:
        return mask_id(number)
    if n <= 4:
        return "*" * n
    head = 1 if number[0].isalpha() and n >= 9 else 0
    tail = min(4, n // 2 - head)
    return number[:head] + "*" * (n - head - tail) + number[n - tail :]


def mask_name(name: str) -> str:
    """``张三`` -> ``张*``; ``张小三`` -> ``张*三``; ``欧阳小明`` -> ``欧**明``.

    The screens' and tickets' rule (a citizen recognises their own name).
    Latin names keep their first letter of each word: ``John Smith`` -> ``J*** S****``.
    """
    name = (name or "").strip()
    if not name:
        return ""
    if name.isascii():
        return " ".join(w[0] + "*" * (len(w) - 1) for w in name.split())
    if len(name) == 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


# 复姓: compound surnames; their two characters are the surname a log keeps.
_COMPOUND = (
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 轩辕 令狐 钟离 "
    "闻人 澹台 公冶 宗政 濮阳 淳于 单于 太叔 申屠 仲孙 端木 万俟 南宫 西门 独孤 百里 "
    "呼延 东郭 南门 羊舌 微生 梁丘 左丘 东门 拓跋 第五 司空 赫连 鲜于 闾丘 子车 谷梁"
)
COMPOUND_SURNAMES = frozenset(_COMPOUND.split())


def mask_person_name(name: str) -> str:
    """The log and output rule: the surname only. ``张三`` -> ``张*``, ``张小三`` -> ``张**``,
    ``欧阳小明`` -> ``欧阳**``; Latin names as :func:`mask_name` (``J*** S****``)."""
    name = (name or "").strip()
    if not name:
        return ""
    if name.isascii():
        return " ".join(w[0] + "*" * (len(w) - 1) for w in name.split())
    keep = 2 if name[:2] in COMPOUND_SURNAMES and len(name) > 2 else 1
    if len(name) == 1:
        keep = 0
    return name[:keep] + "*" * (len(name) - keep)


def mask_phone(phone: str) -> str:
    """``13812345678`` -> ``138****5678``."""
    phone = (phone or "").strip()
    if len(phone) < 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_address(address: str) -> str:
    """``北京市东城区示例街道1号`` -> ``北京市东城区****`` (first 6 kept; as on the card view)."""
    address = (address or "").strip()
    return address[:6] + "*" * min(4, max(0, len(address) - 6))


def mask_birth(birth: str) -> str:
    """``19900307`` -> ``1990****``; ``1990-03-07`` -> ``1990******`` (the year stays)."""
    birth = (birth or "").strip()
    return birth[:4] + "*" * max(0, len(birth) - 4)


def person_key(id_number: str, salt: bytes) -> str:
    """A salted, keyed hash identifying a person for per-person limits."""
    normalized = id_number.strip().upper().encode()
    return hmac.new(salt, normalized, hashlib.sha256).hexdigest()[:32]


# --------------------------------------------------------------------------- number checks

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)  # 2**(17-i) mod 11
_CHECK_CHARS = "10X98765432"


def _check_char(first17: str) -> str:
    return _CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def _is_date(year: int, month: int, day: int) -> bool:
    return 1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]


def _looks_like_id18(number: str) -> bool:
    """18 characters: a birth date in place, or a right check digit, or a final X."""
    if number[-1] in "Xx":
        return True
    year, month, day = int(number[6:10]), int(number[10:12]), int(number[12:14])
    if 1850 <= year <= 2100 and _is_date(year, month, day):
        return True
    return _check_char(number[:17]) == number[17]


def _looks_like_id15(number: str) -> bool:
    """15 digits: region not starting with 0, ``YYMMDD`` birth date in place."""
    return number[0] != "0" and _is_date(
        1900 + int(number[6:8]), int(number[8:10]), int(number[10:12])
    )


# --------------------------------------------------------------------------- free text

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_B = r"(?<![0-9A-Za-z])"  # no letter or digit glued on the left
_E = r"(?![0-9A-Za-z])"  # ... nor on the right

# Labels.  ``name`` alone is a person's name only as ``name=VALUE`` (a queue or a
# window has a "name" too); the others always mean a person.
_PERSON_KEYS = (
    r"english_name|full_name|holder_name|person_name|citizen_name|cardholder|holder"
    r"|姓名|英文姓名|中文姓名|持卡人|申请人|办事人|联系人"
)
_NUMBER_KEYS = (
    r"id_number|id_no|idno|id_card|idcard|ssn|social_security_number|card_number|card_no"
    r"|pass_number|pass_no|permit_number|permit_no|residence_number|pr_number"
    r"|公民身份号码|身份证号码|身份证号|证件号码|证件号|社会保障号码|社保号|社保卡号|卡号"
    r"|通行证号码|通行证号|通行证|台胞证号码|台胞证号|台胞证|居住证号码|永久居留证号码"
)
_PHONE_KEYS = r"phone|mobile|tel|telephone|contact_phone|手机号码|手机号|手机|联系电话|电话"
_ADDRESS_KEYS = r"address|addr|住址|地址"
_SEP = r"""["']?\s*[:=：]\s*["']?"""  # name=…, name: …, "name": "…", 'name': '…', 姓名：…

_NAME_VALUE = (
    r"(?P<pq>[\"'])[^\"'\n]{1,60}(?P=pq)"  # quoted: anything
    r"|[" + _CJK + r"][" + _CJK + r"·・•*]{0,19}"  # 张三, 阿依古丽·买买提
    # John Smith, TEST, JOHN SAMPLE (a word followed by = or : is the next label)
    r"|[A-Z*][A-Za-z.'*\-]*+(?:,?[ ][A-Z*][A-Za-z.'*\-]*+(?!\s*[=:：]))*(?![0-9])"
    r"|[a-z][A-Za-z.'*\-]*+(?![0-9])"  # one lower-case word (a digit: not a name)
)
_TEXT_RE = re.compile(
    # Every match starts where no letter or digit is glued on the left, on a character that
    # can begin one: checked once, up front, so the scan skips most positions quickly.
    r"(?<![0-9A-Za-z])(?=[0-9A-Za-z(+ \t姓英中持申办联公身证社卡通台居永手电住地])(?:"
    # -- left alone: they contain digit runs that could look like a number
    r"(?P<uuid>" + _B + r"[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}" + _E + r")"
    r"|(?P<long>" + _B + r"[0-9A-Za-z]{19,}" + _E + r")"
    # -- labelled values
    r"|(?P<pk>(?<![A-Za-z0-9_])(?:"
    r"(?i:" + _PERSON_KEYS + r")" + _SEP + r"|(?i:name)\s*=\s*"
    r"|姓名\s+name\s*[:=：]\s*|(?:姓名|持卡人)\s+(?=[" + _CJK + r"]))"
    r"|(?m:^)[ \t]*name[ \t]*:[ \t]*(?=[" + _CJK + r"]))"
    r"(?P<pv>" + _NAME_VALUE + r")"
    r"|(?P<nk>(?<![A-Za-z0-9_])(?:(?i:" + _NUMBER_KEYS + r")" + _SEP + r"|(?:台胞证|通行证)\s*))"
    r"(?P<nv>(?P<nq>[\"'])[0-9A-Za-z()（）* -]{4,30}(?P=nq)"
    r"|[0-9A-Za-z*]{4,30}(?:[(（][A-Za-z][)）])?(?![0-9A-Za-z*]))"
    r"|(?P<tk>(?<![A-Za-z0-9_])(?i:" + _PHONE_KEYS + r")" + _SEP + r")"
    r"(?P<tv>(?P<tq>[\"'])[0-9+()* -]{5,24}(?P=tq)|\+?[0-9*][0-9()* -]{3,22}[0-9*](?![0-9A-Za-z*]))"
    r"|(?P<ak>(?<![A-Za-z0-9_])(?i:" + _ADDRESS_KEYS + r")" + _SEP + r")"
    r"(?P<av>(?P<aq>[\"'])[^\"'\n]{1,120}(?P=aq)|[" + _CJK + r"0-9A-Za-z#*\-－（）()]{2,120})"
    # -- numbers by their shape; phones first: 0086 + a mobile is 15 digits (no ID starts with 0)
    r"|(?P<mobile>(?<![0-9A-Za-z+])(?P<cc>(?:\+|00)86[ -]?|\(\+?86\)[ -]?)?"
    r"1[3-9]\d(?P<msep>[ -]?)\d{4}(?P=msep)\d{4}" + _E + r")"
    r"|(?P<land>" + _B + r"(?P<area>\(?(?:010|02\d|0[3-9]\d{2})\)?)(?P<lsep>[ -]?)"
    r"(?P<subscriber>[2-9]\d{6,7}|[2-9]\d{3}[ -]\d{4})" + _E + r"(?!-\d))"
    r"|(?P<id18>" + _B + r"\d{6}(?P<isep>[ -]?)\d{8}(?P=isep)\d{3}[\dXx]" + _E + r")"
    r"|(?P<id15>" + _B + r"\d{15}" + _E + r")"
    r"|(?P<fpr>" + _B + r"[A-Za-z]{3}\d{12}" + _E + r")"
    r"|(?P<hkmo>" + _B + r"[HMhm]\d{8}(?:\d{2})?" + _E + r"))",
    re.ASCII,  # \d and \s: ASCII digits and spaces only
)


# What each mask produces: a value of that shape is left as it is (masking is idempotent).
_MASKED = {
    "person": re.compile(r"[^*]{0,2}\*+[^*]?|(?:[A-Za-z]\*+[ ,]*)+"),
    "number": re.compile(r"[^*]{0,4}\*+[^*]{0,4}"),
    "phone": re.compile(r"[^*]{0,7}\*+[0-9]{0,4}"),
    "address": re.compile(r"[^*]{0,6}\*+"),
    "birth": re.compile(r"[0-9]{0,4}\*+"),
}


def _masked_already(kind: str, value: str) -> bool:
    return value in ("", "None", "null") or _MASKED[kind].fullmatch(value) is not None


def _mask_phone_text(value: str) -> str:
    """A phone number in any of its spellings, masked; the ``+86`` it had stays."""
    digits = re.sub(r"\D", "", value)
    prefix = ""
    if digits.startswith("0086"):
        digits, prefix = digits[4:], "+86 "
    elif digits.startswith("86") and len(digits) == 13:
        digits, prefix = digits[2:], "+86 "
    if len(digits) == 11 and digits[0] == "1":
        return prefix + mask_phone(digits)
    area = re.match(r"010|02\d|0[3-9]\d{2}", digits) if len(digits) >= 10 else None
    if area:
        rest = digits[area.end() :]
        return f"{prefix}{area.group(0)}-{'*' * (len(rest) - 4)}{rest[-4:]}"
    return prefix + mask_number(digits)


def _replace(m: re.Match[str]) -> str:
    kind = m.lastgroup
    text = m.group(0)
    if kind in ("uuid", "long"):
        return text
    if kind == "pv":
        return _labelled(m, "pk", "pv", "pq", "person")
    if kind == "nv":
        return _labelled(m, "nk", "nv", "nq", "number")
    if kind == "tv":
        return _labelled(m, "tk", "tv", "tq", "phone")
    if kind == "av":
        return _labelled(m, "ak", "av", "aq", "address")
    if kind == "id18":
        number = re.sub(r"[ -]", "", text)
        return mask_number(number.upper()) if _looks_like_id18(number) else text
    if kind == "id15":
        return mask_number(text) if _looks_like_id15(text) else text
    if kind in ("fpr", "hkmo"):
        return mask_number(text.upper())
    if kind == "mobile":
        return _mask_phone_text(text)
    if kind == "land":
        subscriber = re.sub(r"\D", "", m.group("subscriber"))
        if len(subscriber) not in (7, 8):
            return text
        hidden = "*" * (len(subscriber) - 4)
        return f"{m.group('area')}{m.group('lsep') or '-'}{hidden}{subscriber[-4:]}"
    return text


def _labelled(m: re.Match[str], key: str, value: str, quote: str, kind: str) -> str:
    raw = m.group(value)
    q = m.group(quote) or ""
    inner = raw[len(q) : len(raw) - len(q)] if q else raw
    return m.group(key) + q + _mask_field(kind, inner) + q


def _redact_text(text: str) -> str:
    return _TEXT_RE.sub(_replace, text)


# --------------------------------------------------------------------------- structured data


def _norm(key: str) -> str:
    return key.strip().lower().replace("-", "_").replace(" ", "_")


_KEY_RE = {
    kind: re.compile(rf"(?:{keys})", re.IGNORECASE)
    for kind, keys in (
        ("person", _PERSON_KEYS),
        ("number", _NUMBER_KEYS),
        ("phone", _PHONE_KEYS),
        ("address", _ADDRESS_KEYS),
        ("birth", r"birth|birthday|birth_date|date_of_birth|dob|出生|出生日期"),
    )
}


def _field_kind(key: str) -> str | None:
    k = _norm(key)
    for kind, pattern in _KEY_RE.items():
        if pattern.fullmatch(k):
            return kind
    return None


def _mask_field(kind: str, value: str) -> str:
    if _masked_already(kind, value):
        return value
    if kind == "person":
        return mask_person_name(value)
    if kind == "number":
        return mask_number(re.sub(r"[ -]", "", value))
    if kind == "phone":
        return _mask_phone_text(value)
    if kind == "address":
        return mask_address(value)
    return mask_birth(value)


def _redact_mapping(data: Mapping[Any, Any]) -> dict[Any, Any]:
    kinds = {k: _field_kind(k) if isinstance(k, str) else None for k in data}
    # "name" is a person's name in a record about a person (it has a number, a phone …).
    person_record = any(kind is not None for kind in kinds.values())
    out: dict[Any, Any] = {}
    for key, value in data.items():
        kind = kinds[key]
        if kind is None and person_record and isinstance(key, str) and _norm(key) == "name":
            kind = "person"
        if kind is not None and isinstance(value, str):
            out[key] = _mask_field(kind, value)
        elif kind == "number" and isinstance(value, int) and not isinstance(value, bool):
            out[key] = mask_number(str(value))
        else:
            out[key] = redact(value)
    return out


def redact(value: T) -> T:
    """Mask ID numbers, phone numbers and names in ``value``.

    A ``str`` is scanned as free text; a mapping is masked field by field (by
    its keys) and its other values scanned; lists, tuples and sets element by
    element; anything else comes back as it is (format it, then redact the
    text).  See the module's docstring for what is found and how it is masked.
    """
    if isinstance(value, str):
        return _redact_text(value)  # type: ignore[return-value]
    if isinstance(value, Mapping):
        return _redact_mapping(value)  # type: ignore[return-value]
    if isinstance(value, list | tuple | set | frozenset):
        items = [redact(v) for v in value]
        if isinstance(value, tuple) and hasattr(value, "_fields"):  # namedtuple
            return type(value)(*items)
        return type(value)(items)
    return value


# --------------------------------------------------------------------------- output streams

UNMASKED_WARNING = (
    "警告：--unmasked 显示完整的个人信息（姓名、证件号码、住址），仅供技术人员在设备旁核对，"
    "请勿拍照、复制或记录。\n"
    "warning: --unmasked prints personal data in full (name, numbers, address): for a "
    "technician at the device only; do not photograph, copy or log it."
)


class RedactingStream:
    """A text stream that masks what is written to it, line by line, before passing it on.

    Text is held until its line ends (a ``print`` of several arguments writes
    them one by one, and a label and its value must be seen together), at
    :meth:`flush`, or beyond 64 KiB.  Everything else (``fileno``, ``isatty``,
    ``encoding``, ``buffer`` …) is the wrapped stream's.
    """

    LIMIT = 65536

    def __init__(self, stream: TextIO) -> None:
        self.unredacted = stream
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        end = self._pending.rfind("\n") + 1
        if end == 0 and len(self._pending) < self.LIMIT:
            return len(text)
        if end == 0:
            end = len(self._pending)
        ready, self._pending = self._pending[:end], self._pending[end:]
        self.unredacted.write(redact(ready))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self._pending:
            ready, self._pending = self._pending, ""
            self.unredacted.write(redact(ready))
        self.unredacted.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.unredacted, name)


def unredacted(stream: TextIO) -> TextIO:
    """The stream under a :class:`RedactingStream` (flushed first); any other stream itself."""
    if isinstance(stream, RedactingStream):
        stream.flush()
        return unredacted(stream.unredacted)
    return stream


def personal_output(data: T, *, unmasked: bool) -> tuple[T, TextIO]:
    """What a technician's read command prints and where: ``data`` masked on stdout, or,
    with ``--unmasked``, in full on the stream under the masking (after the warning on
    stderr)."""
    if unmasked:
        print(UNMASKED_WARNING, file=sys.stderr, flush=True)
        return data, unredacted(sys.stdout)
    return redact(data), sys.stdout
