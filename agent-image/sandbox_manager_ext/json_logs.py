"""The manager's logs as JSON lines with trace_id/span_id (observability.logs), its own and
uvicorn's. Upstream's endpoint logs every call's body at INFO ("Calling call_tool_async with
data: {...}", manager/server/app.py create_endpoint): the code to run, which stays out of the
logs unless AGENTSCOPE_TRACE_CONTENT=true."""
from __future__ import annotations

import logging
import sys

from observability.logs import JsonFormatter
from observability.tracing import content_enabled

UPSTREAM_ENDPOINT_LOGGER = "agentscope_runtime.sandbox.manager.server.app"


class DropCallBodies(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == UPSTREAM_ENDPOINT_LOGGER:
            message = record.getMessage()
            if message.startswith("Calling ") and " with data: " in message:
                record.msg, record.args = message.split(" with data: ", 1)[0] + " (body not logged)", ()
        return True


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    if not content_enabled():
        handler.addFilter(DropCallBodies())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn.run (upstream's main) applies its LOGGING_CONFIG, the default argument of
    # uvicorn.Config: its formatters become ours, in place.
    from uvicorn.config import LOGGING_CONFIG

    for name in ("default", "access"):
        LOGGING_CONFIG["formatters"][name] = {"()": "observability.logs.JsonFormatter"}
