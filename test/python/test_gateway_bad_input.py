"""Issue 22, item 7: the small ones, on the agent directly and through the gateway: deeply nested
JSON and a lone surrogate are a 400 with the error schema (not a plain-text 500, not a turn that
fails later), the 405 body has the `error` key, and the kubelet's probes are not traced."""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from conftest import AGENT_DIR, TOKEN, Agent, ask, final_text
from otlp_receiver import OtlpReceiver
from test_gateway_shutdown import Gateway, start_gateway  # noqa: F401 - a fixture
from test_observability_e2e import otel_env

NESTED = b'{"input": ' + b"[" * 30_000 + b"]" * 30_000 + b"}"  # under the fixture's 64 KiB limit
# JSON's own escape for a lone high surrogate: valid JSON, not encodable as UTF-8.
SURROGATE = b'{"input": [{"role": "user", "content": [{"type": "text", "text": "a\\ud800b"}]}]}'


def post(url: str, body: bytes) -> httpx.Response:
    return httpx.post(url + "/process", content=body, timeout=30,
                      headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})


@pytest.fixture(params=["agent", "gateway"])
def target(request: pytest.FixtureRequest, local_agent: Agent, start_gateway: Callable[..., Gateway]) -> str:
    return local_agent.url if request.param == "agent" else start_gateway(local_agent.url).url


@pytest.mark.parametrize("body,error", [(NESTED, "malformed_json"), (SURROGATE, "invalid_text")],
                         ids=["nested", "lone-surrogate"])
def test_bodies_json_cannot_carry_are_a_400_with_the_error_schema(target: str, body: bytes, error: str) -> None:
    r = post(target, body)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["error"] == error


def test_405_has_the_error_key(target: str) -> None:
    r = httpx.get(target + "/process", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert r.status_code == 405
    assert r.json()["error"] == "method_not_allowed"
    assert "POST" in r.headers["allow"]


def test_the_agent_logged_no_server_error(local_agent: Agent) -> None:
    post(local_agent.url, NESTED)
    post(local_agent.url, SURROGATE)
    assert not [e for e in local_agent.log_lines() if e["level"] in ("ERROR", "CRITICAL")]


def test_probes_through_the_gateway_are_not_traced(tmp_path: Path, local_agent: Agent) -> None:
    receiver = OtlpReceiver()
    gateway = Gateway(local_agent.url, tmp_path / "gateway.log",
                      {"PYTHONPATH": str(AGENT_DIR), **otel_env(receiver, "agentscope-gateway")})
    try:
        for _ in range(5):
            assert httpx.get(gateway.url + "/health", timeout=5).status_code == 200
            assert httpx.head(gateway.url + "/health", timeout=5).status_code == 200
        with gateway.client() as c:
            assert final_text(ask(c, "traced", session_id="probe-1")).startswith("echo:")
        spans = receiver.wait_for(lambda s: any(x["attributes"].get("url.path") == "/process" for x in s))
    finally:
        gateway.stop()
        receiver.close()
    paths = [s["attributes"].get("url.path") for s in spans if s["name"] == "gateway.request"]
    # wait_http's own start-up probes included: none of them is a span.
    assert "/health" not in paths and "/process" in paths, paths
