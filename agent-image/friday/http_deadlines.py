"""uvicorn's httptools protocol with deadlines for the request's headers and body.

uvicorn (0.54) has none: a client that connects and sends nothing, or part of its headers, or
part of its body, holds its connection (and a file descriptor) forever; its `timeout_keep_alive`
only covers the idle time between two requests. Here a connection must send its request line and
headers within `header_s` of connecting (or of its previous response), then its body within
`body_s`; past either it is answered 408 (when nothing was answered yet) and closed. While the
app answers (an SSE stream of a turn) no deadline runs.

Past `limit_concurrency`, uvicorn answers a plain-text 503 (flow_control.service_unavailable);
here it is answered in the error schema, with Retry-After.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.types import Receive, Scope, Send
from uvicorn.protocols.http.flow_control import service_unavailable
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger(__name__)

_TIMEOUT_BODY = b'{"error": "request_timeout", "detail": "the request was not sent in time"}'
_TIMEOUT_RESPONSE = (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
                     b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(_TIMEOUT_BODY), _TIMEOUT_BODY))


_UNAVAILABLE_BODY = b'{"error": "unavailable", "detail": "too many open connections; retry"}'


async def unavailable(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 503, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(_UNAVAILABLE_BODY)).encode()),
        (b"connection", b"close"), (b"retry-after", b"1")]})
    await send({"type": "http.response.body", "body": _UNAVAILABLE_BODY})


def deadline_protocol(header_s: float, body_s: float) -> type[HttpToolsProtocol]:
    class DeadlineProtocol(HttpToolsProtocol):
        _deadline: asyncio.TimerHandle | None = None

        def _arm(self, seconds: float) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(seconds, self._expire)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _expire(self) -> None:
            self._deadline = None
            if self.transport.is_closing():
                return
            if self.cycle is None or self.cycle.response_complete:
                # Nothing of this request has reached the app: answer it here.
                self.transport.write(_TIMEOUT_RESPONSE)
            log.debug("closing a stalled connection", extra={"client": self.client})
            self.transport.close()

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm(header_s)

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                # Between requests, uvicorn's keep-alive timeout applies; then the next headers'.
                self._arm(header_s + self.timeout_keep_alive)

        def on_headers_complete(self) -> None:
            super().on_headers_complete()
            self._arm(body_s)

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._disarm()

        def _start_asgi_task(self, cycle: Any, app: Any) -> None:
            super()._start_asgi_task(cycle, unavailable if app is service_unavailable else app)

    return DeadlineProtocol
