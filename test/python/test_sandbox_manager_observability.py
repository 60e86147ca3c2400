"""sandbox_manager_ext's spans and metrics on a stand-in with upstream's SandboxManager method
names and its in-memory pool queue and mapping: a warm and a cold claim, a failed create, the
forwarded call's span, the trace context middleware, the pool gauges and Redis reachability,
and the manager's JSON log lines without call bodies."""
from __future__ import annotations

import asyncio
import io
import json
import logging
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY

import fake_model  # noqa: F401 - puts agent-image/ on sys.path
from span_capture import EXPORTED  # noqa: E402
from agentscope_runtime.common.collections.in_memory_mapping import InMemoryMapping  # noqa: E402
from agentscope_runtime.common.collections.in_memory_queue import InMemoryQueue  # noqa: E402
from sandbox_manager_ext import json_logs, pool_metrics, telemetry  # noqa: E402

CODE = "print('CANARY-code-91ac')"


class Manager:
    """The SandboxManager methods the extension wraps, in server (local) mode."""

    default_type = ["base"]
    pool_size = 2
    prefix = "sbx"

    def __init__(self) -> None:
        self.pool_queues = {"base": InMemoryQueue()}
        self.container_mapping = InMemoryMapping()
        self.fail = False
        self.n = 0

    def create(self, sandbox_type: Any = None, meta: Any = None) -> str | None:
        if self.fail:
            return None
        self.n += 1
        name = f"sbx-{self.n}"
        self.container_mapping.set(name, {"state": "running" if meta else "warm", "sandbox_type": "base"})
        return name

    def create_from_pool(self, sandbox_type: Any = None, meta: Any = None) -> str | None:
        item = self.pool_queues["base"].dequeue()
        if item:
            self.container_mapping.set(item["name"], {"state": "running", "sandbox_type": "base"})
            return item["name"]
        return self.create(sandbox_type=sandbox_type, meta=meta)

    async def call_tool_async(self, identity: Any, tool_name: Any = None, arguments: Any = None) -> Any:
        return {"ran": identity}


telemetry.wrap_manager(Manager)


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture(autouse=True)
def _clear() -> None:
    EXPORTED.clear()


def test_claims_are_warm_or_cold_counted_timed_and_traced() -> None:
    m = Manager()
    m.pool_queues["base"].enqueue({"name": "sbx-warm"})
    before = {s: value("agentscope_sandbox_claims_total", sandbox_type="base", source=s) for s in ("warm", "cold")}
    timed = value("agentscope_sandbox_claim_duration_seconds_count", sandbox_type="base")
    assert m.create_from_pool(sandbox_type="base", meta={"session_ctx_id": "s"}) == "sbx-warm"
    assert m.create_from_pool(sandbox_type="base", meta={"session_ctx_id": "s"}) == "sbx-1"
    assert value("agentscope_sandbox_claims_total", sandbox_type="base", source="warm") == before["warm"] + 1
    assert value("agentscope_sandbox_claims_total", sandbox_type="base", source="cold") == before["cold"] + 1
    assert value("agentscope_sandbox_claim_duration_seconds_count", sandbox_type="base") == timed + 2
    claims = [s for s in EXPORTED.get_finished_spans() if s.name == "sandbox.claim"]
    assert [(s.attributes["agentscope.sandbox.source"], s.attributes["agentscope.sandbox.id"]) for s in claims] == [
        ("warm", "sbx-warm"), ("cold", "sbx-1")]
    assert all(s.attributes["agentscope.sandbox.type"] == "base" for s in claims)


def test_a_failed_create_is_counted_and_the_claim_marked_failed() -> None:
    m = Manager()
    m.fail = True
    failures = value("agentscope_sandbox_create_failures_total", sandbox_type="base")
    assert m.create_from_pool() is None
    assert m.create(sandbox_type="base") is None  # a pool refill counts too
    assert value("agentscope_sandbox_create_failures_total", sandbox_type="base") == failures + 2
    [claim] = [s for s in EXPORTED.get_finished_spans() if s.name == "sandbox.claim"]
    assert claim.status.status_code.name == "ERROR" and claim.attributes["agentscope.sandbox.source"] == "cold"


@pytest.mark.parametrize("content", [False, True])
def test_the_run_span_names_the_tool_and_holds_code_only_when_asked(content: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTSCOPE_TRACE_CONTENT", "true" if content else "false")
    result = asyncio.run(Manager().call_tool_async("sbx-1", tool_name="run_ipython_cell", arguments={"code": CODE}))
    assert result == {"ran": "sbx-1"}
    [run] = [s for s in EXPORTED.get_finished_spans() if s.name == "sandbox.run"]
    assert run.attributes["gen_ai.tool.name"] == "run_ipython_cell"
    assert (run.attributes.get("agentscope.sandbox.code") == CODE) is content


def test_wrapped_methods_keep_upstreams_route_markers() -> None:
    from agentscope_runtime.sandbox.manager.sandbox_manager import SandboxManager

    telemetry.wrap_manager(SandboxManager)
    for name in ("create", "create_from_pool", "call_tool_async"):
        method = getattr(SandboxManager, name)
        assert method._is_remote_wrapper and method._path == "/" + name  # register_routes needs them


def test_requests_run_under_the_callers_trace_context() -> None:
    app = FastAPI()
    seen: list[str] = []

    @app.post("/create_from_pool_async")
    async def claim() -> dict[str, str]:
        from observability.logs import trace_fields

        seen.append(trace_fields().get("trace_id", ""))
        return {"ok": "yes"}

    app.add_middleware(telemetry.TraceContext)
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"

    async def go() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://manager") as c:
            await c.post("/create_from_pool_async", headers={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"})
            await c.post("/create_from_pool_async")

    asyncio.run(go())
    assert seen == [trace_id, ""]


class Pinger:
    def __init__(self, up: bool) -> None:
        self.up = up

    def ping(self) -> bool:
        if not self.up:
            raise ConnectionError("down")
        return True


def test_pool_gauges_and_redis_up() -> None:
    m = Manager()
    if pool_metrics.REDIS_UP in REGISTRY._collector_to_names:
        REGISTRY.unregister(pool_metrics.REDIS_UP)
    pool_metrics.poll_once(m)  # a manager without Redis: no agentscope_redis_up at all
    assert "agentscope_redis_up" not in REGISTRY._names_to_collectors
    m.pool_queues["base"].enqueue({"name": "sbx-w1"})
    m.create_from_pool(meta={"session_ctx_id": "s"})  # warm: sbx-w1 is running now
    m.pool_queues["base"].enqueue({"name": "sbx-w2"})
    pool_metrics.poll_once(m, Pinger(True))
    assert value("agentscope_sandbox_pool_target", sandbox_type="base") == 2
    assert value("agentscope_sandbox_warm", sandbox_type="base") == 1
    assert value("agentscope_sandbox_in_use", sandbox_type="base") == 1
    assert value("agentscope_redis_up") == 1
    pool_metrics.poll_once(m, Pinger(False))
    assert value("agentscope_redis_up") == 0


def test_manager_logs_are_json_with_trace_ids_and_without_call_bodies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGENTSCOPE_TRACE_CONTENT", raising=False)
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        json_logs.configure()
        stream = io.StringIO()
        root.handlers[0].stream = stream  # type: ignore[attr-defined]
        upstream = logging.getLogger(json_logs.UPSTREAM_ENDPOINT_LOGGER)
        from observability.tracing import tracer

        with tracer().start_as_current_span("request"):
            upstream.info(f"Calling call_tool_async with data: {{'arguments': {{'code': {CODE!r}}}}}")
        logging.getLogger("other").info("plain")
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    first, second = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert first["msg"] == "Calling call_tool_async (body not logged)" and len(first["trace_id"]) == 32
    assert "CANARY" not in stream.getvalue()
    assert second["msg"] == "plain" and "trace_id" not in second
    from uvicorn.config import LOGGING_CONFIG

    assert LOGGING_CONFIG["formatters"]["access"] == {"()": "observability.logs.JsonFormatter"}
