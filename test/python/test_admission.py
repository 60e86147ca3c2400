"""Issue 22, item 4: admission, not collapse. Past MAX_CONCURRENT_TURNS a turn is refused up
front with 429, Retry-After and the error schema (on the agent and through the gateway); /stop
answers with the error schema when Redis is gone; and a turn whose lease another turn has taken
ends at its next renewal, so a session never runs two turns."""
from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import redis

from conftest import Agent, ask, free_port
from streams import BackgroundTurn, body
from test_gateway_shutdown import Gateway, start_gateway  # noqa: F401 - a fixture
from test_redis import redis_env


@pytest.mark.parametrize("via", ["agent", "gateway"])
def test_turns_past_the_limit_get_429_with_retry_after(
    start_agent: Callable[..., Agent], start_gateway: Callable[..., Gateway], redis_url: str,  # noqa: F811
    via: str,
) -> None:
    agent = start_agent(**redis_env(redis_url), MAX_CONCURRENT_TURNS="2")
    target = agent if via == "agent" else start_gateway(agent.url)
    turns = [BackgroundTurn(target, "count slowly", f"adm-{via}-{i}") for i in range(2)]
    for t in turns:
        t.wait_started()
    with target.client() as c:
        r = c.post("/process", json=body("one more", f"adm-{via}-x"))
        assert r.status_code == 429, r.text
        assert int(r.headers["retry-after"]) >= 1
        assert r.json()["error"] == "too_many_turns"
        assert c.get("/health").status_code == 200  # only turns are limited
        for i in range(2):
            assert c.post("/stop", json={"session_id": f"adm-{via}-{i}"}).status_code == 200
    for t in turns:
        t.join(15)
    with target.client() as c, c.stream("POST", "/process", json=body("now?", f"adm-{via}-x")) as r:
        assert r.status_code == 200  # a freed place is taken again


class PrivateRedis:
    """A redis-server of this test's own, to stop under a running agent."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        assert binary, "apt-get install -y redis-server"
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = subprocess.Popen([binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", str(workdir), "--requirepass", "redis-secret"],
                                     stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    r = PrivateRedis(tmp_path)
    yield r
    r.stop()


def test_stop_without_redis_is_an_error_with_the_schema(
    start_agent: Callable[..., Agent], private_redis: PrivateRedis,
) -> None:
    agent = start_agent(**redis_env(private_redis.url))
    private_redis.stop()
    with agent.client() as c:
        r = c.post("/stop", json={"session_id": "nowhere"})
    assert r.status_code == 503, r.text
    assert r.json()["error"] == "unavailable" and "retry-after" in r.headers


def test_a_turn_that_lost_its_lease_ends_at_the_next_renewal_and_leaves_the_session_to_its_owner(
    start_agent: Callable[..., Agent], redis_url: str,
) -> None:
    agent = start_agent(**redis_env(redis_url), TURN_LEASE_SECONDS="3")
    turn = BackgroundTurn(agent, "count slowly", "lease-1")
    turn.wait_started()
    with redis.Redis.from_url(redis_url, password="redis-secret", decode_responses=True) as r:
        # What the session looks like once its lease expired (a stalled event loop, a Redis
        # failover) and another replica's turn took it: RUNNING, held by someone else.
        r.set("state:lease-1:lease-1", "RUNNING", ex=30)
        r.set("lease:lease-1:lease-1", "another-replicas-turn", ex=30)
        turn.join(10)  # its next renewal (every second) finds the lease taken
        last = turn.events[-1]
        assert (last["object"], last["status"]) == ("response", "canceled"), last
        assert last["error"]["code"] == "lease_lost"
        # Ending, it did not free the session its successor holds.
        assert r.get("state:lease-1:lease-1") == "RUNNING"
        assert r.get("lease:lease-1:lease-1") == "another-replicas-turn"
    with agent.client() as c:
        assert ask(c, "me too", session_id="lease-1")[-1]["error"]["code"] == "session_busy"
    assert httpx.get(agent.url + "/health").status_code == 200


def test_a_turn_that_cannot_renew_its_lease_ends_with_lease_lost(
    start_agent: Callable[..., Agent], private_redis: PrivateRedis,
) -> None:
    agent = start_agent(**redis_env(private_redis.url), TURN_LEASE_SECONDS="3")
    turn = BackgroundTurn(agent, "count slowly", "lease-2")
    turn.wait_started()
    private_redis.stop()  # renewals fail from now on; the lease expires within 3 s
    turn.join(20)
    last = turn.events[-1]
    assert (last["object"], last["status"]) == ("response", "canceled"), last
    assert last["error"]["code"] == "lease_lost"
    agent.wait_log(lambda e: e["msg"] == "turn lease lost: stopping the turn")
