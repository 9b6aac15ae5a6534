"""The evaluator's rules without Qt: one press per prompt, stale prompts, unrated on
timeout, rated, the reasons page with a masked phone, thanks then idle."""

from __future__ import annotations

from datetime import datetime

import pytest

from counter.evaluator_flow import EvaluatorFlow
from counter.ratings_store import RatingsStore
from counter.settings import EvaluatorSettings
from hall.core.clock import FakeClock

START = datetime(2026, 11, 23, 9, 30)


class Evaluator:
    def __init__(self, tmp_path, **settings) -> None:
        self.clock = FakeClock(START)
        self.store = RatingsStore(tmp_path / "evaluator.db")
        self.pages: list[str] = []
        self.said: list[str] = []
        self.sent = 0
        self.flow = EvaluatorFlow(
            "1",
            self.store,
            settings=EvaluatorSettings(**settings),
            clock=self.clock,
            send=self._send,
            speak=lambda _clip, text: self.said.append(text),
            on_page=self.pages.append,
        )

    def _send(self) -> None:
        self.sent += 1

    def finish(self, ticket="t1", code="A001", *, ago_s=0.0, live=True) -> None:
        at = self.clock.now().timestamp() - ago_s
        finished = {
            "ticket_id": ticket,
            "code": code,
            "finished_at": datetime.fromtimestamp(at, self.clock.now().tzinfo).isoformat(),
        }
        state = {
            "window": "1",
            "status": "idle",
            "clerk": {"id": "1001", "name": "王晓燕", "staff_no": "1001"},
            "last_finished": finished,
        }
        self.flow.apply_state(state, live=live)

    def levels(self) -> dict[str, int | None]:
        rows = self.store._conn.execute("SELECT ticket_id, level FROM ratings").fetchall()
        return {r[0]: r[1] for r in rows}

    def wait(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.flow.tick()


@pytest.fixture
def ev(tmp_path):
    e = Evaluator(tmp_path)
    yield e
    e.store.close()


def test_a_finished_ticket_is_asked_for_once_and_one_press_counts(ev):
    ev.finish()
    assert ev.flow.page == "prompt" and ev.said == ["请对本次服务进行评价"]
    assert ev.flow.prompt_info == "A001 号 · 1号窗口 · 王晓燕（工号 1001）"
    ev.finish()  # the same state again: no second prompt
    assert ev.pages == ["prompt"]
    for level in (2, 1, 5, 3):
        ev.flow.rate(level)
    assert ev.levels() == {"t1": 2} and ev.flow.ignored_presses == 3
    assert ev.flow.page == "thanks" and ev.flow.thanks_info == "您的评价：满意"
    assert ev.said[-1] == "谢谢您的评价" and ev.sent == 1
    ev.finish()  # rated already: never asked again
    assert ev.pages == ["prompt", "thanks"]


def test_thanks_then_idle_with_todays_ratings(ev):
    ev.finish()
    ev.flow.rate(1)
    ev.wait(2.9)
    assert ev.flow.page == "thanks"
    ev.wait(0.1)
    assert ev.flow.page == "idle" and ev.flow.prompt_ticket is None
    idle = ev.flow.idle_view()
    assert (idle.name, idle.staff) == ("王晓燕", "工号 1001")
    assert idle.summary == "今日评价 1 次 · 满意率 100%"


def test_nobody_presses_so_the_ticket_is_unrated(ev):
    ev.finish()
    ev.wait(29)
    assert ev.flow.page == "prompt"
    ev.wait(1)
    assert ev.pages == ["prompt", "idle"]  # no thanks for nobody
    assert ev.levels() == {"t1": None} and ev.sent == 1
    ev.flow.rate(1)  # too late
    assert ev.levels() == {"t1": None}


def test_a_second_finish_leaves_the_first_unrated(ev):
    ev.finish("t1", "A001")
    ev.finish("t2", "A002")
    assert ev.flow.prompt_ticket["code"] == "A002"
    ev.flow.rate(3)
    assert ev.levels() == {"t1": None, "t2": 3}


def test_a_retained_finish_is_asked_only_while_fresh(ev):
    ev.finish("old", ago_s=121, live=False)  # the citizen has long gone
    assert ev.flow.page == "idle" and ev.levels() == {}
    ev.finish("old", ago_s=121, live=False)
    assert ev.pages == []
    ev.finish("fresh", ago_s=60, live=False)
    assert ev.flow.page == "prompt" and ev.flow.prompt_ticket["ticket_id"] == "fresh"


def test_a_bad_rating_asks_reasons_and_a_masked_phone(ev):
    ev.finish()
    ev.flow.rate(4)
    assert ev.flow.page == "reasons"
    assert ev.store.counts() == {"draft": 1} and ev.sent == 0  # durable, not sent yet
    ev.flow.choose_reason("告知不清楚")
    ev.flow.choose_reason("等候时间太长")
    ev.flow.choose_reason("系统故障")
    ev.flow.choose_reason("系统故障", False)
    assert ev.flow.phone_text == "未填写"
    for key in "138123456789":
        ev.flow.phone_key(key)
    ev.flow.phone_key("删除")
    assert ev.flow.phone_text == "138****5678（11位）"
    assert "13812345678" not in ev.flow.phone_text
    ev.flow.submit_reasons()
    assert ev.flow.page == "thanks" and ev.flow.thanks_info == "您的评价：不满意"
    row = ev.store._conn.execute("SELECT level, reasons, contact FROM ratings").fetchone()
    assert tuple(row) == (4, '["等候时间太长", "告知不清楚"]', "13812345678")
    assert ev.sent == 1


def test_half_a_phone_number_is_refused_but_dropped_on_timeout(ev):
    ev.finish()
    ev.flow.rate(5)
    for key in "138":
        ev.flow.phone_key(key)
    ev.flow.submit_reasons()
    assert ev.flow.page == "reasons"
    assert ev.flow.reasons_error == "号码位数不对，请检查或清空后提交"
    ev.wait(59)
    ev.flow.phone_key("清空")  # typing keeps the page
    ev.flow.phone_key("1")
    ev.wait(59)
    assert ev.flow.page == "reasons" and ev.flow.reasons_error == ""
    ev.wait(1)
    assert ev.flow.page == "thanks"
    row = ev.store._conn.execute("SELECT level, contact FROM ratings").fetchone()
    assert tuple(row) == (5, None)  # the level stays as pressed


def test_skipping_reasons_keeps_the_level(ev):
    ev.finish()
    ev.flow.rate(4)
    ev.flow.skip_reasons()
    assert ev.flow.page == "thanks" and ev.levels() == {"t1": 4}


def test_without_reasons_or_phone_a_bad_rating_thanks_at_once(tmp_path):
    e = Evaluator(tmp_path, ask_reasons=False, ask_contact=False)
    e.finish()
    e.flow.rate(5)
    assert e.flow.page == "thanks" and e.flow.thanks_info == "您的评价：非常不满意"
    e.store.close()


def cases_state(*cases):
    return {
        "window": "1",
        "status": "idle",
        "clerk": {"id": "1001", "name": "王晓燕", "staff_no": "1001"},
        "to_rate": [
            {"case_id": c, "ticket_id": t, "code": "A001", "finished_at": START.isoformat()}
            for c, t in cases
        ],
        "last_finished": {"ticket_id": "t1", "code": "A001", "finished_at": START.isoformat()},
    }


def test_with_cases_the_button_evaluator_rates_each_case_with_its_id(ev):
    ev.flow.apply_state(cases_state(("c1", "t1"), ("c2", "t1")))
    assert ev.flow.page == "prompt" and ev.flow.prompt_ticket["case_id"] == "c1"
    ev.flow.rate(1)
    ev.wait(3)  # thanks, then the same citizen's second case
    assert ev.flow.page == "prompt" and ev.flow.prompt_ticket["case_id"] == "c2"
    ev.flow.rate(2)
    rows = ev.store._conn.execute("SELECT case_id, channel, level, comment FROM ratings").fetchall()
    assert [tuple(r) for r in rows] == [("c1", "evaluator", 1, ""), ("c2", "evaluator", 2, "")]
    cmd = ev.store.pending()[0].command()["rating"]
    assert (cmd["case_id"], cmd["channel"]) == ("c1", "evaluator") and "comment" not in cmd


def test_an_empty_to_rate_asks_nothing_even_with_a_last_finished(ev):
    ev.flow.apply_state(cases_state())
    assert ev.flow.page == "idle" and ev.pages == []
