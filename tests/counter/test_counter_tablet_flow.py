"""The tablet evaluator's rules without Qt (#14): the case to confirm, 有误, the five
levels, reasons and the phone after a bad rating, the comment, thanks, time limits,
one rating per case, and an engine from before cases."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from counter.evaluator_flow import PHRASES_BAD, PHRASES_GOOD, EvaluatorFlow, clean_comment
from counter.ratings_store import RatingsStore
from counter.settings import EvaluatorSettings
from hall.core.clock import FakeClock

START = datetime(2026, 11, 23, 9, 30)
CATALOG = {
    "hall": "demo-hall",
    "items": [{"id": "hj-birth", "name": "出生登记", "queue": "A"}],
    "staff": [
        {
            "id": "1001",
            "name": "王晓燕",
            "staff_no": "1001",
            "department": "综合受理",
            "photo": "assets/staff/1001.png",
            "phone": "0755-12345678",
        }
    ],
    "haochaping": {"reasons": ["服务态度差", "办事效率低", "其他"], "tablet_comment": True},
}


class Tablet:
    def __init__(self, tmp_path, catalog=CATALOG, **settings) -> None:
        self.clock = FakeClock(START)
        self.store = RatingsStore(tmp_path / "tablet.db")
        self.pages: list[str] = []
        self.sent = 0
        self.flow = EvaluatorFlow(
            "1",
            self.store,
            settings=EvaluatorSettings(**settings),
            clock=self.clock,
            mode="tablet",
            send=self._send,
            on_page=self.pages.append,
        )
        if catalog is not None:
            self.flow.apply_catalog(catalog)

    def _send(self) -> None:
        self.sent += 1

    def cases(self, *cases, ago_s=0.0, live=True) -> None:
        """A window state whose to_rate holds ``cases`` as (case_id, ticket_id, code)."""
        at = (self.clock.now() - timedelta(seconds=ago_s)).isoformat()
        to_rate = [
            {
                "case_id": case,
                "ticket_id": ticket,
                "code": code,
                "item": "hj-birth",
                "item_name": "出生登记",
                "case_no": f"BJ{case}",
                "finished_at": at,
            }
            for case, ticket, code in cases
        ]
        state = {
            "window": "1",
            "name": "1号窗口",
            "status": "idle",
            "clerk": {"id": "1001", "name": "王晓燕", "staff_no": "1001"},
            "to_rate": to_rate,
            "last_finished": {"ticket_id": "legacy", "code": "A009"},
        }
        self.flow.apply_state(state, live=live)

    def rows(self) -> list[dict]:
        rows = self.store._conn.execute(
            "SELECT case_id, ticket_id, channel, level, reasons, contact, comment, state "
            "FROM ratings ORDER BY seq"
        ).fetchall()
        return [dict(r) for r in rows]

    def wait(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.flow.tick()


@pytest.fixture
def tab(tmp_path):
    t = Tablet(tmp_path)
    yield t
    t.store.close()


def test_the_case_is_shown_to_confirm_with_the_clerk_from_the_catalogue(tab):
    tab.cases(("c1", "t1", "A001"))
    assert tab.flow.page == "confirm"
    view = tab.flow.confirm_view()
    assert (view.item_name, view.case_no, view.code, view.window) == (
        "出生登记",
        "BJc1",
        "A001",
        "1号窗口",
    )
    assert (view.clerk_name, view.staff_text, view.department, view.photo) == (
        "王晓燕",
        "工号 1001",
        "综合受理",
        "assets/staff/1001.png",
    )
    tab.flow.rate(1)  # no level before 确认
    assert tab.rows() == [] and tab.flow.ignored_presses == 1
    tab.flow.confirm()
    assert tab.flow.page == "prompt"


def test_a_good_rating_then_a_comment_from_phrases_then_thanks(tab):
    tab.cases(("c1", "t1", "A001"))
    tab.flow.confirm()
    tab.flow.rate(2)
    assert tab.flow.page == "comment"
    assert [r["state"] for r in tab.rows()] == ["draft"] and tab.sent == 0  # durable already
    assert tab.flow.phrases == PHRASES_GOOD
    tab.flow.add_phrase("办事效率高")
    tab.flow.add_phrase("办事效率高")  # once
    tab.flow.add_phrase("服务热情周到")
    tab.flow.add_phrase("不是预设的")  # not a preset: ignored
    assert tab.flow.comment_text == "办事效率高，服务热情周到"
    tab.flow.submit_comment()
    assert tab.flow.page == "thanks" and tab.flow.thanks_info == "您的评价：满意"
    (row,) = tab.rows()
    assert row == {
        "case_id": "c1",
        "ticket_id": "t1",
        "channel": "tablet",
        "level": 2,
        "reasons": "[]",
        "contact": None,
        "comment": "办事效率高，服务热情周到",
        "state": "pending",
    }
    assert tab.sent == 1
    rating = tab.store.pending()[0]
    assert rating.command()["rating"] == {
        "rating_id": rating.rating_id,
        "ticket_id": "t1",
        "case_id": "c1",
        "channel": "tablet",
        "comment": "办事效率高，服务热情周到",
        "level": 2,
        "reasons": [],
        "contact": None,
        "rated_at": "2026-11-23T09:30:00+08:00",
    }


def test_a_bad_rating_asks_the_catalogues_reasons_and_a_phone_then_a_comment(tab):
    tab.cases(("c1", "t1", "A001"))
    tab.flow.confirm()
    tab.flow.rate(5)
    assert tab.flow.page == "reasons"
    assert tab.flow.reasons == ("服务态度差", "办事效率低", "其他")
    tab.flow.choose_reason("其他")
    tab.flow.choose_reason("服务态度差")
    tab.flow.choose_reason("等候时间太长")  # the settings' list is not the tablet's
    for key in "13812345678":
        tab.flow.phone_key(key)
    assert tab.flow.phone_text == "138****5678（11位）"
    tab.flow.submit_reasons()
    assert tab.flow.page == "comment" and tab.flow.phrases == PHRASES_BAD
    tab.flow.set_comment("窗口\x00人员  电话 13912345678 态度差\n")
    assert tab.flow.comment_text == "窗口 人员 电话 139****5678 态度差"
    tab.flow.submit_comment()
    assert tab.flow.page == "thanks" and tab.flow.thanks_info == "您的评价：非常不满意"
    (row,) = tab.rows()
    assert json.loads(row["reasons"]) == ["服务态度差", "其他"]
    assert (row["contact"], row["comment"], row["level"]) == (
        "13812345678",
        "窗口 人员 电话 139****5678 态度差",
        5,
    )


def test_a_comment_is_at_most_200_characters():
    assert len(clean_comment("好" * 500)) == 200


def test_wrong_records_nothing_and_the_case_is_not_asked_again(tab):
    tab.cases(("c1", "t1", "A001"))
    tab.flow.wrong()
    assert tab.flow.page == "thanks"
    assert (tab.flow.thanks_title, tab.flow.thanks_info) == (
        "感谢您的反馈",
        "信息有误，请向窗口工作人员说明",
    )
    tab.wait(3)
    assert tab.flow.page == "idle"
    tab.cases(("c1", "t1", "A001"))
    assert tab.flow.page == "idle" and tab.rows() == [] and tab.sent == 0


def test_time_limits_on_each_page(tab):
    tab.cases(("c1", "t1", "A001"))
    tab.wait(30)  # nobody confirms: unrated, no thanks
    assert tab.pages == ["confirm", "idle"]
    assert [(r["case_id"], r["level"]) for r in tab.rows()] == [("c1", None)]

    tab.cases(("c2", "t2", "A002"))
    tab.flow.confirm()
    tab.wait(29)
    tab.flow.rate(4)
    tab.flow.choose_reason("办事效率低")
    tab.wait(60)  # gone on the reasons page: what was chosen is kept, no comment asked
    assert tab.flow.page == "thanks"
    assert tab.rows()[-1]["reasons"] == '["办事效率低"]' and tab.rows()[-1]["state"] == "pending"

    tab.wait(3)
    tab.cases(("c3", "t3", "A003"))
    tab.flow.confirm()
    tab.flow.rate(1)
    tab.flow.set_comment("很好")
    tab.wait(59)
    tab.flow.add_phrase("办事效率高")  # typing keeps the page
    tab.wait(59)
    assert tab.flow.page == "comment"
    tab.wait(1)  # gone on the comment page: what was typed is kept
    assert tab.flow.page == "thanks"
    assert tab.rows()[-1]["comment"] == "很好，办事效率高"


def test_two_cases_of_one_ticket_get_two_ratings_one_after_the_other(tab):
    tab.cases(("c1", "t1", "A001"), ("c2", "t1", "A001"))
    assert tab.flow.prompt_ticket["case_id"] == "c1"
    tab.flow.confirm()
    tab.flow.rate(1)
    tab.flow.skip_comment()
    tab.cases(("c2", "t1", "A001"))  # the engine has c1: c2 waits for 谢谢
    assert tab.flow.page == "thanks"
    tab.wait(3)
    assert tab.flow.page == "confirm" and tab.flow.prompt_ticket["case_id"] == "c2"
    tab.flow.confirm()
    tab.flow.rate(3)
    tab.flow.skip_comment()
    assert [(r["case_id"], r["level"]) for r in tab.rows()] == [("c1", 1), ("c2", 3)]
    tab.wait(3)
    tab.cases(("c1", "t1", "A001"), ("c2", "t1", "A001"))  # not acknowledged yet: not again
    assert tab.flow.page == "idle" and len(tab.rows()) == 2


def test_a_newer_ticket_leaves_the_older_case_unrated(tab):
    tab.cases(("c1", "t1", "A001"))
    tab.cases(("c1", "t1", "A001"), ("c2", "t2", "A002"))
    assert tab.flow.prompt_ticket["case_id"] == "c2"
    assert [(r["case_id"], r["level"]) for r in tab.rows()] == [("c1", None)]


def test_a_retained_case_is_asked_only_while_fresh(tab):
    tab.cases(("old", "t1", "A001"), ago_s=121, live=False)
    assert tab.flow.page == "idle" and tab.rows() == []
    tab.cases(("new", "t2", "A002"), ago_s=60, live=False)
    assert tab.flow.page == "confirm"


def test_an_engine_before_cases_rates_the_ticket_without_a_comment(tmp_path):
    t = Tablet(tmp_path, catalog=None)
    t.flow.apply_state(
        {
            "window": "1",
            "status": "idle",
            "clerk": {"id": "1001", "name": "王晓燕", "staff_no": "1001", "photo": "p.png"},
            "last_finished": {"ticket_id": "t1", "code": "A001", "item": "hj-birth"},
        }
    )
    view = t.flow.confirm_view()
    assert (view.clerk_name, view.staff_no, view.photo, view.item_name) == (
        "王晓燕",
        "1001",
        "p.png",
        "",
    )
    t.flow.confirm()
    t.flow.rate(2)
    assert t.flow.page == "thanks"  # no comment: that engine could not take it
    rating = t.store.pending()[0]
    assert (rating.case_id, rating.channel) == (None, "tablet")
    assert set(rating.command()["rating"]) == {
        "rating_id",
        "ticket_id",
        "level",
        "reasons",
        "contact",
        "rated_at",
    }
    t.flow.rate(4)
    t.store.close()


def test_the_catalogue_can_turn_the_comment_off_and_hostile_entries_are_ignored(tmp_path):
    catalog = {
        "haochaping": {"reasons": ["", 7, None, {"x": 1}, "窗口" * 40], "tablet_comment": False},
        "staff": "not a list",
        "items": [None, {"id": ["x"]}],
    }
    t = Tablet(tmp_path, catalog=catalog)
    hostile = [None, "c1", {"case_id": 1}, {"case_id": "", "ticket_id": "t"}, {"ticket_id": "t"}]
    t.flow.apply_state({"window": "1", "status": "idle", "to_rate": hostile * 20})
    assert t.flow.page == "idle"
    t.flow.apply_state({"window": "1", "status": "idle", "to_rate": "nope", "last_finished": 3})
    assert t.flow.page == "idle"
    t.cases(("c1", "t1", "A001"))
    assert t.flow.confirm_view().clerk_name == "王晓燕"  # the window state's clerk
    t.flow.confirm()
    t.flow.rate(4)
    assert t.flow.reasons == ("窗口" * 20,)  # bounded; the others were not reasons
    t.flow.skip_reasons()
    assert t.flow.page == "thanks"  # tablet_comment false: no comment page
    t.store.close()
