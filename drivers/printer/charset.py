"""Text -> the bytes a Chinese printer font prints, and back (for the renderer).

A printer's ``charset`` (see :mod:`drivers.printer.profiles`) names the font
it carries:

``gb2312``
    The 7,445 characters of GB 2312 (6,763 hanzi and 682 symbols), reached
    the way printer firmware and Windows reach them: through the GBK/cp936
    table.  Python's own ``gb2312`` codec maps two cells differently from
    every printer: 0xA1A4 is U+30FB KATAKANA MIDDLE DOT there but U+00B7
    MIDDLE DOT (the ``·`` of 阿卜杜·热合曼) in cp936, and 0xA1AA is U+2015
    HORIZONTAL BAR there but U+2014 EM DASH (the ``—`` of ``1—3号窗口``).
    So a character prints as text here when cp936 encodes it into a cell
    GB 2312 assigns (lead byte 0xA1-0xA9 or 0xB0-0xF7, trail 0xA1-0xFE, and
    not one of the cells GBK filled in later, such as 0xA2A1 ``ⅰ`` or the
    vertical forms in row 0xA6, which a GB 2312 font lacks).
``gbk``, ``gb18030``
    Python's codecs of those names, as they are.

ASCII goes as it is.  :func:`encode_text` returns ``None`` when a character
is outside the font: the codec then sends that line as pixels.  The renderer
decodes with :func:`decode_text` (GB18030, which agrees with cp936 on every
GB 2312 cell), so a rendered ticket shows what the printer prints.
"""

from __future__ import annotations

from functools import lru_cache

#: Row lead bytes of GB 2312: rows 1-9 (symbols) and 16-87 (hanzi); 10-15 are unassigned.
GB2312_LEADS = (*range(0xA1, 0xAA), *range(0xB0, 0xF8))
GB2312_TRAILS = range(0xA1, 0xFF)


@lru_cache(maxsize=1)
def gb2312_table() -> dict[str, bytes]:
    """Every non-ASCII character a GB 2312 printer font prints -> its two bytes.

    The cells are GB 2312's own (those Python's ``gb2312`` codec assigns); the
    character in each is cp936's.
    """
    table: dict[str, bytes] = {}
    for lead in GB2312_LEADS:
        for trail in GB2312_TRAILS:
            cell = bytes((lead, trail))
            try:
                cell.decode("gb2312")  # assigned in GB 2312 (whatever Python calls it)
            except UnicodeDecodeError:
                continue
            table[cell.decode("cp936")] = cell
    return table


def encode_gb2312(text: str) -> bytes | None:
    """``text`` for a GB 2312 printer font, or ``None`` if some character is not in it."""
    try:
        return text.encode("ascii")
    except UnicodeEncodeError:
        pass
    table = gb2312_table()
    out = bytearray()
    for ch in text:
        if ch < "\x80":
            out.append(ord(ch))
            continue
        cell = table.get(ch)
        if cell is None:
            return None
        out += cell
    return bytes(out)


def encode_text(text: str, charset: str) -> bytes | None:
    """Bytes for ``text`` in Chinese mode, or ``None`` if the printer's font
    (``charset``) cannot print some character of it."""
    if charset == "gb2312":
        return encode_gb2312(text)
    try:
        return text.encode(charset)
    except UnicodeEncodeError:
        return None


def decode_text(raw: bytes) -> str:
    """Chinese-mode bytes -> text, as the printer's font shows them (bad bytes: U+FFFD)."""
    return raw.decode("gb18030", errors="replace")


__all__ = [
    "GB2312_LEADS",
    "GB2312_TRAILS",
    "decode_text",
    "encode_gb2312",
    "encode_text",
    "gb2312_table",
]
