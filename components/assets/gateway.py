"""AgentScope stack: path-filtering gateway in front of one AgentApp.

Runs as `python gateway.py` with the agent image's own Python (uvicorn and httpx ship with
agentscope-runtime). It refuses the AgentApp's unauthenticated admin routes and any path that is
not in normal form (so `//admin`, `/x/../admin` or `%2e%2e` tricks cannot reach them), and streams
everything else (SSE included) to the upstream unchanged.

On SIGTERM, uvicorn stops listening (new connections and the readiness probe are refused), closes
idle connections, and keeps forwarding the open streams until they end: the app drains its turns
on SIGTERM too and ends each with a final event, which must get through. Streams still open after
GATEWAY_SHUTDOWN_TIMEOUT_SECONDS are cut, so the gateway exits within the pod's grace period.

Observability (issue 13), from the agent image's `observability` package (PYTHONPATH=/app): a
`gateway.request` span per request, child of the caller's W3C traceparent and parent of the
upstream call's, when OTEL_EXPORTER_OTLP_ENDPOINT is set; Prometheus metrics on
GATEWAY_METRICS_PORT when set. An image without that package gets neither, and a warning.
"""
from __future__ import annotations

import os
import posixpath
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

import httpx
import uvicorn

try:
    from opentelemetry import trace
    from prometheus_client import Counter, Histogram

    from observability import metrics as obs_metrics, tracing as obs_tracing
except ImportError:  # an image without the package: the gateway still works
    obs_metrics = obs_tracing = None  # type: ignore[assignment]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

UPSTREAM = os.environ.get("GATEWAY_UPSTREAM", "http://127.0.0.1:8080")
PORT = int(os.environ.get("GATEWAY_PORT", "8081"))
SHUTDOWN_TIMEOUT_S = int(os.environ.get("GATEWAY_SHUTDOWN_TIMEOUT_SECONDS", "50"))
DENIED = tuple(
    p.strip().rstrip("/").lower()
    for p in os.environ.get("GATEWAY_DENY_PREFIXES", "/shutdown,/admin").split(",")
    if p.strip()
)
HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
    "te", "trailers", "transfer-encoding", "upgrade", "host",
    # Replaced by this hop's own trace context.
    "traceparent", "tracestate",
}
# Metric label values: these paths, anything else is "other" (bounded cardinality).
ROUTES = frozenset({"/", "/process", "/stop", "/health"})
if obs_tracing is not None:
    REQUESTS = Counter("agentscope_gateway_requests_total", "Requests, by route and status code.", ["route", "code"])
    SECONDS = Histogram("agentscope_gateway_request_duration_seconds", "Time to the end of the response.", ["route"],
                        buckets=(0.005, 0.025, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300))


def refusal(path: str) -> int | None:
    """None when `path` (decoded, as the upstream app routes it) may pass, else an HTTP status."""
    if not path.startswith("/") or "//" in path or "%" in path or "\\" in path:
        return 400
    segments = path.split("/")
    if "." in segments or ".." in segments:
        return 400
    if posixpath.normpath(path) != (path.rstrip("/") or "/"):
        return 400
    lowered = path.lower().rstrip("/")
    for prefix in DENIED:
        if lowered == prefix or lowered.startswith(prefix + "/"):
            return 404
    return None


client = httpx.AsyncClient(base_url=UPSTREAM, timeout=httpx.Timeout(None, connect=5.0))


async def respond(send: Send, status: int) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": (b"refused" if status < 500 else b"upstream unavailable")})


async def lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await client.aclose()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
        return
    if scope["type"] != "http":
        await receive()
        await send({"type": "websocket.close", "code": 1008})
        return
    if obs_tracing is None:
        await proxy(scope, receive, send, [])
        return
    await observed(scope, receive, send)


async def observed(scope: Scope, receive: Receive, send: Send) -> None:
    """proxy() inside a `gateway.request` span, counted and timed."""
    route = scope["path"] if scope["path"] in ROUTES else "other"
    started = time.perf_counter()
    code = 0
    span = obs_tracing.tracer().start_span(
        "gateway.request", context=obs_tracing.extract_asgi(scope["headers"]), kind=trace.SpanKind.SERVER,
        attributes={"http.request.method": scope["method"], "url.path": scope["path"]},
    )

    async def counting_send(message: Message) -> None:
        nonlocal code
        if message["type"] == "http.response.start":
            code = message["status"]
        await send(message)

    carrier: dict[str, str] = {}
    obs_tracing.inject(carrier, trace.set_span_in_context(span))
    try:
        await proxy(scope, receive, counting_send, [(k.encode(), v.encode()) for k, v in carrier.items()])
    finally:
        span.set_attribute("http.response.status_code", code)
        if code >= 500 or code == 0:
            span.set_status(trace.StatusCode.ERROR)
        span.end()
        REQUESTS.labels(route=route, code=str(code)).inc()
        SECONDS.labels(route=route).observe(time.perf_counter() - started)


async def proxy(scope: Scope, receive: Receive, send: Send, trace_headers: list[tuple[bytes, bytes]]) -> None:
    status = refusal(scope["path"])
    if status:
        await respond(send, status)
        return

    async def body() -> AsyncIterator[bytes]:
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return
            if message.get("body"):
                yield message["body"]
            if not message.get("more_body", False):
                return

    target = (scope.get("raw_path") or scope["path"].encode("utf-8")).decode("latin-1")
    if scope.get("query_string"):
        target += "?" + scope["query_string"].decode("latin-1")
    headers = [(k, v) for k, v in scope["headers"] if k.decode("latin-1").lower() not in HOP_BY_HOP]
    headers += trace_headers
    has_body = any(k.lower() in (b"content-length", b"transfer-encoding") for k, _ in scope["headers"])
    request = client.build_request(scope["method"], target, headers=headers, content=body() if has_body else None)
    try:
        response = await client.send(request, stream=True)
    except httpx.HTTPError:
        await respond(send, 502)
        return
    try:
        await send({
            "type": "http.response.start",
            "status": response.status_code,
            "headers": [(k, v) for k, v in response.headers.raw if k.decode("latin-1").lower() not in HOP_BY_HOP],
        })
        async for chunk in response.aiter_raw():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        await response.aclose()


def observe() -> None:
    if obs_tracing is None:
        if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("GATEWAY_METRICS_PORT"):
            print('{"level": "WARNING", "logger": "gateway", "msg": "tracing and metrics need the '
                  'observability package on PYTHONPATH; both are off"}', flush=True)
        return
    obs_tracing.setup("agentscope-gateway")
    obs_metrics.serve("GATEWAY_METRICS_PORT")


if __name__ == "__main__":
    observe()
    uvicorn.run(
        app, host="0.0.0.0", port=PORT, log_level="warning", server_header=False, proxy_headers=False,
        timeout_graceful_shutdown=SHUTDOWN_TIMEOUT_S,
    )
