"""AgentScope stack: path-filtering gateway in front of one AgentApp.

Runs as `python gateway.py` with the agent image's own Python (uvicorn and httpx ship with
agentscope-runtime). It refuses the AgentApp's unauthenticated admin routes and any path that is
not in normal form (so `//admin`, `/x/../admin` or `%2e%2e` tricks cannot reach them), and streams
everything else (SSE included) to the upstream unchanged, chunk by chunk as it arrives. With
GATEWAY_ALLOW_PATHS (a comma-separated list of exact paths: the builtin agent's routes) only those
paths are forwarded. Every answer of the gateway's own (400, 401, 404, 408, 502, 503) is JSON in the
agent's error schema, {"error": code, "detail": text}.

Identity (for AgentScope 2.x, whose app trusts an `X-User-ID` header: agentscope/app/deps.py). A
client-sent `X-User-ID` never reaches the upstream. With GATEWAY_AUTH=bearer the gateway itself
authenticates callers and sets `X-User-ID` from the identity; with `off` (the default) the app
checks the bearer token itself, as Friday does, and no `X-User-ID` is set. In `bearer` mode:
- GATEWAY_TOKEN: the shared bearer token; its callers are GATEWAY_TOKEN_USER_ID (default "default").
- GATEWAY_USER_TOKENS_FILE: a mounted Secret file holding one JSON object that maps the SHA-256
  (hex, of the token's UTF-8 bytes) of each user's token to that user's id, e.g.
  {"9f86d081...": "alice"}. Re-read when the file changes (Kubernetes updates mounted Secrets).
  User ids: 1-128 of [A-Za-z0-9_.@-] (no ":", which would reach the app's Redis key names).
- GATEWAY_JWT_ISSUER, GATEWAY_JWT_AUDIENCE and one of GATEWAY_JWT_JWKS_URL / GATEWAY_JWT_JWKS_FILE:
  bearer JWTs signed by the team's identity provider (JwtVerifier below); the user id is the claim
  GATEWAY_JWT_USER_CLAIM (default "sub"). GATEWAY_JWT_ALGORITHMS: asymmetric only (default RS256,ES256).
- GATEWAY_UPSTREAM_TOKEN: sent upstream as `Authorization: Bearer` (Friday checks its own token).
- GATEWAY_BODY_USER_PATHS (e.g. "/process,/stop", for agentscope-runtime apps, which take the user
  from the body): a JSON body's `user_id` must be the caller's (403 otherwise) and is set when absent.
- GATEWAY_OPEN_PATHS (default "/health"): exact paths served without a token, as
  GATEWAY_ANONYMOUS_USER_ID (default "anonymous") unless a valid token comes with them: the
  kubelet's probes carry no token, and 2.x's /health requires the header.
- Any other path without a valid token gets 401; the Authorization header is not forwarded.

On SIGTERM, uvicorn stops listening (new connections and the readiness probe are refused), closes
idle connections, and keeps forwarding the open streams until they end: the app drains its turns
on SIGTERM too and ends each with a final event, which must get through. Streams still open after
GATEWAY_SHUTDOWN_TIMEOUT_SECONDS are cut, so the gateway exits within the pod's grace period.

Clients that misbehave (issue 22): a client that hangs up mid-stream closes the upstream
connection at once, so the app stops the turn as it does for a direct client; a connection must
send its headers within GATEWAY_HEADER_TIMEOUT_SECONDS (default 10) and then its body within
GATEWAY_BODY_TIMEOUT_SECONDS (default 30), else it is answered 408 and closed; past
GATEWAY_MAX_CONNECTIONS (default 1000) open connections, uvicorn answers 503.

Observability (issue 13), from the agent image's `observability` package (PYTHONPATH=/app): a
`gateway.request` span per request, child of the caller's W3C traceparent and parent of the
upstream call's, when OTEL_EXPORTER_OTLP_ENDPOINT is set; Prometheus metrics on
GATEWAY_METRICS_PORT when set. An image without that package gets neither, and a warning.
Probes (GET/HEAD on GATEWAY_UNTRACED_PATHS, default "/health") are counted but not traced: the
kubelet's would be most of the traces.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import posixpath
import re
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, MutableMapping
from typing import Any
from urllib.parse import urlsplit

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
# When set (the builtin agent's routes), the only paths forwarded; anything else gets 404 here.
ALLOWED = frozenset(p.strip() for p in os.environ.get("GATEWAY_ALLOW_PATHS", "").split(",") if p.strip())
HEADER_TIMEOUT_S = float(os.environ.get("GATEWAY_HEADER_TIMEOUT_SECONDS", "10"))
BODY_TIMEOUT_S = float(os.environ.get("GATEWAY_BODY_TIMEOUT_SECONDS", "30"))
MAX_CONNECTIONS = int(os.environ.get("GATEWAY_MAX_CONNECTIONS", "1000"))
UNTRACED = frozenset(p.strip() for p in os.environ.get("GATEWAY_UNTRACED_PATHS", "/health").split(",") if p.strip())
AUTH = os.environ.get("GATEWAY_AUTH", "off")
OPEN_PATHS = frozenset(p.strip() for p in os.environ.get("GATEWAY_OPEN_PATHS", "/health").split(",") if p.strip())
USER_ID = re.compile(r"[A-Za-z0-9_.@-]{1,128}")
UPSTREAM_TOKEN = os.environ.get("GATEWAY_UPSTREAM_TOKEN", "")
BODY_USER_PATHS = frozenset(p.strip() for p in os.environ.get("GATEWAY_BODY_USER_PATHS", "").split(",") if p.strip())
MAX_BODY_BYTES = int(os.environ.get("GATEWAY_MAX_BODY_BYTES", "1048576"))
log = logging.getLogger("gateway")
HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
    "te", "trailers", "transfer-encoding", "upgrade", "host",
    # Replaced by this hop's own trace context.
    "traceparent", "tracestate",
}
# Metric label values: these paths, anything else is "other" (bounded cardinality).
ROUTES = frozenset({"/", "/process", "/stop", "/health", "/compatible-mode/v1/responses", "/a2a",
                    "/.well-known/agent-card.json"})
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
    if ALLOWED and path not in ALLOWED:
        return 404
    return None


def sha256(token: str | bytes) -> str:
    return hashlib.sha256(token.encode("utf-8") if isinstance(token, str) else token).hexdigest()


def checked_user_id(value: object, what: str) -> str:
    if not isinstance(value, str) or not USER_ID.fullmatch(value):
        raise ValueError(f"{what}: a user id must be 1-128 of [A-Za-z0-9_.@-]")
    return value


def read_user_tokens(path: str) -> dict[str, str]:
    """{sha256 hex of a token: user id}; errors never quote the file, which is a secret."""
    with open(path, "rb") as f:
        data = json.load(f)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected one JSON object")
    for digest, user in data.items():
        if not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise ValueError(f"{path}: every key must be a lowercase hex SHA-256")
        checked_user_id(user, path)
    return data


# Asymmetric only: with a shared (HMAC) secret, whoever verifies tokens could also mint them.
JWT_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"})
JWT_LEEWAY_S = 30
# PyJWKClient refetches the JWKS for an unknown `kid` (a rotated key) at most this often, so
# tokens with random kids cannot turn the gateway into a flood of requests to the identity provider.
JWKS_REFETCH_COOLDOWN_S = 60.0
JWKS_CACHE_S = 300.0


class JwtVerifier:
    """Bearer JWTs signed by the identity provider (PyJWT): a key of its JWKS picked by the token's
    `kid`, an allowed asymmetric `alg` (so never `none`), `iss`, `aud` and an unexpired `exp`
    required. The JWKS comes from GATEWAY_JWT_JWKS_URL (fetched lazily, cached, with PyJWKClient)
    or from GATEWAY_JWT_JWKS_FILE (a mounted Secret, re-read when it changes)."""

    def __init__(self, env: Mapping[str, str]) -> None:
        import jwt  # PyJWT: in the agent image's lock (agent-image/requirements.txt)

        self.jwt = jwt
        self.issuer = env.get("GATEWAY_JWT_ISSUER", "")
        self.audience = env.get("GATEWAY_JWT_AUDIENCE", "")
        self.claim = env.get("GATEWAY_JWT_USER_CLAIM", "sub") or "sub"
        self.algorithms = [a.strip() for a in env.get("GATEWAY_JWT_ALGORITHMS", "RS256,ES256").split(",") if a.strip()]
        url, self.path = env.get("GATEWAY_JWT_JWKS_URL", ""), env.get("GATEWAY_JWT_JWKS_FILE", "")
        if not self.issuer or not self.audience:
            raise ValueError("GATEWAY_JWT_ISSUER and GATEWAY_JWT_AUDIENCE are both required for JWTs")
        if bool(url) == bool(self.path):
            raise ValueError("JWTs need exactly one of GATEWAY_JWT_JWKS_URL and GATEWAY_JWT_JWKS_FILE")
        if not self.algorithms or not set(self.algorithms) <= JWT_ALGORITHMS:
            raise ValueError(f"GATEWAY_JWT_ALGORITHMS: each must be one of {', '.join(sorted(JWT_ALGORITHMS))}")
        parts = urlsplit(url)
        if url and not (parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost"))):
            raise ValueError("GATEWAY_JWT_JWKS_URL must be https:// (plain http only on loopback)")
        self.client = jwt.PyJWKClient(url, lifespan=JWKS_CACHE_S, timeout=5,
                                      cooldown_duration=JWKS_REFETCH_COOLDOWN_S) if url else None
        self.keys: dict[str, Any] = {}
        self.version: tuple[int, int, int] | None = None
        if self.path:
            self.reload_file(strict=True)

    def _key_set(self, data: Any) -> dict[str, Any]:
        # PyJWKSet skips keys it cannot use (e.g. an HMAC "oct" key is still parsed: filter below).
        keys = self.jwt.PyJWKSet.from_dict(data).keys
        return {k.key_id: k for k in keys if k.key_id and k.key_type != "oct"}

    def reload_file(self, strict: bool = False) -> None:
        try:
            st = os.stat(self.path)
            version = (st.st_ino, st.st_mtime_ns, st.st_size)
            if version != self.version:
                with open(self.path, "rb") as f:
                    self.keys, self.version = self._key_set(json.load(f)), version
        except (OSError, ValueError, self.jwt.PyJWTError) as e:
            if strict:
                raise ValueError(f"{self.path}: not a usable JWKS ({type(e).__name__})") from None
            log.error("gateway: keeping the previous JWKS: %s", type(e).__name__)

    def _signing_key(self, token: str, kid: str) -> Any:
        if self.client is not None:
            return self.client.get_signing_key_from_jwt(token)  # PyJWKClientError when unknown
        self.reload_file()
        return self.keys.get(kid)

    def user(self, token: str) -> str | None:
        """The user id the token vouches for, or None (logged by reason, never the token)."""
        jwt = self.jwt
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = self._signing_key(token, kid) if isinstance(kid, str) else None
            if key is None:
                log.warning("gateway: JWT refused: no JWKS key for its kid")
                return None
            claims = jwt.decode(
                token, key.key, algorithms=self.algorithms, audience=self.audience, issuer=self.issuer,
                leeway=JWT_LEEWAY_S, options={"require": ["exp", "iss", "aud", self.claim]},
            )
        except jwt.PyJWTError as e:
            log.warning("gateway: JWT refused: %s", type(e).__name__)
            return None
        value = claims.get(self.claim)
        if not isinstance(value, str) or not USER_ID.fullmatch(value):
            log.warning("gateway: JWT refused: claim %s is not a user id (1-128 of [A-Za-z0-9_.@-])", self.claim)
            return None
        return value


def looks_like_jwt(token: bytes) -> bool:
    return token.count(b".") == 2 and token.startswith(b"eyJ")


class Identities:
    """Who a bearer token belongs to: the shared token, then the per-user file, then a JWT."""

    def __init__(self, env: Mapping[str, str]) -> None:
        token = env.get("GATEWAY_TOKEN", "")
        self.shared = sha256(token) if token else None
        self.shared_user = checked_user_id(env.get("GATEWAY_TOKEN_USER_ID", "default"), "GATEWAY_TOKEN_USER_ID")
        self.anonymous = checked_user_id(env.get("GATEWAY_ANONYMOUS_USER_ID", "anonymous"), "GATEWAY_ANONYMOUS_USER_ID")
        self.path = env.get("GATEWAY_USER_TOKENS_FILE", "")
        self.users: dict[str, str] = {}
        self.version: tuple[int, int, int] | None = None
        jwt_keys = ("GATEWAY_JWT_ISSUER", "GATEWAY_JWT_AUDIENCE", "GATEWAY_JWT_JWKS_URL", "GATEWAY_JWT_JWKS_FILE")
        self.jwt = JwtVerifier(env) if any(env.get(k) for k in jwt_keys) else None
        if self.shared is None and not self.path and self.jwt is None:
            raise ValueError("GATEWAY_AUTH=bearer needs GATEWAY_TOKEN, GATEWAY_USER_TOKENS_FILE or GATEWAY_JWT_*")
        if self.path:
            self.reload(strict=True)

    def reload(self, strict: bool = False) -> None:
        try:
            st = os.stat(self.path)
            version = (st.st_ino, st.st_mtime_ns, st.st_size)
            if version != self.version:
                self.users, self.version = read_user_tokens(self.path), version
        except (OSError, ValueError) as e:
            if strict:
                raise
            # Keep the last good mapping: a half-written file must not lock everyone out.
            log.error("gateway: keeping the previous user tokens: %s", type(e).__name__)

    async def user(self, authorization: bytes | None) -> str | None:
        scheme, _, value = (authorization or b"").partition(b" ")
        token = value.strip()
        if scheme.lower() != b"bearer" or not token:
            return None
        if self.jwt is not None and looks_like_jwt(token):
            # A thread: fetching the JWKS (PyJWKClient, urllib) blocks.
            return await asyncio.to_thread(self.jwt.user, token.decode("latin-1"))
        return self.token_user(token)

    def token_user(self, token: bytes) -> str | None:
        digest = sha256(token)
        found = None
        if self.shared is not None and hmac.compare_digest(digest, self.shared):
            found = self.shared_user
        if self.path:
            self.reload()
        # Every entry is compared, so the time taken does not depend on which one matched.
        for known, user in self.users.items():
            if hmac.compare_digest(digest, known):
                found = found or user
        return found


def identities() -> Identities | None:
    if AUTH == "off":
        return None
    if AUTH != "bearer":
        raise ValueError(f"GATEWAY_AUTH must be off or bearer, not {AUTH!r}")
    return Identities(os.environ)


try:
    IDENTITIES = identities()
except (OSError, ValueError) as e:
    sys.exit(f"gateway: {e}")

# One upstream connection per client connection at most: httpx's default pool (100) would queue
# the streams past it, unanswered, instead of letting the app admit or refuse them.
client = httpx.AsyncClient(base_url=UPSTREAM, timeout=httpx.Timeout(None, connect=5.0),
                           limits=httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=100))


# The gateway's own refusals, in the agent's error schema ({"error": code, "detail": text}).
REFUSALS = {
    400: ("bad_request", "the path is not in normal form"),
    401: ("unauthorized", "missing or invalid bearer token"),
    404: ("not_found", "no such route"),
    502: ("bad_gateway", "the agent is unavailable"),
}


async def respond(send: Send, status: int) -> None:
    error, detail = REFUSALS[status]
    await refuse(send, status, error, detail)


async def identified_headers(scope: Scope) -> list[tuple[bytes, bytes]] | None:
    """The headers to forward, with X-User-ID set from the caller's identity; None: 401."""
    # X_User_ID too: some servers read underscores as dashes.
    headers = [(k, v) for k, v in scope["headers"]
               if k.decode("latin-1").lower() not in HOP_BY_HOP and k.lower().replace(b"_", b"-") != b"x-user-id"]
    if IDENTITIES is None:
        return headers
    user = await IDENTITIES.user(next((v for k, v in scope["headers"] if k.lower() == b"authorization"), None))
    if user is None and scope["path"] in OPEN_PATHS:
        user = IDENTITIES.anonymous
    if user is None:
        return None
    upstream_auth = [(b"authorization", b"Bearer " + UPSTREAM_TOKEN.encode())] if UPSTREAM_TOKEN else []
    return [(k, v) for k, v in headers if k.lower() != b"authorization"] + upstream_auth + [(b"x-user-id", user.encode())]


def error_body(error: str, detail: str) -> bytes:
    return json.dumps({"error": error, "detail": detail}).encode()


async def refuse(send: Send, status: int, error: str, detail: str) -> None:
    """A refusal in the agent's error schema: {"error": code, "detail": text}."""
    body = error_body(error, detail)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status,
                "headers": headers + ([(b"www-authenticate", b"Bearer")] if status == 401 else [])})
    await send({"type": "http.response.body", "body": body})


async def unavailable(scope: Scope, receive: Receive, send: Send) -> None:
    """uvicorn's answer past limit_concurrency (flow_control.service_unavailable, plain text), in the
    error schema."""
    body = error_body("unavailable", "too many open connections; retry")
    await send({"type": "http.response.start", "status": 503, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"), (b"retry-after", b"1")]})
    await send({"type": "http.response.body", "body": body})


class BodyRefused(Exception):
    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.error, self.detail = status, error, detail


async def user_bound_body(receive: Receive, user: str) -> bytes:
    """The JSON body with `user_id` bound to the vouched user: re-serialized from what was checked,
    so the upstream cannot read it differently (duplicate keys, say)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise BodyRefused(400, "bad_request", "client disconnected")
        size += len(message.get("body", b""))
        if size > MAX_BODY_BYTES:
            raise BodyRefused(413, "payload_too_large", f"limit is {MAX_BODY_BYTES} bytes")
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    try:
        data = json.loads(b"".join(chunks).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BodyRefused(400, "malformed_json", "the body is not JSON") from None
    if not isinstance(data, dict):
        raise BodyRefused(422, "invalid_request", "body must be a JSON object")
    claimed = data.get("user_id")
    if claimed is not None and claimed != user:
        raise BodyRefused(403, "forbidden", f"user_id {str(claimed)[:128]!r} is not the caller: the gateway "
                          f"authenticated {user!r}; omit user_id or send your own")
    data["user_id"] = user
    return json.dumps(data).encode()


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


def traced(scope: Scope) -> bool:
    return not (scope["method"] in ("GET", "HEAD") and scope["path"] in UNTRACED)


async def observed(scope: Scope, receive: Receive, send: Send) -> None:
    """proxy() inside a `gateway.request` span, counted and timed."""
    route = scope["path"] if scope["path"] in ROUTES else "other"
    started = time.perf_counter()
    code = 0
    span = obs_tracing.tracer().start_span(
        "gateway.request", context=obs_tracing.extract_asgi(scope["headers"]), kind=trace.SpanKind.SERVER,
        attributes={"http.request.method": scope["method"], "url.path": scope["path"]},
    ) if traced(scope) else trace.INVALID_SPAN

    async def counting_send(message: Message) -> None:
        nonlocal code
        if message["type"] == "http.response.start":
            code = message["status"]
        await send(message)

    carrier: dict[str, str] = {}
    # An untraced probe injects nothing: the upstream starts no trace for it either.
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
    headers = await identified_headers(scope) if not status else None
    if status or headers is None:
        await respond(send, status or 401)
        return
    bound: bytes | None = None
    if IDENTITIES is not None and scope["method"] == "POST" and scope["path"] in BODY_USER_PATHS:
        try:
            bound = await user_bound_body(receive, dict(headers)[b"x-user-id"].decode())
        except BodyRefused as e:
            await refuse(send, e.status, e.error, e.detail)
            return
        headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]

    # Set once the client's body is all read: only then may client_gone() read on, for the hang-up.
    body_read = asyncio.Event()

    async def body() -> AsyncIterator[bytes]:
        try:
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return
                if message.get("body"):
                    yield message["body"]
                if not message.get("more_body", False):
                    return
        finally:
            body_read.set()

    target = (scope.get("raw_path") or scope["path"].encode("utf-8")).decode("latin-1")
    if scope.get("query_string"):
        target += "?" + scope["query_string"].decode("latin-1")
    if trace_headers:
        # Our span's context replaces the caller's (which is its parent, already extracted).
        replaced = {k.lower() for k, _ in trace_headers}
        headers = [(k, v) for k, v in headers if k.lower() not in replaced] + trace_headers
    has_body = any(k.lower() in (b"content-length", b"transfer-encoding") for k, _ in scope["headers"])
    content = bound if bound is not None else body() if has_body else None
    if not isinstance(content, AsyncIterator):
        body_read.set()
    request = client.build_request(scope["method"], target, headers=headers, content=content)

    async def exchange() -> None:
        try:
            response = await client.send(request, stream=True)
        except httpx.HTTPError:
            await respond(send, 502)
            return
        try:
            await forward(response, send)
        finally:
            # Unread, the response's connection is closed, not pooled: the app sees its client gone.
            await response.aclose()

    # The wait for the response's headers too: a non-streaming answer (the Responses API's, A2A's)
    # comes only at the end of its turn, and a client gone before then must stop the turn as well.
    await until_client_gone(exchange(), receive, body_read)


async def forward(response: httpx.Response, send: Send) -> None:
    await send({
        "type": "http.response.start",
        "status": response.status_code,
        "headers": [(k, v) for k, v in response.headers.raw if k.decode("latin-1").lower() not in HOP_BY_HOP],
    })
    async for chunk in response.aiter_raw():
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def client_gone(receive: Receive, body_read: asyncio.Event) -> None:
    await body_read.wait()
    while (await receive())["type"] != "http.disconnect":
        pass


async def until_client_gone(forwarding: Awaitable[None], receive: Receive, body_read: asyncio.Event) -> None:
    """Runs `forwarding` until it ends or the client hangs up. uvicorn's send() after a hang-up
    returns without a word, so without this a dropped stream went on upstream to its end."""
    work, gone = asyncio.ensure_future(forwarding), asyncio.ensure_future(client_gone(receive, body_read))
    try:
        await asyncio.wait({work, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (work, gone):
            task.cancel()
        await asyncio.gather(work, gone, return_exceptions=True)
    if not work.cancelled():
        work.result()  # its error, if any


def deadline_protocol(header_s: float, body_s: float) -> type:
    """uvicorn's protocol with deadlines for a request's headers and body, which uvicorn lacks;
    the same as the agent's (agent-image/friday/http_deadlines.py), kept here so that this file
    runs from any image. Needs httptools (in the agent image); ImportError without it."""
    from uvicorn.protocols.http.flow_control import service_unavailable
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    body = b'{"error": "request_timeout", "detail": "the request was not sent in time"}'
    timeout = (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
               b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(body), body))

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
                self.transport.write(timeout)
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


def http_protocol() -> Any:
    try:
        return deadline_protocol(HEADER_TIMEOUT_S, BODY_TIMEOUT_S)
    except ImportError:
        print('{"level": "WARNING", "logger": "gateway", "msg": "httptools is missing: no header or body '
              'timeouts (run the gateway from the agent image)"}', flush=True)
        return "auto"


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
        http=http_protocol(), limit_concurrency=MAX_CONNECTIONS,
    )
