"""ASGI middleware in front of AgentApp: bearer auth, body limits, input checks,
request ids and access logs.

AgentApp has no auth and turns a bad /process body into a 200 SSE stream with an
error inside, so requests are checked here, before the runtime sees them.
"""
from __future__ import annotations

import hmac
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from opentelemetry import context as otel_context
from pydantic import BaseModel, ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from observability.tracing import extract_asgi

from .identity import IdentityRefused, bind_user, vouched_user, vouched_user_var
from .logs import request_id_var, session_id_var

log = logging.getLogger("friday.access")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestRejected(Exception):
    def __init__(self, status: int, error: str, detail: Any = None) -> None:
        super().__init__(error)
        self.status, self.error, self.detail = status, error, detail


class Guard:
    def __init__(
        self,
        app: ASGIApp,
        *,
        token: str | None,
        max_body: int,
        open_paths: Iterable[str],
        body_models: dict[str, type[BaseModel]],
        normalize: Callable[[str, BaseModel], dict[str, Any]],
    ) -> None:
        self.app = app
        self.token = token.encode() if token else None
        self.max_body = max_body
        self.open_paths = frozenset(open_paths)
        self.body_models = body_models
        self.normalize = normalize

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v for k, v in scope["headers"]}
        rid = headers.get("x-request-id", b"").decode("latin-1")
        rid = rid if _REQUEST_ID.match(rid) else uuid.uuid4().hex
        request_id_var.set(rid)
        session_id_var.set(None)
        vouched_user_var.set(None)
        if scope["type"] != "http":
            # No route of ours speaks websocket; refuse unauthenticated ones anyway.
            if not self._authorized(scope, headers):
                await send({"type": "websocket.close", "code": 1008})
                return
            await self.app(scope, receive, send)
            return

        started = time.perf_counter()
        status = 0
        # The caller's W3C trace context: the parent of this request's turn span, and the
        # trace_id of its log lines.
        trace_token = otel_context.attach(extract_asgi(scope["headers"]))

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        try:
            if not self._authorized(scope, headers):
                raise RequestRejected(401, "unauthorized", "missing or invalid bearer token")
            model = self.body_models.get(scope["path"])
            if model is not None and scope["method"] == "POST":
                body = await self._checked_body(scope["path"], model, headers, receive)
                receive = _replay(body, receive)
            await self.app(scope, receive, send_wrapper)
        except RequestRejected as exc:
            await _reject(send_wrapper, exc)
        finally:
            log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
            otel_context.detach(trace_token)

    def _authorized(self, scope: Scope, headers: dict[str, bytes]) -> bool:
        if self.token is None or scope["path"] in self.open_paths:
            return True
        scheme, _, value = headers.get("authorization", b"").partition(b" ")
        return scheme.lower() == b"bearer" and hmac.compare_digest(value.strip(), self.token)

    async def _checked_body(
        self,
        path: str,
        model: type[BaseModel],
        headers: dict[str, bytes],
        receive: Receive,
    ) -> bytes:
        ctype = headers.get("content-type", b"").split(b";")[0].strip().lower()
        if ctype != b"application/json":
            raise RequestRejected(415, "unsupported_media_type", "send Content-Type: application/json")
        declared = headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                raise RequestRejected(400, "bad_request", "invalid Content-Length")
            if int(declared) > self.max_body:
                raise RequestRejected(413, "payload_too_large", f"limit is {self.max_body} bytes")
        raw = await self._read(receive)
        if not raw.strip():
            raise RequestRejected(400, "bad_request", "empty body")
        data = _parse_json(raw)
        if not isinstance(data, dict):
            raise RequestRejected(422, "invalid_request", "body must be a JSON object")
        try:
            parsed = model.model_validate(data)
        except ValidationError as exc:
            detail = [
                {"loc": list(e["loc"]), "msg": e["msg"]}
                for e in exc.errors(include_url=False, include_input=False)
            ]
            raise RequestRejected(422, "invalid_request", detail) from None
        try:
            user = vouched_user(headers)
            vouched_user_var.set(user)
            if user is not None:
                bind_user(parsed, user)
        except IdentityRefused as exc:
            raise RequestRejected(exc.status, exc.error, exc.detail) from None
        normalized = self.normalize(path, parsed)
        session_id_var.set(normalized.get("session_id"))
        return json.dumps(normalized).encode()

    async def _read(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise RequestRejected(400, "bad_request", "client disconnected")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise RequestRejected(413, "payload_too_large", f"limit is {self.max_body} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _parse_json(raw: bytes) -> Any:
    """The body as JSON, refusing what JSON can carry but the agent cannot use: nesting past
    Python's recursion limit, and lone surrogates ("\\ud800"), which are not text and would fail
    the turn later, when its reply is encoded or saved."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RequestRejected(400, "malformed_json", str(exc)) from None
    except RecursionError:
        raise RequestRejected(400, "malformed_json", "nested too deeply") from None
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise RequestRejected(400, "invalid_text", "strings must be valid Unicode (no lone surrogates)") from None
    return data


def _replay(body: bytes, upstream: Receive) -> Receive:
    """Hands the checked body on once, then the real receive() so that a
    streaming response still learns when the client goes away."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await upstream()

    return receive


async def _reject(send: Send, exc: RequestRejected) -> None:
    payload = {"error": exc.error}
    if exc.detail is not None:
        payload["detail"] = exc.detail
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if exc.status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": exc.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
