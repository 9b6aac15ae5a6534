"""The options of a printer spec (``serial:/dev/x?baud=9600&profile=58mm``) are a schema:
each one refused with its name when it does not parse, a misspelt one with a suggestion,
every problem at once."""

from __future__ import annotations

import dataclasses

import pytest

from drivers.printer.printer import PrinterOptions, open_printer
from hall.core.schema import ConfigError

BAD = {  # a value each option cannot take, as a technician might type it
    "profile": "76mm",
    "charset": "big5",
    "cut": "maybe",
    "qr": "sometimes",
    "baud": "fast",
    "rtscts": "2",
    "status": "perhaps",
    "timeout": "soon",
    "in_ep": "zz",
    "out_ep": "xy",
}
OPTIONS = [f.name for f in dataclasses.fields(PrinterOptions)]


def test_every_option_has_a_bad_value_here():
    assert sorted(BAD) == sorted(OPTIONS)


@pytest.mark.parametrize("name", OPTIONS)
def test_a_bad_value_is_refused_with_the_options_name(name):
    spec = f"serial:/dev/x?{name}={BAD[name]}"
    with pytest.raises(ConfigError) as err:
        open_printer(spec)
    assert [p.path for p in err.value.problems] == [name]
    assert str(err.value).startswith(f"printer spec {spec!r}: {name}: ")
    assert isinstance(err.value, ValueError)  # what callers of open_printer catch


@pytest.mark.parametrize("name", OPTIONS)
def test_a_misspelt_option_is_refused_with_a_suggestion(name):
    typo = name[:2] + name[3:] if len(name) > 3 else name + name[-1]
    with pytest.raises(ConfigError) as err:
        open_printer(f"usb:0416:5011?{typo}=1")
    (problem,) = err.value.problems
    assert (problem.path, problem.message, problem.hint) == (
        typo,
        "unknown key",
        f"did you mean '{name}'?",
    )


def test_every_problem_at_once():
    with pytest.raises(ConfigError) as err:
        open_printer("file:/x?cut=maybe&baud=0&profile=58m")
    assert [str(p) for p in err.value.problems] == [
        "profile: unknown printer profile '58m'; known: 58mm, 58mm-nocut, 80mm, 80mm-nocut "
        "(did you mean '58mm'?)",
        "cut: expected a yes/no value, got 'maybe'",
        "baud: must be greater than 0, got '0'",
    ]
