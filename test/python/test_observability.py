"""agent-image/observability and its users, in process: the content filter (with a canary), the
trace fields of log lines, the metric names of the contract, the sandbox manager's claim and run
spans, traceparent on outgoing httpx requests, and the metrics listener."""
from __future__ import annotations

import asyncio
import importlib.util
import io
import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import REGISTRY

from conftest import AGENT_DIR, REPO, free_port

import fake_model  # noqa: F401 - puts agent-image/ on sys.path
from observability import logs as obs_logs, metrics as obs_metrics, tracing  # noqa: E402

from span_capture import EXPORTED  # noqa: E402 - the global provider: tracing.tracer()'s and agentscope's

CANARY = "CANARY-6b1f0e-do-not-export"


@pytest.fixture(autouse=True)
def _clear() -> None:
    EXPORTED.clear()


def content_attributes() -> dict[str, str]:
    """Every content-carrying key AgentScope's and the runtime's spans set, from their own sources."""
    from agentscope.tracing._attributes import SpanAttributes as A

    keys = [A.GEN_AI_INPUT_MESSAGES, A.GEN_AI_OUTPUT_MESSAGES, A.GEN_AI_SYSTEM_INSTRUCTIONS,
            A.GEN_AI_TOOL_CALL_ARGUMENTS, A.GEN_AI_TOOL_CALL_RESULT, A.AGENTSCOPE_FUNCTION_INPUT,
            A.AGENTSCOPE_FUNCTION_OUTPUT, "input.value", "output.value", "gen_ai.response.first_pkg",
            "gen_ai.response.pkg_stop", "agentscope.sandbox.code"]
    return {k: f"{k}: {CANARY}" for k in keys}


def test_content_filter_drops_content_exception_text_and_keeps_the_rest() -> None:
    inner = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(tracing.ContentFilter(inner)))
    with provider.get_tracer("t").start_as_current_span("chat stand-in") as span:
        span.set_attributes({**content_attributes(), "gen_ai.request.model": "stand-in",
                             "gen_ai.usage.input_tokens": 7})
        span.record_exception(ValueError(CANARY))
        span.set_status(trace.StatusCode.ERROR, CANARY)
    [out] = inner.get_finished_spans()
    assert dict(out.attributes) == {"gen_ai.request.model": "stand-in", "gen_ai.usage.input_tokens": 7}
    assert [e.name for e in out.events] == ["exception"]
    assert dict(out.events[0].attributes) == {"exception.type": "ValueError", "exception.escaped": "False"} \
        or dict(out.events[0].attributes) == {"exception.type": "ValueError"}
    assert out.status.status_code == trace.StatusCode.ERROR and not out.status.description
    assert out.context == span.get_span_context() and out.name == "chat stand-in"
    assert CANARY not in repr([out.attributes, out.events[0].attributes, out.status.description])


def test_agentscopes_own_tool_span_loses_its_arguments_and_result() -> None:
    """A real Toolkit call traced by agentscope.tracing, its span passed through the filter."""
    from agentscope import _config
    from agentscope.message import TextBlock, ToolUseBlock
    from agentscope.tool import ToolResponse, Toolkit

    async def echo(text: str) -> ToolResponse:
        """Echo.

        Args:
            text (`str`): what to echo.
        """
        return ToolResponse(content=[TextBlock(type="text", text=text)])

    toolkit = Toolkit()
    toolkit.register_tool_function(echo)
    token = _config._trace_enabled.set(True)
    try:
        async def run() -> None:
            call = ToolUseBlock(type="tool_use", id="c1", name="echo", input={"text": CANARY})
            async for _ in await toolkit.call_tool_function(call):
                pass
        asyncio.run(run())
    finally:
        _config._trace_enabled.reset(token)
    [raw] = [s for s in EXPORTED.get_finished_spans() if s.name == "execute_tool echo"]
    assert CANARY in json.dumps(dict(raw.attributes))  # what AgentScope records
    scrubbed = tracing.scrub(raw)
    assert CANARY not in json.dumps(dict(scrubbed.attributes))
    assert scrubbed.attributes["gen_ai.tool.name"] == "echo"


def test_setup_is_off_without_an_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    assert tracing.setup("x") is False
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", " ")
    assert tracing.tracing_enabled() is False
    for value, on in (("true", True), ("TRUE", True), ("false", False), ("", False), ("1", False)):
        monkeypatch.setenv("AGENTSCOPE_TRACE_CONTENT", value)
        assert tracing.content_enabled() is on


def test_log_lines_carry_the_active_span_ids() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(obs_logs.JsonFormatter())
    log = logging.getLogger("test.obs")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("outside")
        with tracing.tracer().start_as_current_span("s") as span:
            log.warning("inside", extra={"k": 1})
    finally:
        log.removeHandler(handler)
    outside, inside = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert "trace_id" not in outside and "span_id" not in outside
    ctx = span.get_span_context()
    assert inside["trace_id"] == format(ctx.trace_id, "032x") and len(inside["trace_id"]) == 32
    assert inside["span_id"] == format(ctx.span_id, "016x") and len(inside["span_id"]) == 16
    assert inside["k"] == 1 and inside["msg"] == "inside"


def test_httpx_clients_send_the_current_traceparent() -> None:
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("traceparent"))
        return httpx.Response(200)

    async def go() -> None:
        async with tracing.instrument_httpx(httpx.AsyncClient(transport=httpx.MockTransport(handler))) as client:
            tracing.instrument_httpx(client)  # idempotent
            with tracing.tracer().start_as_current_span("outer") as span:
                await client.get("http://127.0.0.1:9/x")
            await client.get("http://127.0.0.1:9/y")
        return span

    span = asyncio.run(go())
    ctx = span.get_span_context()
    # The flags byte: sampled, plus the W3C level-2 random-trace-id bit this SDK sets.
    assert seen[0] is not None and seen[0].rsplit("-", 1)[0] == f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}"
    assert seen[1] is None


CONTRACT = {  # name as exposed: (type, labels)
    "agentscope_gateway_requests": ("counter", {"route", "code"}),
    "agentscope_gateway_request_duration_seconds": ("histogram", {"route"}),
    "agentscope_agent_turns": ("counter", {"agent", "outcome"}),
    "agentscope_agent_turn_duration_seconds": ("histogram", {"agent"}),
    "agentscope_agent_active_sessions": ("gauge", {"agent"}),
    "agentscope_model_tokens": ("counter", {"agent", "model", "kind"}),
    "agentscope_model_call_duration_seconds": ("histogram", {"model"}),
    "agentscope_sandbox_pool_target": ("gauge", {"sandbox_type"}),
    "agentscope_sandbox_warm": ("gauge", {"sandbox_type"}),
    "agentscope_sandbox_in_use": ("gauge", {"sandbox_type"}),
    "agentscope_sandbox_creating": ("gauge", {"sandbox_type"}),
    "agentscope_sandbox_reaped": ("counter", {"sandbox_type", "reason"}),
    "agentscope_sandbox_claims": ("counter", {"sandbox_type", "source"}),
    "agentscope_sandbox_claim_duration_seconds": ("histogram", {"sandbox_type"}),
    "agentscope_sandbox_create_failures": ("counter", {"sandbox_type"}),
    "agentscope_redis_up": ("gauge", set()),
}


def load_gateway() -> Any:
    spec = importlib.util.spec_from_file_location("gateway_under_test", REPO / "components" / "assets" / "gateway.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_metric_names_types_and_labels_are_the_contracts() -> None:
    import friday.telemetry  # noqa: F401
    from sandbox_manager_ext import pool_metrics, telemetry  # noqa: F401

    pool_metrics.track_redis()  # registered once the manager has a Redis
    gateway = load_gateway()
    assert gateway.obs_tracing is not None  # it found the package on the path
    found = {}
    for collector in list(REGISTRY._collector_to_names):  # every registered metric family
        for family in collector.describe() if hasattr(collector, "describe") else []:
            if family.name.startswith("agentscope_"):
                found[family.name] = family.type
    assert found == {name: kind for name, (kind, _) in CONTRACT.items()}
    for name, (_, labels) in CONTRACT.items():
        metric = next(c for c in REGISTRY._collector_to_names if name in REGISTRY._collector_to_names[c])
        assert set(metric._labelnames) == labels, name


def test_metrics_listen_only_when_the_port_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("METRICS_PORT", raising=False)
    assert obs_metrics.serve("METRICS_PORT", host="127.0.0.1") is None
    monkeypatch.setenv("METRICS_PORT", "")
    assert obs_metrics.serve("METRICS_PORT", host="127.0.0.1") is None
    port = free_port()
    monkeypatch.setenv("METRICS_PORT", str(port))
    assert obs_metrics.serve("METRICS_PORT", host="127.0.0.1") == port
    r = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    assert r.status_code == 200 and "# TYPE" in r.text
    monkeypatch.setenv("METRICS_PORT", "99999")
    with pytest.raises(ValueError):
        obs_metrics.serve("METRICS_PORT")


def test_module_is_shipped_in_both_images() -> None:
    dockerfile = (AGENT_DIR / "Dockerfile").read_text()
    assert dockerfile.count("COPY observability /app/observability") == 2
    assert "!observability/" in (AGENT_DIR / ".containerignore").read_text().splitlines()
    assert Path(AGENT_DIR / "observability" / "tracing.py").is_file()
