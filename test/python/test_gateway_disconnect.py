"""Issue 22, item 1: a client that hangs up mid-stream through the gateway ends the turn as it
does against the agent directly: the session is free at once, the follow-up is served (no
`session_busy`), and what the turn had said so far is saved."""
from __future__ import annotations

from collections.abc import Callable

from conftest import Agent, ask, final_text, iter_sse
from fake_model import FakeModel
from streams import body, interrupt_state, wait_until
from test_gateway_shutdown import Gateway, start_gateway  # noqa: F401 - a fixture
from test_redis import redis_env
from test_turns import model_saw_partial_reply


def test_a_client_that_hangs_up_through_the_gateway_frees_its_session(
    start_agent: Callable[..., Agent], start_gateway: Callable[..., Gateway], redis_url: str,  # noqa: F811
    fake_model: FakeModel,
) -> None:
    agent = start_agent(**redis_env(redis_url))
    gateway = start_gateway(agent.url)
    with gateway.client() as c:
        with c.stream("POST", "/process", json=body("count slowly", "gw-hangup-1")) as r:
            for event in iter_sse(r):
                if "tick" in str(event.get("text", "")):
                    break  # leaving the block closes the connection mid-stream
        # The fake model would talk for a minute: only the hang-up reaching the agent stops it.
        wait_until(lambda: interrupt_state(redis_url, "gw-hangup-1", "gw-hangup-1") != "RUNNING", 10,
                   "the turn to end after the hang-up")
        assert interrupt_state(redis_url, "gw-hangup-1", "gw-hangup-1") == "STOPPED"
        answer = final_text(ask(c, "Are you still there?", session_id="gw-hangup-1"))
    assert "count slowly" in answer
    assert model_saw_partial_reply(fake_model)
    agent.wait_log(lambda e: e["msg"] == "client went away, stopping the turn")
