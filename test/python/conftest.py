"""Fixtures that run the real agent (python -m friday) against local fakes.

Nothing is skipped: a missing prerequisite (redis-server, podman) fails the test
that needs it, with the command that installs it.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fake_model import FakeModel

REPO = Path(__file__).resolve().parents[2]
AGENT_DIR = REPO / "agent-image"
TOKEN = "test-token-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} not healthy after {timeout}s")


class Agent:
    """The agent as a child process on a loopback port."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            "PATH": os.environ["PATH"],
            "HOME": str(log_path.parent),
            "PYTHONPATH": str(AGENT_DIR),
            "PYTHONDONTWRITEBYTECODE": "1",
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            **env,
        }
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> Agent:
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "friday"], env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
        )
        try:
            wait_http(self.url + "/health", 60, self.proc)
        except BaseException:
            # A module fixture gets no teardown when its setup fails: no orphans.
            self.proc.kill()
            self.proc.wait()
            raise
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log_path.read_text().splitlines() if line.strip()]

    def wait_log(self, predicate: Any, timeout: float = 10) -> list[dict[str, Any]]:
        """Log lines, once one matches: the access line is written just after
        the last byte of the response has gone out."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self.log_lines()
            if any(predicate(line) for line in lines):
                return lines
            if time.monotonic() > deadline:
                raise AssertionError("expected log line never appeared")
            time.sleep(0.05)

    def client(self, token: str | None = TOKEN) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)


def iter_sse(response: httpx.Response) -> Iterator[dict[str, Any]]:
    for line in response.iter_lines():
        if line.startswith("data: "):
            yield json.loads(line[len("data: "):])


def ask(client: httpx.Client, text: str, session_id: str | None = None, **extra: Any) -> list[dict[str, Any]]:
    body: dict[str, Any] = {"input": [{"role": "user", "content": [{"type": "text", "text": text}]}], **extra}
    if session_id:
        body["session_id"] = session_id
    with client.stream("POST", "/process", json=body) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        return list(iter_sse(response))


def final_text(events: list[dict[str, Any]]) -> str:
    done = [e for e in events if e.get("object") == "message" and e.get("type") == "message"
            and e.get("status") == "completed" and e.get("role") == "assistant"]
    assert done, f"no completed assistant message in {events}"
    return "".join(c.get("text", "") for c in done[-1]["content"] or [])


@pytest.fixture(scope="session")
def fake_model() -> Iterator[FakeModel]:
    with FakeModel() as fm:
        yield fm


def model_env(fake: FakeModel) -> dict[str, str]:
    return {
        "AGENT_API_TOKEN": TOKEN,
        "MODEL_PROVIDER": "openai",
        "MODEL_BASE_URL": fake.base_url,
        "MODEL_NAME": "fake-model",
        "MODEL_API_KEY": "fake-key",
    }


@pytest.fixture
def start_agent(tmp_path: Path, fake_model: FakeModel) -> Iterator[Any]:
    agents: list[Agent] = []

    def start(**env: str) -> Agent:
        agent = Agent({**model_env(fake_model), **env}, tmp_path / f"agent{len(agents)}.log")
        agents.append(agent)
        return agent.start()

    yield start
    for agent in agents:
        agent.stop()


@pytest.fixture(scope="module")
def local_agent(tmp_path_factory: pytest.TempPathFactory, fake_model: FakeModel) -> Iterator[Agent]:
    """One agent for the read-only checks (auth, bad input): in-process code, no Redis."""
    agent = Agent(
        {**model_env(fake_model), "ALLOW_LOCAL_CODE_EXECUTION": "true", "MAX_REQUEST_BYTES": "65536"},
        tmp_path_factory.mktemp("agent") / "agent.log",
    ).start()
    yield agent
    agent.stop()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: apt-get install -y redis-server (scripts/test-python.sh does it)")
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir), "--requirepass", "redis-secret"],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail("redis-server did not start")
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(10)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # A skipped test is a defect here: turn any skip into a failing run.
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and reporter.stats.get("skipped") and exitstatus == 0:
        session.exitstatus = 1
