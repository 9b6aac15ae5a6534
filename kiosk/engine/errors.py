"""The queue engine's one error type: a code, an English message, a Chinese one."""

from __future__ import annotations

from typing import Any

# code -> (Chinese message shown to citizens or clerks)
MESSAGES_ZH: dict[str, str] = {
    "outside_hours": "当前不在办理时间内，请在工作时间取号",
    "holiday": "今天是节假日，大厅不办理业务",
    "closing_soon": "今日取号已结束，请下个工作日再来",
    "daily_cap": "该业务今日号源已满，请下个工作日再来或预约办理",
    "numbers_exhausted": "该业务今日号码已用完，请联系工作人员",
    "person_active": "您已领取该业务的号码，请等候叫号",
    "person_daily": "您今日取号次数已达上限，如有需要请咨询工作人员",
    "id_required": "办理该业务需要刷身份证或社保卡",
    "unknown_queue": "未找到该业务类别",
    "unknown_item": "未找到该办理事项",
    "unknown_window": "未找到该窗口",
    "unknown_clerk": "工号不存在，请核对后重新登录",
    "pin_required": "请输入工号和密码",
    "wrong_pin": "密码错误，请重新输入",
    "clerk_locked": "密码错误次数过多，该工号已暂时锁定，请稍后再试或联系大厅管理员",
    "no_pin": "该工号未设置登录密码，请联系大厅管理员",
    "clerk_elsewhere": "该工号已在其他窗口登录且有未办完的号码，请先在该窗口办结或转移",
    "window_closed": "窗口未登录，请先登录工号",
    "window_paused": "窗口暂停服务中，请先恢复服务",
    "window_busy": "当前号码尚未处理完毕：请开始办理、重呼或过号",
    "no_current": "当前没有正在叫号或办理的号码",
    "no_waiting": "当前没有等候的号码",
    "recall_cooldown": "重呼过于频繁，请稍候再试",
    "not_found": "未找到该号码",
    "invalid_state": "该号码当前状态不允许此操作",
    "requeue_limit": "该号码已重新排队过一次，请重新取号",
    "window_closed_by_manager": "本窗口已暂停叫号",
    "unknown_manager": "管理员账号无效，请重新登录",
    "login_failed": "账号或密码错误，请重新输入",
    "manager_locked": "密码错误次数过多，该账号已暂时锁定，请稍后再试",
    "not_waiting": "该号码当前不在等候中，无法调整",
    "unknown_alert": "该提醒已不存在",
    "not_finished": "该件尚未办结，暂不能评价",
    "already_rated": "该件已评价过，感谢您的评价",
    "case_no_twice": "该办件编号今日已办结，请核对编号",
    "bad_case_no": "办件编号格式不正确（1—40位字母、数字或“-”）",
    "unknown_follow_up": "未找到该回访记录",
    "follow_up_closed": "该回访已办结，无需再次登记",
    "bad_request": "请求格式错误",
    "unauthorised": "该设备无权执行此操作",
    "internal": "系统内部错误，请联系技术人员",
}


class EngineError(Exception):
    """A refused command; nothing changed.  ``code`` is stable and machine-readable."""

    def __init__(self, code: str, message: str, *, zh: str | None = None, **data: Any) -> None:
        """``zh``: the key in :data:`MESSAGES_ZH` when it is not ``code`` (one code with
        two Chinese lines, e.g. window_closed by a manager: 本窗口已暂停叫号)."""
        super().__init__(message)
        self.code = code
        self.message = message
        self.message_zh = MESSAGES_ZH.get(zh or code, MESSAGES_ZH["internal"])
        self.data = data

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "message_zh": self.message_zh,
        }
        if self.data:
            out["data"] = self.data
        return out
