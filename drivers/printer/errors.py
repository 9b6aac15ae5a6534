"""Why a ticket could not be printed: few named errors that carry data.

Each is a :class:`drivers.errors.DeviceError`: ``str(err)`` is the English line
for the log (which printer, what to check); ``err.user_message`` is the short
Chinese line for the kiosk screen; ``err.code`` the kiosk's printer state
(``paper_out``, ``cover_open``, ``offline``, ``disconnected``, ``no_answer``).
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.errors import DeviceError
from drivers.printer.status import PrinterStatus


class PrinterError(DeviceError, code="error", user_message="打印机故障，请联系工作人员"):
    """Base class.  ``device`` is the printer spec (``serial:/dev/hall-printer``)."""

    device: str

    def __init__(
        self,
        message: str,
        *,
        device: str,
        check: str = "",
        status: PrinterStatus | None = None,
    ) -> None:
        full = f"{device}: {message}" + (f"; check {check}" if check else "")
        super().__init__(full, device=device)
        self.check = check
        self.status = status


class PrinterOffline(PrinterError, code="offline", user_message="打印机暂停工作，请联系工作人员"):
    """The printer's status says offline or an error (cutter jam, head too hot)."""


class PaperOut(PrinterError, code="paper_out", user_message="打印机缺纸，请联系工作人员"):
    """The printer's status says its paper is out."""


class CoverOpen(PrinterError, code="cover_open", user_message="打印机纸仓盖未关好，请联系工作人员"):
    """The printer's status says its paper cover is open."""


class PrinterNotFound(
    PrinterError, code="disconnected", user_message="未连接打印机，请联系工作人员"
):
    """The printer's link cannot be opened (no device, no permission)."""


class PrinterDisconnected(PrinterNotFound, user_message="打印机连接中断，请联系工作人员"):
    """The link went away mid-session (cable pulled, printer powered off)."""


class PrinterTimeout(PrinterError, code="no_answer", user_message="打印机无响应，请联系工作人员"):
    """The printer took no data or did not answer a status query in time."""


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
