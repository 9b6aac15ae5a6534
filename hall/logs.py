"""Logging set-up shared by every role: English messages, PII redacted."""

from __future__ import annotations

import logging
import os
import sys

from hall.privacy import redact


class RedactingFilter(logging.Filter):
    """Last line of defence: mask ID and phone numbers in every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def setup_logging(*, verbose: bool = False) -> None:
    level = logging.DEBUG if verbose or os.environ.get("HALL_DEBUG") else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
