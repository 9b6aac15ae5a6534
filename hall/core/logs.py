"""Logging set-up shared by every role: English messages, personal data masked.

Every role logs through the one handler :func:`setup_logging` installs on the
root logger.  Two layers mask ID numbers, phone numbers and names with
:func:`hall.core.privacy.redact`:

* :class:`RedactingFilter` cleans the record itself before any formatter sees
  it: its arguments (a dict argument field by field), the formatted message,
  the traceback of ``exc_info`` (formatted once, masked, kept in
  ``record.exc_text`` where every standard formatter takes it from) and
  ``stack_info``.  A handler called after ours sees the cleaned record too.
* :class:`RedactingFormatter` masks the finished line, whatever a subclass or
  a format string put into it.

:class:`RedactingStreamHandler` masks logging's own report of a record it
could not format (printed straight to stderr).
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from hall.core.privacy import RedactingStream, redact

_PLAIN = logging.Formatter()


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Mask the personal data in ``record`` in place (message, arguments, traceback, stack)."""
    if getattr(record, "_hall_redacted", False):
        return record
    args: Any = record.args
    if args:
        args = redact(args)  # a dict argument field by field: its "name" may be a person's
    msg = str(redact(record.msg))  # log.info(a_dict) too
    try:
        message = msg % args if args else msg
    except Exception:  # a broken format: the handler reports it, with masked arguments only
        record.msg, record.args = redact(msg), args
    else:
        record.msg, record.args = redact(message), None
    if record.exc_info and not record.exc_text:
        record.exc_text = _PLAIN.formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    record._hall_redacted = True
    return record


class RedactingFilter(logging.Filter):
    """Mask ID numbers, phone numbers and names in every record (see the module)."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


class RedactingFormatter(logging.Formatter):
    """A formatter whose output, traceback and stack text are masked."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(redact_record(record)))

    def formatException(self, ei: Any) -> str:
        return redact(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return redact(super().formatStack(stack_info))


class RedactingStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler whose own error report ("--- Logging error ---", with the
    traceback, the call stack and the record's arguments) is masked too."""

    def handleError(self, record: logging.LogRecord) -> None:
        # logging writes that report straight to sys.stderr; wrap it meanwhile
        # (an error path: the brief swap is not worth a copy of the stdlib's code).
        saved = sys.stderr
        if saved is not None and not isinstance(saved, RedactingStream):
            sys.stderr = RedactingStream(saved)
        try:
            super().handleError(record)
        finally:
            if sys.stderr is not saved:
                sys.stderr.flush()
                sys.stderr = saved


FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(*, verbose: bool = False) -> None:
    level = logging.DEBUG if verbose or os.environ.get("HALL_DEBUG") else logging.INFO
    handler = RedactingStreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter(FORMAT))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
