"""Entry point: `python -m friday`."""
from __future__ import annotations

import gc
import logging
import sys

from pydantic import ValidationError

import observability.metrics
import observability.tracing

from . import logs
from .settings import Settings


def main() -> int:
    try:
        settings = Settings()
    except ValidationError as exc:
        logs.configure("INFO")
        errors = [
            ": ".join(filter(None, (".".join(map(str, e["loc"])), e["msg"])))
            for e in exc.errors(include_url=False, include_input=False)
        ]
        logging.getLogger("friday").critical("invalid configuration", extra={"errors": errors})
        return 2

    # Before the imports below: agentscope-runtime adds a colour text handler
    # to the root logger only when it has none yet.
    logs.configure(settings.log_level)
    # Before the app exists: the runtime's tracer takes the global provider on first use.
    if observability.tracing.setup("agentscope-agent"):
        # What agentscope.init(tracing_url=...) sets, without its own unfiltered exporter. A
        # ContextVar: set here, in the context every server task is copied from.
        from agentscope import _config

        _config.trace_enabled = True
    observability.metrics.serve("METRICS_PORT", host=settings.host)
    # Importing the runtime builds thousands of pydantic models: collecting
    # garbage meanwhile only slows start-up (about a fifth of it).
    gc.disable()
    from .app import create_app
    from .server import serve

    app = create_app(settings)
    # What start-up made lives as long as the process: keep it out of every
    # later collection.
    gc.freeze()
    gc.enable()
    # Again after them: they reset levels and agentscope adds its own handler.
    logs.configure(settings.log_level)
    if settings.auth_disabled:
        logging.getLogger("friday").warning("AUTH_DISABLED=true: every route is open")
    serve(app, settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
