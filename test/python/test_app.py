"""The seed's scenario end to end: Friday asks for the Python tool with a
bubble sort, the code really runs, and the answer streams back over SSE."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from conftest import Agent, ask, final_text
from fake_model import BUBBLE_OUTPUT, FINAL_PREFIX, RUN_CODE, FakeModel
from streams import BackgroundTurn, wait_until


def tool_events(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e.get("object") == "message" and e.get("type") == kind
            and e.get("status") == "completed"]


def test_tool_call_its_output_and_the_answer_stream_back(local_agent: Agent, fake_model: FakeModel) -> None:
    with local_agent.client() as c:
        events = ask(c, "Please write a bubble sort in Python and run it", session_id="bubble-1")

    call = tool_events(events, "plugin_call")[0]["content"][0]["data"]
    assert call["name"] == "execute_python_code"
    assert "def bubble_sort" in json.loads(call["arguments"])["code"]

    output = tool_events(events, "plugin_call_output")[0]["content"][0]["data"]["output"]
    assert BUBBLE_OUTPUT in output  # produced by really running the program

    answer = final_text(events)
    assert answer.startswith(FINAL_PREFIX) and BUBBLE_OUTPUT in answer
    assert events[-1]["object"] == "response" and events[-1]["status"] == "completed"
    assert events[-1]["session_id"] == "bubble-1"
    # The model saw the tool's real output in its second call.
    tool_msgs = [m for m in fake_model.requests[-1]["messages"] if m["role"] == "tool"]
    assert BUBBLE_OUTPUT in json.dumps(tool_msgs)


def test_logs_are_json_lines_with_request_and_session_ids(local_agent: Agent) -> None:
    with local_agent.client() as c:
        c.headers["X-Request-ID"] = "req-logcheck-1"
        ask(c, "hello there", session_id="log-session-1")
        c.get("/health")
    # Every line must parse as JSON.
    lines = local_agent.wait_log(
        lambda entry: entry.get("request_id") == "req-logcheck-1" and entry.get("path") == "/process")
    access = [entry for entry in lines if entry.get("request_id") == "req-logcheck-1" and entry["msg"] == "request"
              and entry.get("path") == "/process"]
    assert access and access[0]["session_id"] == "log-session-1" and access[0]["status"] == 200
    # Lines logged inside the turn carry the ids too.
    inside = {entry["msg"] for entry in lines if entry.get("session_id") == "log-session-1"
              and entry.get("request_id") == "req-logcheck-1"}
    assert {"turn started", "turn saved", "request"} <= inside
    assert all({"ts", "level", "logger", "msg"} <= entry.keys() for entry in lines)


def test_code_is_not_run_in_process_unless_allowed(start_agent: Any, fake_model: FakeModel) -> None:
    agent = start_agent()  # no sandbox manager, no ALLOW_LOCAL_CODE_EXECUTION
    with agent.client() as c:
        events = ask(c, "bubble sort please", session_id="nocode-1")
    outputs = json.dumps(tool_events(events, "plugin_call_output"))
    assert BUBBLE_OUTPUT not in outputs
    assert "execute_python_code" in outputs  # the agent reports the tool as unavailable
    assert BUBBLE_OUTPUT not in final_text(events)


class FakeSandboxManager:
    """Speaks the remote SandboxManager protocol of agentscope-runtime
    (POST /<method> -> {"data": ...}) and runs the code in a subprocess,
    which releasing the sandbox kills, as deleting its container would."""

    def __init__(self, token: str) -> None:
        self.calls: list[tuple[str, dict[str, Any], str | None]] = []
        self.traceparents: list[str | None] = []
        self.running: dict[str, subprocess.Popen] = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                outer.calls.append((self.path, body, self.headers.get("Authorization")))
                outer.traceparents.append(self.headers.get("traceparent"))
                if self.headers.get("Authorization") != f"Bearer {token}":
                    return self._send(401, {"detail": "bad token"})
                if self.path == "/create_from_pool_async":
                    return self._send(200, {"data": "sbx-42"})
                if self.path == "/call_tool_async":
                    code = body["arguments"]["code"]
                    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                                            stderr=subprocess.STDOUT, text=True)
                    outer.running[body["identity"]] = proc
                    out, _ = proc.communicate(timeout=60)
                    text = f"[sandbox {body['identity']}] {out}"
                    return self._send(200, {"data": {"content": [{"type": "text", "text": text}], "isError": False}})
                if self.path == "/release_async":
                    proc = outer.running.pop(body["identity"], None)
                    if proc is not None and proc.poll() is None:
                        proc.kill()
                    return self._send(200, {"data": True})
                self._send(404, {"detail": "unknown"})

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def sandbox_manager() -> Iterator[FakeSandboxManager]:
    manager = FakeSandboxManager("sandbox-token")
    yield manager
    manager.server.shutdown()


def test_code_runs_in_the_sandbox_pool(start_agent: Any, sandbox_manager: FakeSandboxManager) -> None:
    # ALLOW_LOCAL_CODE_EXECUTION is on too: the sandbox must still win.
    agent = start_agent(
        SANDBOX_MANAGER_URL=sandbox_manager.url, SANDBOX_MANAGER_TOKEN="sandbox-token",
        ALLOW_LOCAL_CODE_EXECUTION="true",
    )
    with agent.client() as c:
        events = ask(c, "bubble sort in the sandbox", session_id="sbx-session")
    output = tool_events(events, "plugin_call_output")[0]["content"][0]["data"]["output"]
    assert "[sandbox sbx-42]" in output and BUBBLE_OUTPUT in output
    paths = [p for p, _, _ in sandbox_manager.calls]
    assert paths == ["/create_from_pool_async", "/call_tool_async", "/release_async"]
    assert sandbox_manager.calls[0][1]["sandbox_type"] == "base"
    assert sandbox_manager.calls[1][1]["tool_name"] == "run_ipython_cell"
    assert sandbox_manager.calls[2][1]["identity"] == "sbx-42"
    assert all(auth == "Bearer sandbox-token" for _, _, auth in sandbox_manager.calls)
    # Every line on stdout and stderr is JSON (log_lines parses each), including the
    # DeprecationWarning the runtime's sandbox client raises on first use (1.1.6.post2).
    assert any(e["logger"] == "py.warnings" for e in agent.log_lines())


def test_stop_ends_code_running_in_the_sandbox(start_agent: Any, sandbox_manager: FakeSandboxManager) -> None:
    agent = start_agent(SANDBOX_MANAGER_URL=sandbox_manager.url, SANDBOX_MANAGER_TOKEN="sandbox-token")
    turn = BackgroundTurn(agent, RUN_CODE + "import time\ntime.sleep(45)", "sbx-stop")
    turn.wait_started()
    wait_until(lambda: "sbx-42" in sandbox_manager.running, 10, "the code to start in the sandbox")
    proc = sandbox_manager.running["sbx-42"]
    with agent.client() as c:
        assert c.post("/stop", json={"session_id": "sbx-stop"}).status_code == 200
    wait_until(lambda: proc.poll() is not None, 5, "the sandbox's code to end")
    assert [p for p, _, _ in sandbox_manager.calls][-1] == "/release_async"
    turn.join(15)
    assert turn.events[-1]["status"] == "canceled"
