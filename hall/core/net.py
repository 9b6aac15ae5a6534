"""Network addresses as the hall writes them: ``HOST[:PORT]``, IPv6 in brackets."""

from __future__ import annotations

import argparse
import ipaddress
import re

__all__ = ["format_hostport", "hostport_arg", "parse_hostport"]

# a host name or an IPv4 address (IPv6 goes in brackets and is checked by ipaddress)
_HOST_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")
_EXAMPLE = "e.g. 192.168.1.10:1883, broker.hall:8883 or [fd00::10]:1883"


def parse_hostport(value: str, default_port: int = 1883) -> tuple[str, int]:
    """``"host:port"`` -> ``("host", port)``; no port: ``default_port``.

    ``"[::1]:1883"`` -> ``("::1", 1883)`` (an IPv6 address in brackets, the port
    optional).  Raises :class:`ValueError` saying what is wrong: an empty host, a
    character a host name cannot have, a port that is not 1..65535, or an IPv6
    address without brackets.
    """
    text = value if isinstance(value, str) else ""
    if not text or text != text.strip():
        raise ValueError(f"{value!r}: expected HOST:PORT without spaces, {_EXAMPLE}")
    if text.startswith("["):
        inside, sep, rest = text[1:].partition("]")
        try:
            host = str(ipaddress.IPv6Address(inside)) if sep else ""
        except ValueError:
            host = ""
        if not host or (rest and not rest.startswith(":")):
            raise ValueError(f"{value!r}: expected [IPv6 address]:PORT, {_EXAMPLE}")
        port_text = rest[1:] if rest else None
    elif text.count(":") > 1:
        raise ValueError(f"{value!r}: an IPv6 address goes in brackets, e.g. [{text}]:1883")
    else:
        host, sep, port_text_or_empty = text.partition(":")
        port_text = port_text_or_empty if sep else None
        if not _HOST_RE.match(host):
            raise ValueError(f"{value!r}: {host!r} is not a host name or address, {_EXAMPLE}")
    if port_text is None:
        return host, default_port
    if not (port_text.isascii() and port_text.isdigit()) or not 0 < int(port_text) < 65536:
        raise ValueError(f"{value!r}: the port must be a number 1..65535, {_EXAMPLE}")
    return host, int(port_text)


def hostport_arg(value: str) -> str:
    """An argparse ``type`` for ``HOST:PORT`` options: a bad one is the usual usage error."""
    try:
        parse_hostport(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def format_hostport(host: str, port: int) -> str:
    """The inverse of :func:`parse_hostport`: ``"[::1]:1883"`` for an IPv6 host."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
