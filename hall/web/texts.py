"""What the citizen's page says, in Chinese with English underneath, from the engine's view.

One place for the words: the page is rendered with them (it reads without script)
and every live update carries them, so the page's script only puts text in place.
"""

from __future__ import annotations

import re
from typing import Any

_DIGITS = re.compile(r"^\d{1,3}$")


def window_words(view: dict[str, Any]) -> tuple[str, str]:
    """``("3 号窗口", "window 3")`` (a window without a number: its name)."""
    window = str(view.get("window") or "")
    name = str(view.get("window_name") or "")
    if _DIGITS.match(window):
        return f"{window} 号窗口", f"window {window}"
    return name or "服务窗口", name or "the service window"


def present(view: dict[str, Any], remind_ahead: list[int] | tuple[int, ...]) -> dict[str, Any]:
    """The page's fields for one ticket's ``view`` (the engine's progress view).

    ``tone`` picks the status colours (wait / go / serve / done / missed); ``alert``
    is what the page rings for: ``called`` (with the call count, so a recall
    rings again) or ``ahead:N`` when the people ahead reach a threshold N of
    ``remind_ahead``.
    """
    status = str(view.get("status") or "waiting")
    ahead = view.get("ahead")
    est = view.get("est_wait_min")
    win_zh, win_en = window_words(view)
    out: dict[str, Any] = {
        "code": str(view.get("code") or ""),
        "queue_name": str(view.get("queue_name") or ""),
        "queue_name_en": str(view.get("queue_name_en") or ""),
        "item_name": str(view.get("item_name") or ""),
        "item_name_en": str(view.get("item_name_en") or ""),
        "status": status,
        "ahead": ahead if isinstance(ahead, int) else None,
        "ahead_zh": "",
        "ahead_en": "",
        "est_zh": "",
        "est_en": "",
        "alert": "",
    }
    if status == "waiting":
        out.update(tone="wait", status_zh="等候中", status_en="Waiting")
        if isinstance(ahead, int):
            out["ahead_zh"] = str(ahead)
            out["ahead_en"] = "person ahead of you" if ahead == 1 else "people ahead of you"
            if ahead == 0:
                out.update(
                    next_zh="下一位就是您，请留意叫号",
                    next_en="You are next: listen for your number",
                )
            else:
                out.update(
                    next_zh="请在等候区留意叫号，叫到时本页会提醒您",
                    next_en="Please wait in the hall; this page tells you when you are called",
                )
            reached = [n for n in remind_ahead if ahead <= n]
            if reached:
                out["alert"] = f"ahead:{min(reached)}"
        else:
            out.update(next_zh="请在等候区留意叫号", next_en="Please wait in the hall")
        if isinstance(est, int | float) and est > 0:
            out["est_zh"] = f"约 {round(est)} 分钟"
            out["est_en"] = f"about {round(est)} min"
    elif status == "called":
        count = view.get("call_count") or 1
        out.update(
            tone="go",
            status_zh=f"请到 {win_zh}",
            status_en=f"Please go to {win_en}",
            next_zh="正在叫您的号码，请带好证件前往窗口",
            next_en="Your number is being called: please go now with your documents",
            alert=f"called:{count}",
        )
        if isinstance(count, int) and count > 1:
            out["next_zh"] = f"第 {count} 次呼叫，请尽快前往窗口，过号需重新排队"
            out["next_en"] = f"Call number {count}: please hurry, or the number is missed"
    elif status == "serving":
        out.update(
            tone="serve",
            status_zh="办理中",
            status_en="Being served",
            next_zh=f"正在 {win_zh}为您办理",
            next_en=f"You are being served at {win_en}",
        )
    elif status == "done":
        if view.get("rated"):
            out.update(
                tone="done",
                status_zh="已办结，感谢评价",
                status_en="Done, thank you for rating",
                next_zh="本次业务已办结，祝您生活愉快",
                next_en="Your business is done. Have a good day",
            )
        else:
            out.update(
                tone="done",
                status_zh="已办结，请评价",
                status_en="Done, please rate us",
                next_zh=f"请在 {win_zh}的评价器上为本次服务评价",
                next_en=f"Please rate our service on the rating pad at {win_en}",
            )
    else:  # no_show
        out.update(
            tone="missed",
            status_zh="已过号：请到窗口说明",
            status_en="Missed: please tell a window clerk",
            next_zh="您的号码已过号，请到服务窗口说明情况，工作人员会为您安排",
            next_en="Your number was missed. Please see a clerk at a window",
        )
    return out
