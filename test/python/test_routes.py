"""What a client sees around /process: the service description, HEAD on the
probe, CORS, `"stream": false`, unknown routes (issue 11, item 8) and the
runtime's protocol adapters: Responses and A2A are served (test_protocols.py), AG-UI and the
deprecated card path are not (agent-image/README.md)."""
from __future__ import annotations

import httpx
import pytest
from a2a.utils.constants import PREV_AGENT_CARD_WELL_KNOWN_PATH
from agentscope_runtime.engine.deployers.adapter.a2a.a2a_protocol_adapter import (
    A2A_JSON_RPC_URL,
    DEFAULT_WELLKNOWN_PATH,
)
from agentscope_runtime.engine.deployers.adapter.agui.agui_protocol_adapter import AGUIAdaptorConfig
from agentscope_runtime.engine.deployers.adapter.responses.response_api_protocol_adapter import (
    RESPONSES_ENDPOINT_PATH,
)

from conftest import Agent


def test_get_root_advertises_only_routes_that_exist(local_agent: Agent) -> None:
    with local_agent.client() as c:
        endpoints = c.get("/").json()["endpoints"]
        assert set(endpoints.values()) == {
            "POST /process", "POST /stop", "GET /health",
            f"POST {RESPONSES_ENDPOINT_PATH}", f"POST {A2A_JSON_RPC_URL}", f"GET {DEFAULT_WELLKNOWN_PATH}",
        }
        for route in endpoints.values():
            method, path = route.split(" ")
            assert c.request(method, path, json={}).status_code not in (404, 405), route
        assert c.post("/process/stream", json={}).status_code == 404


def test_head_health_answers_without_auth(local_agent: Agent) -> None:
    r = httpx.head(local_agent.url + "/health")
    assert r.status_code == 200


def test_no_origin_is_allowed_by_cors(local_agent: Agent) -> None:
    origin = {"Origin": "https://evil.example"}
    with local_agent.client() as c:
        authed = c.get("/", headers=origin)
    assert authed.status_code == 200 and "access-control-allow-origin" not in authed.headers
    preflight = httpx.options(local_agent.url + "/process", headers={
        **origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"})
    assert "access-control-allow-origin" not in preflight.headers
    assert preflight.status_code == 401


def test_stream_false_is_refused(local_agent: Agent) -> None:
    body = {"input": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}], "stream": False}
    with local_agent.client() as c:
        r = c.post("/process", json=body)
    assert r.status_code == 422 and "stream" in str(r.json()["detail"])


@pytest.mark.parametrize("path", ["/sync", "/async", "/stream_async", "/process/stream"])
def test_unknown_routes_name_process(local_agent: Agent, path: str) -> None:
    with local_agent.client() as c:
        r = c.post(path, json={"input": []})
    assert r.status_code == 404
    assert "POST /process" in r.json()["detail"] and "/sync" in r.json()["detail"]


# What agentscope-runtime's default adapters and a2a-sdk mount besides, read from the installed packages.
UNSERVED_ROUTES = [
    ("POST", AGUIAdaptorConfig().route_path),
    ("GET", PREV_AGENT_CARD_WELL_KNOWN_PATH),
]


@pytest.mark.parametrize(("method", "path"), UNSERVED_ROUTES)
def test_ag_ui_and_the_deprecated_card_path_are_not_served(local_agent: Agent, method: str, path: str) -> None:
    with local_agent.client() as c:
        r = c.request(method, path, json={})
    assert r.status_code == 404, (path, r.text)
    assert "POST /process" in r.json()["detail"]
