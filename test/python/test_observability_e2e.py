"""Issue 13, "real process": one turn through the gateway, as real processes (the stand-in model,
the agent, the gateway; the sandbox manager double of test_app), exports one trace to an OTLP/HTTP
receiver in this test: gateway.request -> agent.turn -> the model call (model name, token counts)
and the tool call; the manager gets the traceparent; the metrics endpoints count the turn; no
prompt, code, model output or secret is in any exported span or log line."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import AGENT_DIR, TOKEN, Agent, ask, final_text, free_port, wait_http
from otlp_receiver import OtlpReceiver
from test_app import FakeSandboxManager, tool_events
from test_gateway_shutdown import Gateway

import fake_model  # noqa: F401 - puts agent-image/ on sys.path
from stand_in_model.script import BUBBLE_OUTPUT, CODE_TOOL, FINAL_PREFIX  # noqa: E402

PROMPT_CANARY = "CANARY-prompt-7f3a9c"
KEY_CANARY = "CANARY-apikey-51d0e2"
HEADER_CANARY = "CANARY-otlpheader-c44b18"
CODE_MARK = "def bubble_sort"  # the code the stand-in model asks to run


def otel_env(receiver: OtlpReceiver, service: str) -> dict[str, str]:
    return {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_EXPORTER_OTLP_HEADERS": f"x-test-token={HEADER_CANARY}",
        "OTEL_SERVICE_NAME": service,
        "OTEL_RESOURCE_ATTRIBUTES": "k8s.namespace.name=test,agentscope.agent.name=Friday",
        # Export within 0.2 s, so the test need not stop the processes to see the spans.
        "OTEL_BSP_SCHEDULE_DELAY": "200",
    }


@pytest.fixture
def stand_in(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    log = open(tmp_path / "stand-in.log", "ab")
    proc = subprocess.Popen([sys.executable, "-m", "stand_in_model"], stdout=log, stderr=subprocess.STDOUT,
                            env={"PATH": os.environ["PATH"], "PYTHONPATH": str(AGENT_DIR), "HOST": "127.0.0.1",
                                 "PORT": str(port)})
    try:
        wait_http(f"http://127.0.0.1:{port}/v1/models", 30, proc)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def metrics(port: int) -> str:
    r = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    assert r.status_code == 200
    return r.text


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one Prometheus sample whose labels include `labels`."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        head, _, value = line.rpartition(" ")
        if all(f'{k}="{v}"' in head for k, v in labels.items()):
            return float(value)
    return None


def descends(span: dict[str, Any], ancestor: dict[str, Any], by_id: dict[str, dict[str, Any]]) -> bool:
    while span["parent"]:
        if span["parent"] == ancestor["span_id"]:
            return True
        span = by_id.get(span["parent"], {"parent": ""})
    return False


@pytest.mark.parametrize("content", [False, True], ids=["content-off", "content-on"])
def test_one_turn_is_one_trace_and_is_counted(tmp_path: Path, stand_in: str, content: bool) -> None:
    receiver = OtlpReceiver()
    manager = FakeSandboxManager("sandbox-token")
    agent_metrics, gateway_metrics = free_port(), free_port()
    agent = Agent({
        "AGENT_API_TOKEN": TOKEN, "MODEL_PROVIDER": "openai", "MODEL_BASE_URL": stand_in,
        "MODEL_NAME": "stand-in", "MODEL_API_KEY": KEY_CANARY,
        "SANDBOX_MANAGER_URL": manager.url, "SANDBOX_MANAGER_TOKEN": "sandbox-token",
        "METRICS_PORT": str(agent_metrics), **otel_env(receiver, "agentscope-agent"),
        "AGENTSCOPE_TRACE_CONTENT": "true" if content else "false",
    }, tmp_path / "agent.log")
    gateway = None
    try:
        agent.start()
        gateway = Gateway(agent.url, tmp_path / "gateway.log", {
            "PYTHONPATH": str(AGENT_DIR), "GATEWAY_METRICS_PORT": str(gateway_metrics),
            **otel_env(receiver, "agentscope-gateway"),
        })
        with gateway.client() as c:
            events = ask(c, f"Please write a bubble sort and run it. {PROMPT_CANARY}", session_id="obs-1")
        assert final_text(events).startswith(FINAL_PREFIX)
        assert BUBBLE_OUTPUT in tool_events(events, "plugin_call_output")[0]["content"][0]["data"]["output"]

        def complete(spans: list[dict[str, Any]]) -> bool:
            names = [s["name"] for s in spans]
            # The gateway's span ends last, after the response's last byte (and the probes' come first).
            return (any(s["name"] == "gateway.request" and s["attributes"]["url.path"] == "/process" for s in spans)
                    and "agent.turn" in names
                    and sum(n.startswith("chat ") for n in names) >= 2 and f"execute_tool {CODE_TOOL}" in names)

        spans = receiver.wait_for(complete)
        agent_metrics_text, gateway_metrics_text = metrics(agent_metrics), metrics(gateway_metrics)
    finally:
        agent.stop()
        if gateway is not None:
            gateway.stop()
        manager.server.shutdown()
        receiver.close()

    # One trace: the gateway's span is the root; everything else descends from it.
    [root] = [s for s in spans if s["name"] == "gateway.request" and s["attributes"]["url.path"] == "/process"]
    trace_id = root["trace_id"]
    turn_spans = [s for s in spans if s["trace_id"] == trace_id]
    by_id = {s["span_id"]: s for s in turn_spans}
    [turn] = [s for s in turn_spans if s["name"] == "agent.turn"]
    assert root["resource"]["service.name"] == "agentscope-gateway"
    assert turn["resource"]["service.name"] == "agentscope-agent"
    assert turn["resource"]["agentscope.agent.name"] == "Friday"
    assert root["attributes"]["http.response.status_code"] == 200
    assert turn["parent"] == root["span_id"]
    assert turn["attributes"]["agentscope.agent.name"] == "Friday"
    chats = [s for s in turn_spans if s["name"].startswith("chat ")]
    [tool] = [s for s in turn_spans if s["name"] == f"execute_tool {CODE_TOOL}"]
    assert len(chats) == 2 and all(descends(s, turn, by_id) for s in [*chats, tool])
    for chat in chats:
        assert chat["attributes"]["gen_ai.request.model"] == "stand-in"
        assert isinstance(chat["attributes"]["gen_ai.usage.input_tokens"], int)
        assert isinstance(chat["attributes"]["gen_ai.usage.output_tokens"], int)
    assert tool["attributes"]["gen_ai.tool.name"] == CODE_TOOL
    # The agent's calls to the sandbox manager carry the same trace.
    assert manager.traceparents and all(tp and tp.split("-")[1] == trace_id for tp in manager.traceparents)

    # No content and no secret in what was exported: attributes, events, status, raw bodies.
    exported = json.dumps(spans) + "".join(b.decode("latin-1") for b in receiver.bodies)
    for secret in (KEY_CANARY, HEADER_CANARY):
        assert secret not in exported, secret
    for text in (PROMPT_CANARY, CODE_MARK, FINAL_PREFIX, BUBBLE_OUTPUT):
        # AgentScope's spans do record them: only AGENTSCOPE_TRACE_CONTENT=true lets them out.
        assert (text in exported) is content, text
    assert all(h.get("x-test-token") == HEADER_CANARY for h in receiver.headers)  # sent as a header only

    # Log lines: the turn's carry its trace id; none carries content or a secret.
    agent_lines = agent.log_lines()
    started = [e for e in agent_lines if e["msg"] == "turn started"]
    assert started and started[0]["trace_id"] == trace_id and len(started[0]["span_id"]) == 16
    logs = (tmp_path / "agent.log").read_text() + (tmp_path / "gateway.log").read_text()
    for secret in (PROMPT_CANARY, KEY_CANARY, HEADER_CANARY, CODE_MARK):
        assert secret not in logs, secret

    # The metrics endpoints count the turn.
    assert sample(agent_metrics_text, "agentscope_agent_turns_total", agent="Friday", outcome="ok") == 1
    assert sample(agent_metrics_text, "agentscope_agent_turn_duration_seconds_count", agent="Friday") == 1
    assert sample(agent_metrics_text, "agentscope_model_call_duration_seconds_count", model="stand-in") == 2
    for kind in ("prompt", "completion"):
        assert sample(agent_metrics_text, "agentscope_model_tokens_total", agent="Friday", model="stand-in",
                      kind=kind) is not None
    assert sample(agent_metrics_text, "agentscope_agent_active_sessions", agent="Friday") == 0
    assert sample(gateway_metrics_text, "agentscope_gateway_requests_total", route="/process", code="200") == 1
    assert sample(gateway_metrics_text, "agentscope_gateway_request_duration_seconds_count", route="/process") == 1
