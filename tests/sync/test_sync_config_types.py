"""A hall config the center pushes goes through the engine's parser: every case of
tests/hall_config_cases.py (each field's wrong type, each range, each dangling reference)
is refused upstream with its path, and the old config stays, byte for byte."""

from __future__ import annotations

import copy
import threading

import pytest
from hall_config_cases import demo, range_cases, reference_cases, wrong_type_cases
from sync_helpers import HALL

from kiosk.engine.config import check_hall_document, load_hall_config
from sync.commands import CommandRegistry
from sync.config_apply import ConfigApplier

# the document's own version replaces the hall config's (the applier writes it in)
CASES = [c for c in wrong_type_cases() + range_cases() + reference_cases() if c[2] != "version"]


@pytest.fixture
def applied(tmp_path) -> ConfigApplier:
    applier = ConfigApplier(
        "demo-hall", "engine", tmp_path / "config", hall_check=check_hall_document
    )
    assert applier.apply("hall", {"version": 1, "hall": demo()}).status == "applied"
    return applier


@pytest.mark.parametrize(("data", "path"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_pushed_hall_config_with_a_wrong_value_is_refused_and_the_old_one_stays(
    applied, data, path
):
    before = applied.hall_config_path.read_bytes()
    out = applied.apply("hall", {"version": 2, "hall": data})
    assert out.status == "rejected", out
    kind, event = out.event()
    assert kind == "config_rejected" and event["version"] == 2
    assert f"{path}:" in event["reason"]
    assert applied.hall_config_path.read_bytes() == before
    assert applied.applied_version("hall") == 1
    assert load_hall_config(applied.hall_config_path).version == 1


@pytest.mark.broker
def test_the_center_hears_the_rejection_with_the_path(
    address, device_db, make_center, make_agent, tmp_path
):
    reloaded = threading.Event()
    registry = CommandRegistry()
    registry.register("reload", lambda cmd: reloaded.set())
    applier = ConfigApplier(HALL, "engine", tmp_path / "config", hall_check=check_hall_document)
    center = make_center(address)
    make_agent(address, device_db, config=applier, commands=registry)
    center.publish_config(HALL, {"version": 2, "hall": demo()})
    assert center.wait_until(lambda c: c.store.count(kind="config_applied") == 1, 10)
    assert reloaded.wait(5)
    reloaded.clear()
    before = applier.hall_config_path.read_bytes()

    bad = copy.deepcopy(demo())
    bad["queues"][0]["daily_cap"] = "fifty"
    bad["items"][0]["legal_days"] = "ten"
    center.publish_config(HALL, {"version": 3, "hall": bad})
    assert center.wait_until(lambda c: c.store.count(kind="config_rejected") == 1, 10)
    [rejected] = center.store.events(kind="config_rejected")
    reason = rejected["data"]["reason"]
    assert rejected["data"]["version"] == 3
    assert "queues[0].daily_cap: expected a whole number, got 'fifty'" in reason
    assert "items[0].legal_days: expected a whole number, got 'ten'" in reason
    assert applier.hall_config_path.read_bytes() == before
    assert applier.applied_version("hall") == 2
    assert not reloaded.is_set()  # the engine is not told to reload a refused config
    center.clear_config(HALL)
