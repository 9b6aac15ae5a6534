"""Config from the center: validated completely, applied atomically, versions only go up."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from kiosk.engine.config import check_hall_document, load_hall_config
from sync.config_apply import ConfigApplier, write_atomic

ROOT = Path(__file__).resolve().parents[2]
DEMO = yaml.safe_load((ROOT / "assets" / "halls" / "demo.yaml").read_text(encoding="utf-8"))


@pytest.fixture
def applier(tmp_path: Path) -> ConfigApplier:
    return ConfigApplier(
        "demo-hall", "display-1", tmp_path / "config", hall_check=check_hall_document
    )


def doc(version: int, **sections):
    return {"version": version, "issued_at": "2026-11-23T08:00:00", **sections}


def test_a_valid_hall_config_is_written_where_the_engine_reads_it(applier):
    hall = copy.deepcopy(DEMO)
    hall["notices"] = ["今日下午16:00起暂停办理公积金业务"]
    out = applier.apply("hall", doc(7, hall=hall))
    assert out.status == "applied" and out.version == 7
    cfg = load_hall_config(applier.hall_config_path)
    assert cfg.version == 7 and cfg.notices == ("今日下午16:00起暂停办理公积金业务",)
    # it names the staff (phones, PIN hashes): nobody outside the owner and group reads it
    assert applier.hall_config_path.stat().st_mode & 0o777 == 0o640
    assert out.event() == (
        "config_applied",
        {"scope": "hall", "version": 7, "files": [str(applier.hall_config_path)]},
    )
    # The retained document arrives again after every reconnect: nothing to do.
    assert applier.apply("hall", doc(7, hall=hall)).status == "unchanged"


def test_a_bad_hall_config_is_rejected_with_the_path_and_the_old_one_stays(applier):
    assert applier.apply("hall", doc(1, hall=DEMO)).status == "applied"
    before = applier.hall_config_path.read_bytes()
    bad = copy.deepcopy(DEMO)
    bad["windows"][0]["queues"] = ["A", "Z"]
    out = applier.apply("hall", doc(2, hall=bad))
    assert out.status == "rejected"
    assert "windows[0].queues" in out.reason and "no queue 'Z'" in out.reason
    assert applier.hall_config_path.read_bytes() == before
    assert applier.applied_version("hall") == 1
    kind, data = out.event()
    assert kind == "config_rejected" and data["version"] == 2 and "Z" in data["reason"]
    # Seen again (retained): reported once, not on every reconnect.
    assert applier.apply("hall", doc(2, hall=bad)).status == "ignored"
    # A later good version still applies.
    assert applier.apply("hall", doc(3, hall=DEMO)).status == "applied"


def test_a_misspelt_key_is_named_with_a_suggestion(applier):
    bad = copy.deepcopy(DEMO)
    bad["queues"][0]["prefx"] = bad["queues"][0].pop("prefix")
    out = applier.apply("hall", doc(1, hall=bad))
    assert out.status == "rejected" and "prefx" in out.reason and "prefix" in out.reason


def test_versions_must_increase(applier):
    assert applier.apply("hall", doc(5, hall=DEMO)).status == "applied"
    out = applier.apply("hall", doc(4, hall=DEMO))
    assert out.status == "rejected" and "older than the applied version 5" in out.reason


def test_a_config_for_another_hall_is_rejected(applier):
    other = copy.deepcopy(DEMO)
    other["hall"]["id"] = "other-hall"
    out = applier.apply("hall", doc(1, hall=other))
    assert out.status == "rejected" and "other-hall" in out.reason


def test_schema_errors_are_rejected_before_anything_is_written(applier, tmp_path):
    out = applier.apply("device", doc(1, voice={"volume": 400}, keys={"KEY_F1": "call_next"}))
    assert out.status == "rejected" and "voice/volume" in out.reason
    assert not (tmp_path / "config" / "device").exists()  # keys were valid, but nothing written
    assert applier.apply("device", {"voice": {}}).status == "rejected"  # no version
    assert applier.apply("device", doc(2)).reason == "the document has no section to apply"
    out = applier.apply("device", doc(3, hall=DEMO))
    assert out.status == "rejected" and "hall-wide topic only" in out.reason


def test_device_sections_are_written_as_json_next_to_the_hall_config(applier, tmp_path):
    out = applier.apply(
        "device", doc(3, voice={"pack": "default", "volume": 80}, keys={"KEY_KP1": "rate_1"})
    )
    assert out.status == "applied"
    voice = json.loads((tmp_path / "config" / "device" / "voice.json").read_text())
    assert voice == {"version": 3, "voice": {"pack": "default", "volume": 80}}
    assert applier.versions() == {"device": {"applied": 3}}


def test_a_registered_validator_can_refuse_a_section(tmp_path):
    def no_f_keys(keys):
        if any(k.startswith("KEY_F") for k in keys):
            raise ValueError("keys: this evaluator has no F keys")

    a = ConfigApplier(
        "demo-hall",
        "evaluator-1",
        tmp_path,
        validators={"keys": no_f_keys},
        hall_check=check_hall_document,
    )
    out = a.apply("device", doc(1, keys={"KEY_F1": "rate_1"}))
    assert out.status == "rejected" and out.reason == "keys: this evaluator has no F keys"


def test_write_atomic_leaves_no_temporary_files(tmp_path):
    target = tmp_path / "a" / "hall.yaml"
    write_atomic(target, b"one")
    write_atomic(target, b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in target.parent.iterdir()] == ["hall.yaml"]
