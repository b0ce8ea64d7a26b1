"""Structured JSON logs. Transcript text is health information and is never logged:
log call ids, sizes, counts and timings only (``extra={"call_id": ..., ...}``)."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

# Browsers and telephony platforms put tokens in the query string; uvicorn logs request lines.
# The name may arrive in any case or percent-encoded ("%74oken", "TOKEN"): both authenticate.
_TOKEN_NAME = "".join(f"(?:{c}|%{ord(c):02x}|%{ord(c.upper()):02x})" for c in "token")
_TOKEN_IN_URL = re.compile(rf"((?i:{_TOKEN_NAME})=)[^&\s\"']+")


def redact(message: str) -> str:
    """The message with every token query parameter's value replaced by ``[redacted]``."""
    return _TOKEN_IN_URL.sub(r"\1[redacted]", message)


class RedactingFormatter(logging.Formatter):
    """Plain-text log lines (``CARECUE_LOG_JSON=false``), with tokens redacted as well."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))
_DROP = {"color_message"}

# Attributes every LogRecord has; anything else came from ``extra=`` and is emitted as a field.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg and the ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in _DROP and not key.startswith("_"):
                out[key] = (
                    value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
                )
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


# Libraries that put payloads in their own logs: websockets logs every frame at DEBUG (an
# auth message's token, transcript text in agent events and in the practice page's answers).
# They are capped at INFO whatever CARECUE_LOG_LEVEL says, so that running at DEBUG to chase
# a problem cannot write health information to the logs.
PAYLOAD_LOGGERS: dict[str, int] = {
    "websockets": logging.INFO,
    "uvicorn.protocols": logging.INFO,
}


def setup_logging(level: str = "INFO", json_logs: bool = True) -> None:
    """Configure the root logger once (idempotent); uvicorn's loggers propagate to it."""
    root = logging.getLogger()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter()
        if json_logs
        else RedactingFormatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    for h in list(root.handlers):
        if getattr(h, "_carecue", False):
            root.removeHandler(h)
    handler._carecue = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name, floor in PAYLOAD_LOGGERS.items():
        logging.getLogger(name).setLevel(max(floor, root.level))
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers = []
        lg.propagate = True
