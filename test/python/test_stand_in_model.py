"""The stand-in model (agent-image/stand_in_model) on loopback, run as the image
runs it (`python -m stand_in_model`): its HTTP API, the real OpenAI client the
agent uses, agentscope's model class as the agent builds it, and the agent itself
answering the seed's request through the sandbox-manager protocol."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openai import OpenAI

import fake_model  # noqa: F401 - puts agent-image/ on sys.path
from conftest import AGENT_DIR, ask, final_text, free_port, wait_http
from stand_in_model import (
    BUBBLE_OUTPUT,
    CODE_ARGUMENT,
    CODE_TOOL,
    FINAL_PREFIX,
    REMEMBERED_PREFIX,
    SHELL_ARGUMENT,
    SHELL_TOOL,
    STAND_IN_ANSWER,
)
from test_app import FakeSandboxManager, tool_events

SEED_REQUEST = "请帮我使用python生成一段冒泡排序算法,并执行"
PLACEHOLDER_KEY = "not-a-secret-stand-in-model"


class StandIn:
    """`python -m stand_in_model` as a child process on a loopback port."""

    def __init__(self, log_path: Path, port: int | None = None, **env: str) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.base_url = self.url + "/v1"
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "stand_in_model"],
            env={"PATH": os.environ["PATH"], "PYTHONPATH": str(AGENT_DIR), "PYTHONDONTWRITEBYTECODE": "1",
                 "HOST": "127.0.0.1", "PORT": str(self.port), **env},
            stdout=self._log, stderr=subprocess.STDOUT,
        )

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)
        self._log.close()
        return self.proc.returncode

    def log_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log_path.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def stand_in(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandIn]:
    server = StandIn(tmp_path_factory.mktemp("stand-in") / "stand-in.log")
    wait_http(server.url + "/health", 20, server.proc)
    yield server
    server.stop()


def chat(stand_in: StandIn, messages: list[dict[str, Any]], **extra: Any) -> httpx.Response:
    return httpx.post(stand_in.base_url + "/chat/completions", json={"model": "stand-in", "messages": messages, **extra}, timeout=10)


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def run_python(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True).stdout


# ---------- its own API ----------

def test_health_and_models_say_what_it_is(stand_in: StandIn) -> None:
    health = httpx.get(stand_in.url + "/health")
    assert health.status_code == 200
    assert health.json() == {"status": "healthy", "model": "stand-in", "scripted": True}
    models = httpx.get(stand_in.base_url + "/models").json()
    assert [m["id"] for m in models["data"]] == ["stand-in"]
    started = [line for line in stand_in.log_lines() if line["msg"] == "listening"]
    assert started and started[0]["note"] == "scripted answers, not a language model"


@pytest.mark.parametrize("text", [SEED_REQUEST, "Please write a bubble sort in Python and run it", "BUBBLE sort?", "冒泡"])
def test_a_bubble_sort_request_gets_one_tool_call_whose_program_prints_the_sorted_list(stand_in: StandIn, text: str) -> None:
    r = chat(stand_in, [{"role": "system", "content": "You're Friday."}, user(text)])
    assert r.status_code == 200, r.text
    choice = r.json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    calls = choice["message"]["tool_calls"]
    assert len(calls) == 1 and calls[0]["type"] == "function"
    assert calls[0]["function"]["name"] == CODE_TOOL
    arguments = json.loads(calls[0]["function"]["arguments"])
    assert list(arguments) == [CODE_ARGUMENT]
    assert run_python(arguments[CODE_ARGUMENT]) == BUBBLE_OUTPUT + "\n"  # really sorts


def function_tools(*names: str) -> list[dict[str, Any]]:
    return [{"type": "function", "function": {"name": n, "parameters": {"type": "object"}}} for n in names]


@pytest.mark.parametrize("offered", [[SHELL_TOOL], ["Read", SHELL_TOOL, "Write"]])
def test_an_agent_with_only_a_shell_tool_gets_python3_run_through_it(stand_in: StandIn, offered: list[str]) -> None:
    """AgentScope 2.x agents run code with their workspace's Bash tool."""
    r = chat(stand_in, [user(SEED_REQUEST)], tools=function_tools(*offered))
    calls = r.json()["choices"][0]["message"]["tool_calls"]
    assert [c["function"]["name"] for c in calls] == [SHELL_TOOL]
    arguments = json.loads(calls[0]["function"]["arguments"])
    assert list(arguments) == [SHELL_ARGUMENT]
    ran = subprocess.run(["bash", "-c", arguments[SHELL_ARGUMENT]], capture_output=True, text=True, timeout=30, check=True)
    assert ran.stdout == BUBBLE_OUTPUT + "\n"  # the command really runs the program


def test_a_reminder_the_agent_appends_in_the_users_role_does_not_hide_the_request(stand_in: StandIn) -> None:
    """AgentScope 2.x sends the user's message, then a `<system-reminder>` user message."""
    reminder = user("<system-reminder>\n<current-time>2026-12-02T10:06:07</current-time>\n</system-reminder>")
    calls = chat(stand_in, [user(SEED_REQUEST), reminder]).json()["choices"][0]["message"]["tool_calls"]
    assert [c["function"]["name"] for c in calls] == [CODE_TOOL]
    # A request answered in an earlier turn is not asked again.
    earlier = [user(SEED_REQUEST), {"role": "assistant", "content": "Done."}, user("thanks"), reminder]
    assert chat(stand_in, earlier).json()["choices"][0]["finish_reason"] == "stop"


@pytest.mark.parametrize("offered", [[], [CODE_TOOL], [CODE_TOOL, SHELL_TOOL], ["Read"]])
def test_the_code_tool_wins_whenever_the_shell_tool_is_not_all_there_is(stand_in: StandIn, offered: list[str]) -> None:
    extra = {"tools": function_tools(*offered)} if offered else {}
    calls = chat(stand_in, [user(SEED_REQUEST)], **extra).json()["choices"][0]["message"]["tool_calls"]
    assert [c["function"]["name"] for c in calls] == [CODE_TOOL]


@pytest.mark.parametrize("tools", ["Bash", [{"type": "function"}], [{"function": {"name": 7}}], [None]])
def test_malformed_tools_are_ignored_not_fatal(stand_in: StandIn, tools: object) -> None:
    r = chat(stand_in, [user(SEED_REQUEST)], tools=tools)
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == CODE_TOOL


@pytest.mark.parametrize("content", [
    "sorted: [11, 12, 22, 25, 34, 64, 90]\n",
    [{"type": "text", "text": "sorted: [11, 12, 22, 25, 34, 64, 90]\n"}],
])
def test_a_tool_result_gets_the_final_answer_quoting_it(stand_in: StandIn, content: object) -> None:
    messages = [user(SEED_REQUEST),
                {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function",
                 "function": {"name": CODE_TOOL, "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": content}]
    choice = chat(stand_in, messages).json()["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert choice["message"] == {"role": "assistant", "content": FINAL_PREFIX + BUBBLE_OUTPUT + "\n"}


def test_anything_else_gets_the_sentence_that_says_it_is_a_stand_in(stand_in: StandIn) -> None:
    choice = chat(stand_in, [user("What is the capital of France?")]).json()["choices"][0]
    assert choice == {"index": 0, "message": {"role": "assistant", "content": STAND_IN_ANSWER}, "finish_reason": "stop"}
    assert "not a language model" in STAND_IN_ANSWER


def test_a_later_turn_quotes_the_program_output_the_history_holds(stand_in: StandIn) -> None:
    # What a session's second turn sends: the first turn's call and tool result, then a new question.
    messages = [user(SEED_REQUEST),
                {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function",
                 "function": {"name": CODE_TOOL, "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": BUBBLE_OUTPUT + "\n"},
                {"role": "assistant", "content": FINAL_PREFIX + BUBBLE_OUTPUT},
                user("What did the program print?")]
    content = chat(stand_in, messages).json()["choices"][0]["message"]["content"]
    assert content == STAND_IN_ANSWER + " " + REMEMBERED_PREFIX + BUBBLE_OUTPUT + "\n"


def test_streams_server_sent_events_with_usage_only_when_asked(stand_in: StandIn) -> None:
    body = {"model": "stand-in", "stream": True, "messages": [user(SEED_REQUEST)]}
    with httpx.stream("POST", stand_in.base_url + "/chat/completions", json=body) as r:
        assert r.status_code == 200 and r.headers["content-type"] == "text/event-stream"
        raw = [line for line in r.iter_lines() if line.startswith("data: ")]
    assert raw[-1] == "data: [DONE]"
    chunks = [json.loads(line[len("data: "):]) for line in raw[:-1]]
    assert all(c["object"] == "chat.completion.chunk" and c["id"] == chunks[0]["id"] for c in chunks)
    delta = chunks[0]["choices"][0]["delta"]
    assert delta["role"] == "assistant" and delta["tool_calls"][0]["index"] == 0
    assert delta["tool_calls"][0]["function"]["name"] == CODE_TOOL
    assert chunks[-1]["choices"] == [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]
    with httpx.stream("POST", stand_in.base_url + "/chat/completions",
                      json={**body, "stream_options": {"include_usage": True}}) as r:
        events = list(iter_sse_with_done(r))
    assert events[-2]["choices"] == [] and events[-2]["usage"]["total_tokens"] == 0


def iter_sse_with_done(response: httpx.Response) -> Iterator[dict[str, Any]]:
    for line in response.iter_lines():
        if line.startswith("data: "):
            yield {"done": True} if line == "data: [DONE]" else json.loads(line[len("data: "):])


@pytest.mark.parametrize(("method", "path", "body", "status"), [
    ("POST", "/v1/chat/completions", b"{not json", 400),
    ("POST", "/v1/chat/completions", b"[]", 400),
    ("POST", "/v1/chat/completions", b'{"messages": []}', 400),
    ("POST", "/v1/chat/completions", b'{"messages": ["hi"]}', 400),
    ("GET", "/v1/chat/completions", None, 405),
    ("POST", "/v1/completions", b"{}", 404),
    ("GET", "/admin", None, 404),
])
def test_bad_requests_get_an_openai_style_error(stand_in: StandIn, method: str, path: str, body: bytes | None, status: int) -> None:
    r = httpx.request(method, stand_in.url + path, content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == status
    assert set(r.json()["error"]) >= {"message", "type"}


def test_a_body_over_the_limit_is_refused_unread(stand_in: StandIn) -> None:
    r = httpx.post(stand_in.base_url + "/chat/completions", content=b"x" * (4 * 1024 * 1024 + 1))
    assert r.status_code == 413
    assert httpx.get(stand_in.url + "/health").status_code == 200


def test_logs_one_json_line_per_request(stand_in: StandIn) -> None:
    def requests() -> list[dict[str, Any]]:
        return [entry for entry in stand_in.log_lines() if entry["msg"] == "request" and entry["path"] == "/v1/chat/completions"]

    before = len(requests())
    chat(stand_in, [user("log me")])
    # The line is written once the response is sent: on a busy machine it may trail the reply.
    deadline = time.monotonic() + 10
    while len(requests()) == before and time.monotonic() < deadline:
        time.sleep(0.05)
    new = requests()[before:]
    assert len(new) == 1 and new[0]["status"] == 200 and new[0]["method"] == "POST"
    assert all({"ts", "level", "logger", "msg"} <= entry.keys() for entry in stand_in.log_lines())


def test_stops_on_sigterm_and_refuses_a_bad_port(tmp_path: Path) -> None:
    server = StandIn(tmp_path / "s.log")
    wait_http(server.url + "/health", 20, server.proc)
    assert server.stop() == 0
    assert any(entry["msg"] == "stopping" and entry["signal"] == "SIGTERM" for entry in server.log_lines())
    bad = subprocess.run([sys.executable, "-m", "stand_in_model"], capture_output=True, text=True, timeout=20,
                         env={"PATH": os.environ["PATH"], "PYTHONPATH": str(AGENT_DIR), "PORT": "http"})
    assert bad.returncode == 2 and "PORT must be a port number" in bad.stderr


# ---------- through the clients the agent uses ----------

def test_the_openai_client_gets_the_tool_call_whole_and_streamed(stand_in: StandIn) -> None:
    client = OpenAI(base_url=stand_in.base_url, api_key=PLACEHOLDER_KEY)
    whole = client.chat.completions.create(model="stand-in", messages=[{"role": "user", "content": SEED_REQUEST}])
    call = whole.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert call.type == "function" and call.function.name == CODE_TOOL
    assert run_python(json.loads(call.function.arguments)[CODE_ARGUMENT]) == BUBBLE_OUTPUT + "\n"

    stream = client.chat.completions.create(model="stand-in", messages=[{"role": "user", "content": SEED_REQUEST}],
                                            stream=True, stream_options={"include_usage": True})
    names, arguments, finish, usage = [], "", None, None
    for chunk in stream:
        usage = chunk.usage or usage
        for choice in chunk.choices:
            finish = choice.finish_reason or finish
            for delta in choice.delta.tool_calls or []:
                names.append(delta.function.name)
                arguments += delta.function.arguments or ""
    assert names == [CODE_TOOL] and finish == "tool_calls" and usage is not None
    assert run_python(json.loads(arguments)[CODE_ARGUMENT]) == BUBBLE_OUTPUT + "\n"


def test_the_tool_it_calls_is_the_one_the_agent_offers() -> None:
    from agentscope.tool import Toolkit, execute_python_code

    from friday.settings import Settings
    from friday.tools import SandboxLease, make_toolkit

    settings = Settings(auth_disabled=True, sandbox_manager_url="http://127.0.0.1:9")
    offered = [make_toolkit(settings, SandboxLease(settings)).get_json_schemas()]
    local = Toolkit()
    local.register_tool_function(execute_python_code)  # the in-process variant (ALLOW_LOCAL_CODE_EXECUTION)
    offered.append(local.get_json_schemas())
    for schemas in offered:
        assert [s["function"]["name"] for s in schemas] == [CODE_TOOL]
        parameters = schemas[0]["function"]["parameters"]
        assert CODE_ARGUMENT in parameters["properties"] and CODE_ARGUMENT in parameters["required"]


def test_agentscope_model_as_the_agent_builds_it_gets_the_tool_use(stand_in: StandIn) -> None:
    from agentscope.message import Msg

    from friday.agent import build_model
    from friday.settings import Settings
    from friday.tools import SandboxLease, make_toolkit

    settings = Settings(auth_disabled=True, model_provider="openai", model_name="stand-in",
                        model_base_url=stand_in.base_url, model_api_key=PLACEHOLDER_KEY,
                        sandbox_manager_url="http://127.0.0.1:9")
    model, formatter = build_model(settings)
    tools = make_toolkit(settings, SandboxLease(settings)).get_json_schemas()

    async def call() -> list[dict[str, Any]]:
        messages = await formatter.format([Msg("user", SEED_REQUEST, "user")])
        last = None
        async for response in await model(messages, tools=tools):
            last = response
        assert last is not None
        return [dict(block) for block in last.content]

    blocks = asyncio.run(call())
    uses = [b for b in blocks if b["type"] == "tool_use"]
    assert len(uses) == 1 and uses[0]["name"] == CODE_TOOL
    assert run_python(uses[0]["input"][CODE_ARGUMENT]) == BUBBLE_OUTPUT + "\n"


# ---------- the agent, end to end ----------

def test_the_agent_answers_the_seed_request_through_the_sandbox_protocol(start_agent: Any, stand_in: StandIn) -> None:
    manager = FakeSandboxManager("sandbox-token")
    try:
        agent = start_agent(MODEL_PROVIDER="openai", MODEL_BASE_URL=stand_in.base_url, MODEL_NAME="stand-in",
                            MODEL_API_KEY=PLACEHOLDER_KEY, SANDBOX_MANAGER_URL=manager.url,
                            SANDBOX_MANAGER_TOKEN="sandbox-token")
        with agent.client() as c:
            events = ask(c, SEED_REQUEST, session_id="stand-in-seed")
            other = final_text(ask(c, "hello", session_id="stand-in-other"))
    finally:
        manager.server.shutdown()
    call = tool_events(events, "plugin_call")[0]["content"][0]["data"]
    assert call["name"] == CODE_TOOL
    output = tool_events(events, "plugin_call_output")[0]["content"][0]["data"]["output"]
    assert "[sandbox sbx-42]" in output and BUBBLE_OUTPUT in output  # ran where the manager runs code
    answer = final_text(events)
    assert answer.startswith(FINAL_PREFIX) and BUBBLE_OUTPUT in answer
    assert [p for p, _, _ in manager.calls] == ["/create_from_pool_async", "/call_tool_async", "/release_async"]
    assert other == STAND_IN_ANSWER
