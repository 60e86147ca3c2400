"""JSON log lines that carry the active span's trace_id and span_id."""
from __future__ import annotations

import json
import logging
import time

from opentelemetry import trace

# Standard record attributes, and uvicorn's ANSI-coloured copy of the message.
RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}


def trace_fields() -> dict[str, str]:
    """trace_id (32 hex) and span_id (16 hex) of the current span, when there is a valid one."""
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return {}
    return {"trace_id": format(ctx.trace_id, "032x"), "span_id": format(ctx.span_id, "016x")}


class JsonFormatter(logging.Formatter):
    """ts, level, logger, msg, the trace ids, then the fields passed with extra={...}."""

    def context_fields(self) -> dict[str, object]:
        return {}

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(self.context_fields())
        entry.update(trace_fields())
        entry.update({k: v for k, v in vars(record).items() if k not in RESERVED})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)
