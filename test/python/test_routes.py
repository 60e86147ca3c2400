"""What a client sees around /process: the service description, HEAD on the
probe, CORS, `"stream": false` and unknown routes (issue 11, item 8)."""
from __future__ import annotations

import httpx
import pytest

from conftest import Agent


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
