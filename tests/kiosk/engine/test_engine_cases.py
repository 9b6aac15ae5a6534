"""好差评 cases (#14): a ticket covers cases, each finished case is rated once, and the
evaluation record (version 2) carries every platform field from the config and the case."""

from __future__ import annotations

import json

import pytest
from hall_config_cases import demo

from hall.demo_apps import DEMO_PIN
from kiosk.engine.errors import EngineError
from sync import contract


@pytest.fixture
def hall(engine):
    engine.login("1", "1001", DEMO_PIN)
    return engine


_PEOPLE = iter(range(1, 10_000))


def person() -> str:
    return f"{next(_PEOPLE):032x}"  # a person key (the salted hash of an ID number)


def serving(hall, item="hj-birth", **issue):
    hall.issue(item_id=item, person_key=person(), **issue)
    t = hall.call_next("1").ticket
    hall.start("1")
    return t


def evaluations(hall):
    return [
        json.loads(r[0])
        for r in hall.conn.execute("SELECT payload FROM outbox WHERE kind='evaluation'")
    ]


def test_a_ticket_with_two_cases_gets_two_ratings(hall):
    t = serving(hall)
    first = hall.finish_case("1", case_no="HJ2026-0001")
    assert hall.ticket_by_code(t.code).status == "serving"  # the ticket stays serving
    second = hall.finish_case("1", item="gjj-query", case_no="GJJ-77")
    view = hall.window_view("1")
    assert [c["case_no"] for c in view["cases"]] == ["HJ2026-0001", "GJJ-77"]
    assert view["current"]["items"] == ["hj-birth", "gjj-query"]
    assert [c["case_id"] for c in view["to_rate"]] == [first["case_id"], second["case_id"]]
    hall.finish("1")  # cases already finished: finish makes no third
    assert hall.conn.execute("SELECT count(*) FROM cases").fetchone()[0] == 2
    r1 = hall.rate(window="1", rating_id="r1", ticket_id=t.id, case_id=first["case_id"], level=1)
    r2 = hall.rate(window="1", rating_id="r2", ticket_id=t.id, case_id=second["case_id"], level=2)
    assert (r1["duplicate"], r2["duplicate"]) == (False, False)
    records = evaluations(hall)
    assert [(e["case_no"], e["item_name"]) for e in records] == [
        ("HJ2026-0001", "婚生子女出生申报"),
        ("GJJ-77", "住房公积金个人账户查询"),
    ]
    assert hall.window_view("1")["to_rate"] == []


def test_a_case_cannot_be_rated_twice(hall):
    t = serving(hall)
    hall.finish("1", "HJ-1")
    case_id = hall.window_view("1")["to_rate"][0]["case_id"]
    hall.rate(window="1", rating_id="r1", ticket_id=t.id, case_id=case_id, level=3)
    again = hall.rate(window="1", rating_id="r1", ticket_id=t.id, case_id=case_id, level=3)
    assert again == {"rating_id": "r1", "ticket_id": t.id, "case_id": case_id, "duplicate": True}
    with pytest.raises(EngineError) as refused:
        hall.rate(window="1", rating_id="r2", ticket_id=t.id, case_id=case_id, level=1)
    assert refused.value.code == "already_rated"
    assert refused.value.data["rating_id"] == "r1"
    with pytest.raises(EngineError) as old_device:  # ticket only: nothing left to rate
        hall.rate(window="1", rating_id="r3", ticket_id=t.id, level=1)
    assert old_device.value.code == "already_rated"
    assert hall.conn.execute("SELECT count(*) FROM ratings").fetchone()[0] == 1


def test_a_rating_without_a_finished_case_is_refused(hall):
    t = serving(hall)  # serving, nothing finished yet
    with pytest.raises(EngineError) as refused:
        hall.rate(window="1", rating_id="r1", ticket_id=t.id, level=1)
    assert refused.value.code == "not_finished"
    with pytest.raises(EngineError) as unknown:
        hall.rate(window="1", rating_id="r1", ticket_id=t.id, case_id="no-such-case", level=1)
    assert unknown.value.code == "not_finished"
    hall.finish("1")
    case_id = hall.window_view("1")["to_rate"][0]["case_id"]
    with pytest.raises(EngineError) as elsewhere:  # the right case, at another window
        hall.rate(window="2", rating_id="r1", ticket_id=t.id, case_id=case_id, level=1)
    assert elsewhere.value.code == "not_finished"
    assert hall.conn.execute("SELECT count(*) FROM ratings").fetchone()[0] == 0


def test_an_old_evaluator_rates_the_oldest_unrated_case(hall):
    t = serving(hall)
    a = hall.finish_case("1", case_no="A-1")
    b = hall.finish_case("1", item="hj-proof")
    hall.finish("1")
    first = hall.rate(window="1", rating_id="old-1", ticket_id=t.id, level=2)
    second = hall.rate(window="1", rating_id="old-2", ticket_id=t.id, level=2)
    assert (first["case_id"], second["case_id"]) == (a["case_id"], b["case_id"])
    assert [e["channel"] for e in evaluations(hall)] == ["evaluator", "evaluator"]


def test_every_record_field_is_filled_from_the_config_and_the_case(hall, demo_config):
    t = serving(hall, item="rs-proof")  # window 1 serves B too
    hall.finish("1", "RS-2026-42")
    case_id = hall.window_view("1")["to_rate"][0]["case_id"]
    hall.rate(
        window="1",
        rating_id="r-tab",
        ticket_id=t.id,
        case_id=case_id,
        level=4,
        reasons=["办事效率低"],
        contact="13812345678",
        channel="tablet",
        comment="等了 很久\n电话13812345678",
        rated_at="2026-11-23T09:41:00",
    )
    (record,) = evaluations(hall)
    item = demo_config.item("rs-proof")
    assert record == {
        "version": 2,
        "rating_id": "r-tab",
        "case_id": case_id,
        "case_no": "RS-2026-42",
        "ticket_id": t.id,
        "code": "B001",
        "hall": "demo-hall",
        "area_code": "440305001000",
        "window": "1",
        "clerk": "1001",
        "staff_no": "1001",
        "queue": "B",
        "item": "rs-proof",
        "item_name": "出具个人社保参保缴费证明",
        "item_code": item.codes.item_code,
        "impl_code": item.codes.impl_code,
        "dept_code": item.codes.dept_code,
        "channel": "tablet",
        "level": 4,
        "level_name": "不满意",
        "reasons": ["办事效率低"],
        "comment": "等了 很久 电话138****5678",  # one line, the number masked
        "contact": "13812345678",
        "follow_up": True,
        "rated_at": "2026-11-23T09:41:00",
        "served_at": "2026-11-23T09:30:00+08:00",
    }
    assert all(v not in (None, "") for v in record.values())
    assert contract.schema_errors("evaluationEvent", record) is None


def test_comment_only_from_the_tablet_and_bounded(hall):
    t = serving(hall)
    hall.finish("1")
    for bad in (
        {"comment": "很好"},  # the button box has no keyboard
        {"comment": "长" * 201, "channel": "tablet"},
        {"channel": "phone"},
        {"level": True},
    ):
        args = {"level": 1, **bad}
        with pytest.raises(EngineError) as refused:
            hall.rate(window="1", rating_id="r", ticket_id=t.id, **args)
        assert refused.value.code == "bad_request", bad
    assert hall.conn.execute("SELECT count(*) FROM ratings").fetchone()[0] == 0


def test_finish_case_checks_item_and_number(hall):
    serving(hall)
    for args, code in (
        ({"item": "nope"}, "unknown_item"),
        ({"case_no": "has space"}, "bad_request"),
        ({"case_no": "X" * 41}, "bad_request"),
    ):
        with pytest.raises(EngineError) as refused:
            hall.finish_case("1", **args)
        assert refused.value.code == code
    hall.finish_case("1", case_no="N-1")
    with pytest.raises(EngineError) as twice:
        hall.finish_case("1", case_no="N-1")
    assert twice.value.message_zh == "该办件编号今日已办结，请核对编号"
    with pytest.raises(EngineError):  # finish's number only when no case was finished
        hall.finish("1", "N-2")
    assert hall.conn.execute("SELECT count(*) FROM cases").fetchone()[0] == 1


def test_finish_case_needs_a_serving_ticket(hall):
    hall.issue(item_id="hj-birth", person_key=person())
    hall.call_next("1")  # called, not yet serving
    with pytest.raises(EngineError) as refused:
        hall.finish_case("1")
    assert refused.value.code == "invalid_state"


def test_call_next_finishing_a_ticket_makes_its_case(hall):
    t = serving(hall)
    hall.issue(item_id="hj-proof", person_key=person())
    hall.call_next("1")  # finishes the serving ticket
    (case,) = hall.window_view("1")["to_rate"]
    assert (case["ticket_id"], case["item"], case["code"]) == (t.id, "hj-birth", t.code)


def test_to_rate_lasts_ten_minutes(hall, clock):
    serving(hall)
    hall.finish("1")
    clock.advance(minutes=9)
    assert len(hall.window_view("1")["to_rate"]) == 1
    clock.advance(minutes=2)
    assert hall.window_view("1")["to_rate"] == []


def test_current_ticket_shows_flags_wait_and_transfers(hall, clock):
    hall.issue(item_id="hj-birth", priority_reason="elderly", person_key=person())
    clock.advance(minutes=7)
    hall.call_next("1")
    hall.transfer("1", to_window="2")
    hall.login("2", "1002", DEMO_PIN)
    clock.advance(minutes=1)
    hall.call_next("2")
    current = hall.window_view("2")["current"]
    assert current["priority_reason"] == "elderly" and current["appointment"] is False
    assert current["waited_min"] == 7
    assert current["transfers"] == [
        {"from_queue": "A", "from_window": "1", "to_window": "2", "at": "2026-11-23T09:37:00+08:00"}
    ]
    assert current["issued_at"].startswith("2026-11-23T09:30:00")


def test_window_state_and_catalog_fit_the_contract(hall):
    serving(hall)
    hall.finish_case("1", case_no="C-1")
    view = hall.window_view("1")
    state = {"hall": "demo-hall", **view, "updated_at": "2026-11-23T09:30:00"}
    contract.validate("hall/demo-hall/window/1/state", state)
    assert view["cases"][0]["rated"] is False


def test_config_refuses_items_without_codes_naming_each(demo_config):
    from kiosk.engine.config import ConfigError, parse_hall_config

    data = demo()
    for item in data["items"][:2]:
        del item["codes"]
    del data["hall"]["area_code"]
    with pytest.raises(ConfigError) as refused:
        parse_hall_config(data)
    text = str(refused.value)
    assert "hj-birth" in text and "hj-proof" in text and "hall.area_code" in text
    data["haochaping"]["require_codes"] = False
    assert parse_hall_config(data).area_code is None
