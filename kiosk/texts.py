"""Every word the kiosk shows, in Chinese first and English.  Pure data."""

from __future__ import annotations

from typing import Any

LANGS = ("zh", "en")

TEXTS: dict[str, tuple[str, str]] = {
    # header and footer
    "lang_toggle": ("English", "中文"),
    "elderly_on": ("大字模式", "Large text"),
    "elderly_off": ("标准模式", "Standard"),
    "back": ("返回", "Back"),
    "home": ("首页", "Home"),
    "idle_hint": ("{s}秒无操作将返回首页", "Back to start after {s} s idle"),
    "link_down": ("网络中断", "Offline"),
    # idle / home
    "welcome": ("欢迎办事，请选择业务", "Welcome. Please choose a service"),
    "connecting": ("正在连接排队服务…", "Connecting to the queue service…"),
    "connecting_state": (
        "正在获取业务目录，连上后即可取号（{s}秒）",
        "Loading the list of services; tickets follow once connected ({s} s)",
    ),
    "connecting_link": (
        "正在连接大厅服务器，请稍候（{s}秒）",
        "Reaching the hall server, please wait ({s} s)",
    ),
    "connecting_down": (
        "与大厅服务器的连接中断，正在重试（{s}秒）。如需取号请咨询导办台工作人员。",
        "The hall server is unreachable; retrying ({s} s). Please ask the help desk meanwhile.",
    ),
    "welcome_short": ("请选择业务", "Choose a service"),
    "common_items": ("常办事项", "Common services"),
    "all_categories": ("全部业务", "All services"),
    "waiting_n": ("等候 {n} 人", "{n} waiting"),
    "est_min": ("约 {m} 分钟", "about {m} min"),
    "notices": ("政务公开", "Notices"),
    "id_hint": (
        "刷身份证、社保卡或扫预约码，可直接识别身份",
        "Swipe your ID or social security card, or scan your appointment code",
    ),
    "greeting": ("{name} 您好", "Hello, {name}"),
    "greeting_anon": ("您好，已识别身份", "Hello, you are identified"),
    "green_elderly": ("绿色通道（老年人）", "Priority lane (senior)"),
    "green_disabled": ("绿色通道（残疾人）", "Priority lane (disability)"),
    "green_pregnant": ("绿色通道（孕妇）", "Priority lane (pregnancy)"),
    "green_military": ("绿色通道（军人）", "Priority lane (military)"),
    "appointment_label": ("预约签到 {time}", "Appointment {time}"),
    "not_issuing": (
        "当前不在取号时间，工作时间：{hours}",
        "Tickets are not issued now. Opening hours: {hours}",
    ),
    "closed_today": (
        "今日已下班，工作时间：{hours}",
        "The hall has closed for today. Opening hours: {hours}",
    ),
    "closing_banner": (
        "即将下班，已停止取号，工作时间：{hours}",
        "Closing soon: no more tickets today. Opening hours: {hours}",
    ),
    "lunch_banner": (
        "午间休息，暂停取号，工作时间：{hours}",
        "Lunch break: no tickets now. Opening hours: {hours}",
    ),
    "lunch_issuing_banner": (
        "午间休息，照常取号，{t} 开始叫号",
        "Lunch break: tickets are issued, calling resumes at {t}",
    ),
    "before_open_banner": (
        "尚未开始取号，工作时间：{hours}",
        "Tickets are not issued yet. Opening hours: {hours}",
    ),
    # items
    "choose_item": ("请选择办理事项", "Please choose what you need"),
    "needs_id": ("需刷证", "ID needed"),
    # guide
    "guide_title": ("办事指南 · 一次性告知", "Service guide"),
    "materials": ("请准备以下材料", "Please bring"),
    "ask_window": ("请咨询窗口工作人员", "Please ask at the window"),
    "promised": ("办理时限", "Time limit"),
    "fee": ("收费标准", "Fee"),
    "location": ("办理地点", "Where"),
    "legal_basis": ("设定依据", "Legal basis"),
    "department": ("受理部门", "Department"),
    "requires_id_note": (
        "办理本事项需刷本人身份证或社保卡",
        "This service needs your ID card or social security card",
    ),
    "take_ticket": ("取  号", "Take a ticket"),
    "print_guide": ("打印告知单", "Print this guide"),
    "guide_printed": ("告知单已打印，请取走", "Guide printed, please take it"),
    "green_button": ("绿色通道", "Priority lane"),
    "identified_as": ("已识别：{name}", "Identified: {name}"),
    "printer_warning": (
        "打印机暂不可用：取号后请记下屏幕上的号码",
        "The printer is unavailable: please note the number shown on screen",
    ),
    "working": ("正在取号，请稍候…", "Issuing your ticket…"),
    # identify
    "identify_title": ("请刷身份证", "Please swipe your ID card"),
    "identify_body": (
        "办理本事项需要核验身份，请任选一种方式",
        "This service needs your identity. Use any one of these",
    ),
    "way_idcard": ("身份证", "ID card"),
    "way_idcard_hint": ("平放在下方感应区", "Place it flat on the reader below"),
    "way_citizen": ("社保卡 / 市民卡", "Social security card"),
    "way_citizen_hint": ("插入或贴近读卡口", "Insert it or hold it to the reader"),
    "way_qr": ("预约码", "Appointment code"),
    "way_qr_hint": ("对准扫码窗口", "Hold it to the scanner"),
    "way_idcard_do": (
        "请把身份证平放在屏幕下方的感应区，停留两秒",
        "Lay your ID card flat on the reader below the screen for two seconds",
    ),
    "way_citizen_do": (
        "请把社保卡插入读卡口，或贴近读卡口",
        "Insert your social security card, or hold it to the reader",
    ),
    "way_qr_do": (
        "请把手机上的预约二维码对准扫码窗口",
        "Hold the appointment QR code on your phone to the scanner window",
    ),
    "no_card": ("没带证件 / 代办", "No card / on behalf"),
    "cancel": ("取消", "Cancel"),
    # staff
    "staff_title": ("绿色通道 · 工作人员确认", "Priority lane · staff confirmation"),
    "staff_body": (
        "请工作人员选择类别并输入确认密码",
        "Staff: choose the reason and enter the PIN",
    ),
    "staff_menu_title": ("工作人员服务", "Staff service"),
    "assisted_title": ("无证件取号 · 工作人员确认", "No card · staff confirmation"),
    "assisted_body": (
        "没带证件或为他人代办：请工作人员核实后输入确认密码，号票不记录个人信息",
        "No card, or acting for someone: staff check and enter the PIN; "
        "the ticket holds no personal data",
    ),
    "assisted_label": ("工作人员协助取号", "Issued with staff help"),
    "reason_disabled": ("残疾人", "Disability"),
    "reason_pregnant": ("孕妇", "Pregnancy"),
    "reason_military": ("军人", "Military"),
    "pin": ("密码", "PIN"),
    "clear": ("清除", "Clear"),
    "confirm": ("确认", "Confirm"),
    "pin_wrong": ("密码不正确，请重新输入", "Wrong PIN, please try again"),
    "pin_locked": (
        "密码错误次数过多，请5分钟后再试或联系工作人员",
        "Too many wrong PINs: try again in 5 minutes or ask the staff",
    ),
    "choose_reason": ("请先选择类别", "Choose a reason first"),
    "no_staff_pin": (
        "未设置工作人员密码，请联系技术人员用 hall provision 设置",
        "No staff PIN is set on this kiosk: a technician sets it with hall provision",
    ),
    "reprint_list": ("待补打号票", "Tickets to reprint"),
    "reprint": ("补打", "Reprint"),
    "no_reprints": ("没有待补打的号票", "No tickets waiting for a reprint"),
    "printer_state": ("打印机：{state}", "Printer: {state}"),
    # ticket
    "ticket_ok": ("取号成功，请取走号票", "Done. Please take your ticket"),
    "ticket_printing": ("正在打印号票…", "Printing your ticket…"),
    "ticket_title": ("您的号码", "Your number"),
    "ahead": ("前面等候 {n} 人", "{n} ahead of you"),
    "est_wait": ("预计等候约 {m} 分钟", "Estimated wait about {m} min"),
    "est_soon": ("即将叫号", "You will be called soon"),
    "issued_at": ("取号时间 {t}", "Issued {t}"),
    "holder": ("取号人 {name}", "Name {name}"),
    "follow_qr": ("扫码查看排队进度", "Scan to follow the queue"),
    "go_to": ("请到 {where} 等候叫号", "Please wait for your call at {where}"),
    "calls_from": ("{t} 开始叫号", "Calling resumes at {t}"),
    "print_failed": (
        "{reason}\n您的号码已保留，请记下或拍下屏幕上的号码，工作人员可为您补打号票。",
        "{reason}\nYour number is kept. Please note or photograph it; staff can reprint it.",
    ),
    "retry_print": ("重新打印", "Print again"),
    "done": ("完成", "Done"),
    # messages
    "ok": ("知道了", "OK"),
    "swipe_now": ("去刷卡", "Swipe a card"),
    "choose_again": ("重新选择", "Choose again"),
    "take_normal": ("取普通号", "Take a normal ticket"),
}

PRIORITY_KEYS = {
    "elderly": "green_elderly",
    "disabled": "green_disabled",
    "pregnant": "green_pregnant",
    "military": "green_military",
}

# Short labels printed on the ticket: GB2312 characters only, so the printer's own
# font prints them as text (a "·" would turn the line into a raster image).
# The assisted ticket's holder line (staff confirmed, no card): no personal data.
ASSISTED_HOLDER = "协助取号"

PRIORITY_PRINT = {
    "elderly": "绿色通道 老年人",
    "disabled": "绿色通道 残疾人",
    "pregnant": "绿色通道 孕妇",
    "military": "绿色通道 军人",
    "appointment": "预约优先",
}


def tr(key: str, lang: str = "zh", **values: Any) -> str:
    zh, en = TEXTS[key]
    text = en if lang == "en" else zh
    return text.format(**values) if values else text
