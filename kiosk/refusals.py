"""Why no ticket: kind, clear messages that each say what to do next.  Pure.

Every refusal the kiosk can meet (the engine's error codes, card and printer
trouble, appointment codes, the link) maps to a :class:`Refusal`: a title, a
sentence on what to do next (Chinese and English), a voice clip and the
action its main button offers.  Unknown codes fall back to the engine's own
``message_zh`` and "ask the staff".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

# action of the main button: "home" (back to the start), "identify" (swipe a
# card), "back" (to the previous screen, e.g. choose another item),
# "normal" (take a normal ticket instead of the appointment)


@dataclass(frozen=True)
class Refusal:
    code: str
    title_zh: str
    next_zh: str
    title_en: str
    next_en: str
    voice: str = "sorry"
    action: str = "home"

    def title(self, lang: str) -> str:
        return self.title_en if lang == "en" else self.title_zh

    def next_step(self, lang: str) -> str:
        return self.next_en if lang == "en" else self.next_zh


_ASK_STAFF_ZH = "如需帮助，请咨询导办台工作人员。"
_ASK_STAFF_EN = "For help, please ask the staff at the help desk."

REFUSALS: dict[str, Refusal] = {
    r.code: r
    for r in (
        Refusal(
            "outside_hours",
            "现在不是取号时间",
            "工作时间：{hours}。{next_open}请在工作时间内再来取号。",
            "Tickets are not issued now",
            "Opening hours: {hours}. {next_open_en}Please come back during opening hours.",
            voice="outside_hours",
        ),
        Refusal(
            "holiday",
            "今天是节假日，大厅不办理业务",
            "{next_open}部分事项可在网上办理，详情请拨打12345。",
            "The hall is closed today (public holiday)",
            "{next_open_en}Some services are available online; call 12345 for details.",
            voice="outside_hours",
        ),
        Refusal(
            "closing_soon",
            "即将停止取号，今日取号已结束",
            "临近下班，已停止取号。{next_open}请下个工作日再来。",
            "Ticket issuing has stopped for today",
            "The hall closes shortly and issues no more tickets. {next_open_en}"
            "Please come back on the next working day.",
            voice="outside_hours",
        ),
        # outside_hours with the engine's reason (data "reason"): the words for the moment
        Refusal(
            "before_open",
            "还未开始取号",
            "工作时间：{hours}。{next_open}请稍后再来。",
            "Tickets are not issued yet",
            "Opening hours: {hours}. {next_open_en}Please come back a little later.",
            voice="outside_hours",
        ),
        Refusal(
            "lunch_break",
            "午间休息，暂停取号",
            "工作时间：{hours}。{next_open}请在午休后再来取号。",
            "Lunch break: no tickets now",
            "Opening hours: {hours}. {next_open_en}Please come back after the break.",
            voice="outside_hours",
        ),
        Refusal(
            "after_close",
            "今日已下班",
            "工作时间：{hours}。{next_open}请在工作时间再来。",
            "The hall has closed for today",
            "Opening hours: {hours}. {next_open_en}Please come back during opening hours.",
            voice="outside_hours",
        ),
        Refusal(
            "closed_day",
            "今天大厅休息，不办理业务",
            "工作时间：{hours}。{next_open}请在工作日前来。",
            "The hall is closed today",
            "Opening hours: {hours}. {next_open_en}Please come on a working day.",
            voice="outside_hours",
        ),
        Refusal(
            "daily_cap",
            "该业务今天的号已取完",
            "请下个工作日再来，或通过网上预约办理。" + _ASK_STAFF_ZH,
            "All tickets for this service are taken today",
            "Please come back on the next working day or book online. " + _ASK_STAFF_EN,
            voice="sorry",
        ),
        Refusal(
            "numbers_exhausted",
            "该业务今天的号码已用完",
            "请联系导办台工作人员为您安排办理。",
            "This service has run out of numbers today",
            "Please ask the staff at the help desk.",
        ),
        Refusal(
            "person_active",
            "您已经取过该业务的号",
            "请留意叫号屏和语音，等候叫号即可，无需重复取号。",
            "You already hold a ticket for this service",
            "Please watch the display and wait for your number to be called.",
            voice="already_have",
        ),
        Refusal(
            "person_daily",
            "您今天取号次数已达上限",
            "每人每天最多取 {limit} 个号。" + _ASK_STAFF_ZH,
            "You have reached today's ticket limit",
            "Each person may take {limit} tickets a day. " + _ASK_STAFF_EN,
        ),
        Refusal(
            "id_required",
            "办理该业务需要核验身份",
            "请刷本人身份证或社保卡，刷卡后将自动为您取号。",
            "This service needs your ID",
            "Please swipe your ID card or social security card; your ticket follows at once.",
            voice="swipe_id",
            action="identify",
        ),
        Refusal(
            "card_unreadable",
            "卡片没有读取成功",
            "请把卡片拿开，再平放在感应区上停留两秒；仍不成功请换用社保卡，或咨询工作人员。",
            "The card could not be read",
            "Lift the card and place it flat on the reader for two seconds; "
            "or use your social security card, or ask the staff.",
            voice="card_error",
            action="identify",
        ),
        Refusal(
            "card_invalid",
            "这张卡片无法用于取号",
            "请使用本人有效的居民身份证或社保卡；如有疑问请咨询工作人员。",
            "This card cannot be used",
            "Please use your own valid ID card or social security card, or ask the staff.",
            voice="card_error",
            action="identify",
        ),
        Refusal(
            "card_pin",
            "这张社保卡需要密码，本机无法读取",
            "请改刷身份证取号，或咨询工作人员。",
            "This card needs a PIN the kiosk cannot ask for",
            "Please swipe your ID card instead, or ask the staff.",
            voice="card_error",
            action="identify",
        ),
        Refusal(
            "reader_offline",
            "读卡器暂时不能使用",
            "请换用其他方式（社保卡或预约码），或请工作人员协助取号。",
            "The card reader is out of order",
            "Please use another card or your appointment code, or ask the staff.",
            voice="card_error",
        ),
        Refusal(
            "appointment_invalid",
            "无法识别该预约码",
            "请确认扫描的是本中心的预约二维码；也可以直接选择业务取普通号。",
            "This appointment code is not recognised",
            "Please scan this hall's appointment QR code, or take a normal ticket.",
            voice="sorry",
            action="home",
        ),
        Refusal(
            "appointment_early",
            "还没到预约签到时间",
            "您预约的时间是 {start}，请在 {opens} 以后再来签到。",
            "Too early to check in",
            "Your appointment is at {start}; check-in opens at {opens}.",
        ),
        Refusal(
            "appointment_late",
            "预约时段已过",
            "您预约的时间是 {start}，已超过签到时间。可以取普通号排队办理。",
            "Your appointment slot has passed",
            "Your appointment was at {start}. You may take a normal ticket instead.",
            action="normal",
        ),
        Refusal(
            "appointment_other_day",
            "预约日期不是今天",
            "您预约的是 {date}，请在预约当天前来签到。",
            "The appointment is not for today",
            "Your appointment is on {date}; please check in on that day.",
        ),
        Refusal(
            "appointment_item",
            "请先选择预约的事项",
            "请在屏幕上选择您预约的事项后，再扫描预约码。",
            "Please choose the service first",
            "Choose the service you booked, then scan the code again.",
        ),
        Refusal(
            "link_down",
            "暂时无法取号",
            "与大厅服务器的连接中断，请稍等片刻再试，或请工作人员协助。",
            "Tickets cannot be issued right now",
            "The kiosk lost its connection. Please try again shortly or ask the staff.",
        ),
        Refusal(
            "no_catalog",
            "系统正在启动",
            "请稍等片刻再试。",
            "The kiosk is starting",
            "Please try again in a moment.",
        ),
    )
}


HOURS_REASONS = ("before_open", "lunch_break", "after_close", "closed_day")


def _when(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def _day_text(when: datetime, now: datetime | None) -> str:
    if now is not None and when.date() == now.date():
        return f"今天 {when:%H:%M}"
    return f"{when.month}月{when.day}日 {when:%H:%M}"


def _day_text_en(when: datetime, now: datetime | None) -> str:
    if now is not None and when.date() == now.date():
        return f"today {when:%H:%M}"
    return f"{when:%a %d %b %H:%M}"


def describe(
    code: str,
    data: dict[str, Any] | None = None,
    *,
    lang: str = "zh",
    hours: str = "",
    engine_message_zh: str = "",
    now: datetime | None = None,
) -> tuple[Refusal, str, str]:
    """``(refusal, title, next_step)`` for an error code with its data, in ``lang``."""
    data = dict(data or {})
    if code == "outside_hours" and str(data.get("reason", "")) in HOURS_REASONS:
        code = str(data["reason"])  # the words for before opening, lunch, after closing
    refusal = REFUSALS.get(code)
    if refusal is None:
        zh = engine_message_zh or "暂时无法取号"
        refusal = Refusal(code, zh, _ASK_STAFF_ZH, "Sorry, no ticket now", _ASK_STAFF_EN)
    values: dict[str, Any] = {"hours": hours or "请见公告栏", "limit": data.get("limit", 3)}
    next_open = _when(data.get("next_open"))
    values["next_open"] = f"下次取号时间：{_day_text(next_open, now)}。" if next_open else ""
    values["next_open_en"] = f"Next opening: {_day_text_en(next_open, now)}. " if next_open else ""
    start = _when(data.get("start"))
    opens = _when(data.get("opens"))
    values["start"] = f"{start:%H:%M}" if start else ""
    values["opens"] = f"{opens:%H:%M}" if opens else ""
    values["date"] = f"{start.month}月{start.day}日" if start else ""
    if lang == "en":
        values["hours"] = hours or "see the notice board"
        values["date"] = f"{start:%Y-%m-%d}" if start else ""
    next_step = refusal.next_step(lang).format(**values)
    return refusal, refusal.title(lang), next_step
