"""Splitting an ESC/POS byte stream into commands.  Pure.

Used by the renderer (to draw what a printer would print) and by the
simulator (to answer ``DLE EOT`` and split tickets) so both agree on where
each command ends - which matters because raster and QR payloads may contain
any byte, including ``10 04``.

:func:`next_op` reads one command at ``pos``.  With ``final=False`` (a live
stream) an incomplete command returns ``None``: wait for more bytes.  With
``final=True`` the remainder is returned as a ``truncated`` op.  Unknown
commands are skipped by a length table (ESC/GS/FS + one byte when unknown),
so garbage never raises.
"""

from __future__ import annotations

from dataclasses import dataclass

ESC, FS, GS, DLE = 0x1B, 0x1C, 0x1D, 0x10

# Commands with a fixed number of parameter bytes (after the two command bytes).
_ESC_FIXED = {
    ord("@"): 0, ord("2"): 0, ord("<"): 0,
    ord("!"): 1, ord("-"): 1, ord("3"): 1, ord("E"): 1, ord("G"): 1, ord("J"): 1,
    ord("M"): 1, ord("R"): 1, ord("a"): 1, ord("c"): 2, ord("d"): 1, ord("e"): 1,
    ord("t"): 1, ord("V"): 1, ord("{"): 1, ord(" "): 1, ord("%"): 1, ord("U"): 1,
    ord("S"): 0, ord("T"): 1, ord("r"): 1, ord("$"): 2, ord("\\"): 2, ord("p"): 3,
    ord("B"): 2, ord("K"): 1, ord("L"): 0, ord("W"): 8, ord("?"): 1,
}  # fmt: skip
_GS_FIXED = {
    ord("!"): 1, ord("B"): 1, ord("H"): 1, ord("h"): 1, ord("w"): 1, ord("f"): 1,
    ord("b"): 1, ord("a"): 1, ord("r"): 1, ord("I"): 1, ord("E"): 1, ord("/"): 1,
    ord("L"): 2, ord("W"): 2, ord("P"): 2, ord("$"): 2, ord("\\"): 2, ord("^"): 3,
    ord(":"): 0,
}  # fmt: skip
_FS_FIXED = {
    ord("&"): 0, ord("."): 0, ord("!"): 1, ord("-"): 1, ord("W"): 1, ord("C"): 1,
    ord("S"): 2, ord("p"): 2, ord("?"): 2,
}  # fmt: skip
_CUT_WITH_FEED = {65, 66, 97, 98, 103, 104}


@dataclass(frozen=True)
class Op:
    """One command.  ``name`` says what; ``n`` is its numeric argument (align,
    size byte, lines ...); ``data`` its payload; ``raw`` the exact bytes."""

    name: str
    raw: bytes
    n: int = 0
    data: bytes = b""


def _u16(buf: bytes, at: int) -> int:
    return buf[at] | (buf[at + 1] << 8)


def _text_end(buf: bytes, pos: int) -> int:
    end = pos
    while end < len(buf) and buf[end] >= 0x20:
        end += 1
    return end


def next_op(buf: bytes, pos: int, *, final: bool) -> tuple[Op, int] | None:
    """The command starting at ``buf[pos]`` and the position after it."""
    size = len(buf) - pos

    def need(n: int) -> bool:
        return size >= n

    def take(name: str, length: int, n: int = 0, data: bytes = b"") -> tuple[Op, int]:
        return Op(name, bytes(buf[pos : pos + length]), n, data), pos + length

    def short() -> tuple[Op, int] | None:
        return take("truncated", size) if final else None

    b = buf[pos]
    if b >= 0x20:
        end = _text_end(buf, pos)
        if end == len(buf) and not final and end - pos < 4096:
            # a text run may continue in the next read; hold short tails back
            # so multi-byte characters are never split between two ops
            return None
        return take("text", end - pos)
    if b == 0x0A:
        return take("lf", 1)
    if b in (0x0D, 0x09, 0x0C):
        return take({0x0D: "cr", 0x09: "ht", 0x0C: "ff"}[b], 1)
    if b == DLE:
        if not need(2):
            return short()
        if buf[pos + 1] == 0x04:
            return take("status", 3, buf[pos + 2]) if need(3) else short()
        if buf[pos + 1] == 0x05:
            return take("rt_request", 3) if need(3) else short()
        if buf[pos + 1] == 0x14:
            return take("rt_pulse", 5) if need(5) else short()
        return take("unknown", 1)
    if b not in (ESC, GS, FS):
        return take("unknown", 1)
    if not need(2):
        return short()
    c = buf[pos + 1]
    if b == ESC:
        if c == ord("*"):  # column bit image: m nL nH data
            if not need(5):
                return short()
            m, count = buf[pos + 2], _u16(buf, pos + 3)
            length = 5 + count * (3 if m in (32, 33) else 1)
            return take("image_column", length) if need(length) else short()
        if c == ord("D"):  # tab positions, NUL-terminated
            end = buf.find(0, pos + 2)
            return take("tabs", end - pos + 1) if end >= 0 else short()
        params = _ESC_FIXED.get(c)
        if params is None:
            return take("unknown", 2)
        if not need(2 + params):
            return short()
        arg = buf[pos + 2] if params else 0
        name = {
            ord("@"): "init", ord("a"): "align", ord("E"): "bold", ord("d"): "feed_lines",
            ord("J"): "feed_dots", ord("!"): "print_mode", ord("-"): "underline",
            ord("G"): "bold",
        }.get(c, "esc")  # fmt: skip
        return take(name, 2 + params, arg)
    if b == FS:
        params = _FS_FIXED.get(c)
        if params is None:
            return take("unknown", 2)
        if not need(2 + params):
            return short()
        name = {ord("&"): "cjk_on", ord("."): "cjk_off", ord("!"): "cjk_mode"}.get(c, "fs")
        return take(name, 2 + params, buf[pos + 2] if params else 0)
    # GS
    if c == ord("V"):
        if not need(3):
            return short()
        length = 4 if buf[pos + 2] in _CUT_WITH_FEED else 3
        return take("cut", length, buf[pos + 2]) if need(length) else short()
    if c == ord("v"):  # GS v 0 m xL xH yL yH data
        if not need(8):
            return short()
        width_bytes, height = _u16(buf, pos + 4), _u16(buf, pos + 6)
        length = 8 + width_bytes * height
        if not need(length):
            return short()
        return take("raster", length, width_bytes, bytes(buf[pos + 8 : pos + length]))
    if c == ord("("):  # GS ( X pL pH data
        if not need(5):
            return short()
        length = 5 + _u16(buf, pos + 3)
        if not need(length):
            return short()
        if buf[pos + 2] == ord("k"):
            return take("qr", length, 0, bytes(buf[pos + 5 : pos + length]))
        return take("gs_paren", length)
    if c == ord("8"):  # GS 8 L p1 p2 p3 p4 data (32-bit length)
        if not need(7):
            return short()
        if buf[pos + 2] != ord("L"):
            return take("unknown", 2)
        length = 7 + int.from_bytes(buf[pos + 3 : pos + 7], "little")
        return take("gs_8l", length) if need(length) else short()
    if c == ord("k"):  # barcode
        if not need(3):
            return short()
        m = buf[pos + 2]
        if m <= 6:
            end = buf.find(0, pos + 3)
            return take("barcode", end - pos + 1) if end >= 0 else short()
        if not need(4):
            return short()
        length = 4 + buf[pos + 3]
        return take("barcode", length) if need(length) else short()
    if c == ord("*"):  # define downloaded bit image: x y data(x*y*8)
        if not need(4):
            return short()
        length = 4 + buf[pos + 2] * buf[pos + 3] * 8
        return take("gs_image", length) if need(length) else short()
    params = _GS_FIXED.get(c)
    if params is None:
        return take("unknown", 2)
    if not need(2 + params):
        return short()
    name = "size" if c == ord("!") else "gs"
    return take(name, 2 + params, buf[pos + 2] if params else 0)


def iter_ops(data: bytes) -> list[Op]:
    """All commands of a complete stream (the tail, if cut short, as ``truncated``)."""
    ops: list[Op] = []
    pos = 0
    while pos < len(data):
        step = next_op(data, pos, final=True)
        assert step is not None
        op, pos = step
        ops.append(op)
    return ops
