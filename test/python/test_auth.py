"""Bearer auth on every route but /health; the runtime's admin routes are gone."""
from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import httpx
import pytest

from conftest import AGENT_DIR, TOKEN, Agent

PROTECTED = [("GET", "/"), ("POST", "/process"), ("POST", "/stop"), ("GET", "/process/task/x")]
BAD_CREDENTIALS = {
    "no header": None,
    "wrong token": "Bearer not-the-token",
    "wrong scheme": f"Basic {TOKEN}",
    "token prefix": f"Bearer {TOKEN[:-1]}",
    "bearer without token": "Bearer",
}


def test_health_is_open(local_agent: Agent) -> None:
    r = httpx.get(local_agent.url + "/health")
    assert r.status_code == 200 and r.json()["status"] == "healthy"


@pytest.mark.parametrize("method,path", PROTECTED)
@pytest.mark.parametrize("credential", BAD_CREDENTIALS.values(), ids=BAD_CREDENTIALS.keys())
def test_protected_routes_need_the_token(local_agent: Agent, method: str, path: str, credential: str | None) -> None:
    headers = {"Authorization": credential} if credential else {}
    r = httpx.request(method, local_agent.url + path, headers=headers, json={"input": []})
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.json()["error"] == "unauthorized"


@pytest.mark.parametrize("method,path", [
    ("POST", "/shutdown"), ("POST", "/admin/shutdown"), ("GET", "/admin/status"),
    ("GET", "/docs"), ("GET", "/openapi.json"),
])
def test_admin_and_docs_routes_are_not_reachable(local_agent: Agent, method: str, path: str) -> None:
    assert httpx.request(method, local_agent.url + path).status_code == 401
    with local_agent.client() as c:
        assert c.request(method, path).status_code == 404
    assert httpx.get(local_agent.url + "/health").status_code == 200  # still running


def test_the_right_token_is_accepted(local_agent: Agent) -> None:
    with local_agent.client() as c:
        assert c.get("/").status_code == 200


def run_agent(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {"PATH": os.environ["PATH"], "PYTHONPATH": str(AGENT_DIR), "PORT": "1"}
    return subprocess.run([sys.executable, "-m", "friday"], env={**base, **env},
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("env,expected", [
    ({}, "AGENT_API_TOKEN is required"),
    ({"AGENT_API_TOKEN": ""}, "AGENT_API_TOKEN is required"),
    ({"AGENT_API_TOKEN": "t", "MODEL_PROVIDER": "openai"}, "MODEL_BASE_URL is required"),
    ({"AGENT_API_TOKEN": "t", "MODEL_PROVIDER": "llama"}, "model_provider"),
])
def test_refuses_to_start_misconfigured(env: dict[str, str], expected: str) -> None:
    result = run_agent(env)
    assert result.returncode == 2
    assert '"level": "CRITICAL"' in result.stdout and expected in result.stdout


def test_auth_disabled_only_when_said_explicitly(start_agent: Any) -> None:
    agent = start_agent(AGENT_API_TOKEN="", AUTH_DISABLED="true")
    assert httpx.get(agent.url + "/").status_code == 200
