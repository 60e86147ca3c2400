"""The OpenAI-compatible Responses route and A2A (issue 22, item 8), as real processes on loopback:
the real agent (python -m friday) with the fake model and a real Redis, and the gateway in front
of it started as the pod starts it, with per-user tokens and the builtin agent's route allow-list.

What /process guarantees holds on the new routes too: the user the gateway vouches for owns the
turn (a body naming another is refused), the session lease (a second turn of a session gets
`session_busy`), the turn limit (429), a hang-up stops the turn, and every refusal is in the error
schema ({"error": ..., "detail": ...}).
"""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from a2a.client import A2ACardResolver

from conftest import TOKEN, Agent, ask, final_text, free_port, model_env
from fake_model import FakeModel
from streams import BackgroundTurn, interrupt_state, wait_until
from test_gateway_identity import GATEWAY_PY, digest
from test_gateway_shutdown import Gateway
from test_redis import redis_env

RESPONSES = "/compatible-mode/v1/responses"
A2A = "/a2a"
CARD = "/.well-known/agent-card.json"
# components/workload/agent-runtime.ts BUILTIN_GATEWAY_PATHS and RUNTIME_BODY_USER_PATHS.
ALLOW_PATHS = f"/,/health,/process,/stop,{RESPONSES},{A2A},{CARD}"
BODY_USER_PATHS = f"/process,/stop,{RESPONSES}"
ALICE, BOB = "alice-token-4c3b2a1f0e", "bob-token-0e1f2a3b4c"
SECRET = "the vault code is 7-4-1-1"
CARD_URL = "https://agent.example.test:8080/a2a"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, fake_model: FakeModel, redis_url: str) -> Iterator[tuple[Agent, Gateway]]:
    d = tmp_path_factory.mktemp("protocols")
    agent = Agent({**model_env(fake_model), **redis_env(redis_url), "A2A_URL": CARD_URL}, d / "agent.log").start()
    tokens = d / "tokens.json"
    tokens.write_text(json.dumps({digest(ALICE): "alice", digest(BOB): "bob"}))
    try:
        gateway = Gateway(agent.url, d / "gateway.log", {
            "GATEWAY_AUTH": "bearer", "GATEWAY_TOKEN": TOKEN, "GATEWAY_UPSTREAM_TOKEN": TOKEN,
            "GATEWAY_USER_TOKENS_FILE": str(tokens), "GATEWAY_BODY_USER_PATHS": BODY_USER_PATHS,
            "GATEWAY_ALLOW_PATHS": ALLOW_PATHS,
        })
    except BaseException:
        agent.stop()
        raise
    yield agent, gateway
    gateway.stop()
    agent.stop()


def as_user(g: Gateway, token: str, timeout: float = 90) -> httpx.Client:
    return httpx.Client(base_url=g.url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout)


def openai_client(g: Gateway, token: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=g.url + RESPONSES.removesuffix("/responses"), api_key=token, max_retries=0)


def a2a_send(text: str, context_id: str | None = None, **message: Any) -> dict[str, Any]:
    msg = {"kind": "message", "role": "user", "messageId": f"m-{time.monotonic_ns()}",
           "parts": [{"kind": "text", "text": text}], **message}
    if context_id:
        msg["contextId"] = context_id
    return {"jsonrpc": "2.0", "id": 1, "method": "message/send", "params": {"message": msg}}


def a2a_text(r: httpx.Response) -> str:
    assert r.status_code == 200, r.text
    result = r.json()["result"]
    assert result["kind"] == "message" and result["role"] == "agent", result
    return "".join(p["text"] for p in result["parts"] if p["kind"] == "text")


def responses_text(c: httpx.Client, text: str, conversation: str, **extra: Any) -> str:
    r = c.post(RESPONSES, json={"input": text, "conversation": conversation, **extra})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["object"] == "response" and body["status"] == "completed", body
    return "".join(part["text"] for item in body["output"] for part in item["content"])


def test_responses_non_streaming_and_streaming_with_the_openai_sdk(stack: tuple[Agent, Gateway]) -> None:
    _, g = stack
    client = openai_client(g, ALICE)
    first = client.responses.create(model="friday", input=SECRET, extra_body={"conversation": "resp-1"})
    assert first.status == "completed" and first.output_text == f"echo: {SECRET}"
    events = list(client.responses.create(model="friday", input="and now?", stream=True,
                                          extra_body={"conversation": "resp-1"}))
    types = [e.type for e in events]
    assert types[-1] == "response.completed" and "response.output_text.delta" in types, types
    # The conversation is the session: the second turn saw the first.
    assert SECRET in events[-1].response.output_text and "and now?" in events[-1].response.output_text
    with as_user(g, ALICE) as c, c.stream("POST", RESPONSES, json={"input": "x", "stream": True}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        assert not any(k.lower().startswith("access-control-") for k in r.headers), r.headers  # no CORS
        r.read()


def test_the_a2a_card_advertises_what_is_served_and_message_send_answers(stack: tuple[Agent, Gateway]) -> None:
    _, g = stack
    with as_user(g, ALICE) as c:
        card = asyncio.run(_resolve_card(g, ALICE))
        assert card.url == CARD_URL and card.preferred_transport == "JSONRPC"
        assert card.capabilities.streaming is False  # message/stream is not served
        assert card.security == [{"bearer": []}]
        assert card.security_schemes["bearer"].root.scheme == "bearer"
        assert a2a_text(c.post(A2A, json=a2a_send(SECRET, "a2a-1"))) == f"echo: {SECRET}"
        assert SECRET in a2a_text(c.post(A2A, json=a2a_send("again?", "a2a-1")))
        # The context is the session: /process sees the same conversation.
        assert SECRET in final_text(ask(c, "and here?", session_id="a2a-1"))
        # Only the card path the SDK defaults to; the deprecated one is neither forwarded nor served.
        r = c.get("/.well-known/agent.json")
        assert r.status_code == 404 and r.json()["error"] == "not_found"


async def _resolve_card(g: Gateway, token: str) -> Any:
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
        return await A2ACardResolver(http, g.url).get_agent_card()


@pytest.mark.parametrize("credential", [None, "Bearer not-a-token"], ids=["none", "wrong"])
@pytest.mark.parametrize("method,path", [("POST", RESPONSES), ("POST", A2A), ("GET", CARD)])
def test_unauthenticated_calls_get_401_in_the_error_schema(
    stack: tuple[Agent, Gateway], credential: str | None, method: str, path: str,
) -> None:
    agent, g = stack
    headers = {"Authorization": credential} if credential else {}
    body = {"input": "hi"} if path == RESPONSES else a2a_send("hi") if path == A2A else None
    for base in (g.url, agent.url):  # the gateway, and the agent's own guard behind it
        r = httpx.request(method, base + path, json=body, headers=headers, timeout=30)
        assert r.status_code == 401, (base, r.text)
        assert r.json()["error"] == "unauthorized" and r.headers["www-authenticate"] == "Bearer"


def test_bob_cannot_read_alices_session_through_the_new_routes(stack: tuple[Agent, Gateway]) -> None:
    _, g = stack
    with as_user(g, ALICE) as alice, as_user(g, BOB) as bob:
        assert responses_text(alice, SECRET, "shared-conv") == f"echo: {SECRET}"
        # Naming Alice is refused before any turn runs, by the gateway and by the agent.
        r = bob.post(RESPONSES, json={"input": "hi", "conversation": "shared-conv", "user_id": "alice"})
        assert r.status_code == 403 and r.json()["error"] == "forbidden", r.text
        # Without a name, Bob's turns are Bob's: the same session id holds nothing of Alice's.
        assert SECRET not in responses_text(bob, "what did Alice say?", "shared-conv")
        assert SECRET not in a2a_text(bob.post(A2A, json=a2a_send("what did Alice say?", "shared-conv")))
        # ...while Alice's own session, through either route, still has it.
        assert SECRET in a2a_text(alice.post(A2A, json=a2a_send("still mine?", "shared-conv")))


MSG = {"kind": "message", "role": "user", "messageId": "m1", "parts": [{"kind": "text", "text": "hi"}]}
BAD_BODIES = [
    (RESPONSES, b'{"input": "hi"', 400, "malformed_json"),
    (RESPONSES, b"[]", 422, "invalid_request"),
    (RESPONSES, {"stream": True}, 422, "invalid_request"),
    (RESPONSES, {"input": ""}, 422, "invalid_request"),
    (RESPONSES, {"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "x"}]}]}, 422, "invalid_request"),
    (RESPONSES, {"input": "hi", "previous_response_id": "resp_1"}, 422, "invalid_request"),
    (RESPONSES, {"input": "hi", "tools": [{"type": "function", "name": "f"}]}, 422, "invalid_request"),
    (RESPONSES, {"input": "hi", "conversation": "a:b"}, 422, "invalid_request"),
    (RESPONSES, {"input": "hi", "conversation": "c1", "session_id": "c2"}, 422, "invalid_request"),
    (A2A, b"{", 400, "malformed_json"),
    (A2A, {"jsonrpc": "2.0", "id": 1, "method": "tasks/get", "params": {"id": "t1"}}, 422, "invalid_request"),
    (A2A, {"jsonrpc": "2.0", "id": 1, "method": "message/stream", "params": {"message": MSG}}, 422, "invalid_request"),
    (A2A, {"jsonrpc": "2.0", "id": 1, "method": "message/send",
           "params": {"message": MSG, "configuration": {"blocking": False}}}, 422, "invalid_request"),
    (A2A, {"jsonrpc": "2.0", "id": 1, "method": "message/send", "params": {"message": {**MSG, "taskId": "t1"}}}, 422, "invalid_request"),
    (A2A, {"jsonrpc": "2.0", "id": 1, "method": "message/send", "params": {"message": {**MSG, "contextId": "a:b"}}}, 422, "invalid_request"),
    (A2A, {"jsonrpc": "2.0", "id": 1, "method": "message/send",
           "params": {"message": {**MSG, "parts": [{"kind": "file", "file": {"uri": "file:///etc/passwd"}}]}}}, 422, "invalid_request"),
    (A2A, {"id": 1, "method": "message/send", "params": {"message": MSG}}, 422, "invalid_request"),
]


@pytest.mark.parametrize("path,body,status,error", BAD_BODIES, ids=[f"{i}" for i in range(len(BAD_BODIES))])
def test_bad_bodies_are_refused_in_the_error_schema(
    stack: tuple[Agent, Gateway], path: str, body: Any, status: int, error: str,
) -> None:
    _, g = stack
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    with as_user(g, ALICE) as c:
        r = c.post(path, content=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == status, r.text
    assert r.json()["error"] == error and r.json()["detail"], r.text


class AsAlice:
    def __init__(self, g: Gateway) -> None:
        self.g = g

    def client(self) -> httpx.Client:
        return as_user(self.g, ALICE)


def test_a_session_with_a_turn_running_is_busy_on_every_route(stack: tuple[Agent, Gateway], redis_url: str) -> None:
    _, g = stack
    turn = BackgroundTurn(AsAlice(g), "count slowly", "busy-1")
    try:
        turn.wait_started()
        with as_user(g, ALICE) as c:
            r = c.post(RESPONSES, json={"input": "me too", "conversation": "busy-1"})
            # The runtime's adapter maps every failure to OpenAI's code `server_error`; ours is in the message.
            assert r.status_code == 200 and r.json()["status"] == "failed", r.text
            assert "has a turn running" in r.json()["error"]["message"], r.text
            # A2A: the runtime's executor answers only completed turns; a2a-sdk reports the rest.
            r = c.post(A2A, json=a2a_send("me too", "busy-1"))
            assert r.status_code == 200 and r.json()["error"]["code"] == -32603, r.text
            assert interrupt_state(redis_url, "alice", "busy-1") == "RUNNING"
    finally:
        with as_user(g, ALICE) as c:
            assert c.post("/stop", json={"session_id": "busy-1"}).status_code == 200
        turn.join(60)


def _hang_up(g: Gateway, path: str, body: dict[str, Any], stream: bool) -> None:
    """Sends the request and hangs up a few seconds into the turn."""
    with as_user(g, ALICE, timeout=httpx.Timeout(30, read=3)) as c:
        if stream:
            with c.stream("POST", path, json=body) as r:
                for line in r.iter_lines():
                    if "tick" in line:
                        return  # leaving the block closes the connection mid-stream
        else:
            with pytest.raises(httpx.ReadTimeout):
                c.post(path, json=body)


@pytest.mark.parametrize("kind", ["responses", "responses-stream", "a2a"])
def test_a_client_that_hangs_up_stops_its_turn(stack: tuple[Agent, Gateway], redis_url: str, kind: str) -> None:
    agent, g = stack
    session = f"hangup-{kind}"
    if kind == "a2a":
        _hang_up(g, A2A, a2a_send("count slowly", session), stream=False)
    else:
        _hang_up(g, RESPONSES, {"input": "count slowly", "conversation": session, "stream": kind.endswith("stream")},
                 stream=kind.endswith("stream"))
    # The fake model would talk for a minute: only the hang-up reaching the agent stops it.
    wait_until(lambda: interrupt_state(redis_url, "alice", session) == "STOPPED", 15, "the turn to stop after the hang-up")
    with as_user(g, ALICE) as c:
        assert "count slowly" in responses_text(c, "still there?", session)  # saved, and the session is free


def test_the_new_routes_count_against_the_turn_limit(start_agent: Callable[..., Agent], redis_url: str) -> None:
    agent = start_agent(**redis_env(redis_url), MAX_CONCURRENT_TURNS="1")
    turn = BackgroundTurn(agent, "count slowly", "limit-1")
    try:
        turn.wait_started()
        with agent.client() as c:
            for path, body in ((RESPONSES, {"input": "hi"}), (A2A, a2a_send("hi"))):
                r = c.post(path, json=body)
                assert r.status_code == 429 and r.json()["error"] == "too_many_turns", r.text
                assert r.headers["retry-after"] == "5"
            # The card is not a turn.
            assert c.get(CARD).status_code == 200
    finally:
        with agent.client() as c:
            assert c.post("/stop", json={"session_id": "limit-1"}).status_code == 200
        turn.join(60)
    with agent.client() as c:
        assert a2a_text(c.post(A2A, json=a2a_send("now?"))).startswith("echo:")


def test_the_card_url_defaults_to_the_agents_own_port(start_agent: Callable[..., Agent]) -> None:
    agent = start_agent()
    with agent.client() as c:
        assert c.get(CARD).json()["url"] == f"{agent.url}{A2A}"
        # The routes are listed where a client looks for them.
        endpoints = c.get("/").json()["endpoints"]
        assert endpoints["responses"] == f"POST {RESPONSES}" and endpoints["a2a"] == f"POST {A2A}"


def test_gateway_refusals_are_in_the_error_schema(stack: tuple[Agent, Gateway], tmp_path: Path) -> None:
    _, g = stack
    with as_user(g, ALICE) as c:
        # Only the builtin agent's routes pass (GATEWAY_ALLOW_PATHS): AG-UI is not served.
        for path, status, error in (("/admin/status", 404, "not_found"), ("/ag-ui", 404, "not_found"),
                                    ("/docs", 404, "not_found"), ("/process/x", 404, "not_found")):
            r = c.get(path)
            assert r.status_code == status and r.json()["error"] == error, (path, r.text)
        r = c.get(httpx.URL(g.url).copy_with(raw_path=b"//admin/status"))  # not in normal form
        assert r.status_code == 400 and r.json()["error"] == "bad_request", r.text
    # Nothing listens upstream: the gateway's own /health answers 502 once it is up.
    port = free_port()
    env = {"PATH": os.environ["PATH"], "GATEWAY_UPSTREAM": f"http://127.0.0.1:{free_port()}", "GATEWAY_PORT": str(port)}
    with open(tmp_path / "gone.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, str(GATEWAY_PY)], env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    r = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
                    break
                except httpx.ConnectError:
                    assert time.monotonic() < deadline and proc.poll() is None, "the gateway did not start"
                    time.sleep(0.1)
            assert r.status_code == 502 and r.json()["error"] == "bad_gateway", r.text
        finally:
            proc.kill()
            proc.wait()


def test_nothing_was_a_server_error(stack: tuple[Agent, Gateway]) -> None:
    agent, _ = stack
    errors = [line for line in agent.log_lines() if line.get("logger") == "friday.access" and line.get("status", 0) >= 500]
    assert not errors, errors

