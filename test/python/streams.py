"""A /process stream read on a thread, for tests that act while a turn runs."""
from __future__ import annotations

import threading
import time
from typing import Any, Protocol

import httpx
import redis

from conftest import iter_sse


class Server(Protocol):
    """The agent, or a proxy in front of it (the gateway)."""

    def client(self) -> httpx.Client: ...


def body(text: str, session_id: str, **extra: Any) -> dict[str, Any]:
    return {"input": [{"role": "user", "content": [{"type": "text", "text": text}]}],
            "session_id": session_id, **extra}


class BackgroundTurn:
    def __init__(self, agent: Server, text: str, session_id: str) -> None:
        self.events: list[dict[str, Any]] = []
        self.error: BaseException | None = None
        self.started = threading.Event()  # first model token or tool call seen
        self.ended_at: float | None = None  # time.monotonic() when the stream ended
        self._thread = threading.Thread(target=self._run, args=(agent, text, session_id), daemon=True)
        self._thread.start()

    def _run(self, agent: Server, text: str, session_id: str) -> None:
        try:
            with agent.client() as c, c.stream("POST", "/process", json=body(text, session_id)) as r:
                for event in iter_sse(r):
                    self.events.append(event)
                    if "tick" in str(event.get("text", "")) or event.get("type") == "plugin_call":
                        self.started.set()
        except BaseException as exc:  # the server may go away mid-stream
            self.error = exc
        finally:
            self.ended_at = time.monotonic()

    def wait_started(self, timeout: float = 30) -> None:
        assert self.started.wait(timeout), f"the turn never started streaming: {self.events}"

    def join(self, timeout: float = 30) -> None:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the stream did not end"


def interrupt_state(redis_url: str, user: str, session: str) -> str | None:
    """The runtime's interrupt key for a session (state:<user>:<session>)."""
    with redis.Redis.from_url(redis_url, password="redis-secret", decode_responses=True) as r:
        return r.get(f"state:{user}:{session}")


def wait_until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


def last_event(events: list[dict[str, Any]]) -> dict[str, Any]:
    assert events, "no events"
    return events[-1]
