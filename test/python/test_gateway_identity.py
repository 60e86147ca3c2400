"""The gateway's identity rules (components/assets/gateway.py), as real processes: the gateway
started the way the pod starts it, in front of a real HTTP upstream on 127.0.0.1 that reports
exactly which headers reached it.

AgentScope 2.x trusts an `X-User-ID` header (agentscope/app/deps.py), so a client-sent one must
never reach it, and with GATEWAY_AUTH=bearer the gateway sets it from the caller's token.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from conftest import REPO, free_port
from test_gateway_shutdown import Gateway

GATEWAY_PY = REPO / "components" / "assets" / "gateway.py"
SHARED = "shared-token-3f9a0c1d2e"
ALICE = "alice-token-8b7c6d5e4f"
BOB = "bob-token-1a2b3c4d5e6f"
UNICODE = "zoë-tökên-7d6c5b4a"
EVENT_GAP_S = 1.0


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Upstream:
    """Records each request's path and headers; /events streams three SSE events, EVENT_GAP_S apart."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, list[str]]]] = []
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base's name)
                pass

            def do_GET(self) -> None:
                headers: dict[str, list[str]] = {}
                for k, v in self.headers.items():
                    headers.setdefault(k.lower(), []).append(v)
                upstream.seen.append((self.path, headers))
                if self.path == "/events":
                    self.stream_events()
                    return
                body = json.dumps({"path": self.path, "headers": headers}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def stream_events(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for i in range(3):
                    if i:
                        time.sleep(EVENT_GAP_S)
                    event = f"data: {json.dumps({'n': i})}\n\n".encode()
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def headers_of(self, path: str) -> dict[str, list[str]]:
        matches = [h for p, h in self.seen if p == path]
        assert len(matches) == 1, f"{path} reached the upstream {len(matches)} times"
        return matches[0]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    u = Upstream()
    yield u
    u.close()


@pytest.fixture
def gateway(tmp_path: Path, upstream: Upstream) -> Iterator[Callable[..., Gateway]]:
    started: list[Gateway] = []

    def start(**env: str) -> Gateway:
        started.append(Gateway(upstream.url, tmp_path / f"gateway{len(started)}.log", env))
        return started[-1]

    yield start
    for g in started:
        g.stop()
        log = g.log_path.read_text(errors="replace")
        for token in (SHARED, ALICE, BOB, UNICODE):
            assert token not in log, "a token was logged"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def write_tokens(path: Path, mapping: dict[str, str]) -> None:
    """As the kubelet updates a mounted Secret: a new file swapped in at once."""
    tmp = path.with_suffix(".new")
    tmp.write_text(json.dumps({digest(t): user for t, user in mapping.items()}))
    os.replace(tmp, path)


def test_auth_off_strips_a_client_sent_user_id_and_forwards_the_bearer(
    gateway: Callable[..., Gateway], upstream: Upstream,
) -> None:
    g = gateway()
    spoofed = {"X-User-ID": "admin", "x_user_id": "admin", **bearer(SHARED)}
    r = httpx.get(g.url + "/whoami", headers=spoofed)
    assert r.status_code == 200
    seen = upstream.headers_of("/whoami")
    assert "x-user-id" not in seen and "x_user_id" not in seen
    assert seen["authorization"] == [f"Bearer {SHARED}"]  # the app checks it, as Friday does


@pytest.mark.parametrize("credential", [None, "Bearer wrong-token", f"Basic {SHARED}", "Bearer", f"Bearer {SHARED[:-1]}"],
                         ids=["none", "wrong", "basic", "empty", "prefix"])
def test_bearer_mode_refuses_a_bad_token_before_the_upstream(
    gateway: Callable[..., Gateway], upstream: Upstream, credential: str | None,
) -> None:
    g = gateway(GATEWAY_AUTH="bearer", GATEWAY_TOKEN=SHARED)
    headers = {"X-User-ID": "admin", **({"Authorization": credential} if credential else {})}
    r = httpx.get(g.url + "/sessions/", headers=headers)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert r.json()["error"] == "unauthorized", r.text  # the agent's error schema, not plain text
    assert all(p != "/sessions/" for p, _ in upstream.seen)


def test_bearer_mode_sets_the_user_id_from_the_shared_token(
    gateway: Callable[..., Gateway], upstream: Upstream,
) -> None:
    g = gateway(GATEWAY_AUTH="bearer", GATEWAY_TOKEN=SHARED, GATEWAY_TOKEN_USER_ID="team-a")
    r = httpx.get(g.url + "/agent/", headers={"X-User-ID": "admin", "X-USER-ID": "root", **bearer(SHARED)})
    assert r.status_code == 200
    seen = upstream.headers_of("/agent/")
    assert seen["x-user-id"] == ["team-a"]
    assert "authorization" not in seen  # the identity travels as X-User-ID only


def test_per_user_tokens_from_the_secret_file_follow_its_updates(
    gateway: Callable[..., Gateway], upstream: Upstream, tmp_path: Path,
) -> None:
    tokens = tmp_path / "user-tokens.json"
    write_tokens(tokens, {ALICE: "alice", BOB: "bob@example.com", UNICODE: "zoe"})
    g = gateway(GATEWAY_AUTH="bearer", GATEWAY_USER_TOKENS_FILE=str(tokens))
    # The digest is of the token's UTF-8 bytes, as sent.
    assert httpx.get(g.url + "/z1", headers={"Authorization": b"Bearer " + UNICODE.encode()}).status_code == 200
    assert upstream.headers_of("/z1")["x-user-id"] == ["zoe"]
    assert httpx.get(g.url + "/a1", headers=bearer(ALICE)).status_code == 200
    assert httpx.get(g.url + "/b1", headers={**bearer(BOB), "X-User-ID": "alice"}).status_code == 200
    assert upstream.headers_of("/a1")["x-user-id"] == ["alice"]
    assert upstream.headers_of("/b1")["x-user-id"] == ["bob@example.com"]
    assert httpx.get(g.url + "/s1", headers=bearer(SHARED)).status_code == 401  # no shared token set

    write_tokens(tokens, {BOB: "bob@example.com"})  # alice's token revoked
    assert httpx.get(g.url + "/a2", headers=bearer(ALICE)).status_code == 401
    assert httpx.get(g.url + "/b2", headers=bearer(BOB)).status_code == 200

    tokens.write_text("{not json")  # a broken update keeps the last good mapping
    assert httpx.get(g.url + "/b3", headers=bearer(BOB)).status_code == 200
    assert httpx.get(g.url + "/a3", headers=bearer(ALICE)).status_code == 401
    assert "keeping the previous user tokens" in g.log_path.read_text()


def test_the_open_health_route_gets_the_anonymous_identity_or_the_callers(
    gateway: Callable[..., Gateway], upstream: Upstream,
) -> None:
    g = gateway(GATEWAY_AUTH="bearer", GATEWAY_TOKEN=SHARED, GATEWAY_ANONYMOUS_USER_ID="probe")
    upstream.seen.clear()  # the start-up wait called /health too
    assert httpx.get(g.url + "/health", headers={"X-User-ID": "admin"}).status_code == 200
    assert upstream.headers_of("/health")["x-user-id"] == ["probe"]
    upstream.seen.clear()
    assert httpx.get(g.url + "/health", headers=bearer(SHARED)).status_code == 200
    assert upstream.headers_of("/health")["x-user-id"] == ["default"]
    # Only the exact path is open.
    assert httpx.get(g.url + "/health/x").status_code == 401


def test_sse_events_pass_through_as_they_are_sent(gateway: Callable[..., Gateway]) -> None:
    g = gateway(GATEWAY_AUTH="bearer", GATEWAY_TOKEN=SHARED)
    arrivals: list[tuple[float, dict[str, int]]] = []
    start = time.monotonic()
    with httpx.stream("GET", g.url + "/events", headers=bearer(SHARED), timeout=30) as r:
        assert r.headers["content-type"] == "text/event-stream"
        for line in r.iter_lines():
            if line.startswith("data: "):
                arrivals.append((time.monotonic() - start, json.loads(line[6:])))
    ended = time.monotonic() - start
    assert [e for _, e in arrivals] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert ended >= 2 * EVENT_GAP_S
    # Each event arrived about when the upstream sent it, not when the stream ended.
    assert arrivals[0][0] < ended - 1.5 * EVENT_GAP_S, arrivals
    assert arrivals[1][0] < ended - 0.5 * EVENT_GAP_S, arrivals


@pytest.mark.parametrize("env,message", [
    ({"GATEWAY_AUTH": "bearer"}, "needs GATEWAY_TOKEN, GATEWAY_USER_TOKENS_FILE or GATEWAY_JWT_*"),
    ({"GATEWAY_AUTH": "Bearer ", "GATEWAY_TOKEN": SHARED}, "GATEWAY_AUTH must be off or bearer"),
    ({"GATEWAY_AUTH": "bearer", "GATEWAY_TOKEN": SHARED, "GATEWAY_TOKEN_USER_ID": "a:b"}, "user id must be"),
    ({"GATEWAY_AUTH": "bearer", "GATEWAY_USER_TOKENS_FILE": "/nonexistent/tokens.json"}, "No such file"),
    ({"GATEWAY_AUTH": "bearer", "GATEWAY_USER_TOKENS_FILE": "BAD_KEY"}, "lowercase hex SHA-256"),
])
def test_a_bad_identity_config_stops_the_gateway_without_quoting_secrets(
    tmp_path: Path, env: dict[str, str], message: str,
) -> None:
    if env.get("GATEWAY_USER_TOKENS_FILE") == "BAD_KEY":
        bad = tmp_path / "tokens.json"
        bad.write_text(json.dumps({ALICE: "alice"}))  # the token itself instead of its digest
        env = {**env, "GATEWAY_USER_TOKENS_FILE": str(bad)}
    proc = subprocess.run(
        [sys.executable, str(GATEWAY_PY)], capture_output=True, text=True, timeout=30,
        env={"PATH": os.environ["PATH"], "GATEWAY_PORT": str(free_port()), **env},
    )
    assert proc.returncode == 1
    assert message in proc.stderr
    assert SHARED not in proc.stderr and ALICE not in proc.stderr
