"""hall.core.net: one HOST:PORT parser for every command line and config file."""

from __future__ import annotations

import argparse

import pytest

from hall.core.net import format_hostport, hostport_arg, parse_hostport


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("broker.hall", ("broker.hall", 1883)),
        ("h", ("h", 1883)),
        ("192.168.1.10:1883", ("192.168.1.10", 1883)),
        ("center.example:8883", ("center.example", 8883)),
        ("hall-broker_2:65535", ("hall-broker_2", 65535)),
        ("[::1]:1883", ("::1", 1883)),
        ("[fd00::10]", ("fd00::10", 1883)),
        ("[FD00:0::10]:8883", ("fd00::10", 8883)),
    ],
)
def test_good_addresses(text, expected):
    assert parse_hostport(text) == expected


def test_the_default_port_is_the_callers():
    assert parse_hostport("printer.lan", 9100) == ("printer.lan", 9100)
    assert parse_hostport("[::1]", 9100) == ("::1", 9100)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "expected HOST:PORT"),
        (" broker:1883", "without spaces"),
        ("broker:1883\n", "without spaces"),
        (":1883", "not a host name"),
        ("bro ker:1883", "not a host name"),
        ("broker/1:1883", "not a host name"),
        ("broker:", "1..65535"),
        ("broker:abc", "1..65535"),
        ("broker:0", "1..65535"),
        ("broker:65536", "1..65535"),
        ("broker:-1", "1..65535"),
        ("broker:１８８３", "1..65535"),  # full-width digits from a Chinese keyboard
        ("::1", "in brackets"),
        ("fd00::10:1883", "in brackets"),
        ("[::1", "[IPv6 address]:PORT"),
        ("[not-v6]:1883", "[IPv6 address]:PORT"),
        ("[::1]1883", "[IPv6 address]:PORT"),
        ("[::1]:", "1..65535"),
    ],
)
def test_bad_addresses_raise_value_error_saying_why(text, says):
    with pytest.raises(ValueError) as raised:
        parse_hostport(text)
    assert says in str(raised.value)
    assert repr(text) in str(raised.value)  # the message names what was given


def test_format_is_the_inverse():
    for text in ("broker.hall:1883", "[fd00::10]:8883", "10.0.0.2:1884"):
        assert format_hostport(*parse_hostport(text)) == text


def test_a_bad_command_line_address_is_the_usual_usage_error(capsys):
    parser = argparse.ArgumentParser(prog="hall sync")
    parser.add_argument("--broker", type=hostport_arg, default="127.0.0.1:1883")
    assert parser.parse_args([]).broker == "127.0.0.1:1883"
    assert parser.parse_args(["--broker", "[::1]:1884"]).broker == "[::1]:1884"
    with pytest.raises(SystemExit) as exited:
        parser.parse_args(["--broker", "broker:99999"])
    assert exited.value.code == 2
    assert "argument --broker: 'broker:99999': the port must be a number 1..65535" in (
        capsys.readouterr().err
    )
