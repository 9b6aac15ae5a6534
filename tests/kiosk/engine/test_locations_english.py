"""Where the citizen is called (derived from the windows serving the queue), the config
check that refuses a location contradicting them, the English values of the catalogue
and the report of the texts without one, and the lunch ticket on the hall plane."""

from __future__ import annotations

import io
import os
import queue
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from hall_config_cases import demo

from kiosk.engine.cli import check_config
from kiosk.engine.config import (
    ConfigError,
    english_gaps,
    item_location,
    materials_en,
    named_window_numbers,
    notices_en,
    parse_hall_config,
)
from sync import contract, topics

ROOT = Path(__file__).resolve().parents[3]
HALL = "demo-hall"


def refused(data: dict[str, Any]) -> ConfigError:
    with pytest.raises(ConfigError) as err:
        parse_hall_config(data)
    return err.value


def item_of(data: dict[str, Any], item_id: str) -> dict[str, Any]:
    return next(i for i in data["items"] if i["id"] == item_id)


# ---------------------------------------------------------------- derived locations


def test_the_demo_halls_locations_name_every_window_that_calls_the_queue(demo_config):
    where = {i.id: item_location(demo_config, i) for i in demo_config.items}
    # 社保: the comprehensive windows 1–3 call B tickets too, not only 4–5 (the 20 of 49)
    assert where["rs-card"] == ("1—3号综合窗口、4—5号社保窗口", "Windows 1–5")
    assert where["mz-dibao"] == ("1—3号综合窗口、6号民政专窗", "Windows 1–3, 6")
    assert where["hj-birth"] == ("1—3号综合窗口", "Windows 1–3")
    assert where["gjj-rent"] == ("1—3号综合窗口", "Windows 1–3")
    for item in demo_config.items:  # each derived text names exactly the serving windows
        serving = {int(w.id) for w in demo_config.windows if item.queue in w.queues}
        assert named_window_numbers(where[item.id][0]) == serving


def test_a_window_that_stops_serving_a_queue_leaves_its_location():
    data = demo()
    for w in data["windows"][:3]:
        w["queues"] = [q for q in w["queues"] if q != "B"]
    cfg = parse_hall_config(data)
    assert item_location(cfg, cfg.item("rs-card")) == ("4—5号社保窗口", "Windows 4–5")


def test_a_note_on_the_floor_is_kept_beside_the_derived_windows():
    data = demo()
    item_of(data, "mz-dibao")["location"] = "二楼东侧"  # no window number: a note
    item_of(data, "mz-disabled").update(location_note="二楼东侧", location_note_en="2F east")
    cfg = parse_hall_config(data)
    assert item_location(cfg, cfg.item("mz-dibao"))[0] == "1—3号综合窗口、6号民政专窗（二楼东侧）"
    assert item_location(cfg, cfg.item("mz-disabled")) == (
        "1—3号综合窗口、6号民政专窗（二楼东侧）",
        "Windows 1–3, 6 (2F east)",
    )


# ---------------------------------------------------------------- the config check


@pytest.mark.parametrize(
    ("item", "location", "said"),
    [
        # the demo's old text: windows 1–3 also call B tickets
        ("rs-card", "请到 4—5号窗口", "leaves out window 1, 2, 3"),
        ("mz-dibao", "6号民政专窗", "leaves out window 1, 2, 3"),
        # window 4 is 社保's only
        ("hj-birth", "1—4号窗口", "names window 4 that does not serve it"),
        ("gjj-query", "二楼 7号窗口", "names window 7 that does not serve it"),
    ],
)
def test_a_location_contradicting_the_windows_is_refused(item, location, said):
    data = demo()
    item_of(data, item)["location"] = location
    err = refused(data)
    (problem,) = err.problems
    n = [i["id"] for i in data["items"]].index(item)
    assert problem.path == f"items[{n}].location"
    assert f"item {item!r}" in problem.message and said in problem.message
    assert location in problem.message and "location_note" in problem.message


@pytest.mark.parametrize(
    ("item", "location"),
    [
        ("rs-card", "1—5号窗口"),
        ("rs-card", "1—3号综合窗口、4—5号社保窗口"),
        ("mz-dibao", "1、2、3号和6号窗口"),
        ("hj-birth", "二楼东侧 1-3号综合窗口"),
        ("hj-birth", "二楼东侧"),  # names no window: a note
    ],
)
def test_a_location_consistent_with_the_windows_is_accepted(item, location):
    data = demo()
    item_of(data, item)["location"] = location
    cfg = parse_hall_config(data)
    assert item_location(cfg, cfg.item(item))[0].startswith("1—3号综合窗口")


def test_english_lists_not_one_each_are_reported_and_not_shown():
    """The center may change the notices (or an item's materials) without their English:
    accepted, the English left out (never a wrong line beside a Chinese one), reported."""
    data = demo()
    item_of(data, "hj-birth")["materials_en"] = ["Birth certificate"]
    data["notices"] = ["今日下午16:00起暂停办理公积金业务"]
    cfg = parse_hall_config(data)
    assert materials_en(cfg.item("hj-birth")) == () and notices_en(cfg) == ()
    assert materials_en(cfg.item("hj-proof")) == ("Your ID card", "Supporting documents")
    assert english_gaps(cfg) == [
        "items[0].materials_en: 1 English materials for 4 (one each, in the same order): not shown",
        "notices_en: 4 English notices for 1 (one each, in the same order): not shown",
    ]


# ---------------------------------------------------------------- English report


def test_the_demo_hall_has_english_for_every_text_shown_to_citizens(demo_config):
    assert english_gaps(demo_config) == []


def test_every_text_without_english_is_reported_not_refused():
    data = demo()
    rs = item_of(data, "rs-card")
    del rs["materials_en"], rs["department_en"]
    del item_of(data, "hj-birth")["legal_basis_en"]
    del data["notices_en"], data["windows"][5]["name_en"]
    item_of(data, "gjj-rent")["fee"] = "工本费10元"
    cfg = parse_hall_config(data)  # accepted
    assert english_gaps(cfg) == [
        "items[0].legal_basis_en: no English for '《中华人民共和国户口登记条例》'",
        "items[4].department_en: no English for '人社局'",
        "items[4].materials_en: no English for '本人居民身份证、近期免冠证件照'",
        "items[9].fee_en: no English for '工本费10元'",
        "windows[5].name_en: no English for '6号窗口'",
        "notices_en: no English for '" + "、".join(cfg.notices) + "'",
    ]


def test_hall_engine_check_reports_the_missing_english_and_refuses_a_bad_location(tmp_path):
    data = demo()
    del item_of(data, "rs-card")["materials_en"]
    path = tmp_path / "hall.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-m", "hall.cli", "engine", "--check", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "ok (hall demo-hall" in run.stdout
    assert "warning: items[4].materials_en: no English" in run.stdout

    item_of(data, "rs-card")["location"] = "4—5号窗口"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    out = io.StringIO()
    assert check_config(path, out) == 2
    assert "refused" in out.getvalue() and "items[4].location: item 'rs-card'" in out.getvalue()


# ---------------------------------------------------------------- on the hall plane


def cmd(link, payload):
    return link.request(topics.command(HALL, link.device_id), payload, timeout=5.0)


def wait_catalog(device, want) -> dict[str, Any]:
    """The retained catalogue a fresh subscriber gets, once it satisfies ``want``."""
    got: queue.Queue = queue.Queue()
    watcher = device("board-1")
    watcher.subscribe(topics.catalog(HALL), lambda m: got.put(m.payload))
    while True:  # each retained or republished one; queue.Empty after 5 s without
        seen = got.get(timeout=5.0)
        if want(seen):
            return seen


@pytest.mark.broker
def test_the_catalogue_carries_derived_locations_and_english(engine_service, device):
    catalog = wait_catalog(device, lambda c: "items" in c)
    contract.validate(topics.catalog(HALL), catalog)
    item = next(i for i in catalog["items"] if i["id"] == "rs-card")
    assert item["location"] == "1—3号综合窗口、4—5号社保窗口"
    assert item["location_en"] == "Windows 1–5"
    assert item["materials_en"] == ["Your ID card", "A recent bareheaded ID photo"]
    assert len(item["materials_en"]) == len(item["materials"])
    assert item["fee_en"] == "Free of charge" and item["name_en"]
    assert catalog["hall_name_en"] and len(catalog["notices_en"]) == len(catalog["notices"])
    assert catalog["issuing"] is True and catalog["issuing_reason"] == ""
    assert "calls_from" not in catalog


@pytest.mark.broker
def test_a_lunch_ticket_says_when_calling_resumes(engine_service, device, hall_clock):
    kiosk = device("kiosk-1")
    tz = hall_clock.now().tzinfo
    hall_clock.set(datetime(2026, 11, 23, 12, 20, tzinfo=tz))
    engine_service.sweep()  # the periodic sweep republishes the catalogue's issuing state
    catalog = wait_catalog(device, lambda c: c.get("calls_from"))
    assert catalog["issuing"] is True and catalog["calls_from"] == "2026-11-23T13:00:00+08:00"
    contract.validate(topics.catalog(HALL), catalog)

    r = cmd(kiosk, {"cmd": "issue", "item": "rs-card"})
    assert r["ok"], r
    assert r["result"]["calls_from"] == "2026-11-23T13:00:00+08:00"
    assert r["result"]["ticket"]["calls_from"] == "2026-11-23T13:00:00+08:00"
    assert r["result"]["est_wait_min"] >= 40  # the 40 minutes of the break at least

    hall_clock.set(datetime(2026, 11, 23, 13, 5, tzinfo=tz))
    r = cmd(kiosk, {"cmd": "issue", "item": "rs-proof"})
    assert r["ok"] and "calls_from" not in r["result"]
    assert "calls_from" not in r["result"]["ticket"]


@pytest.mark.broker
def test_after_the_close_the_catalogue_says_closed_not_closing_soon(
    engine_service, device, hall_clock
):
    kiosk = device("kiosk-1")
    tz = hall_clock.now().tzinfo
    hall_clock.set(datetime(2026, 11, 23, 16, 50, tzinfo=tz))
    engine_service.sweep()
    soon = wait_catalog(device, lambda c: c.get("issuing_reason") == "closing_soon")
    assert soon["issuing"] is False and soon["next_open"] == "2026-11-24T09:00:00+08:00"
    hall_clock.set(datetime(2026, 11, 23, 17, 2, tzinfo=tz))
    engine_service.sweep()
    closed = wait_catalog(device, lambda c: c.get("issuing_reason") == "after_close")
    contract.validate(topics.catalog(HALL), closed)
    r = cmd(kiosk, {"cmd": "issue", "item": "rs-proof"})
    assert not r["ok"] and r["error"]["code"] == "outside_hours"
    assert r["error"]["data"]["reason"] == "after_close"
