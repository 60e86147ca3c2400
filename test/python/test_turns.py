"""A turn's life under real clients and real signals: hang-ups, SIGTERM,
SIGKILL, /stop and a second turn in a busy session (issue 11, items 1, 2, 5, 6)."""
from __future__ import annotations

import asyncio
import signal
import time
from typing import Any

from agentscope_runtime.engine.helpers.agent_api_client import (
    HTTPAgentAPIClient,
    create_simple_text_request,
)

from conftest import TOKEN, Agent, ask, final_text, iter_sse
from fake_model import FakeModel
from streams import BackgroundTurn, body, interrupt_state, wait_until
from test_redis import redis_env


def model_saw_partial_reply(fake: FakeModel) -> bool:
    """The last model request carries the interrupted turn's partial answer."""
    messages = fake.requests[-1]["messages"]
    return any(m["role"] == "assistant" and "tick0" in str(m.get("content")) for m in messages)


def test_a_client_that_hangs_up_mid_stream_frees_its_session(
    start_agent: Any, redis_url: str, fake_model: FakeModel,
) -> None:
    agent = start_agent(**redis_env(redis_url))
    with agent.client() as c:
        with c.stream("POST", "/process", json=body("count slowly", "hangup-1")) as r:
            for event in iter_sse(r):
                if "tick" in str(event.get("text", "")):
                    break  # leaving the block closes the connection mid-stream
        wait_until(lambda: interrupt_state(redis_url, "hangup-1", "hangup-1") != "RUNNING", 10,
                   "the interrupt key to leave RUNNING")
        assert interrupt_state(redis_url, "hangup-1", "hangup-1") == "STOPPED"
        answer = final_text(ask(c, "Are you still there?", session_id="hangup-1"))
    assert "count slowly" in answer
    assert model_saw_partial_reply(fake_model)
    agent.wait_log(lambda e: e["msg"] == "client went away, stopping the turn")


def test_sigterm_drains_then_stops_and_saves_the_open_turn(
    start_agent: Any, redis_url: str, fake_model: FakeModel,
) -> None:
    agent: Agent = start_agent(**redis_env(redis_url), SHUTDOWN_DRAIN_SECONDS="2")
    turn = BackgroundTurn(agent, "count slowly", "term-1")
    turn.wait_started()
    assert agent.proc is not None
    sent = time.monotonic()
    agent.proc.send_signal(signal.SIGTERM)
    turn.join(30)
    assert turn.error is None, turn.error
    last = turn.events[-1]
    assert (last["object"], last["status"]) == ("response", "canceled"), last
    assert last["error"]["code"] == "server_shutdown" and last["session_id"] == "term-1"
    # uvicorn ends by re-raising the signal it caught, after a clean shutdown.
    assert agent.proc.wait(30) == -signal.SIGTERM
    agent.wait_log(lambda e: e["msg"].startswith("Finished server process"))
    assert 2 <= time.monotonic() - sent < 20  # the drain, then a prompt stop
    assert interrupt_state(redis_url, "term-1", "term-1") == "STOPPED"

    agent.start()
    with agent.client() as c:
        assert "count slowly" in final_text(ask(c, "Back?", session_id="term-1"))
    assert model_saw_partial_reply(fake_model)


def test_a_turn_whose_process_died_frees_the_session_within_one_lease(
    start_agent: Any, redis_url: str,
) -> None:
    # Short, but not so short that a busy test machine's event-loop stalls
    # (first-turn imports) outlast it while the owner is alive.
    env = {**redis_env(redis_url), "TURN_LEASE_SECONDS": "6"}
    a: Agent = start_agent(**env)
    b: Agent = start_agent(**env)
    turn = BackgroundTurn(a, "count slowly", "kill-1")
    turn.wait_started()
    assert a.proc is not None
    a.proc.kill()
    killed = time.monotonic()
    a.proc.wait()
    assert interrupt_state(redis_url, "kill-1", "kill-1") == "RUNNING"
    wait_until(lambda: interrupt_state(redis_url, "kill-1", "kill-1") is None, 10, "the lease to expire")
    assert time.monotonic() - killed < 7
    with b.client() as c:
        assert "echo:" in final_text(ask(c, "Anyone?", session_id="kill-1"))


def test_a_stopped_turn_ends_with_a_canceled_event_and_keeps_its_partial_reply(
    start_agent: Any, redis_url: str, fake_model: FakeModel,
) -> None:
    agent = start_agent(**redis_env(redis_url))
    turn = BackgroundTurn(agent, "count slowly", "stop-2")
    turn.wait_started()
    with agent.client() as c:
        assert c.post("/stop", json={"session_id": "stop-2"}).status_code == 200
        turn.join(15)
        last = turn.events[-1]
        assert (last["object"], last["status"]) == ("response", "canceled"), last
        assert last["error"]["code"] == "interrupted"
        assert last["sequence_number"] == turn.events[-2]["sequence_number"] + 1
        assert last["id"] == turn.events[0]["id"]
        ask(c, "Go on", session_id="stop-2")
    assert model_saw_partial_reply(fake_model)
    saved = agent.wait_log(lambda e: e["msg"] == "turn saved" and e.get("session_id") == "stop-2")
    # Partial reply and the agent's interruption note are in what was saved.
    assert [e["history"] for e in saved if e["msg"] == "turn saved" and e.get("session_id") == "stop-2"][0] >= 3


def test_a_busy_session_is_an_error_the_runtime_client_sees(start_agent: Any, redis_url: str) -> None:
    agent = start_agent(**redis_env(redis_url))
    turn = BackgroundTurn(agent, "count slowly", "busy-1")
    turn.wait_started()
    client = HTTPAgentAPIClient(agent.url + "/process", token=TOKEN, timeout=30)

    async def second_turn() -> list[Any]:
        return [e async for e in client.astream(create_simple_text_request("me too", session_id="busy-1"))]

    events = asyncio.run(second_turn())
    assert events, "HTTPAgentAPIClient saw nothing"
    assert (events[-1].object, events[-1].status) == ("response", "failed")
    assert events[-1].error is not None and events[-1].error.code == "session_busy"
    with agent.client() as c:
        c.post("/stop", json={"session_id": "busy-1"})
    turn.join(15)
