"""The evaluator's rules without Qt: when to ask, one press per prompt, unrated on
timeout, the reasons page after a bad rating (phone masked), thanks, then idle.

``EvaluatorWindow`` draws what this says and forwards presses, window states and timer
ticks to it.  Time comes from the injected clock (``monotonic`` for the pages' time
limits, ``now`` for the ratings and for judging a retained finish as stale); side
effects are injected: ``send()`` (a rating is ready to deliver), ``speak(clip, text)``,
``on_page(page)`` and ``on_recorded(rating)``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from counter.ratings_store import AlreadyRated, Rating, RatingsStore, RatingsStoreError
from counter.settings import EvaluatorSettings
from counter.texts import RATING_ZH, WindowModel, empty_model, window_model
from hall.core.clock import Clock
from hall.core.privacy import mask_phone

log = logging.getLogger(__name__)

PAGES = ("idle", "prompt", "reasons", "thanks")
PHONE_MAX = 12
PHONE_MIN = 7


@dataclass(frozen=True)
class IdleView:
    """What the idle page shows: the window, the clerk and today's ratings."""

    window: str
    name: str
    staff: str
    summary: str
    clerk: bool  # a clerk is at the window (their photo), else the evaluator's avatar


class EvaluatorFlow:
    def __init__(
        self,
        window_id: str,
        store: RatingsStore,
        *,
        settings: EvaluatorSettings,
        clock: Clock,
        send: Callable[[], None] = lambda: None,
        speak: Callable[[str, str], None] | None = None,
        on_page: Callable[[str], None] = lambda _page: None,
        on_recorded: Callable[[Rating], None] = lambda _rating: None,
    ) -> None:
        self.window_id = window_id
        self.store = store
        self.settings = settings
        self.clock = clock
        self._send = send
        self._speak = speak
        self._on_page = on_page
        self._on_recorded = on_recorded
        self.model: WindowModel = empty_model(window_id)
        self.state: dict[str, Any] | None = None
        self.page = "idle"
        self.deadline: float | None = None  # the page's time limit (monotonic)
        self.prompt_ticket: dict[str, Any] | None = None
        self.prompt_clerk: str | None = None
        self.prompt_info = ""
        self.draft: Rating | None = None
        self.answered = False  # one rating per prompt (key storms, double taps)
        self.ignored_presses = 0
        self.phone_digits = ""
        self.chosen_reasons: list[str] = []
        self.reasons_error = ""
        self.thanks_title = "谢谢您的评价！"
        self.thanks_info = ""
        self._skipped: set[str] = set()

    # ------------------------------------------------------------------ pages, time

    def _go(self, page: str) -> None:
        assert page in PAGES
        self.page = page
        if page == "idle":
            self.prompt_ticket = None
            self.draft = None
        self._restart()
        self._on_page(page)

    def _restart(self) -> None:
        limit = {
            "prompt": self.settings.prompt_timeout_s,
            "reasons": self.settings.reasons_timeout_s,
            "thanks": self.settings.thanks_s,
        }.get(self.page)
        self.deadline = None if limit is None else self.clock.monotonic() + limit

    def time_left(self) -> float | None:
        """Seconds until the page's time is up, or None (idle has no limit)."""
        if self.deadline is None:
            return None
        return max(0.0, self.deadline - self.clock.monotonic())

    def tick(self) -> None:
        """Time passed: a prompt nobody answered is unrated, reasons are kept as chosen,
        thanks go back to idle."""
        if self.deadline is None or self.clock.monotonic() < self.deadline:
            return
        self.deadline = None
        if self.page == "prompt":
            if not self.answered:
                self._record_unrated()  # never a default level
            self._go("idle")
        elif self.page == "reasons":
            self.submit_reasons(timed_out=True)
        elif self.page == "thanks":
            self._go("idle")

    def idle_view(self) -> IdleView:
        m = self.model
        window = f"{m.name}  {m.department}".strip()
        if m.clerk_name or m.staff_no:
            s = self.store.summary(self._clerk_id(), self.clock.now().date().isoformat())
            if s["count"]:
                pct = f" · 满意率 {s['satisfied_pct']}%" if s["satisfied_pct"] is not None else ""
                summary = f"今日评价 {s['count']} 次{pct}"
            else:
                summary = "今日暂无评价"
            return IdleView(window, m.clerk_name, f"工号 {m.staff_no}", summary, True)
        return IdleView(window, "窗口暂未开放" if m.status == "closed" else "", "", "", False)

    def _clerk_id(self) -> str | None:
        clerk = (self.state or {}).get("clerk")
        return str(clerk["id"]) if isinstance(clerk, dict) and clerk.get("id") else None

    # ------------------------------------------------------------------ window state

    def apply_state(self, state: Mapping[str, Any], *, live: bool = True) -> None:
        """The window's state: a newly finished ticket this device has not rated is asked
        for; a retained one (``live=False``) only if it finished recently."""
        self.state = dict(state)
        self.model = window_model(state)
        finished = state.get("last_finished")
        if isinstance(finished, dict) and finished.get("ticket_id"):
            self._consider(finished, live=live)

    def _consider(self, finished: Mapping[str, Any], *, live: bool) -> None:
        ticket_id = str(finished["ticket_id"])
        if self.prompt_ticket and self.prompt_ticket["ticket_id"] == ticket_id:
            return
        if ticket_id in self._skipped or self.store.has_ticket(ticket_id):
            return
        if not live and self._stale(finished):
            self._skipped.add(ticket_id)  # finished long before this evaluator started
            return
        self._close_current_prompt()
        self.prompt(finished)

    def _stale(self, finished: Mapping[str, Any]) -> bool:
        try:
            at = datetime.fromisoformat(str(finished.get("finished_at")))
            now = self.clock.now()
            if at.tzinfo is None:
                at = at.replace(tzinfo=now.tzinfo)
            return (now - at).total_seconds() > self.settings.stale_after_s
        except (TypeError, ValueError):
            return True

    def _close_current_prompt(self) -> None:
        """A new citizen finished before the last one answered."""
        if self.page == "prompt" and not self.answered:
            self._record_unrated()
        elif self.page == "reasons":
            self.submit_reasons(show_thanks=False)

    # ------------------------------------------------------------------ rating

    def prompt(self, finished: Mapping[str, Any]) -> None:
        """Ask for a rating of ``finished`` (a window state's ``last_finished``)."""
        self.prompt_ticket = dict(finished)
        self.prompt_clerk = finished.get("clerk") or self._clerk_id()
        self.answered = False
        self.ignored_presses = 0
        m = self.model
        who = f"{m.clerk_name}（工号 {m.staff_no}）" if m.clerk_name else m.name
        self.prompt_info = f"{finished.get('code', '')} 号 · {m.name} · {who}"
        self._go("prompt")
        if self._speak is not None:
            self._speak("please_rate", "请对本次服务进行评价")

    def rate(self, level: int) -> None:
        """A press of level 1..5 (button or USB key); only the first per prompt counts."""
        if self.page != "prompt" or self.answered or self.prompt_ticket is None:
            self.ignored_presses += 1
            log.debug("rating press %d ignored on page %s", level, self.page)
            return
        self.answered = True
        rating = self._rating(level)
        ask = level >= 4 and (self.settings.ask_reasons or self.settings.ask_contact)
        if not self._commit(rating, draft=ask):
            return
        if ask:
            self.draft = rating
            self._open_reasons()
        else:
            self._thanks(level)

    def _rating(self, level: int | None) -> Rating:
        assert self.prompt_ticket is not None
        return Rating(
            rating_id=str(uuid.uuid4()),
            ticket_id=str(self.prompt_ticket["ticket_id"]),
            window_id=self.window_id,
            level=level,
            rated_at=self.clock.now().isoformat(timespec="seconds"),
            code=self.prompt_ticket.get("code"),
            clerk_id=self.prompt_clerk,
        )

    def _commit(self, rating: Rating, *, draft: bool = False) -> bool:
        """Durably store the rating; False (and an error on screen) if that failed."""
        try:
            self.store.record(rating, draft=draft)
        except AlreadyRated:
            log.info("ticket %s was rated on this device already", rating.ticket_id)
            self._go("idle")
            return False
        except RatingsStoreError as exc:
            log.error("%s", exc)
            self.thanks_title = "评价未能保存"
            self.thanks_info = exc.user_message
            self._go("thanks")
            return False
        log.info(
            "rating %s recorded: ticket %s level %s", rating.rating_id, rating.code, rating.level
        )
        self._on_recorded(rating)
        if not draft:
            self._send()
        return True

    def _record_unrated(self) -> None:
        if self.prompt_ticket is None:
            return
        self.answered = True
        self._commit(self._rating(None))

    def _thanks(self, level: int | None) -> None:
        self.thanks_title = "谢谢您的评价！"
        self.thanks_info = f"您的评价：{RATING_ZH[level]}" if level else ""
        self._go("thanks")
        if self._speak is not None:
            self._speak("thanks", "谢谢您的评价")

    # ------------------------------------------------------------------ reasons, phone

    def _open_reasons(self) -> None:
        self.chosen_reasons = []
        self.phone_digits = ""
        self.reasons_error = ""
        self._go("reasons")

    def choose_reason(self, reason: str, chosen: bool = True) -> None:
        """A reason ticked (or unticked); kept in the settings' order."""
        if self.page != "reasons" or reason not in self.settings.reasons:
            return
        picked = set(self.chosen_reasons) - {reason} | ({reason} if chosen else set())
        self.chosen_reasons = [r for r in self.settings.reasons if r in picked]

    def phone_key(self, key: str) -> None:
        """The phone pad: a digit, 删除 (the last digit) or 清空 (all)."""
        if key == "删除":
            self.phone_digits = self.phone_digits[:-1]
        elif key == "清空":
            self.phone_digits = ""
        elif key.isdigit() and len(self.phone_digits) < PHONE_MAX:
            self.phone_digits += key
        self.reasons_error = ""
        if self.page == "reasons":
            self._restart()  # still typing: keep the page

    @property
    def phone_text(self) -> str:
        """The phone as shown: masked, with its length."""
        d = self.phone_digits
        return f"{mask_phone(d)}（{len(d)}位）" if d else "未填写"

    def submit_reasons(self, *, show_thanks: bool = True, timed_out: bool = False) -> None:
        """Keep the reasons and the phone (also on timeout: the level stays as pressed)."""
        if self.page != "reasons" or self.draft is None:
            return
        contact: str | None = self.phone_digits or None
        if contact and not PHONE_MIN <= len(contact) <= PHONE_MAX:
            if show_thanks and not timed_out:
                self.reasons_error = "号码位数不对，请检查或清空后提交"
                return
            contact = None  # timed out with half a number: keep the rating, drop the number
        self._finish_draft(self.chosen_reasons, contact, show_thanks=show_thanks)

    def skip_reasons(self) -> None:
        if self.page == "reasons" and self.draft is not None:
            self._finish_draft([], None, show_thanks=True)

    def _finish_draft(self, reasons: list[str], contact: str | None, *, show_thanks: bool) -> None:
        draft = self.draft
        assert draft is not None
        try:
            self.store.complete(draft.rating_id, reasons=list(reasons), contact=contact)
        except RatingsStoreError as exc:
            log.error("%s", exc)
        self.draft = None
        self._send()
        log.info(
            "rating %s: %d reasons, contact %s",
            draft.rating_id,
            len(reasons),
            "given" if contact else "none",
        )
        if show_thanks:
            self._thanks(draft.level)
