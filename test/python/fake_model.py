"""A scripted OpenAI-compatible chat model on loopback, for tests and the bench.

- A user turn mentioning "bubble" gets a call to `execute_python_code` with a
  bubble-sort program (the seed article's example).
- A tool result gets the final answer, quoting the tool's output.
- A user turn containing "RUN-CODE:" gets a call to `execute_python_code`
  with the text after that marker as the code.
- A user turn mentioning "slowly" streams one token every 0.2 s for a minute.
- Anything else gets "echo: " and every user text the model was sent, so a
  test can see the conversation history that reached the model.
Every request body is kept in `requests` for assertions.
"""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

BUBBLE_SORT = """\
def bubble_sort(items):
    items = list(items)
    for i in range(len(items)):
        for j in range(len(items) - 1 - i):
            if items[j] > items[j + 1]:
                items[j], items[j + 1] = items[j + 1], items[j]
    return items

print("sorted:", bubble_sort([64, 34, 25, 12, 22, 11, 90]))
"""
BUBBLE_OUTPUT = "sorted: [11, 12, 22, 25, 34, 64, 90]"
FINAL_PREFIX = "Done. The program printed: "
RUN_CODE = "RUN-CODE:"


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(b.get("text", "") for b in content if isinstance(b, dict))
    return ""


def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0,
        "model": "fake", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def reply(messages: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    last = messages[-1] if messages else {}
    if last.get("role") == "tool":
        yield _chunk({"role": "assistant", "content": FINAL_PREFIX + _text(last.get("content"))})
        yield _chunk({}, "stop")
        return
    user_text = _text(last.get("content"))
    if RUN_CODE in user_text:
        code = user_text.split(RUN_CODE, 1)[1]
        call = {
            "index": 0, "id": "call_run", "type": "function",
            "function": {"name": "execute_python_code", "arguments": json.dumps({"code": code})},
        }
        yield _chunk({"role": "assistant", "content": None, "tool_calls": [call]})
        yield _chunk({}, "tool_calls")
        return
    if "bubble" in user_text.lower():
        call = {
            "index": 0, "id": "call_bubble", "type": "function",
            "function": {"name": "execute_python_code", "arguments": json.dumps({"code": BUBBLE_SORT})},
        }
        yield _chunk({"role": "assistant", "content": None, "tool_calls": [call]})
        yield _chunk({}, "tool_calls")
        return
    if "slowly" in user_text.lower():
        for i in range(300):
            yield _chunk({"role": "assistant", "content": f"tick{i} "})
            time.sleep(0.2)
        yield _chunk({}, "stop")
        return
    seen = [_text(m.get("content")) for m in messages if m.get("role") == "user"]
    yield _chunk({"role": "assistant", "content": "echo: " + " | ".join(seen)})
    yield _chunk({}, "stop")


class FakeModel:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.requests: list[dict[str, Any]] = []
        model = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep pytest output clean
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                model.requests.append(body)
                chunks = list(reply(body.get("messages", []))) if not _slow(body) else None
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                try:
                    for chunk in chunks if chunks is not None else reply(body["messages"]):
                        self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
                        self.wfile.flush()
                    usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
                    tail = {"id": "chatcmpl-fake", "object": "chat.completion.chunk",
                            "created": 0, "model": "fake", "choices": [], "usage": usage}
                    self.wfile.write(b"data: " + json.dumps(tail).encode() + b"\n\ndata: [DONE]\n\n")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the agent was interrupted and hung up
                self.close_connection = True

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://{host}:{self.server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeModel:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _slow(body: dict[str, Any]) -> bool:
    msgs = body.get("messages") or [{}]
    return "slowly" in _text(msgs[-1].get("content")).lower()


if __name__ == "__main__":  # used by agent-image/bench
    import sys

    with FakeModel(port=int(sys.argv[1]) if len(sys.argv) > 1 else 0) as fm:
        print(fm.base_url, flush=True)
        threading.Event().wait()
