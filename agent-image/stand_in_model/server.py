"""The HTTP side: `/v1/chat/completions` (streamed or not), `/v1/models`, `/health`."""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from . import wire
from .script import Piece, Script, reply, tool_names

MODEL_NAME = "stand-in"
# A long agent session sends its whole history every turn; far more than that is a mistake.
MAX_BODY_BYTES = 4 * 1024 * 1024

RequestHook = Callable[[dict[str, Any]], None]
LogHook = Callable[[dict[str, Any]], None]


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class StandInModelServer:
    """Serves `script` on host:port (port 0 picks a free one) in a background thread,
    or in the caller's with `serve_forever()`."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        script: Script = reply,
        model_name: str = MODEL_NAME,
        on_request: RequestHook | None = None,
        log: LogHook | None = None,
    ) -> None:
        self.script = script
        self.model_name = model_name
        self.on_request = on_request
        self.log = log
        self.server = ThreadingHTTPServer((host, port), _handler(self))
        self.server.daemon_threads = True
        self.host = host
        self.port: int = self.server.server_address[1]
        self.base_url = f"http://{host}:{self.port}/v1"
        self._thread: threading.Thread | None = None

    def serve_forever(self) -> None:
        self.server.serve_forever()

    def start(self) -> StandInModelServer:
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stops serving; call from a thread other than the one in serve_forever."""
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> StandInModelServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _handler(model: StandInModelServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "stand-in-model"
        sys_version = ""
        _status = 0

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            pass  # one structured line per request instead (see _done)

        def do_GET(self) -> None:
            started = time.monotonic()
            if self.path == "/health":
                self._json(200, {"status": "healthy", "model": model.model_name, "scripted": True})
            elif self.path == "/v1/models":
                self._json(200, wire.models(model.model_name))
            elif self.path == "/v1/chat/completions":
                self._json(405, wire.error("use POST"))
            else:
                self._json(404, wire.error(f"no route {self.path}", "not_found"))
            self._done(started)

        def do_POST(self) -> None:
            started = time.monotonic()
            if self.path != "/v1/chat/completions":
                self._json(404 if self.path not in ("/health", "/v1/models") else 405,
                           wire.error(f"no POST route {self.path}", "not_found"))
                return self._done(started)
            try:
                body = self._body()
            except _BadRequest as bad:
                self._json(bad.status, wire.error(str(bad)))
                return self._done(started)
            if model.on_request is not None:
                model.on_request(body)
            name = body.get("model") if isinstance(body.get("model"), str) else model.model_name
            pieces = model.script(body["messages"], tool_names(body.get("tools")))
            if body.get("stream"):
                options = body.get("stream_options")
                usage = isinstance(options, dict) and options.get("include_usage") is True
                self._stream(wire.ChunkWriter(name), pieces, usage)
            else:
                self._json(200, wire.completion(name, list(pieces)))
            self._done(started)

        def _body(self) -> dict[str, Any]:
            length = self.headers.get("Content-Length")
            if length is None or not length.isdigit():
                raise _BadRequest(411, "a Content-Length is required")
            if int(length) > MAX_BODY_BYTES:
                self.close_connection = True  # the body stays unread
                raise _BadRequest(413, f"the body is over {MAX_BODY_BYTES} bytes")
            try:
                body = json.loads(self.rfile.read(int(length)))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise _BadRequest(400, f"the body is not JSON: {exc}") from exc
            if not isinstance(body, dict):
                raise _BadRequest(400, "the body must be a JSON object")
            messages = body.get("messages")
            if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
                raise _BadRequest(400, "messages must be a non-empty list of message objects")
            return body

        def _json(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _stream(self, writer: wire.ChunkWriter, pieces: Iterable[Piece], usage: bool) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True  # the stream's end is the connection's end

            def send(event: dict[str, Any] | str) -> None:
                text = event if isinstance(event, str) else json.dumps(event, ensure_ascii=False)
                self.wfile.write(b"data: " + text.encode() + b"\n\n")
                self.wfile.flush()

            try:
                for piece in pieces:
                    send(writer.piece(piece))
                send(writer.finish())
                if usage:
                    send(writer.usage())
                send("[DONE]")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client hung up (an interrupted turn)

        def _done(self, started: float) -> None:
            if model.log is not None:
                model.log({"msg": "request", "method": self.command, "path": self.path,
                           "status": self._status, "duration_ms": round((time.monotonic() - started) * 1000, 1)})

        def send_response(self, code: int, message: str | None = None) -> None:
            self._status = code
            super().send_response(code, message)

    return Handler
