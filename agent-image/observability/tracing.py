"""OpenTelemetry set-up from the standard OTEL_* environment, W3C trace context only.

Tracing is on only when OTEL_EXPORTER_OTLP_ENDPOINT is set: the SDK's OTLP/HTTP exporter then
reads the endpoint, OTEL_EXPORTER_OTLP_HEADERS (a token: passed to the exporter, never read
here), OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES itself. Without it the global tracer stays
the API's no-op one.

AgentScope's spans (agentscope.tracing) and the runtime's `agent_step` span record prompts,
model output, tool arguments and results as attributes; unless AGENTSCOPE_TRACE_CONTENT=true,
ContentFilter drops those attributes (and exception text) from every span before export.
"""
from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any

from opentelemetry import context, propagate, trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

TRACER_NAME = "agentscope.stack"

# Attribute keys holding conversation content, as the locked packages name them:
# agentscope 1.0.21 tracing/_attributes.py (SpanAttributes), agentscope-runtime 1.1.6.post2
# engine/tracing/wrapper.py (input.value, output.value, gen_ai.response.first_pkg / pkg_<reason>),
# and agentscope 2.0.11 middleware/_tracing/_attributes.py (the same gen_ai.* keys, and the
# JSON of tool calls awaiting a person or an external executor, arguments included).
CONTENT_KEYS = frozenset({
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.system_instructions",
    "gen_ai.system.instructions",
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
    "agentscope.function.input",
    "agentscope.function.output",
    "input.value",
    "output.value",
    "gen_ai.response.first_pkg",
    "agentscope.sandbox.code",
    "agentscope.agent.hitl_pending_tools",
    "agentscope.agent.external_execution_pending_tools",
})
CONTENT_PREFIXES = ("gen_ai.response.pkg_",)
# Exception events keep their type only: a message can quote the input it choked on.
EXCEPTION_KEEP = frozenset({"exception.type", "exception.escaped"})


def content_enabled() -> bool:
    return os.environ.get("AGENTSCOPE_TRACE_CONTENT", "").strip().lower() == "true"


def tracing_enabled() -> bool:
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip())


def is_content_key(key: str) -> bool:
    return key in CONTENT_KEYS or key.startswith(CONTENT_PREFIXES)


def scrub_attributes(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (attributes or {}).items() if not is_content_key(k)}


def scrub(span: Any) -> Any:
    """A copy of a finished span without content attributes or exception text."""
    from opentelemetry.sdk.trace import Event, ReadableSpan
    from opentelemetry.trace import Status

    events = []
    for event in span.events:
        attrs = scrub_attributes(event.attributes)
        if event.name == "exception":
            attrs = {k: v for k, v in attrs.items() if k in EXCEPTION_KEEP}
        events.append(Event(event.name, attrs, event.timestamp))
    status = span.status
    if status.description:
        status = Status(status.status_code)  # its text is str(exception)
    return ReadableSpan(
        name=span.name, context=span.context, parent=span.parent, resource=span.resource,
        attributes=scrub_attributes(span.attributes), events=events, links=span.links, kind=span.kind,
        status=status, start_time=span.start_time, end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class ContentFilter:
    """A SpanExporter that hands spans on to `inner` without their content."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def export(self, spans: Sequence[Any]) -> Any:
        return self.inner.export([scrub(s) for s in spans])

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


def setup(default_service_name: str, exporter: Any = None) -> bool:
    """Installs the global TracerProvider when tracing is configured (or `exporter` is given,
    for tests). Returns whether tracing is on."""
    # W3C traceparent/tracestate only: no baggage (the runtime puts its request id there).
    propagate.set_global_textmap(TraceContextTextMapPropagator())
    if exporter is None and not tracing_enabled():
        return False
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    resource = Resource.create({})  # OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: default_service_name}))
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(exporter if content_enabled() else ContentFilter(exporter)))
    trace.set_tracer_provider(provider)
    return True


def shutdown() -> None:
    provider = trace.get_tracer_provider()
    if hasattr(provider, "shutdown"):
        provider.shutdown()  # flushes the batch


def tracer() -> trace.Tracer:
    return trace.get_tracer(TRACER_NAME)


def extract_asgi(headers: Sequence[tuple[bytes, bytes]]) -> context.Context:
    """The caller's trace context from ASGI headers (traceparent, tracestate)."""
    carrier = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in headers
               if k.lower() in (b"traceparent", b"tracestate")}
    return propagate.extract(carrier)


def inject(headers: MutableMapping[str, str], ctx: context.Context | None = None) -> None:
    propagate.inject(headers, context=ctx)


async def _inject_hook(request: Any) -> None:
    propagate.inject(request.headers)


def instrument_httpx(client: Any) -> Any:
    """Adds a request hook that sends the current trace context on every request of an
    httpx client (the model's, the sandbox manager's): no instrumentation package needed."""
    hooks = client.event_hooks
    if _inject_hook not in hooks["request"]:
        hooks["request"].append(_inject_hook)
        client.event_hooks = hooks
    return client
