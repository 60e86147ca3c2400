"""What a client sees around /process: the service description, HEAD on the
probe, CORS, `"stream": false`, unknown routes (issue 11, item 8) and the
runtime's protocol adapters, which are not served (agent-image/README.md)."""
from __future__ import annotations

import asyncio

import httpx
import openai
import pytest
from a2a.client import A2ACardResolver
from a2a.client.errors import A2AClientHTTPError
from agentscope_runtime.engine.deployers.adapter.a2a.a2a_protocol_adapter import (
    A2A_JSON_RPC_URL,
    DEFAULT_WELLKNOWN_PATH,
)
from agentscope_runtime.engine.deployers.adapter.agui.agui_protocol_adapter import AGUIAdaptorConfig
from agentscope_runtime.engine.deployers.adapter.responses.response_api_protocol_adapter import (
    RESPONSES_ENDPOINT_PATH,
)

from conftest import TOKEN, Agent


def test_get_root_advertises_only_routes_that_exist(local_agent: Agent) -> None:
    with local_agent.client() as c:
        endpoints = c.get("/").json()["endpoints"]
        assert set(endpoints.values()) == {"POST /process", "POST /stop", "GET /health"}
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


# The routes agentscope-runtime's default adapters mount, read from the installed package.
ADAPTER_ROUTES = [
    ("POST", RESPONSES_ENDPOINT_PATH),
    ("POST", A2A_JSON_RPC_URL),
    ("GET", DEFAULT_WELLKNOWN_PATH),
    ("POST", AGUIAdaptorConfig().route_path),
]


@pytest.mark.parametrize(("method", "path"), ADAPTER_ROUTES)
def test_the_runtime_protocol_adapters_are_not_served(local_agent: Agent, method: str, path: str) -> None:
    with local_agent.client() as c:
        r = c.request(method, path, json={})
    assert r.status_code == 404, (path, r.text)
    assert "POST /process" in r.json()["detail"]


def test_the_openai_sdk_gets_404_from_the_responses_route(local_agent: Agent) -> None:
    base_url = local_agent.url + RESPONSES_ENDPOINT_PATH.removesuffix("/responses")
    with openai.OpenAI(base_url=base_url, api_key=TOKEN, max_retries=0) as client:
        with pytest.raises(openai.NotFoundError):
            client.responses.create(model="friday", input="hi")


def test_an_a2a_client_finds_no_agent_card(local_agent: Agent) -> None:
    async def fetch_card() -> None:
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}) as http:
            await A2ACardResolver(http, local_agent.url).get_agent_card()

    with pytest.raises(A2AClientHTTPError) as caught:
        asyncio.run(fetch_card())
    assert caught.value.status_code == 404
