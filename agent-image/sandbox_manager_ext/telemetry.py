"""Spans and claim metrics of the sandbox manager, wrapped around upstream's SandboxManager
(agentscope_runtime/sandbox/manager/sandbox_manager.py, 1.1.x) as k8s_client wraps its client:
- `sandbox.claim` around create_from_pool (source warm: taken from the pool; cold: the pool was
  empty or stale and `create` made a new one), with claims and claim latency;
- `sandbox.run` around call_tool_async, the call forwarded to the sandbox pod (its traceparent
  added to that request);
- create failures (create returning None or raising), pool refills included.
The caller's trace context comes from TraceContext, the outermost ASGI middleware."""
from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from opentelemetry import context as otel_context, trace
from prometheus_client import Counter, Histogram

from observability.tracing import content_enabled, extract_asgi, instrument_httpx, tracer, tracing_enabled

CLAIMS = Counter("agentscope_sandbox_claims_total", "Sandboxes handed to agents, by source (warm | cold).",
                 ["sandbox_type", "source"])
CLAIM_SECONDS = Histogram("agentscope_sandbox_claim_duration_seconds", "Time to hand a sandbox to an agent.",
                          ["sandbox_type"], buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300))
CREATE_FAILURES = Counter("agentscope_sandbox_create_failures_total", "Sandbox creations that failed.",
                          ["sandbox_type"])

# Set during a claim: one entry per `create` it called (none: warm).
_created: ContextVar[list[int] | None] = ContextVar("sandbox_created", default=None)


def _type_of(manager: Any, sandbox_type: Any) -> str:
    value = sandbox_type or manager.default_type[0]
    return str(getattr(value, "value", value))


def wrap_manager(cls: Any) -> None:
    if getattr(cls, "_agentscope_observed", False):
        return
    create, claim, call_tool = cls.create, cls.create_from_pool, cls.call_tool_async

    @functools.wraps(create)
    def create_wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        sandbox_type = _type_of(self, kwargs.get("sandbox_type", args[0] if args else None))
        if (made := _created.get()) is not None:
            made.append(1)  # a claim that had to create is cold, whether or not that worked
        name = None
        try:
            name = create(self, *args, **kwargs)
        finally:
            if name is None:
                CREATE_FAILURES.labels(sandbox_type=sandbox_type).inc()
        return name

    @functools.wraps(claim)
    def claim_wrapper(self: Any, sandbox_type: Any = None, meta: Any = None) -> Any:
        kind = _type_of(self, sandbox_type)
        made: list[int] = []
        token = _created.set(made)
        started = time.perf_counter()
        with tracer().start_as_current_span("sandbox.claim", attributes={"agentscope.sandbox.type": kind}) as span:
            try:
                name = claim(self, sandbox_type=sandbox_type, meta=meta)
            finally:
                _created.reset(token)
            source = "cold" if made else "warm"
            span.set_attribute("agentscope.sandbox.source", source)
            if name is None:
                span.set_status(trace.StatusCode.ERROR, "no sandbox")
                return name
            span.set_attribute("agentscope.sandbox.id", str(name))
        CLAIMS.labels(sandbox_type=kind, source=source).inc()
        CLAIM_SECONDS.labels(sandbox_type=kind).observe(time.perf_counter() - started)
        return name

    @functools.wraps(call_tool)
    async def call_tool_wrapper(self: Any, identity: Any, tool_name: Any = None, arguments: Any = None) -> Any:
        attributes = {"gen_ai.tool.name": str(tool_name), "agentscope.sandbox.id": str(identity)}
        if content_enabled() and isinstance(arguments, dict) and isinstance(arguments.get("code"), str):
            attributes["agentscope.sandbox.code"] = arguments["code"]
        with tracer().start_as_current_span("sandbox.run", kind=trace.SpanKind.CLIENT, attributes=attributes):
            return await call_tool(self, identity, tool_name=tool_name, arguments=arguments)

    cls.create, cls.create_from_pool, cls.call_tool_async = create_wrapper, claim_wrapper, call_tool_wrapper
    cls._agentscope_observed = True


def wrap_sandbox_client(cls: Any) -> None:
    """The manager's per-call client to a sandbox pod sends the current traceparent."""
    if getattr(cls, "_agentscope_observed", False):
        return
    original_init = cls.__init__

    @functools.wraps(original_init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        instrument_httpx(self.client)

    cls.__init__ = __init__
    cls._agentscope_observed = True


ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


class TraceContext:
    """Makes the caller's W3C trace context current for the request (and its log lines)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = otel_context.attach(extract_asgi(scope["headers"]))
        try:
            await self.app(scope, receive, send)
        finally:
            otel_context.detach(token)


def install(app: Any = None, manager_cls: Any = None, client_cls: Any = None) -> None:
    if manager_cls is None:
        from agentscope_runtime.sandbox.manager.sandbox_manager import SandboxManager

        manager_cls = SandboxManager
    if client_cls is None:
        from agentscope_runtime.sandbox.client.async_http_client import SandboxHttpAsyncClient

        client_cls = SandboxHttpAsyncClient
    if app is None:
        from agentscope_runtime.sandbox.manager.server import app as server

        app = server.app
    wrap_manager(manager_cls)
    if tracing_enabled():
        wrap_sandbox_client(client_cls)
    app.add_middleware(TraceContext)
