"""One JSON object per log line, tagged with the current request, session and span."""
from __future__ import annotations

import logging
import sys
from contextvars import ContextVar

import observability.logs

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
session_id_var: ContextVar[str | None] = ContextVar("session_id", default=None)


class JsonFormatter(observability.logs.JsonFormatter):
    """The shared JSON line (with trace_id/span_id), plus the request and session ids."""

    def context_fields(self) -> dict[str, object]:
        entry: dict[str, object] = {}
        if (rid := request_id_var.get()) is not None:
            entry["request_id"] = rid
        if (sid := session_id_var.get()) is not None:
            entry["session_id"] = sid
        return entry


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
