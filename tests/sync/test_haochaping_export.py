"""The center's export of ratings for the 好差评 platform (#14): sync/haochaping.py and
``hall monitor --export haochaping`` (docs/haochaping.md)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from sync_helpers import HALL, ROOT, wait_for

from sync import haochaping, outbox
from sync.center import CenterStore
from sync.ingest import Released
from sync.wire import Batch, WireEvent

PHONE = "13812345678"
ID_NUMBER = "440305199001011234"
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
EVENT_ID = "5f1b0000-0000-4000-8000-000000000001"


def v2(**over: Any) -> dict[str, Any]:
    """An evaluation record of version 2, as the contract of #14 gives it."""
    record: dict[str, Any] = {
        "version": 2,
        "rating_id": "9d1c7e52-1f0a-4c4e-9a57-3d1a2b3c4d5e",
        "case_id": "0b6f2d7a-5e1c-4b9e-8f3a-1c2d3e4f5a6b",
        "case_no": "SZ-2026-000123",
        "ticket_id": "7a1e0c34-2b5d-4f6e-9a8b-0c1d2e3f4a5b",
        "code": "A001",
        "hall": HALL,
        "area_code": "440305001000",
        "window": "w3",
        "clerk": "2001",
        "staff_no": "SZ2001",
        "queue": "huji",
        "item": "hj-birth",
        "item_name": "出生登记",
        "item_code": "000201001000",
        "impl_code": "11440300MB2C93123X4000201001000",
        "dept_code": "11440300MB2C93123X",
        "channel": "tablet",
        "level": 5,
        "level_name": "非常不满意",
        "reasons": ["服务态度差", "办事效率低"],
        "comment": "窗口人员态度冷淡",
        "contact": PHONE,
        "follow_up": True,
        "rated_at": "2026-11-23T09:31:05",
        "served_at": "2026-11-23T09:20:00",
    }
    record.update(over)
    return record


def v1(**over: Any) -> dict[str, Any]:
    """An evaluation record as the engine wrote it before #14 (no version, case, codes)."""
    record: dict[str, Any] = {
        "rating_id": "3c2b1a00-0000-4000-8000-0000000000aa",
        "ticket_id": "7a1e0c34-2b5d-4f6e-9a8b-0c1d2e3f4a5b",
        "code": "B007",
        "window": "w1",
        "clerk": "2002",
        "queue": "shebao",
        "item": "sb-card",
        "level": 2,
        "reasons": [],
        "follow_up": False,
        "contact": None,
        "rated_at": "2026-11-22T15:04:00",
    }
    record.update(over)
    return record


def event(data: Any, *, hall: str = HALL, event_id: str = EVENT_ID) -> dict[str, Any]:
    return {
        "id": event_id,
        "seq": 1,
        "device": "engine",
        "hall": hall,
        "kind": "evaluation",
        "ts": "2026-11-23T09:31:06",
        "data": data,
    }


def valid(line: dict[str, Any]) -> dict[str, Any]:
    errors = haochaping.schema_errors(line)
    assert errors == [], errors
    return line


def make_store(
    path: Path, records: list[tuple[str, Any]], *, hall: str = HALL, first: int = 1
) -> None:
    """A center store file written by the center's own code, one batch of ``records``
    (event ids numbered from ``first``)."""
    at = "2026-11-23T10:00:00"
    events = tuple(
        WireEvent(f"00000000-0000-4000-8000-{first + i:012d}", i + 1, kind, at, data)
        for i, (kind, data) in enumerate(records)
    )
    batch = Batch(hall, "engine", "stream-1", 0, 0, "2026-11-23T10:00:00", events)
    store = CenterStore(path)
    try:
        new = store.store([Released(batch.key, (batch,), len(events), True)], "2026-11-23T10:00:01")
        assert len(new) == len(records)
    finally:
        store.close()


# --------------------------------------------------------------------------- the mapping


def test_every_platform_field_is_filled_from_a_v2_record():
    line = valid(haochaping.to_platform(event(v2())))
    assert {k: v for k, v in line.items() if k != "local"} == {
        "projectNo": "SZ-2026-000123",
        "taskCode": "000201001000",
        "taskHandleItem": "11440300MB2C93123X4000201001000",
        "taskName": "出生登记",
        "areaCode": "440305001000",
        "deptCode": "11440300MB2C93123X",
        "satisfaction": "1",
        "evalDetail": "服务态度差,办事效率低",
        "writingEvaluation": "窗口人员态度冷淡",
        "assessTime": "2026-11-23 09:31:05",
        "assessNumber": "1",
        "pf": "4",
        "evaluateChannel": "PJQ",
        "missing": [],
    }
    assert line["local"] == {
        "recordVersion": 2,
        "eventId": EVENT_ID,
        "hall": HALL,
        "ratingId": "9d1c7e52-1f0a-4c4e-9a57-3d1a2b3c4d5e",
        "caseId": "0b6f2d7a-5e1c-4b9e-8f3a-1c2d3e4f5a6b",
        "ticketCode": "A001",
        "window": "w3",
        "clerk": "2001",
        "staffNo": "SZ2001",
        "level": 5,
        "levelName": "非常不满意",
        "channel": "tablet",
        "followUp": True,
    }
    # The schema asks for every field the mapping fills: none is left out.
    assert set(line) == set(haochaping.schema()["required"])
    assert set(line["local"]) == set(haochaping.schema()["properties"]["local"]["required"])


@pytest.mark.parametrize(
    ("level", "name", "satisfaction"),
    [
        (1, "非常满意", "5"),
        (2, "满意", "4"),
        (3, "基本满意", "3"),
        (4, "不满意", "2"),
        (5, "非常不满意", "1"),
    ],
)
def test_levels_are_inverted_for_the_platform(level, name, satisfaction):
    line = valid(haochaping.to_platform(event(v2(level=level, level_name=name))))
    assert line["satisfaction"] == satisfaction
    assert (line["local"]["level"], line["local"]["levelName"]) == (level, name)


@pytest.mark.parametrize(("channel", "pf"), [("evaluator", "5"), ("tablet", "4")])
def test_the_channel_gives_pf_and_anhuis_evaluate_channel(channel, pf):
    line = valid(haochaping.to_platform(event(v2(channel=channel, comment=""))))
    assert (line["pf"], line["evaluateChannel"], line["local"]["channel"]) == (pf, "PJQ", channel)


def test_bad_review_reasons_become_the_comma_separated_eval_detail():
    reasons = [
        "服务态度差",
        "办事效率低",
        "业务不熟练",
        "一次性告知不到位",
        "材料要求多",
        "多次跑腿",
    ]
    line = valid(haochaping.to_platform(event(v2(reasons=[*reasons, "服务态度差"]))))
    assert line["evalDetail"].split(",") == reasons  # in order, each once
    good = valid(haochaping.to_platform(event(v2(level=1, level_name="非常满意", reasons=[]))))
    assert good["evalDetail"] == ""
    with pytest.raises(haochaping.Skipped) as refused:
        haochaping.to_platform(event(v2(reasons=["服务态度差,办事效率低"])))
    assert refused.value.code == "bad_record"
    assert "','" in refused.value.message


def test_a_six_digit_area_code_is_padded_to_twelve():
    line = valid(haochaping.to_platform(event(v2(area_code="440305"))))
    assert line["areaCode"] == "440305000000"


def test_an_offset_timestamp_is_given_in_china_time():
    line = valid(haochaping.to_platform(event(v2(rated_at="2026-11-23T01:31:05+00:00"))))
    assert line["assessTime"] == "2026-11-23 09:31:05"


def test_a_v1_record_exports_with_the_fields_it_has_and_validates():
    line = valid(haochaping.to_platform(event(v1())))
    for name in ("projectNo", "taskCode", "taskHandleItem", "taskName", "areaCode", "deptCode"):
        assert line[name] is None, name
    assert line["missing"] == [
        "projectNo",
        "taskCode",
        "taskHandleItem",
        "areaCode",
        "deptCode",
        "taskName",
    ]
    assert line["satisfaction"] == "4"  # 满意
    assert line["pf"] == "5"  # before #14 only the button evaluator rated
    assert (line["evalDetail"], line["writingEvaluation"]) == ("", "")
    assert line["assessTime"] == "2026-11-22 15:04:00"
    assert line["local"]["recordVersion"] == 1
    assert line["local"]["caseId"] is None and line["local"]["staffNo"] is None
    assert line["local"]["clerk"] == "2002"


def test_a_v2_case_without_a_number_names_projectno_missing():
    line = valid(haochaping.to_platform(event(v2(case_no=None))))
    assert line["projectNo"] is None and line["missing"] == ["projectNo"]


def test_an_unrated_case_is_skipped_with_a_clear_message():
    with pytest.raises(haochaping.Skipped) as skipped:
        haochaping.to_platform(event(v2(level=None, level_name=None, reasons=[])))
    assert skipped.value.code == "not_rated"
    assert "did not rate" in skipped.value.message


def test_the_contact_phone_is_never_exported():
    record = v2(comment=f"请打{PHONE}，身份证{ID_NUMBER}", contact=PHONE)
    out = io.StringIO()
    haochaping.export([event(record)], out)
    text = out.getvalue()
    assert text.count("\n") == 1
    assert PHONE not in text and ID_NUMBER not in text
    assert "contact" not in text and "mobile" not in text
    line = json.loads(text)
    assert line["writingEvaluation"] == "请打138****5678，身份证4403**********1234"


@pytest.mark.parametrize(
    ("change", "code", "says"),
    [
        ({"level": 0}, "bad_record", "level must be 1..5"),
        ({"level": "5"}, "bad_record", "level must be 1..5"),
        ({"level": True}, "bad_record", "level must be 1..5"),
        ({"level_name": "满意"}, "bad_record", "does not match level 5"),
        ({"rated_at": "yesterday"}, "bad_record", "rated_at"),
        ({"case_no": "x" * 41}, "bad_record", "case_no"),
        ({"case_no": "A 1; DROP"}, "bad_record", "case_no"),
        ({"area_code": "4403"}, "bad_record", "area_code"),
        ({"dept_code": "部门"}, "bad_record", "dept_code"),
        ({"channel": "kiosk"}, "bad_record", "channel"),
        ({"channel": None}, "bad_record", "channel"),
        ({"comment": "长" * 201}, "bad_record", "comment"),
        ({"reasons": "服务态度差"}, "bad_record", "reasons"),
        ({"reasons": ["原因\n"]}, "bad_record", "reason"),
        ({"follow_up": "yes"}, "bad_record", "follow_up"),
        ({"hall": "other-hall"}, "bad_record", "names hall"),
        ({"rating_id": None}, "bad_record", "rating_id"),
        ({"version": 3}, "unsupported_version", "versions 1 and 2"),
    ],
)
def test_a_hostile_record_is_refused_with_a_code_and_a_message(change, code, says):
    with pytest.raises(haochaping.Skipped) as refused:
        haochaping.to_platform(event(v2(**change)))
    assert refused.value.code == code
    assert says in refused.value.message


def test_data_that_is_not_an_object_is_refused():
    with pytest.raises(haochaping.Skipped) as refused:
        haochaping.to_platform(event("level=5"))
    assert refused.value.code == "bad_record"


# --------------------------------------------------------------------------- the schema


def test_the_schema_is_a_valid_2020_12_schema_that_can_refuse():
    schema = haochaping.schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    line = haochaping.to_platform(event(v2()))
    assert haochaping.schema_errors({**line, "mobile": PHONE})  # no field for a phone
    assert haochaping.schema_errors({**line, "satisfaction": 5})  # a code is a string
    assert haochaping.schema_errors({**line, "pf": "1"})  # a hall sends 4 or 5 only
    assert haochaping.schema_errors({**line, "assessTime": "2026-11-23T09:31:05"})


# --------------------------------------------------------------------------- a store


def store_records() -> list[tuple[str, Any]]:
    return [
        ("ticket_issued", {"code": "A001"}),
        ("evaluation", v2()),
        ("evaluation", v1()),
        ("evaluation", v2(rating_id="r-unrated", level=None, level_name=None, reasons=[])),
        ("service_finished", {"code": "A001"}),
        ("evaluation", v2(rating_id="r-hostile", level=9)),
        (
            "evaluation",
            v2(
                rating_id="r-good",
                case_no="13900001111",  # a business system's number that looks like a phone
                channel="evaluator",
                level=1,
                level_name="非常满意",
                reasons=[],
                comment="",
                contact=None,
                follow_up=False,
                rated_at="2026-11-24T10:00:00",
            ),
        ),
    ]


def test_the_export_of_a_center_store_is_one_valid_line_per_rating(tmp_path):
    make_store(tmp_path / "center.db", store_records())
    store = CenterStore(tmp_path / "center.db")
    out = io.StringIO()
    reported: list[str] = []
    try:
        result = haochaping.export(
            store.iter_events(kind="evaluation", page=2),  # pages smaller than the table
            out,
            report=lambda e, s: reported.append(haochaping.describe_skip(e, s)),
        )
    finally:
        store.close()
    lines = [json.loads(x) for x in out.getvalue().splitlines()]
    assert [x["local"]["ratingId"] for x in lines] == [
        "9d1c7e52-1f0a-4c4e-9a57-3d1a2b3c4d5e",
        "3c2b1a00-0000-4000-8000-0000000000aa",
        "r-good",
    ]
    for line in lines:
        valid(line)
    assert (result.exported, dict(result.skipped)) == (3, {"not_rated": 1, "bad_record": 1})
    assert len(reported) == 2
    assert "rating r-unrated): not_rated" in reported[0]
    assert "rating r-hostile): bad_record: level must be 1..5, got 9" in reported[1]


def test_since_keeps_the_ratings_given_on_that_day_or_later(tmp_path):
    make_store(tmp_path / "center.db", store_records())
    store = CenterStore(tmp_path / "center.db")
    out = io.StringIO()
    try:
        import datetime as dt

        result = haochaping.export(
            store.iter_events(kind="evaluation"), out, since=dt.date(2026, 11, 23)
        )
    finally:
        store.close()
    days = [json.loads(x)["assessTime"][:10] for x in out.getvalue().splitlines()]
    assert days == ["2026-11-23", "2026-11-24"]  # the v1 rating of 11-22 left out
    assert result.before_since == 1


# --------------------------------------------------------------------------- hall monitor --export


def hall(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hall.cli", "monitor", *args],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )


def test_hall_monitor_export_writes_the_file_and_reports_what_it_left_out(tmp_path):
    store = tmp_path / "center.db"
    make_store(store, store_records())
    out = tmp_path / "export" / "haochaping.jsonl"
    done = hall("--export", "haochaping", "--store", str(store), "--out", str(out))
    assert done.returncode == 0, done.stderr
    raw = out.read_bytes()
    text = raw.decode("utf-8")  # UTF-8
    assert "出生登记" in text and "\\u" not in text  # Chinese as it is, no ASCII escapes
    assert raw.endswith(b"\n") and b"\r" not in raw
    lines = [json.loads(x) for x in text.splitlines()]
    assert len(lines) == 3
    for line in lines:
        valid(line)
    assert PHONE not in text and PHONE not in done.stderr and PHONE not in done.stdout
    assert done.stdout == ""
    assert "rating r-unrated): not_rated" in done.stderr
    assert "rating r-hostile): bad_record" in done.stderr
    assert f"exported 3 rating(s) to {out}; skipped 2 (bad_record 1, not_rated 1)" in done.stderr
    assert [p.name for p in out.parent.iterdir()] == ["haochaping.jsonl"]  # no temp file left


def test_hall_monitor_export_to_stdout_with_since_and_hall(tmp_path):
    store = tmp_path / "center.db"
    make_store(store, store_records())
    make_store(
        store, [("evaluation", v2(hall="hall-b", rating_id="r-b"))], hall="hall-b", first=100
    )
    done = hall(
        "--export", "haochaping", "--store", str(store), "--since", "2026-11-24", "--hall", HALL
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(x) for x in done.stdout.splitlines()]
    assert [x["local"]["ratingId"] for x in lines] == ["r-good"]
    # Printed as they are: the case number is not masked like a phone on the way out.
    assert lines[0]["projectNo"] == "13900001111"
    other = hall("--export", "haochaping", "--store", str(store), "--hall", "hall-b")
    assert other.returncode == 0, other.stderr
    assert [json.loads(x)["local"]["hall"] for x in other.stdout.splitlines()] == ["hall-b"]
    assert "exported 1 rating(s) to stdout; skipped 0" in other.stderr


def test_hall_monitor_export_needs_an_existing_store(tmp_path):
    missing = tmp_path / "nope.db"
    done = hall("--export", "haochaping", "--store", str(missing))
    assert done.returncode == 2
    assert f"no center store at {missing}" in done.stderr
    assert not missing.exists()  # not created by looking
    done = hall("--export", "haochaping")
    assert done.returncode == 2 and "give --store FILE" in done.stderr
    done = hall("--export", "haochaping", "--store", str(missing), "--since", "23.11.2026")
    assert done.returncode == 2 and "not a date (YYYY-MM-DD)" in done.stderr


@pytest.mark.broker
def test_ratings_delivered_to_a_center_export_from_its_store(
    broker, address, device_db, make_agent, make_center, tmp_path
):
    """The whole way: the engine's outbox, the sync agent, the center's store, the export."""
    with device_db.lock:
        device_db.conn.execute("BEGIN IMMEDIATE")
        outbox.put(device_db.conn, "evaluation", "2026-11-23T09:31:06", v2())
        outbox.put(device_db.conn, "evaluation", "2026-11-23T09:40:00", v1())
        outbox.put(device_db.conn, "service_finished", "2026-11-23T09:41:00", {"code": "A002"})
        device_db.conn.execute("COMMIT")
    store = tmp_path / "center.db"
    center = make_center(address, store=str(store))
    make_agent(address, device_db)
    wait_for(lambda: center.store.count(kind="evaluation") == 2, 20, "the center to store both")
    out = tmp_path / "haochaping.jsonl"
    done = hall("--export", "haochaping", "--store", str(store), "--out", str(out))
    assert done.returncode == 0, done.stderr
    lines = [valid(json.loads(x)) for x in out.read_text(encoding="utf-8").splitlines()]
    assert [(x["local"]["recordVersion"], x["satisfaction"], x["pf"]) for x in lines] == [
        (2, "1", "4"),
        (1, "4", "5"),
    ]
    assert PHONE not in out.read_text(encoding="utf-8")
