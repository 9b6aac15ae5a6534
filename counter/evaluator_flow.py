"""The evaluator's rules without Qt: when to ask, one press per prompt, unrated on
timeout, the reasons page after a bad rating (phone masked), thanks, then idle; and
the tablet evaluator's (``mode="tablet"``, 互动式确认、事项公开、服务质量评价).

``EvaluatorWindow`` (and the tablet's ``TabletWindow``) draw what this says and
forward presses, window states, the catalogue and timer ticks to it.  Time comes
from the injected clock (``monotonic`` for the pages' time limits, ``now`` for the
ratings and for judging a retained finish as stale); side effects are injected:
``send()`` (a rating is ready to deliver), ``speak(clip, text)``, ``on_page(page)``
and ``on_recorded(rating)``.

What is rated (一次一评、一事一评).  An engine with cases publishes ``to_rate`` in
the window state (the window's cases finished in the last 10 minutes and not rated,
oldest first): the evaluator asks for the oldest case of the *newest* ticket there
that this device has not rated, so the two cases of one citizen are asked one after
the other, and a case of a citizen who has left (a newer ticket finished meanwhile)
is not asked for any more: the one on screen is recorded unrated, as a ticket was
before.  Each rating carries its ``case_id`` and the channel (``evaluator`` the
button box, ``tablet`` the touch evaluator).  An engine from before cases has no
``to_rate``: then the ticket of ``last_finished`` is rated, without a case.

The tablet's pages: idle → ``confirm`` (the case: item, 办件编号, the clerk with
工号, department and photo from the catalogue's staff, the window; 确认 / 有误) →
``prompt`` (the five levels) → after 不满意 / 非常不满意 ``reasons`` (multi-select
from the catalogue's ``haochaping.reasons``, else the settings', and the phone
for 回访, masked) → ``comment`` (optional, when the catalogue's
``haochaping.tablet_comment`` is not false and the rating is of a case: an engine
from before cases could not take it) → ``thanks`` → idle.  Time limits: confirm and
prompt as the button evaluator's prompt (then unrated is recorded, never a default
level), reasons and comment as its reasons page (then what was chosen / typed is
kept and the rating sent), thanks as its thanks.

有误 (the citizen says the case shown is not theirs or is wrong) records nothing:
an unrated record would say the citizen declined to rate, and a rating would be of
a case they dispute.  The device does not ask for that case again; a neutral page
asks the citizen to tell the clerk, and the log says which case (no personal data).

The tablet's comment is free text to the platform (writingEvaluation): at most 200
characters, control characters removed, and phone and ID numbers in it masked
(hall.core.privacy) before it is stored: the phone for 回访 has its own field.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from counter.ratings_store import (
    COMMENT_MAX,
    AlreadyRated,
    Rating,
    RatingsStore,
    RatingsStoreError,
)
from counter.settings import EvaluatorSettings
from counter.texts import RATING_ZH, WindowModel, empty_model, window_model
from hall.core.clock import Clock
from hall.core.privacy import mask_phone, redact

log = logging.getLogger(__name__)

PAGES = ("idle", "confirm", "prompt", "reasons", "comment", "thanks")
MODES = ("buttons", "tablet")
PHONE_MAX = 12
PHONE_MIN = 7
TO_RATE_MAX = 50  # entries of a window state's to_rate looked at (a hostile state is bounded)
REASONS_MAX = 20
# The tablet's preset phrases (tapped into the comment field).
PHRASES_GOOD = ("服务热情周到", "办事效率高", "解答耐心细致", "一次就办好了", "环境整洁舒适")
PHRASES_BAD = ("等候时间太长", "希望一次性告知", "材料要求太多", "希望态度更耐心", "指引不清楚")
WRONG_TITLE = "感谢您的反馈"
WRONG_INFO = "信息有误，请向窗口工作人员说明"


@dataclass(frozen=True)
class IdleView:
    """What the idle page shows: the window, the clerk and today's ratings."""

    window: str
    name: str
    staff: str
    summary: str
    clerk: bool  # a clerk is at the window (their photo), else the evaluator's avatar


@dataclass(frozen=True)
class ConfirmView:
    """The tablet's confirm page (事项公开): the case as the citizen should check it."""

    item_name: str  # 事项
    case_no: str  # 办件编号, or ""
    code: str  # the ticket
    window: str  # 3号窗口
    department: str
    clerk_name: str
    staff_no: str
    photo: str  # the catalogue's (or window state's) photo path, or ""

    @property
    def staff_text(self) -> str:
        return f"工号 {self.staff_no}" if self.staff_no else ""


def _text(value: Any, limit: int = 40) -> str:
    """A catalogue / state string for the screen: one line, bounded; else ""."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return ""
    return " ".join(str(value).split())[:limit]


def clean_comment(text: str) -> str:
    """The comment as stored: no control characters, personal numbers masked, <= 200."""
    kept = "".join(ch if ch.isprintable() else " " for ch in str(text))
    return redact(" ".join(kept.split()))[:COMMENT_MAX]


class EvaluatorFlow:
    def __init__(
        self,
        window_id: str,
        store: RatingsStore,
        *,
        settings: EvaluatorSettings,
        clock: Clock,
        mode: str = "buttons",
        send: Callable[[], None] = lambda: None,
        speak: Callable[[str, str], None] | None = None,
        on_page: Callable[[str], None] = lambda _page: None,
        on_recorded: Callable[[Rating], None] = lambda _rating: None,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"evaluator mode must be one of {MODES}, got {mode!r}")
        self.window_id = window_id
        self.store = store
        self.settings = settings
        self.clock = clock
        self.mode = mode
        self._send = send
        self._speak = speak
        self._on_page = on_page
        self._on_recorded = on_recorded
        self.model: WindowModel = empty_model(window_id)
        self.state: dict[str, Any] | None = None
        self.catalog: dict[str, Any] = {}
        self.page = "idle"
        self.deadline: float | None = None  # the page's time limit (monotonic)
        self.prompt_ticket: dict[str, Any] | None = None  # the ticket / case asked for
        self.prompt_clerk: str | None = None
        self.prompt_info = ""
        self.draft: Rating | None = None
        self.answered = False  # one rating per prompt (key storms, double taps)
        self.ignored_presses = 0
        self.phone_digits = ""
        self.chosen_reasons: list[str] = []
        self.reasons_error = ""
        self.comment_text = ""
        self._draft_reasons: list[str] = []
        self._draft_contact: str | None = None
        self.thanks_title = "谢谢您的评价！"
        self.thanks_info = ""
        self._skipped: set[str] = set()

    @property
    def tablet(self) -> bool:
        return self.mode == "tablet"

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
        ev = self.settings
        limit = {
            "confirm": ev.prompt_timeout_s,
            "prompt": ev.prompt_timeout_s,
            "reasons": ev.reasons_timeout_s,
            "comment": ev.reasons_timeout_s,
            "thanks": ev.thanks_s,
        }.get(self.page)
        self.deadline = None if limit is None else self.clock.monotonic() + limit

    def time_left(self) -> float | None:
        """Seconds until the page's time is up, or None (idle has no limit)."""
        if self.deadline is None:
            return None
        return max(0.0, self.deadline - self.clock.monotonic())

    def tick(self) -> None:
        """Time passed: a prompt (or a confirm page) nobody answered is unrated, reasons
        and a comment are kept as chosen / typed, thanks go back to idle."""
        if self.deadline is None or self.clock.monotonic() < self.deadline:
            return
        self.deadline = None
        if self.page in ("confirm", "prompt"):
            if not self.answered:
                self._record_unrated()  # never a default level
            self._go("idle")
            self._next()
        elif self.page == "reasons":
            self.submit_reasons(timed_out=True)
        elif self.page == "comment":
            self.submit_comment(timed_out=True)
        elif self.page == "thanks":
            self._go("idle")
            self._next()

    def idle_view(self) -> IdleView:
        m = self.model
        window = f"{m.name}  {m.department}".strip()
        if m.clerk_name or m.staff_no:
            s = self.store.summary(self._clerk_id(), self.clock.now().date().isoformat())
            unrated = s["count"] - s["rated"]  # timed out or skipped: not a rating
            if s["rated"]:
                summary = f"今日评价 {s['rated']} 次 · 满意率 {s['satisfied_pct']}%"
            else:
                summary = "今日暂无评价"
            if unrated:
                summary += f" · 未评价 {unrated} 次"
            return IdleView(window, m.clerk_name, f"工号 {m.staff_no}", summary, True)
        return IdleView(window, "窗口暂未开放" if m.status == "closed" else "", "", "", False)

    def _clerk_id(self) -> str | None:
        clerk = (self.state or {}).get("clerk")
        return str(clerk["id"]) if isinstance(clerk, dict) and clerk.get("id") else None

    # ------------------------------------------------------------------ catalogue

    def apply_catalog(self, catalog: Mapping[str, Any]) -> None:
        """The hall's catalogue: staff (name, 工号, photo, department), item names and
        ``haochaping`` (the bad-review reasons, whether the tablet offers a comment)."""
        self.catalog = dict(catalog)

    def _staff(self, clerk_id: str | None) -> Mapping[str, Any]:
        staff = self.catalog.get("staff")
        for entry in staff[:500] if isinstance(staff, list) else ():
            if isinstance(entry, Mapping) and clerk_id and str(entry.get("id")) == clerk_id:
                return entry
        return {}

    def _haochaping(self) -> Mapping[str, Any]:
        h = self.catalog.get("haochaping")
        return h if isinstance(h, Mapping) else {}

    @property
    def reasons(self) -> tuple[str, ...]:
        """The bad-review reasons offered: the tablet takes the catalogue's
        (``haochaping.reasons``) when it has any; the button evaluator its settings'."""
        if self.tablet:
            given = self._haochaping().get("reasons")
            if isinstance(given, list):
                picked = [_text(r) for r in given[:REASONS_MAX] if isinstance(r, str) and _text(r)]
                if picked:
                    return tuple(dict.fromkeys(picked))
        return tuple(self.settings.reasons)

    def comment_offered(self) -> bool:
        """The tablet asks for a comment: the catalogue allows it (default yes) and the
        rating is of a case (an engine from before cases refuses the field)."""
        return (
            self.tablet
            and self._haochaping().get("tablet_comment", True) is not False
            and bool(self.prompt_ticket and self.prompt_ticket.get("case_id"))
        )

    @property
    def phrases(self) -> tuple[str, ...]:
        """Preset phrases for the comment: kind ones, or after a bad rating the others."""
        level = self.draft.level if self.draft is not None else None
        return PHRASES_BAD if level is not None and level >= 4 else PHRASES_GOOD

    # ------------------------------------------------------------------ window state

    def apply_state(self, state: Mapping[str, Any], *, live: bool = True) -> None:
        """The window's state: a newly finished case (or, from an engine before cases,
        ticket) this device has not rated is asked for; a retained one (``live=False``)
        only if it finished recently."""
        self.state = dict(state)
        self.model = window_model(state)
        target = self._target(state, live=live)
        if target is not None:
            self._consider(target, live=live)

    def _target(self, state: Mapping[str, Any], *, live: bool) -> dict[str, Any] | None:
        """What to ask for: the oldest unrated case of the newest ticket in ``to_rate``
        (older tickets' citizens have left), or ``last_finished`` from an older engine."""
        to_rate = state.get("to_rate")
        if isinstance(to_rate, list):
            cases = [
                dict(c)
                for c in to_rate[:TO_RATE_MAX]
                if isinstance(c, Mapping)
                and _text(c.get("case_id"), 64)
                and _text(c.get("ticket_id"), 64)
            ]
            if not cases:
                return None
            newest = cases[-1]["ticket_id"]
            for case in cases:
                if case["ticket_id"] != newest or self._done(case):
                    continue
                if not live and self._stale(case):
                    self._skipped.add(self._key(case))
                    continue
                return case
            return None
        finished = state.get("last_finished")
        if isinstance(finished, Mapping) and _text(finished.get("ticket_id"), 64):
            return dict(finished)
        return None

    @staticmethod
    def _key(target: Mapping[str, Any]) -> str:
        case = target.get("case_id")
        return f"case:{case}" if case else f"ticket:{target['ticket_id']}"

    def _done(self, target: Mapping[str, Any]) -> bool:
        """Rated on this device, or not to be asked (stale at start-up, 有误)."""
        if self._key(target) in self._skipped:
            return True
        case = target.get("case_id")
        if case:
            return self.store.has_case(str(case)) or self.store.has_ticket_only(
                str(target["ticket_id"])
            )
        return self.store.has_ticket(str(target["ticket_id"]))

    def _consider(self, target: Mapping[str, Any], *, live: bool) -> None:
        if self.prompt_ticket and self._key(self.prompt_ticket) == self._key(target):
            return
        if (
            self.prompt_ticket
            and self.page in ("reasons", "comment", "thanks")
            and self.prompt_ticket["ticket_id"] == target["ticket_id"]
        ):
            return  # the same citizen's next case waits for this one's last page (_next)
        if self._done(target):
            return
        if not live and self._stale(target):
            self._skipped.add(self._key(target))  # finished long before this evaluator started
            return
        self._close_current_prompt()
        self.prompt(target)

    def _next(self) -> None:
        """Back at idle: the next case of the window's last state, if any."""
        if self.state is not None and self.page == "idle":
            target = self._target(self.state, live=True)
            if target is not None:
                self._consider(target, live=True)

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
        if self.page in ("confirm", "prompt") and not self.answered:
            self._record_unrated()
        elif self.page == "reasons":
            self.submit_reasons(show_thanks=False)
        elif self.page == "comment":
            self.submit_comment(show_thanks=False)

    # ------------------------------------------------------------------ confirm (tablet)

    def prompt(self, finished: Mapping[str, Any]) -> None:
        """Ask for a rating of ``finished`` (a ``to_rate`` case, or a window state's
        ``last_finished``); the tablet first shows the case to confirm."""
        self.prompt_ticket = dict(finished)
        self.prompt_clerk = _text(finished.get("clerk"), 64) or self._clerk_id()
        self.answered = False
        self.ignored_presses = 0
        self.comment_text = ""
        self._draft_reasons, self._draft_contact = [], None
        m = self.model
        who = f"{m.clerk_name}（工号 {m.staff_no}）" if m.clerk_name else m.name
        self.prompt_info = f"{finished.get('code', '')} 号 · {m.name} · {who}"
        if self.tablet:
            self._go("confirm")
        else:
            self._levels()

    def _levels(self) -> None:
        self._go("prompt")
        if self._speak is not None:
            self._speak("please_rate", "请对本次服务进行评价")

    def confirm_view(self) -> ConfirmView:
        """The case on the confirm page, from the case, the catalogue and the state."""
        t = self.prompt_ticket or {}
        m = self.model
        staff = self._staff(self.prompt_clerk)
        same_clerk = self.prompt_clerk is None or self.prompt_clerk == self._clerk_id()
        item_name = _text(t.get("item_name")) or self._item_name(t.get("item"))
        return ConfirmView(
            item_name=item_name,
            case_no=_text(t.get("case_no")),
            code=_text(t.get("code"), 12),
            window=m.name,
            department=_text(staff.get("department")) or m.department,
            clerk_name=_text(staff.get("name")) or (m.clerk_name if same_clerk else ""),
            staff_no=_text(staff.get("staff_no")) or (m.staff_no if same_clerk else ""),
            photo=_text(staff.get("photo"), 300) or (m.photo if same_clerk else ""),
        )

    def _item_name(self, item: Any) -> str:
        items = self.catalog.get("items")
        for entry in items[:1000] if isinstance(items, list) else ():
            if isinstance(entry, Mapping) and item and entry.get("id") == item:
                return _text(entry.get("name"))
        return ""

    def confirm(self) -> None:
        """确认: the case is right; the five levels."""
        if self.page != "confirm" or self.prompt_ticket is None:
            return
        self._levels()

    def wrong(self) -> None:
        """有误: nothing is recorded and the case is not asked for again here."""
        if self.page != "confirm" or self.prompt_ticket is None:
            return
        key = self._key(self.prompt_ticket)
        self._skipped.add(key)
        log.warning("%s at window %s: the citizen says the case is wrong", key, self.window_id)
        self.answered = True
        self.thanks_title, self.thanks_info = WRONG_TITLE, WRONG_INFO
        self._go("thanks")

    # ------------------------------------------------------------------ rating

    def rate(self, level: int) -> None:
        """A press of level 1..5 (button or USB key); only the first per prompt counts."""
        if self.page != "prompt" or self.answered or self.prompt_ticket is None:
            self.ignored_presses += 1
            log.debug("rating press %d ignored on page %s", level, self.page)
            return
        self.answered = True
        rating = self._rating(level)
        ask = level >= 4 and (self.settings.ask_reasons or self.settings.ask_contact)
        more = ask or self.comment_offered()
        if not self._commit(rating, draft=more):
            return
        if ask:
            self.draft = rating
            self._open_reasons()
        elif more:
            self.draft = rating
            self._open_comment()
        else:
            self._thanks(level)

    def _rating(self, level: int | None) -> Rating:
        assert self.prompt_ticket is not None
        case = self.prompt_ticket.get("case_id")
        return Rating(
            rating_id=str(uuid.uuid4()),
            ticket_id=str(self.prompt_ticket["ticket_id"]),
            window_id=self.window_id,
            level=level,
            rated_at=self.clock.now().isoformat(timespec="seconds"),
            code=self.prompt_ticket.get("code"),
            clerk_id=self.prompt_clerk,
            case_id=str(case) if case else None,
            channel="tablet" if self.tablet else "evaluator",
        )

    def _commit(self, rating: Rating, *, draft: bool = False) -> bool:
        """Durably store the rating; False (and an error on screen) if that failed."""
        try:
            self.store.record(rating, draft=draft)
        except AlreadyRated:
            log.info("ticket %s case %s rated here already", rating.code, rating.case_id)
            self._go("idle")
            return False
        except RatingsStoreError as exc:
            log.error("%s", exc)
            self.thanks_title = "评价未能保存"
            self.thanks_info = exc.user_message
            self._go("thanks")
            return False
        log.info(
            "rating %s recorded: ticket %s case %s level %s via %s",
            rating.rating_id,
            rating.code,
            rating.case_id,
            rating.level,
            rating.channel,
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
        """A reason ticked (or unticked); kept in the offered order."""
        offered = self.reasons
        if self.page != "reasons" or reason not in offered:
            return
        picked = set(self.chosen_reasons) - {reason} | ({reason} if chosen else set())
        self.chosen_reasons = [r for r in offered if r in picked]
        self._restart()  # still choosing: keep the page

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
        self._after_reasons(
            self.chosen_reasons,
            contact,
            ask_comment=show_thanks and not timed_out,
            show_thanks=show_thanks,
        )

    def skip_reasons(self) -> None:
        if self.page == "reasons" and self.draft is not None:
            self._after_reasons([], None, ask_comment=True, show_thanks=True)

    def _after_reasons(
        self, reasons: list[str], contact: str | None, *, ask_comment: bool, show_thanks: bool
    ) -> None:
        """The tablet asks for a comment next (unless the citizen has gone); else done."""
        if ask_comment and self.comment_offered():
            self._draft_reasons, self._draft_contact = list(reasons), contact
            self._open_comment()
        else:
            self._finish_draft(reasons, contact, "", show_thanks=show_thanks)

    # ------------------------------------------------------------------ comment (tablet)

    def _open_comment(self) -> None:
        self.comment_text = ""
        self._go("comment")

    def set_comment(self, text: str) -> None:
        """The comment field's text (typed, or phrases added): cleaned, <= 200."""
        if self.page != "comment":
            return
        self.comment_text = clean_comment(text)
        self._restart()  # still typing: keep the page

    def add_phrase(self, phrase: str) -> None:
        """A preset phrase tapped: added to the comment (once)."""
        if self.page != "comment" or phrase not in self.phrases:
            return
        if phrase in self.comment_text:
            return
        joined = f"{self.comment_text}，{phrase}" if self.comment_text else phrase
        if len(joined) <= COMMENT_MAX:
            self.comment_text = joined
        self._restart()

    def submit_comment(self, *, show_thanks: bool = True, timed_out: bool = False) -> None:
        """Keep the comment (on timeout too: what was typed is kept)."""
        if self.page == "comment" and self.draft is not None:
            self._finish_draft(
                self._draft_reasons, self._draft_contact, self.comment_text, show_thanks=show_thanks
            )

    def skip_comment(self) -> None:
        if self.page == "comment" and self.draft is not None:
            self._finish_draft(self._draft_reasons, self._draft_contact, "", show_thanks=True)

    def _finish_draft(
        self, reasons: list[str], contact: str | None, comment: str, *, show_thanks: bool
    ) -> None:
        draft = self.draft
        assert draft is not None
        try:
            self.store.complete(
                draft.rating_id, reasons=list(reasons), contact=contact, comment=comment
            )
        except RatingsStoreError as exc:
            log.error("%s", exc)
        self.draft = None
        self._send()
        log.info(
            "rating %s: %d reasons, contact %s, comment %d chars",
            draft.rating_id,
            len(reasons),
            "given" if contact else "none",
            len(comment),
        )
        if show_thanks:
            self._thanks(draft.level)
