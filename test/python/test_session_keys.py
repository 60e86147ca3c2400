"""Issue 22, item 2: two (user, session) pairs never share a Redis key. Ids are refused unless
they are 1-128 of [A-Za-z0-9._@-] (the gateway's user-id grammar), in the agent and through the
gateway, and every key part is encoded besides, so no id can spell another pair's key. Ids the
grammar allows encode to themselves: sessions saved before keep their keys and keep working."""
from __future__ import annotations

import itertools
from collections.abc import Callable

import httpx
import pytest
import redis

from conftest import TOKEN, Agent, ask, final_text
from test_gateway_shutdown import Gateway, start_gateway  # noqa: F401 - a fixture
from test_redis import redis_env

SECRET = "the vault code is 7403"
# (user, session) pairs whose joined keys were the same string.
COLLIDING = [("alice", "b:session:c"), ("alice:session:b", "c")]


def turn(url: str, text: str, user: str, session: str) -> httpx.Response:
    return httpx.post(url + "/process", timeout=30, headers={"Authorization": f"Bearer {TOKEN}"}, json={
        "input": [{"role": "user", "content": [{"type": "text", "text": text}]}],
        "user_id": user, "session_id": session})


@pytest.mark.parametrize("via", ["agent", "gateway"])
def test_ids_outside_the_grammar_are_refused_and_nothing_is_shared(
    start_agent: Callable[..., Agent], start_gateway: Callable[..., Gateway], redis_url: str,  # noqa: F811
    via: str,
) -> None:
    agent = start_agent(**redis_env(redis_url))
    url = agent.url if via == "agent" else start_gateway(agent.url).url
    (u1, s1), (u2, s2) = COLLIDING
    first = turn(url, SECRET, u1, s1)
    second = turn(url, "What is the vault code?", u2, s2)
    assert SECRET not in second.text
    for r in (first, second):
        assert r.status_code == 422, r.text
        assert r.json()["error"] == "invalid_request"
    stop = httpx.post(url + "/stop", json={"user_id": u2, "session_id": s2}, timeout=10,
                      headers={"Authorization": f"Bearer {TOKEN}"})
    assert stop.status_code == 422


IDS = ["a", "a:b", "b", "a%3Ab", "%", ":", "session", "a:session:b", "x@y.z", "A-1_2.3"]


def test_keys_are_injective_even_for_ids_the_grammar_refuses() -> None:
    from friday.keys import interrupt_key, session_key

    pairs = list(itertools.product(IDS, repeat=2))
    assert len({session_key(u, s) for u, s in pairs}) == len(pairs)
    assert len({interrupt_key(u, s) for u, s in pairs}) == len(pairs)


def test_sessions_saved_before_keep_their_keys(start_agent: Callable[..., Agent], redis_url: str) -> None:
    """The keys of ids the grammar allows are agentscope's and the runtime's own formats, unchanged:
    what an agent before this change saved is found."""
    from friday.keys import interrupt_key, session_key

    assert session_key("alice", "s-1") == "user_id:alice:session:s-1:state"
    assert interrupt_key("alice", "s-1") == "alice:s-1"
    agent = start_agent(**redis_env(redis_url))
    with agent.client() as c:
        ask(c, SECRET, session_id="keys-1")
        with redis.Redis.from_url(redis_url, password="redis-secret", decode_responses=True) as r:
            assert r.get("state:keys-1:keys-1") == "FINISHED"
            # Saved under agentscope's own format: move it to where the old agent saved keys-2.
            r.rename("friday:user_id:keys-1:session:keys-1:state", "friday:user_id:keys-2:session:keys-2:state")
        assert SECRET in final_text(ask(c, "Recall?", session_id="keys-2"))
