"""The hall plane's commands are defined once: the contract's ``cmd`` enum with its
``x-commands`` table (sync/asyncapi.yaml).  The engine's role table and its set of
queue-changing commands are read from it, and the caller's keypad sends only commands
a caller may send."""

from __future__ import annotations

import pytest
import yaml

from drivers.keys.keymap import CALLER_ACTIONS, CALLER_DEFAULT
from kiosk.engine.service import MUTATING, ROLE_COMMANDS
from sync import contract


def _cmd_schema() -> dict:
    doc = yaml.safe_load(contract.CONTRACT_PATH.read_text(encoding="utf-8"))
    return doc["components"]["schemas"]["command"]["properties"]["cmd"]


def test_the_table_names_exactly_the_commands_of_the_enum():
    cmd = _cmd_schema()
    assert list(cmd["x-commands"]) == list(cmd["enum"])  # same names, same order
    assert set(contract.commands()) == set(cmd["enum"])


def test_the_engine_reads_its_tables_from_the_contract():
    enum = set(_cmd_schema()["enum"])
    assert set().union(*ROLE_COMMANDS.values()) == enum  # every command has a sender
    assert enum >= MUTATING
    assert contract.mutating_commands() == MUTATING
    assert contract.role_commands() == ROLE_COMMANDS
    # read-only roles stay read-only
    for role in ("display", "board", "monitor"):
        assert not ROLE_COMMANDS[role] & MUTATING, role


def test_every_caller_key_is_a_command_the_caller_may_send():
    assert set(CALLER_ACTIONS) <= ROLE_COMMANDS["caller"]
    assert set(CALLER_DEFAULT.bindings.values()) <= ROLE_COMMANDS["caller"]


def test_a_table_that_drifts_from_the_enum_is_refused(monkeypatch):
    doc = yaml.safe_load(contract.CONTRACT_PATH.read_text(encoding="utf-8"))
    del doc["components"]["schemas"]["command"]["properties"]["cmd"]["x-commands"]["rate"]
    monkeypatch.setattr(contract, "_document", lambda: doc)
    contract.commands.cache_clear()
    try:
        with pytest.raises(contract.ContractError, match="rate"):
            contract.commands()
    finally:
        contract.commands.cache_clear()


def test_only_the_web_role_sends_the_web_commands():
    web = {"progress", "overview", "manager_login", "set_window_queues", "open_window",
           "close_window", "move_ticket", "post_notice", "ack_alert",
           "follow_ups", "follow_up_callback", "follow_up_rectify"}  # fmt: skip
    assert ROLE_COMMANDS["web"] == web
    for role, names in ROLE_COMMANDS.items():
        if role != "web":
            assert not names & web, role
    assert web & MUTATING == web - {"progress", "overview", "manager_login", "follow_ups"}


def test_the_web_role_s_commands_are_the_ones_the_engine_answers_as_web():
    from kiosk.engine.service import WEB_COMMANDS

    assert ROLE_COMMANDS["web"] == WEB_COMMANDS
