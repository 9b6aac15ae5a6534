"""Why a ticket could not be printed: few named errors that carry data.

``str(err)`` is the English line for the log (which printer, what to check);
``err.user_message`` is the short Chinese line for the kiosk screen.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.printer.status import PrinterStatus


class PrinterError(Exception):
    """Base class.  ``device`` is the printer spec (``serial:/dev/hall-printer``)."""

    user_message = "打印机故障，请联系工作人员"

    def __init__(
        self,
        message: str,
        *,
        device: str,
        check: str = "",
        status: PrinterStatus | None = None,
    ) -> None:
        full = f"{device}: {message}" + (f"; check {check}" if check else "")
        super().__init__(full)
        self.device = device
        self.check = check
        self.status = status


class PrinterOffline(PrinterError):
    user_message = "打印机暂停工作，请联系工作人员"


class PaperOut(PrinterError):
    user_message = "打印机缺纸，请联系工作人员"


class CoverOpen(PrinterError):
    user_message = "打印机纸仓盖未关好，请联系工作人员"


class PrinterNotFound(PrinterError):
    user_message = "未连接打印机，请联系工作人员"


class PrinterDisconnected(PrinterNotFound):
    """The link went away mid-session (cable pulled, printer powered off)."""

    user_message = "打印机连接中断，请联系工作人员"


class PrinterTimeout(PrinterError):
    user_message = "打印机无响应，请联系工作人员"


@dataclass(frozen=True)
class PrinterWarning:
    """Printed, but staff should be told (e.g. paper near end)."""

    code: str  # "paper_near_end" | "status_unknown"
    message: str
    user_message: str


PAPER_NEAR_END = PrinterWarning(
    "paper_near_end", "paper near end: load a new roll soon", "打印纸即将用完，请及时更换"
)
STATUS_UNKNOWN = PrinterWarning(
    "status_unknown",
    "printer status cannot be read on this link; ticket sent unchecked",
    "无法读取打印机状态",
)
