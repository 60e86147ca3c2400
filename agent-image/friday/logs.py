"""One JSON object per log line, tagged with the current request and session."""
from __future__ import annotations

import json
import logging
import sys
import time
from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
session_id_var: ContextVar[str | None] = ContextVar("session_id", default=None)

# Standard record attributes, and uvicorn's ANSI-coloured copy of the message.
_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if (rid := request_id_var.get()) is not None:
            entry["request_id"] = rid
        if (sid := session_id_var.get()) is not None:
            entry["session_id"] = sid
        # Fields passed with logger.info(..., extra={...}).
        entry.update({k: v for k, v in vars(record).items() if k not in _RESERVED})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure(level: str) -> None:
    """Route every logger (ours, uvicorn's, agentscope's) to one JSON handler."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in list(logging.root.manager.loggerDict) + ["as", "uvicorn", "uvicorn.error"]:
        lg = logging.getLogger(name)
        # agentscope ("as") installs its own text handler at import time.
        lg.handlers.clear()
        lg.propagate = True
    # warnings.warn() would print multi-line text to stderr; as records they
    # become JSON lines like everything else.
    logging.captureWarnings(True)
    # Access lines come from our guard middleware, with ids and timings.
    logging.getLogger("uvicorn.access").disabled = True
