"""Session memory and state in a real Redis: any replica serves the next turn,
a restart loses nothing, and a running turn can be stopped from any replica."""
from __future__ import annotations

import threading
import time
from typing import Any

import httpx

from conftest import ask, final_text, iter_sse

TURN1 = "My name is Ada and my favourite number is 42."


def redis_env(url: str) -> dict[str, str]:
    return {"REDIS_URL": url, "REDIS_PASSWORD": "redis-secret", "ALLOW_LOCAL_CODE_EXECUTION": "true"}


def test_second_turn_sees_the_first_across_a_restart(start_agent: Any, redis_url: str) -> None:
    agent = start_agent(**redis_env(redis_url))
    with agent.client() as c:
        assert "echo: " + TURN1 == final_text(ask(c, TURN1, session_id="restart-1"))
    agent.restart()
    with agent.client() as c:
        answer = final_text(ask(c, "What is my name?", session_id="restart-1"))
    assert TURN1 in answer and "What is my name?" in answer


def test_another_replica_serves_the_next_turn(start_agent: Any, redis_url: str) -> None:
    a, b = start_agent(**redis_env(redis_url)), start_agent(**redis_env(redis_url))
    with a.client() as ca, b.client() as cb:
        ask(ca, TURN1, session_id="replica-1")
        answer = final_text(ask(cb, "And my number?", session_id="replica-1"))
        assert TURN1 in answer
        # Another session, or the same session id of another user, starts empty.
        assert TURN1 not in final_text(ask(cb, "Who am I?", session_id="replica-2"))
        assert TURN1 not in final_text(ask(cb, "Who am I?", session_id="replica-1", user_id="someone-else"))


def test_a_running_turn_stops_from_another_replica_and_keeps_its_history(start_agent: Any, redis_url: str) -> None:
    a, b = start_agent(**redis_env(redis_url)), start_agent(**redis_env(redis_url))
    events: list[dict[str, Any]] = []
    first_token = threading.Event()

    def stream() -> None:
        body = {"input": [{"role": "user", "content": [{"type": "text", "text": "count slowly"}]}],
                "session_id": "stop-1"}
        with a.client() as c, c.stream("POST", "/process", json=body) as r:
            for event in iter_sse(r):
                events.append(event)
                if "tick" in str(event.get("text", "")):
                    first_token.set()

    started = time.monotonic()
    worker = threading.Thread(target=stream)
    worker.start()
    assert first_token.wait(30), f"the slow answer never started: {events}"
    with b.client() as cb:
        r = cb.post("/stop", json={"session_id": "stop-1"})
        assert r.status_code == 200
    worker.join(30)
    assert not worker.is_alive(), "the stream did not end after /stop"
    assert time.monotonic() - started < 30  # the fake model would talk for 60 s
    with b.client() as cb:
        answer = final_text(ask(cb, "Are you still there?", session_id="stop-1"))
    assert "count slowly" in answer  # the interrupted turn was saved
    assert httpx.get(a.url + "/health").status_code == 200
