"""What a queue ticket says and how it is laid out, as plain data.

Pure: no I/O, no printer bytes.  :class:`TicketData` is what the kiosk hands
over; :data:`LAYOUTS` declares, per paper width, which line shows which field
at which size; :func:`layout_lines` turns both into concrete :class:`Line`
records (wrapped to the paper's columns) that the ESC/POS codec encodes.

Widths are counted the way the printer counts them in Chinese mode: an ASCII
character takes one column (12 dots), anything else one double-width cell
(24 dots).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Align = Literal["left", "center", "right"]


@dataclass(frozen=True)
class TicketData:
    """Everything printed on one ticket.  ``masked_name`` must already be masked
    (``hall.core.privacy.mask_name``): a full name never reaches the paper."""

    hall_name: str
    number: str
    queue_name: str
    item_name: str
    ahead: int
    est_wait_min: int | None
    issued_at: datetime
    qr_payload: str
    masked_name: str | None = None
    window_hint: str | None = None
    notes: tuple[str, ...] = ()
    priority_label: str | None = None
    guide_lines: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.number.strip():
            raise ValueError("ticket number is empty")
        if self.ahead < 0:
            raise ValueError(f"ahead must be >= 0, got {self.ahead}")
        if self.est_wait_min is not None and self.est_wait_min < 0:
            raise ValueError(f"est_wait_min must be >= 0, got {self.est_wait_min}")
        if self.masked_name and len(self.masked_name) > 1 and "*" not in self.masked_name:
            raise ValueError("masked_name is not masked: pass hall.core.privacy.mask_name(name)")


@dataclass(frozen=True)
class LineSpec:
    """One line of a layout.

    ``kind``: ``text`` (``text`` is a ``str.format`` template over
    :func:`ticket_fields`), ``lines`` (``text`` names a tuple field, one line
    per item), ``rule`` (a dashed separator), ``qr`` (the ticket's QR code),
    ``feed`` (``feed`` blank lines).  ``when`` names a field that must be
    non-empty for the line to appear.  ``size`` is (width, height) multiples.
    """

    kind: Literal["text", "lines", "rule", "qr", "feed"] = "text"
    text: str = ""
    size: tuple[int, int] = (1, 1)
    align: Align = "left"
    bold: bool = False
    when: str | None = None
    feed: int = 1


@dataclass(frozen=True)
class Line:
    """A concrete line ready to encode: text already formatted and wrapped."""

    kind: Literal["text", "qr", "feed"]
    text: str = ""
    size: tuple[int, int] = (1, 1)
    align: Align = "left"
    bold: bool = False


def _layout(number_size: int, priority_size: int) -> tuple[LineSpec, ...]:
    return (
        LineSpec(text="{hall_name}", align="center", bold=True, size=(1, 2)),
        LineSpec(
            text="【{priority_label}】",
            align="center",
            bold=True,
            size=(priority_size, priority_size),
            when="priority_label",
        ),
        LineSpec("rule"),
        LineSpec(text="{queue_name}", align="center"),
        LineSpec(text="{number}", align="center", bold=True, size=(number_size, number_size)),
        LineSpec(text="{item_name}", align="center", bold=True, size=(1, 2)),
        LineSpec("rule"),
        LineSpec(text="前面等候：{ahead} 人", bold=True, size=(2, 2)),
        LineSpec(text="预计等候：{est_wait}", when="est_wait"),
        LineSpec(text="办理窗口：{window_hint}", when="window_hint"),
        LineSpec(text="取号人：{masked_name}", when="masked_name"),
        LineSpec(text="取号时间：{issued_at}"),
        LineSpec("feed"),
        LineSpec("qr", align="center"),
        LineSpec(text="扫码查看排队进度", align="center", when="qr_payload"),
        LineSpec("rule", when="notes"),
        LineSpec("lines", text="notes"),
        LineSpec("rule", when="guide_lines"),
        LineSpec(text="一次性告知", align="center", bold=True, when="guide_lines"),
        LineSpec("lines", text="guide_lines"),
    )


#: Ticket layouts by paper width in millimetres.  The number is the biggest
#: thing on the ticket: 4x (96 dots = 12 mm tall) on 58 mm, 5x on 80 mm.
LAYOUTS: Mapping[int, tuple[LineSpec, ...]] = {
    58: _layout(number_size=4, priority_size=2),
    80: _layout(number_size=5, priority_size=2),
}


def layout_for(paper_mm: int) -> tuple[LineSpec, ...]:
    """The layout for a paper width (the nearest declared one not wider)."""
    fitting = [mm for mm in LAYOUTS if mm <= paper_mm] or [min(LAYOUTS)]
    return LAYOUTS[max(fitting)]


def char_width(ch: str) -> int:
    """Printer columns taken by one character in Chinese mode."""
    return 1 if ord(ch) < 0x80 else 2


def text_width(text: str) -> int:
    return sum(char_width(c) for c in text)


def clean_text(text: str) -> str:
    """Printable text only: control characters (ESC, GS ...) become spaces, so a
    catalogue entry can never smuggle a printer command onto the wire."""
    return "".join(" " if (ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0) else c for c in text)


def wrap(text: str, columns: int) -> list[str]:
    """Break ``text`` into lines of at most ``columns`` printer columns.

    Breaks at a space when one is near, otherwise between any two characters
    (Chinese has no spaces).  A line never starts with a closing punctuation
    mark that could stay on the previous line.
    """
    columns = max(columns, 2)
    lines: list[str] = []
    current = ""
    for ch in text:
        if text_width(current) + char_width(ch) > columns:
            head, sep, tail = current.rpartition(" ")
            if sep and head and text_width(tail) < columns // 3 and ch != " ":
                lines.append(head)
                current = tail
            elif ch in "，。、；：！？）」』》" and len(current) > 1:
                # keep punctuation with its word: move the last char down instead
                lines.append(current[:-1])
                current = current[-1]
            else:
                lines.append(current)
                current = ""
            if ch == " " and not current:
                continue
        current += ch
    if current or not lines:
        lines.append(current)
    return [line.rstrip(" ") for line in lines]


def ticket_fields(ticket: TicketData) -> dict[str, object]:
    """The values a layout template may name (``None``/empty = absent)."""
    if ticket.est_wait_min is None:
        est_wait = None
    elif ticket.est_wait_min == 0:
        est_wait = "即将叫号"
    else:
        est_wait = f"约 {ticket.est_wait_min} 分钟"
    return {
        "hall_name": ticket.hall_name,
        "number": ticket.number,
        "queue_name": ticket.queue_name,
        "item_name": ticket.item_name,
        "ahead": ticket.ahead,
        "est_wait": est_wait,
        "est_wait_min": ticket.est_wait_min,
        "issued_at": ticket.issued_at.strftime("%Y-%m-%d %H:%M"),
        "masked_name": ticket.masked_name,
        "window_hint": ticket.window_hint,
        "priority_label": ticket.priority_label,
        "notes": ticket.notes,
        "guide_lines": ticket.guide_lines,
        "qr_payload": ticket.qr_payload,
    }


def _present(value: object) -> bool:
    return value is not None and value != "" and value != ()


def layout_lines(ticket: TicketData, layout: tuple[LineSpec, ...], columns: int) -> list[Line]:
    """Expand a layout for one ticket into concrete, wrapped lines."""
    fields = ticket_fields(ticket)
    out: list[Line] = []
    for spec in layout:
        if spec.when is not None and not _present(fields.get(spec.when)):
            continue
        if spec.kind == "feed":
            out.extend(Line("feed") for _ in range(spec.feed))
        elif spec.kind == "qr":
            if ticket.qr_payload:
                out.append(Line("qr", ticket.qr_payload, align=spec.align))
        elif spec.kind == "rule":
            out.append(Line("text", "-" * columns))
        else:
            if spec.kind == "lines":
                value = fields.get(spec.text) or ()
                texts = [str(v) for v in value] if isinstance(value, tuple) else [str(value)]
            else:
                texts = [spec.text.format(**fields)]
            width_cols = columns // spec.size[0]
            for text in texts:
                for part in wrap(clean_text(text), width_cols):
                    out.append(Line("text", part, spec.size, spec.align, spec.bold))
    return out


def sample_ticket(issued_at: datetime | None = None) -> TicketData:
    """A representative ticket for tests, previews, benchmarks and `hall printer test`."""
    return TicketData(
        hall_name="青山区政务服务中心",
        number="A012",
        queue_name="综合受理",
        item_name="社会保障卡补领",
        ahead=7,
        est_wait_min=15,
        issued_at=issued_at or datetime(2024, 6, 5, 9, 31),
        masked_name="张*三",
        qr_payload="https://hall.example.gov.cn/q/H01/20240605/A012",
        window_hint="3、5号窗口",
        notes=("请留意叫号，过号需重新取号。", "本票当日有效。"),
        priority_label=None,
    )


__all__ = [
    "LAYOUTS",
    "Line",
    "LineSpec",
    "TicketData",
    "char_width",
    "clean_text",
    "layout_for",
    "layout_lines",
    "sample_ticket",
    "text_width",
    "ticket_fields",
    "wrap",
]
