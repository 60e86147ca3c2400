"""A fake DashScope text-generation endpoint for the seed sample, which builds
DashScopeChatModel("qwen-turbo") and nothing else. The dashscope SDK (1.25.2,
the seed lock's) sends its calls to DASHSCOPE_HTTP_BASE_URL
(dashscope/common/env.py) and reads a stream as SSE `data:` lines, each a JSON
object with `output.choices[0].message` and `usage`
(dashscope/common/utils.py _handle_aio_stream,
api_entities/http_request.py _handle_aio_response). One fixed answer, streamed
in two chunks; the requests are recorded."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ANSWER = ("Hello from the fake DashScope", ", streamed.")


class FakeDashScope:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self._server = ThreadingHTTPServer((host, 0), self._handler())
        self.base_url = f"http://{host}:{self._server.server_address[1]}/api/v1"

    def __enter__(self) -> FakeDashScope:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                fake.requests.append((self.path, body))
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for i, text in enumerate(ANSWER):
                    last = i == len(ANSWER) - 1
                    chunk = {"request_id": f"fake-{i}", "usage": {"input_tokens": 3, "output_tokens": i + 1},
                             "output": {"choices": [{"message": {"role": "assistant", "content": text},
                                                     "finish_reason": "stop" if last else "null"}]}}
                    self.wfile.write(f"id:{i}\nevent:result\n:HTTP_STATUS/200\ndata:{json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()

            def log_message(self, *_: object) -> None:
                pass

        return Handler
