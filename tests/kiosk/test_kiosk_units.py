"""The kiosk's pure parts: appointment codes, identities, the issue command, refusal
messages, the catalogue, settings, health and voice."""

from __future__ import annotations

import json
import threading
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.citizencard import CitizenCard
from drivers.idcard import make_card
from drivers.printer import build_ticket
from hall.core.privacy import person_key
from kiosk.appointment import AppointmentError, check_in, make_code, parse_code
from kiosk.catalog import guide_lines, parse_board, parse_catalog
from kiosk.engine.config import load_hall_config
from kiosk.engine.errors import MESSAGES_ZH
from kiosk.health import HealthBoard
from kiosk.identify import ephemeral_salt, from_citizen_card, from_id_card, load_salt
from kiosk.refusals import REFUSALS, describe
from kiosk.settings import SettingsError, load_settings
from kiosk.ticketing import IssueRequest, follow_url, green_reason, issued_from_result, ticket_data
from kiosk.voice import VoicePrompts, default_prompts
from sync.contract import command_errors, validate

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=TZ)
DEMO = Path(__file__).resolve().parents[2] / "assets" / "halls" / "demo.yaml"
SALT = b"unit-salt-0123456789"


# -- appointment codes --------------------------------------------------------------------


def test_appointment_code_round_trip():
    code = make_code("ab12cd", datetime(2026, 11, 23, 10, 0), "gjj-rent")
    assert code == "YY:ab12cd:gjj-rent:2026-11-23T10:00"
    appt = parse_code(code, TZ)
    assert (appt.ref, appt.item, appt.start) == (
        "AB12CD",
        "gjj-rent",
        datetime(2026, 11, 23, 10, 0, tzinfo=TZ),
    )
    assert appt.wire() == {"ref": "AB12CD", "start": "2026-11-23T10:00+08:00"}
    short = parse_code("yy:QQ77:2026-11-23 09:40", TZ)
    assert short.item is None and short.start.minute == 40


@pytest.mark.parametrize(
    "text",
    [
        "",
        "YY",
        "YY:",
        "XX:AB12:2026-11-23T10:00",
        "YY:A:2026-11-23T10:00",
        "YY:AB12:item:tomorrow",
        "YY:AB12:it em:2026-11-23T10:00",
        "YY:AB12:2026-13-45T10:00",
        "YY:AB12:2026-11-23T10:00\x1b",
        "YY:" + "A" * 200,
        "YY:AB12:项目:2026-11-23T10:00",
    ],
)
def test_bad_appointment_codes(text):
    with pytest.raises(AppointmentError) as err:
        parse_code(text, TZ)
    assert err.value.code == "appointment_invalid"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80) | st.from_regex(r"YY:[A-Z0-9-]{0,40}:[a-z-]{0,10}:?[0-9T:-]{0,20}"))
def test_any_scanned_text_is_parsed_or_refused(text):
    try:
        appt = parse_code(text, TZ)
    except AppointmentError as exc:
        assert exc.code == "appointment_invalid"
    else:
        assert appt.start.tzinfo is not None and 4 <= len(appt.ref) <= 32


@pytest.mark.parametrize(
    ("start", "code"),
    [
        (datetime(2026, 11, 23, 9, 59), None),
        (datetime(2026, 11, 23, 10, 0), None),
        (datetime(2026, 11, 23, 10, 1), "appointment_early"),
        (datetime(2026, 11, 23, 9, 15), None),
        (datetime(2026, 11, 23, 9, 14), "appointment_late"),
        (datetime(2026, 11, 24, 9, 30), "appointment_other_day"),
    ],
)
def test_check_in_window(start, code):
    appt = parse_code(make_code("AB12", start, "x"), TZ)
    if code is None:
        check_in(appt, NOW, early_min=30, late_min=15)
    else:
        with pytest.raises(AppointmentError) as err:
            check_in(appt, NOW, early_min=30, late_min=15)
        assert err.value.code == code


# -- identities -----------------------------------------------------------------------------


def test_identity_from_id_card_keeps_no_number_or_name():
    card = make_card("resident", name="欧阳小明", birth="19591124")
    who = from_id_card(card, SALT, date(2026, 11, 23))
    assert who.person_key == person_key(card.id_number, SALT)
    assert who.masked_name == "欧**明" and who.age == 66
    assert who.elderly(65) and not who.elderly(67)
    assert card.id_number not in repr(who) and "欧阳小明" not in repr(who)
    assert {f for f in who.__dataclass_fields__} == {"source", "person_key", "masked_name", "age"}


def test_identity_from_other_cards():
    foreign = from_id_card(make_card("foreign", name=""), SALT, date(2026, 11, 23))
    assert foreign.masked_name == "T**** J*** S*****"  # "TEST, JOHN SAMPLE", masked
    permit = from_id_card(make_card("permit"), SALT, date(2026, 11, 23))
    assert permit.masked_name == "李*" and permit.age == 41
    citizen = from_citizen_card(
        CitizenCard("T1", "320100", "320102195001010015", "周建华"), SALT, date(2026, 11, 23)
    )
    assert (citizen.masked_name, citizen.age, citizen.source) == ("周*华", 76, "citizencard")
    assert citizen.person_key == person_key("320102195001010015", SALT)


def test_salt_file(tmp_path):
    one, two = ephemeral_salt(), ephemeral_salt()  # no salt configured: random, never fixed
    assert one != two and len(one) == 32
    (tmp_path / "salt").write_bytes(b"0123456789abcdef\n")
    assert load_salt(tmp_path / "salt") == b"0123456789abcdef"
    (tmp_path / "short").write_bytes(b"abc")
    with pytest.raises(ValueError, match="at least 16"):
        load_salt(tmp_path / "short")


# -- the issue command ------------------------------------------------------------------------


@pytest.mark.parametrize("staff", [None, "disabled"])
@pytest.mark.parametrize("birth", ["19900307", "19500101"])
@pytest.mark.parametrize("with_appointment", [False, True])
def test_issue_command_fits_the_contract_and_hides_the_number(staff, birth, with_appointment):
    card = make_card("resident", birth=birth)
    who = from_id_card(card, SALT, date(2026, 11, 23))
    appt = parse_code(make_code("AB12", datetime(2026, 11, 23, 10), "rs-card"), TZ)
    request = IssueRequest(
        "rs-card", who, green_reason(who, staff, 65), appt if with_appointment else None
    )
    cmd = request.command()
    assert command_errors(cmd) is None
    validate("hall/demo-hall/dev/kiosk-1/cmd", cmd)
    text = json.dumps(cmd, ensure_ascii=False)
    assert card.id_number not in text and card.name not in text
    if with_appointment:
        assert "priority_reason" not in cmd and cmd["appointment"]["ref"] == "AB12"
    else:
        assert cmd.get("priority_reason") == (staff or ("elderly" if birth < "1961" else None))


def _catalog_payload():
    from kiosk.engine.service import EngineService

    class Recorder:  # the engine service's publishing side, captured
        def __init__(self):
            self.published = {}

        def publish(self, topic, payload, **_kw):
            self.published[topic] = payload

    engine = type("E", (), {})()
    engine.config = load_hall_config(DEMO)
    engine.clock = type("C", (), {"now": staticmethod(lambda: NOW)})()
    engine.lock = threading.RLock()
    recorder = Recorder()
    EngineService(engine, recorder).publish_catalog()  # type: ignore[arg-type]
    return recorder.published["hall/demo-hall/catalog"]


def test_catalog_from_the_engine_payload():
    catalog = parse_catalog(_catalog_payload())
    assert catalog.hall_name == "示范街道为民服务中心" and catalog.issuing
    assert [c.id for c in catalog.categories] == ["A", "B", "C", "D"]
    assert catalog.category("D").title("en") == "Housing fund"
    birth = catalog.item("hj-birth")
    assert birth.requires_id and birth.materials[0] == "出生医学证明原件"
    assert [i.id for i in catalog.common_items(())] == [
        "hj-birth",
        "rs-unemploy",
        "mz-dibao",
        "gjj-query",
    ]
    assert [i.id for i in catalog.common_items(("rs-card", "nope"))] == ["rs-card"]
    assert catalog.hours_text() == "周一至周五 09:00-12:00 13:00-17:00"
    lines = guide_lines(catalog.item("hj-residence"))
    assert "办理时限：承诺10个工作日办结（法定15个工作日）" in lines
    assert "  3. 居住证明（租赁合同或房产证）" in lines
    loads = parse_board({"queues": [{"id": "A", "name": "x", "waiting": 4, "est_wait_min": 9}]})
    assert loads["A"].waiting == 4 and loads["A"].est_wait_min == 9


def test_ticket_from_the_engine_answer_prints():
    catalog = parse_catalog(_catalog_payload())
    result = {
        "ticket": {
            "id": "t-1",
            "code": "A012",
            "queue": "A",
            "item": "hj-birth",
            "status": "waiting",
            "priority": "green",
            "priority_reason": "elderly",
            "issued_at": "2026-11-23T09:31:00+08:00",
            "window": None,
            "call_count": 0,
            "masked_name": "张*",
        },
        "ahead": 3,
        "est_wait_min": 12,
        "follow_url": "http://hall.local/t/Zm9sbG93LXRoZS1xdWV1ZQ",
    }
    ticket = issued_from_result(result, catalog, now=NOW)
    assert ticket.qr_url == "http://hall.local/t/Zm9sbG93LXRoZS1xdWV1ZQ"  # the engine's URL
    assert "Zm9sbG93" not in repr(ticket)  # the token stays out of log lines
    assert ticket.priority_label == "绿色通道 老年人"
    data = build_ticket(ticket_data(ticket), "80mm")
    for text in (
        "A012",
        "婚生子女出生申报",
        "户籍业务",
        "张*",
        "前面等候：3 人",
        "绿色通道 老年人",
    ):
        assert text.encode("gb18030") in data, text
    assert b"http://hall.local/t/Zm9sbG93LXRoZS1xdWV1ZQ" in data  # in the QR


def test_an_answer_without_follow_url_prints_no_qr(caplog):
    """An engine older than #13 sends no follow_url: no QR rather than a dead address."""
    assert follow_url({"ticket": {}}) == ""
    assert follow_url({"follow_url": "javascript:alert(1)"}) == ""
    assert "no follow_url" in caplog.text
    catalog = parse_catalog(_catalog_payload())
    result = {
        "ticket": {
            "id": "t-2",
            "code": "A013",
            "queue": "A",
            "item": "hj-birth",
            "issued_at": "2026-11-23T09:31:00+08:00",
        },
        "ahead": 0,
        "est_wait_min": 0,
    }
    ticket = issued_from_result(result, catalog, now=NOW)
    assert ticket.qr_url == ""
    from drivers.printer.stream import iter_ops

    ops = iter_ops(build_ticket(ticket_data(ticket), "80mm"))
    assert not any(op.name == "qr" for op in ops)


# -- refusals ---------------------------------------------------------------------------------


CITIZEN_CODES = [
    c
    for c in MESSAGES_ZH
    if c
    not in (
        "unknown_window",
        "unknown_clerk",
        "window_closed",
        "window_paused",
        "window_busy",
        "no_current",
        "no_waiting",
        "recall_cooldown",
        "requeue_limit",
    )
]


@pytest.mark.parametrize("code", sorted(set(CITIZEN_CODES) | set(REFUSALS)))
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_refusal_says_what_to_do_next(code, lang):
    data = {
        "next_open": "2026-11-24T09:00:00+08:00",
        "limit": 3,
        "start": datetime(2026, 11, 23, 11, 0, tzinfo=TZ),
        "opens": datetime(2026, 11, 23, 10, 30, tzinfo=TZ),
    }
    _refusal, title, next_step = describe(
        code,
        data,
        lang=lang,
        hours="周一至周五 09:00-17:00",
        engine_message_zh=MESSAGES_ZH.get(code, ""),
        now=NOW,
    )
    assert title and next_step and "{" not in next_step
    if lang == "zh":
        assert any(w in next_step for w in ("请", "可以", "即可")), next_step


def test_outside_hours_message_names_the_next_opening():
    _r, title, next_step = describe(
        "outside_hours",
        {"next_open": "2026-11-24T09:00:00+08:00"},
        hours="周一至周五 09:00-12:00",
        now=NOW,
    )
    assert title == "现在不是取号时间"
    assert "下次取号时间：11月24日 09:00" in next_step and "周一至周五 09:00-12:00" in next_step


# -- settings, health, voice -----------------------------------------------------------------


def test_settings_file(tmp_path):
    salt = tmp_path / "salt"
    salt.write_bytes(b"a-very-secret-salt")
    path = tmp_path / "kiosk.yaml"
    path.write_text(
        f"kiosk:\n  elderly_age: 70\n  common_items: [rs-card]\n"
        f"  salt_file: {salt}\n  idle_timeout_s: 30\n",
        encoding="utf-8",
    )
    s = load_settings(path)
    assert (s.elderly_age, s.common_items, s.salt, s.idle_timeout_s) == (
        70,
        ("rs-card",),
        b"a-very-secret-salt",
        30.0,
    )
    path.write_text("elderly_agee: 70\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="did you mean 'elderly_age'"):
        load_settings(path)
    path.write_text("staff_pin: '1234'\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="never kept in plain"):
        load_settings(path)


def test_health_file_and_hooks(tmp_path):
    seen = []
    board = HealthBoard("kiosk-9", tmp_path / "run" / "status.json", now=lambda: NOW)
    board.hooks.append(lambda *a: seen.append(a))
    board.report("printer", "ok")
    board.report("printer", "paper_out", "load paper")
    board.report("printer", "paper_out", "load paper")  # no change: no second hook call
    board.set_unprinted(["D001"])
    data = json.loads((tmp_path / "run" / "status.json").read_text(encoding="utf-8"))
    assert data["ok"] is False and data["unprinted_tickets"] == ["D001"]
    assert data["parts"]["printer"]["state"] == "paper_out"
    assert seen == [("printer", "ok", ""), ("printer", "paper_out", "load paper")]
    assert board.problems() == {"printer": "paper_out"}


def test_health_reaches_the_sync_agents_heartbeat_table(tmp_path):
    import sqlite3

    from kiosk.health import sync_health_hook
    from sync import health as sync_health

    board = HealthBoard("kiosk-1")
    board.hooks.append(sync_health_hook(tmp_path / "device.db"))
    board.report("printer", "paper_out", "load paper")
    board.report("idcard", "offline", "cable")
    conn = sqlite3.connect(tmp_path / "device.db")
    states = sync_health.statuses(conn)
    conn.close()
    assert states["printer"]["status"] == "paper_out"
    assert states["reader"]["status"] == "offline"


def test_voice_adapter_never_stops_the_kiosk():
    played = []

    def player(clip):
        played.append(clip)
        if clip == "boom":
            raise OSError("no sound card")

    voice = VoicePrompts(player)
    voice.say("welcome")
    voice.say("boom")
    voice.say("take_ticket")  # silently skipped after the failure
    assert played == ["welcome", "boom"]
    assert voice.history == ["welcome", "boom", "take_ticket"]
    silent = default_prompts(enabled=False)
    silent.say("welcome")
    assert silent.history == ["welcome"]


def test_the_kiosks_item_keeps_the_engines_fields_and_defaults():
    """The catalogue's item is the engine's config item without the schema (so the kiosk
    paints before pydantic loads): each of its fields is the engine's, with its default,
    so an item the catalogue leaves a field out of reads as the hall config meant."""
    import dataclasses

    from kiosk.catalog import Item as KioskItem
    from kiosk.engine.config import Item as ConfigItem

    engine = {f.name: f for f in dataclasses.fields(ConfigItem)}
    for f in dataclasses.fields(KioskItem):
        if f.name == "location_en":  # derived by the engine, not configured
            continue
        assert f.name in engine, f.name
        assert f.default == engine[f.name].default, f.name
