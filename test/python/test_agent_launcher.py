"""agent_launcher (the user-agent image's entrypoint) against the runtime this
venv locks (agentscope-runtime 1.1.6.post2): it serves a real AgentApp from
AGENT_APP=module:attribute on HOST:PORT, and refuses a bad spec with exit 2.
The image test covers 1.0.1 (the seed's pin) in the image itself."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import AGENT_DIR, free_port, wait_http

USER_APP = '''from agentscope_runtime.engine.app import AgentApp
from agentscope_runtime.engine.schemas.agent_schemas import AgentRequest

agent_app = AgentApp(app_name="Mine", app_description="a user's app")


@agent_app.endpoint("/sync")
def sync_handler(request: AgentRequest):
    yield {"status": "ok", "session_id": request.session_id}
'''


def launcher_env(user_dir: Path, spec: str, port: int) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": f"{user_dir}{os.pathsep}{AGENT_DIR}", "AGENT_APP": spec,
            "HOST": "127.0.0.1", "PORT": str(port), "HOME": str(user_dir)}


@pytest.fixture
def user_dir(tmp_path: Path) -> Path:
    (tmp_path / "mine.py").write_text(USER_APP)
    return tmp_path


@pytest.fixture
def served(user_dir: Path) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "agent_launcher"], cwd=user_dir,
                            env=launcher_env(user_dir, "mine:agent_app", port))
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/health", 60, proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_serves_the_users_app_object_on_host_and_port(served: str) -> None:
    assert httpx.get(served + "/health").json()["status"] == "healthy"
    r = httpx.post(served + "/sync", json={"input": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
                                        "session_id": "s-1"})
    assert r.status_code == 200, r.text
    assert r.text.startswith("data: ") and json.loads(r.text[len("data: "):]) == {"status": "ok", "session_id": "s-1"}
    # 1.1.x mounts unauthenticated process-control routes on every AgentApp: removed.
    assert httpx.post(served + "/shutdown").status_code == 404
    assert httpx.post(served + "/admin/shutdown").status_code == 404
    assert httpx.get(served + "/admin/status").status_code == 404
    assert httpx.get(served + "/health").status_code == 200  # still running


@pytest.mark.parametrize("spec", ["", "mine", "mine:", ":agent_app", "mine:nope",
                                  "no_such_module:app", "os:sep"])
def test_a_bad_spec_exits_2_and_says_why(user_dir: Path, spec: str) -> None:
    result = subprocess.run([sys.executable, "-m", "agent_launcher"], cwd=user_dir, capture_output=True,
                            text=True, timeout=120, env=launcher_env(user_dir, spec, free_port()))
    assert result.returncode == 2, result.stderr[-2000:]
    assert "agent_launcher:" in result.stderr
