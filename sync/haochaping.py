"""The center's export of ratings in the form the 好差评 platform takes (one place).

``hall monitor --export haochaping`` reads the ``evaluation`` events a center
stored and writes one JSON line per rating, with the platform's field names
(``projectNo``, ``taskCode``, ``satisfaction``, ``pf`` …).  The mapping, field
by field, with where the names come from: docs/haochaping.md.  The schema of
one line: sync/haochaping.schema.json (JSON Schema 2020-12); every line
written is checked against it.

Plain functions, no I/O except :func:`export`:

* :func:`to_platform` maps one stored event to one line, or raises
  :class:`Skipped` with an error code and an English message: ``not_rated``
  (the citizen gave no rating: the platform takes none, and we invent none),
  ``bad_record`` (a field of the wrong type or shape: every record is read as
  hostile), ``unsupported_version``.
* Records of version 1 (no case, no codes) export with what they have; the
  platform fields they cannot fill are ``null`` and named in ``missing``.
* The citizen's contact phone is never read: the platform gets no phone
  number (the follow-up call happens in the hall).  Free text (the tablet's
  comment) goes through :func:`hall.core.privacy.redact` first, so a phone or
  ID number a citizen typed into it leaves masked.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from hall.core.privacy import redact

SCHEMA_PATH = Path(__file__).with_name("haochaping.schema.json")

# Our levels (the wire's, unchanged): 1 非常满意 … 5 非常不满意.
LEVEL_NAMES = {1: "非常满意", 2: "满意", 3: "基本满意", 4: "不满意", 5: "非常不满意"}
BAD_LEVELS = frozenset({4, 5})

# The platform's 评价渠道 (pf): 1 pc, 2 mobile, 3 QR code, 4 hall tablet,
# 5 other hall terminal, 6 SMS, 7 system default.  A hall sends only these two.
PF_TABLET = "4"
PF_OTHER_HALL_TERMINAL = "5"
CHANNEL_PF = {"tablet": PF_TABLET, "evaluator": PF_OTHER_HALL_TERMINAL}
# Anhui's evaluateChannel: PJQ (评价器), also used there for the window's tablet.
EVALUATE_CHANNEL = "PJQ"
# 评价次数: 1 first rating, 2 second.  A case is rated once here.
FIRST_ASSESSMENT = "1"

# Platform fields a v1 record (or a v2 record of an item without codes) may leave null.
IDENTITY_FIELDS = ("projectNo", "taskCode", "taskHandleItem", "areaCode", "deptCode", "taskName")

_CODE = re.compile(r"[0-9A-Za-z-]{1,64}")
_CASE_NO = re.compile(r"[0-9A-Za-z-]{1,40}")
_AREA = re.compile(r"[0-9]{6}|[0-9]{12}")
_ID = re.compile(r"[0-9A-Za-z_.:-]{1,64}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_REASONS = 16
MAX_REASON_CHARS = 40
MAX_COMMENT_CHARS = 200
MAX_NAME_CHARS = 100


class Skipped(Exception):
    """A stored event that gives no line: ``code`` (machine) and an English message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def _bad(message: str) -> Skipped:
    return Skipped("bad_record", message)


# --------------------------------------------------------------------------- single fields


def satisfaction(level: int) -> str:
    """Our level 1 非常满意 … 5 非常不满意 -> the platform's 5 非常满意 … 1 非常不满意."""
    if isinstance(level, bool) or not isinstance(level, int) or level not in LEVEL_NAMES:
        raise _bad(f"level must be 1..5, got {level!r}")
    return str(6 - level)


def pf(channel: str) -> str:
    """评价渠道: the window's tablet -> 4 (政务大厅平板电脑), the button evaluator -> 5
    (政务大厅其他终端)."""
    try:
        return CHANNEL_PF[channel]
    except (KeyError, TypeError):
        raise _bad(f"channel must be 'evaluator' or 'tablet', got {channel!r}") from None


def eval_detail(reasons: Any) -> str:
    """The bad-review reasons as the platform's comma-separated list ("" if none)."""
    if reasons is None:
        return ""
    if not isinstance(reasons, list) or len(reasons) > MAX_REASONS:
        raise _bad(f"reasons must be a list of at most {MAX_REASONS} texts")
    out: list[str] = []
    for r in reasons:
        if (
            not isinstance(r, str)
            or not 1 <= len(r) <= MAX_REASON_CHARS
            or "," in r
            or _CONTROL.search(r)
        ):
            raise _bad(
                f"a reason must be 1..{MAX_REASON_CHARS} characters without ',' or control "
                f"characters, got {str(r)[:50]!r}"
            )
        if r not in out:
            out.append(r)
    return ",".join(out)


def assess_time(rated_at: Any) -> str:
    """ISO timestamp -> ``yyyy-MM-dd HH:mm:ss`` in China time (UTC+8, no DST); a naive
    timestamp is the hall's local time already."""
    if not isinstance(rated_at, str) or len(rated_at) > 40:
        raise _bad(f"rated_at must be an ISO timestamp, got {str(rated_at)[:50]!r}")
    try:
        t = dt.datetime.fromisoformat(rated_at)
    except ValueError:
        raise _bad(f"rated_at is not an ISO timestamp: {rated_at!r}") from None
    if t.tzinfo is not None:
        t = t.astimezone(dt.timezone(dt.timedelta(hours=8))).replace(tzinfo=None)
    return t.strftime("%Y-%m-%d %H:%M:%S")


def area_code(code: Any) -> str | None:
    """区划代码: 12 digits as they are; 6 digits (county) padded with ``000000``."""
    if code is None:
        return None
    if not isinstance(code, str) or not _AREA.fullmatch(code):
        raise _bad(f"area_code must be 6 or 12 digits, got {str(code)[:50]!r}")
    return code if len(code) == 12 else code + "000000"


def writing_evaluation(comment: Any) -> str:
    """文字评价: the tablet's comment with personal data masked ("" if none)."""
    if comment is None:
        return ""
    if not isinstance(comment, str) or len(comment) > MAX_COMMENT_CHARS:
        raise _bad(f"comment must be a text of at most {MAX_COMMENT_CHARS} characters")
    return redact(comment.strip())


def _code(record: Mapping[str, Any], key: str, pattern: re.Pattern[str] = _CODE) -> str | None:
    value = record.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise _bad(f"{key} must match {pattern.pattern}, got {str(value)[:50]!r}")
    return value


def _text(record: Mapping[str, Any], key: str, limit: int = MAX_NAME_CHARS) -> str | None:
    value = record.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > limit or _CONTROL.search(value):
        raise _bad(f"{key} must be a text of at most {limit} characters")
    return value


def _ident(record: Mapping[str, Any], key: str, *, required: bool = False) -> str | None:
    value = record.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise _bad(f"{key} must be an id ({_ID.pattern}), got {str(value)[:50]!r}")
    return value


# --------------------------------------------------------------------------- one record


def record_version(data: Mapping[str, Any]) -> int:
    """1 for records written before #14 (no ``version`` key), else the record's version."""
    version = data.get("version", 1)
    if isinstance(version, bool) or version not in (1, 2):
        raise Skipped(
            "unsupported_version",
            f"evaluation record version {str(version)[:20]!r}; this export reads versions 1 and 2",
        )
    return int(version)


def to_platform(event: Mapping[str, Any]) -> dict[str, Any]:
    """One stored ``evaluation`` event (the center's envelope) -> one platform line.

    Raises :class:`Skipped` for a record that gives none.
    """
    data = event.get("data")
    if not isinstance(data, Mapping):
        raise _bad("the event's data is not an object")
    version = record_version(data)
    rating_id = _ident(data, "rating_id", required=True)
    level = data.get("level")
    if level is None:
        raise Skipped(
            "not_rated",
            f"rating {rating_id} has no level (the citizen did not rate); "
            "the platform takes only ratings given",
        )
    score = satisfaction(level)
    name = data.get("level_name")
    if name is not None and name != LEVEL_NAMES[level]:
        raise _bad(f"level_name {str(name)[:20]!r} does not match level {level}")
    hall = event.get("hall")
    if not isinstance(hall, str) or not _ID.fullmatch(hall):
        raise _bad("the event names no hall")
    if data.get("hall") not in (None, hall):
        raise _bad(f"the record names hall {str(data.get('hall'))[:64]!r}, its stream {hall!r}")
    # Before #14 only the button evaluator rated: a v1 record has no channel.
    channel = "evaluator" if version == 1 else data.get("channel")
    follow_up = data.get("follow_up", level in BAD_LEVELS)
    if not isinstance(follow_up, bool):
        raise _bad("follow_up must be true or false")
    served_at = data.get("served_at")
    if served_at is not None:
        assess_time(served_at)  # checked, not exported (the platform takes the rating's time)

    line: dict[str, Any] = {
        "projectNo": _code(data, "case_no", _CASE_NO),
        "taskCode": _code(data, "item_code"),
        "taskHandleItem": _code(data, "impl_code"),
        "taskName": _text(data, "item_name"),
        "areaCode": area_code(data.get("area_code") or None),
        "deptCode": _code(data, "dept_code"),
        "satisfaction": score,
        "evalDetail": eval_detail(data.get("reasons")),
        "writingEvaluation": writing_evaluation(data.get("comment")),
        "assessTime": assess_time(data.get("rated_at")),
        "assessNumber": FIRST_ASSESSMENT,
        "pf": pf(channel),  # type: ignore[arg-type]
        "evaluateChannel": EVALUATE_CHANNEL,
        "local": {
            "recordVersion": version,
            "eventId": _ident(event, "id"),
            "hall": hall,
            "ratingId": rating_id,
            "caseId": _ident(data, "case_id"),
            "ticketCode": _ident(data, "code"),
            "window": _ident(data, "window"),
            "clerk": _ident(data, "clerk"),
            "staffNo": _ident(data, "staff_no"),
            "level": level,
            "levelName": LEVEL_NAMES[level],
            "channel": channel,
            "followUp": follow_up,
        },
    }
    line["missing"] = [f for f in IDENTITY_FIELDS if line[f] is None]
    return line


# --------------------------------------------------------------------------- schema, export


@functools.cache
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


@functools.cache
def _validator() -> Any:
    from jsonschema import Draft202012Validator

    Draft202012Validator.check_schema(schema())
    return Draft202012Validator(schema(), format_checker=Draft202012Validator.FORMAT_CHECKER)


def schema_errors(line: Mapping[str, Any]) -> list[str]:
    """What in ``line`` the schema refuses (empty: it validates)."""
    return [
        f"{'/'.join(str(p) for p in e.absolute_path) or '(line)'}: {e.message}"
        for e in sorted(_validator().iter_errors(line), key=lambda e: list(e.absolute_path))
    ]


def dump_line(line: Mapping[str, Any]) -> str:
    """One JSON line, UTF-8 text as it is (no ``\\uXXXX`` escapes), newline-terminated."""
    return json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n"


@dataclass
class ExportResult:
    exported: int = 0
    before_since: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    def summary(self, to: str = "") -> str:
        skipped = sum(self.skipped.values())
        parts = ", ".join(f"{code} {n}" for code, n in sorted(self.skipped.items()))
        text = f"exported {self.exported} rating(s){f' to {to}' if to else ''}; skipped {skipped}"
        if parts:
            text += f" ({parts})"
        if self.before_since:
            text += f"; {self.before_since} rated before --since left out"
        return text


def export(
    events: Iterable[Mapping[str, Any]],
    out: TextIO,
    *,
    since: dt.date | None = None,
    report: Callable[[Mapping[str, Any], Skipped], None] | None = None,
) -> ExportResult:
    """Write one line per ``evaluation`` event of ``events`` to ``out``.

    ``since``: only ratings given on that day or later (by the rating's own
    time).  Each event that gives no line is handed to ``report`` with the
    reason; a line the schema refuses is never written (``schema``).
    """
    result = ExportResult()
    for event in events:
        if event.get("kind") != "evaluation":
            continue
        try:
            line = to_platform(event)
            errors = schema_errors(line)
            if errors:
                raise Skipped("schema", "; ".join(errors)[:500])
        except Skipped as skip:
            result.skipped[skip.code] += 1
            if report is not None:
                report(event, skip)
            continue
        if since is not None and line["assessTime"][:10] < since.isoformat():
            result.before_since += 1
            continue
        out.write(dump_line(line))
        result.exported += 1
    return result


def describe_skip(event: Mapping[str, Any], skip: Skipped) -> str:
    """The line ``hall monitor --export`` prints on stderr for a skipped event."""
    data = event.get("data")
    rating = data.get("rating_id") if isinstance(data, Mapping) else None
    return (
        f"skipped evaluation event {str(event.get('id'))[:64]} "
        f"(hall {str(event.get('hall'))[:64]}, rating {str(rating)[:64]}): "
        f"{skip.code}: {skip.message}"
    )
