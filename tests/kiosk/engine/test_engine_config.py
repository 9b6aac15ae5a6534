"""The hall config: every field's type, range and form, and every cross-reference, refused
with its path (the cases are made from the model: tests/hall_config_cases.py), every
problem at once, with a "did you mean" for a misspelt key or word."""

from __future__ import annotations

import json

import pytest
import yaml
from hall_config_cases import (
    demo,
    misspelt_key_cases,
    range_cases,
    reference_cases,
    wrong_type_cases,
)

from hall.core.schema import ConfigError as SchemaError
from kiosk.engine.config import ConfigError, HallConfig, load_hall_config, parse_hall_config


def refused(data) -> ConfigError:
    with pytest.raises(ConfigError) as err:
        parse_hall_config(data)
    return err.value


def test_the_demo_hall_is_valid():
    cfg = parse_hall_config(demo())
    assert isinstance(cfg, HallConfig) and cfg.hall_id == "demo-hall"
    assert cfg.queue("A").daily_cap == 300 and cfg.hours.extended[0].start.hour == 9


@pytest.mark.parametrize(("data", "path"), [c[1:] for c in wrong_type_cases()],
                         ids=[c[0] for c in wrong_type_cases()])  # fmt: skip
def test_a_wrong_type_is_refused_with_its_path(data, path):
    err = refused(data)
    assert path in [p.path for p in err.problems], str(err)


@pytest.mark.parametrize(("data", "path"), [c[1:] for c in range_cases()],
                         ids=[c[0] for c in range_cases()])  # fmt: skip
def test_a_value_out_of_range_is_refused_with_its_path(data, path):
    err = refused(data)
    assert path in [p.path for p in err.problems], str(err)


@pytest.mark.parametrize(("data", "path"), [c[1:] for c in reference_cases()],
                         ids=[c[0] for c in reference_cases()])  # fmt: skip
def test_a_dangling_reference_or_a_double_id_is_refused_with_its_path(data, path):
    err = refused(data)
    assert path in [p.path for p in err.problems], str(err)


@pytest.mark.parametrize(("data", "path", "suggestion"), [c[1:] for c in misspelt_key_cases()],
                         ids=[c[0] for c in misspelt_key_cases()])  # fmt: skip
def test_a_misspelt_key_is_refused_with_a_suggestion(data, path, suggestion):
    err = refused(data)
    (problem,) = [p for p in err.problems if p.path == path]
    assert problem.message == "unknown key"
    assert problem.hint == f"did you mean {suggestion}?"


def test_the_issues_example_every_problem_at_once():
    data = demo()
    data["queues"][0]["daily_cap"] = "fifty"
    data["items"][0]["legal_days"] = "ten"
    data["items"][1]["kind"] = "即办"
    err = refused(data)
    assert [str(p) for p in err.problems] == [
        "queues[0].daily_cap: expected a whole number, got 'fifty'",
        "items[0].legal_days: expected a whole number, got 'ten'",
        "items[1].kind: expected one of 即办件, 承诺件, got '即办' (did you mean '即办件'?)",
    ]
    assert isinstance(err, SchemaError) and isinstance(err, ValueError)
    assert err.path == "queues[0].daily_cap"
    assert err.summary_zh.startswith("大厅配置有误") and "queues[0].daily_cap" in err.summary_zh


def test_cross_references_are_all_reported_together():
    data = demo()
    data["items"][0]["queue"] = "Z"
    data["windows"][0]["queues"].append("Y")
    data["devices"][1]["window"] = "99"
    err = refused(data)
    assert [p.path for p in err.problems] == [
        "items[0].queue",
        "windows[0].queues[4]",
        "devices[1].window",
    ]
    assert "no queue 'Z'" in str(err) and "no window '99'" in str(err)


def test_no_silent_coercion():
    data = demo()
    data["queues"][0]["daily_cap"] = "300"  # a number in quotes is text, not a number
    data["items"][0]["requires_id"] = 1
    data["staff"][0]["staff_no"] = 1001  # YAML: unquoted digits are a number
    err = refused(data)
    assert "staff[0].staff_no: expected text, got 1001 (write it in quotes: '1001')" in err.problems
    assert {p.path for p in err.problems} == {
        "queues[0].daily_cap",
        "items[0].requires_id",
        "staff[0].staff_no",
    }


def test_numbers_where_decimals_are_declared_and_yaml_dates(tmp_path):
    data = demo()
    data["queues"][0]["avg_service_min"] = 7  # an int for a float
    path = tmp_path / "hall.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True).replace("'2026-10-01'", "2026-10-01"))
    cfg = load_hall_config(path)
    assert cfg.queue("A").avg_service_min == 7.0
    assert len(cfg.hours.holidays) == 7


def test_a_file_error_names_the_file(tmp_path):
    path = tmp_path / "hall.json"
    data = demo()
    data["version"] = 0
    path.write_text(json.dumps(data, ensure_ascii=False))
    with pytest.raises(ConfigError) as err:
        load_hall_config(path)
    assert str(err.value).startswith(f"{path}: version: must be at least 1")
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_hall_config(path)
