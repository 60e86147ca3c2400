"""The gateway sidecar (components/assets/gateway.py) under SIGTERM, as real processes: the
gateway started the way the pod starts it, in front of the real agent with the fake model.

When a pod ends, the kubelet sends SIGTERM to both containers at once (after their preStop
hooks). The app drains its open turns and ends each with a final event (issue 11, item 2); the
gateway must forward those streams to their end, not cut them, while refusing new connections,
and it must still end them at its own shutdown timeout, before the pod's grace period runs out.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from conftest import REPO, TOKEN, Agent, free_port, wait_http
from streams import BackgroundTurn, interrupt_state, wait_until
from test_redis import redis_env

GATEWAY_PY = REPO / "components" / "assets" / "gateway.py"


class Gateway:
    """`python gateway.py` with the gateway container's env (components/workload/agent-runtime.ts)."""

    def __init__(self, upstream: str, log_path: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            "PATH": os.environ["PATH"],
            "GATEWAY_UPSTREAM": upstream,
            "GATEWAY_PORT": str(self.port),
            "GATEWAY_DENY_PREFIXES": "/shutdown,/admin",
            "GATEWAY_SHUTDOWN_TIMEOUT_SECONDS": "50",
            "PYTHONDONTWRITEBYTECODE": "1",
            **env,
        }
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, str(GATEWAY_PY)], cwd=log_path.parent, env=self.env,
            stdout=self._log, stderr=subprocess.STDOUT,
        )
        wait_http(self.url + "/health", 30, self.proc)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=90)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


@pytest.fixture
def start_gateway(tmp_path: Path) -> Iterator[Callable[..., Gateway]]:
    gateways: list[Gateway] = []

    def start(upstream: str, **env: str) -> Gateway:
        gateways.append(Gateway(upstream, tmp_path / f"gateway{len(gateways)}.log", env))
        return gateways[-1]

    yield start
    for g in gateways:
        g.stop()


def refuses_new_requests(gateway: Gateway) -> bool:
    try:
        return httpx.get(gateway.url + "/health", timeout=2).status_code == 503
    except httpx.ConnectError:
        return True


def test_sigterm_forwards_the_open_stream_to_its_final_event_and_refuses_new_ones(
    start_agent: Callable[..., Agent], start_gateway: Callable[..., Gateway], redis_url: str,
) -> None:
    agent = start_agent(**redis_env(redis_url), SHUTDOWN_DRAIN_SECONDS="3")
    gateway = start_gateway(agent.url)
    turn = BackgroundTurn(gateway, "count slowly", "gw-term-1")
    turn.wait_started()
    assert agent.proc is not None
    sent = time.monotonic()
    gateway.proc.send_signal(signal.SIGTERM)
    agent.proc.send_signal(signal.SIGTERM)

    wait_until(lambda: refuses_new_requests(gateway), 2, "the gateway to refuse new requests")
    assert turn.ended_at is None, f"the stream ended at once: {turn.error!r}"
    turn.join(60)
    assert turn.error is None, repr(turn.error)
    last = turn.events[-1]
    assert (last["object"], last["status"]) == ("response", "canceled"), last
    assert last["error"]["code"] == "server_shutdown" and last["session_id"] == "gw-term-1"
    # Every event the app sent came through, in order.
    numbers = [e["sequence_number"] for e in turn.events]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))
    assert any("tick" in str(e.get("text", "")) for e in turn.events)
    assert turn.ended_at is not None and turn.ended_at - sent >= 3  # the app's drain ran through the gateway

    # uvicorn re-raises the signal it caught, once the last stream has ended.
    assert gateway.proc.wait(15) == -signal.SIGTERM
    assert time.monotonic() - turn.ended_at < 10


def test_sigterm_ends_streams_still_open_at_the_shutdown_timeout(
    start_agent: Callable[..., Agent], start_gateway: Callable[..., Gateway], redis_url: str,
) -> None:
    # The app is not signalled here: its turn would stream for a minute.
    agent = start_agent(**redis_env(redis_url))
    gateway = start_gateway(agent.url, GATEWAY_SHUTDOWN_TIMEOUT_SECONDS="3")
    turn = BackgroundTurn(gateway, "count slowly", "gw-term-2")
    turn.wait_started()
    sent = time.monotonic()
    gateway.proc.send_signal(signal.SIGTERM)

    try:
        code = gateway.proc.wait(20)
    except subprocess.TimeoutExpired:
        pytest.fail("the gateway outlived its shutdown timeout with a stream open")
    assert code == -signal.SIGTERM
    assert 3 <= time.monotonic() - sent < 10
    turn.join(10)
    assert not any(e.get("object") == "response" and e.get("status") in ("completed", "canceled", "failed")
                   for e in turn.events), "the stream was cut, so it has no final event"
    # The app sees the caller gone and frees the session.
    wait_until(lambda: interrupt_state(redis_url, "gw-term-2", "gw-term-2") != "RUNNING", 10,
               "the app to stop the turn the gateway cut")
