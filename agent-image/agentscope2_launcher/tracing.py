"""Traces of a 2.x app's turns: AgentScope 2.x's own TracingMiddleware (one span per agent reply,
model call and tool call: agentscope/middleware/_tracing/_trace.py) on every agent the app
assembles, exported over OTLP/HTTP by observability.tracing (Friday's set-up, see _otel.py): the
standard OTEL_* settings, W3C trace context, and content attributes dropped unless
AGENTSCOPE_TRACE_CONTENT=true.

The exporter's headers (a token) come from Config, which took them out of the environment: code a
workspace tool runs inherits this process's environment.
"""
from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from ._otel import tracing as otel
from .config import Config

# OTEL_SERVICE_NAME, which the stack sets, wins over this.
DEFAULT_SERVICE_NAME = "agentscope-agent"

MiddlewareFactory = Callable[..., Awaitable[list[Any]]]


def setup(cfg: Config) -> bool:
    """Installs the tracer provider when OTEL_EXPORTER_OTLP_ENDPOINT is set; returns whether it did."""
    if not otel.tracing_enabled():
        return otel.setup(DEFAULT_SERVICE_NAME)  # the W3C propagator only
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.util.re import parse_env_headers

    # parse_env_headers is how the exporter reads OTEL_EXPORTER_OTLP_HEADERS itself.
    headers = parse_env_headers(cfg.otlp_headers, liberal=True) if cfg.otlp_headers else None
    return otel.setup(DEFAULT_SERVICE_NAME, exporter=OTLPSpanExporter(headers=headers))


def _takes_workspace(factory: MiddlewareFactory) -> bool:
    """Whether a factory takes the fourth `workspace` argument, probed as create_app's chat service
    does (agentscope/app/_service/_chat.py): older factories take three."""
    try:
        inspect.signature(factory).bind("", "", "", None)
    except (TypeError, ValueError):
        return False
    return True


def with_tracing(user_factory: MiddlewareFactory | None) -> MiddlewareFactory:
    """An `extra_agent_middlewares` factory: TracingMiddleware first, then whatever the user's own
    factory (AGENTSCOPE_USER_MODULE) returns for that turn."""
    from agentscope.middleware import TracingMiddleware

    takes_workspace = user_factory is not None and _takes_workspace(user_factory)

    async def factory(user_id: str, agent_id: str, session_id: str, workspace: Any) -> list[Any]:
        extra: list[Any] = []
        if user_factory is not None:
            args = (user_id, agent_id, session_id, workspace) if takes_workspace else (user_id, agent_id, session_id)
            extra = list(await user_factory(*args))
        return [TracingMiddleware(), *extra]

    return factory
