"""Traces from the AgentScope 2.x launcher, as a real process: with the OTEL_* settings the stack
gives it, a chat turn's spans (2.x's TracingMiddleware: the agent's reply and its model call) reach
an OTLP/HTTP receiver on loopback, without the conversation's content, with the exporter's headers;
those headers are gone from the environment the user's code (and a workspace tool) sees, and the
user's own extra_agent_middlewares factory still runs.
"""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import AGENT_DIR
from otlp_receiver import OtlpReceiver
from stand_in_model import STAND_IN_ANSWER, StandInModelServer
from test_agentscope2 import API_KEY, PYTHON, REDIS_PASSWORD, Service, Stream

HEADER_CANARY = "CANARY-as2-otlpheader-9d41"
PROMPT_CANARY = "CANARY-as2-prompt-2b7e"
# The user's hooks: a middleware factory of the older three-argument kind, which records what the
# environment of the user's code holds when the app assembles the agent.
USER_MODULE = """
import json, os

async def extra_agent_middlewares(user_id, agent_id, session_id):
    with open(os.environ["HOOK_LOG"], "a") as f:
        f.write(json.dumps({"user": user_id, "otlp_headers_visible": "OTEL_EXPORTER_OTLP_HEADERS" in os.environ}) + "\\n")
    return []
"""


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    r = OtlpReceiver()
    try:
        yield r
    finally:
        r.close()


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory, redis_url: str, receiver: OtlpReceiver) -> Iterator[Service]:
    if not PYTHON.exists():
        pytest.fail(f"{PYTHON} is missing: scripts/test-python.sh makes it")
    workdir = tmp_path_factory.mktemp("as2-traced")
    (workdir / "traced_hooks.py").write_text(USER_MODULE)
    with StandInModelServer() as stand_in:
        s = Service({
            "PYTHONPATH": f"{AGENT_DIR}:{workdir}",
            "AGENTSCOPE_USER_MODULE": "traced_hooks", "HOOK_LOG": str(workdir / "hooks.log"),
            "REDIS_URL": redis_url, "REDIS_PASSWORD": REDIS_PASSWORD,
            "MODEL_PROVIDER": "openai", "MODEL_BASE_URL": stand_in.base_url, "MODEL_NAME": "stand-in",
            "MODEL_API_KEY": API_KEY, "AGENT_NAME": "helper",
            "AGENTSCOPE_WORKSPACE_DIR": str(workdir / "workspaces"),
            # What components/workload/telemetry.ts otelEnv() sets, with a fast batch for the test.
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_EXPORTER_OTLP_HEADERS": f"x-test-token={HEADER_CANARY}",
            "OTEL_SERVICE_NAME": "agentscope-agent",
            "OTEL_RESOURCE_ATTRIBUTES": "k8s.namespace.name=test,agentscope.agent.name=helper",
            "AGENTSCOPE_TRACE_CONTENT": "false",
            "OTEL_BSP_SCHEDULE_DELAY": "200",
        }, workdir / "service.log")
        with s.running():
            yield s


def chat_turn(service: Service, user: str, text: str) -> list[dict[str, Any]]:
    with service.client(user) as c:
        created = c.post("/sessions/", json={"agent_id": "default"})
        assert created.status_code == 201, created.text
        session_id = created.json()["session_id"]
        stream = Stream(service, user, session_id)
        stream.start()
        assert stream.opened.wait(30) and stream.error is None, stream.error
        time.sleep(0.5)  # the subscription is set up just after the headers
        started = c.post("/chat/", json={
            "agent_id": "default", "session_id": session_id,
            "input": {"name": user, "role": "user", "content": [{"type": "text", "text": text}]},
        })
        assert started.status_code == 200, started.text
        stream.join(90)
    assert stream.error is None, repr(stream.error)
    return stream.events


def test_a_turn_is_traced_without_its_content_and_with_the_exporters_headers(
    traced: Service, receiver: OtlpReceiver,
) -> None:
    events = chat_turn(traced, "dora", f"Say hello. {PROMPT_CANARY}")
    assert "".join(e["delta"] for e in events if e.get("type") == "TEXT_BLOCK_DELTA") == STAND_IN_ANSWER

    spans = receiver.wait_for(lambda s: any(x["attributes"].get("gen_ai.operation.name") == "chat" for x in s)
                              and any(x["attributes"].get("gen_ai.operation.name") == "invoke_agent" for x in s))
    ops = {s["attributes"].get("gen_ai.operation.name") for s in spans}
    assert {"invoke_agent", "chat"} <= ops, sorted(s["name"] for s in spans)
    for s in spans:
        assert s["resource"]["service.name"] == "agentscope-agent"
        assert s["resource"]["agentscope.agent.name"] == "helper"
    # The model call is a child of the agent's reply, in one trace.
    reply = next(s for s in spans if s["attributes"].get("gen_ai.operation.name") == "invoke_agent")
    chat = next(s for s in spans if s["attributes"].get("gen_ai.operation.name") == "chat")
    assert chat["trace_id"] == reply["trace_id"]
    # No content: neither the prompt nor the answer, in any attribute or event.
    dumped = json.dumps(spans)
    assert PROMPT_CANARY not in dumped and STAND_IN_ANSWER not in dumped
    assert not any("gen_ai.input.messages" in s["attributes"] or "gen_ai.output.messages" in s["attributes"] for s in spans)
    # The exporter sent the headers it was given.
    assert all(h.get("x-test-token") == HEADER_CANARY for h in receiver.headers)


def test_the_users_code_runs_without_the_exporters_headers_in_its_environment(traced: Service) -> None:
    chat_turn(traced, "erin", "Hello again.")
    calls = [json.loads(line) for line in Path(traced.env["HOOK_LOG"]).read_text().splitlines()]
    mine = [c for c in calls if c["user"] == "erin"]
    assert mine, calls  # the user's own middleware factory ran beside the tracing one
    assert not any(c["otlp_headers_visible"] for c in calls)
    assert HEADER_CANARY not in traced.log_path.read_text()
