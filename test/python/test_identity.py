"""Identity the gateway vouches for (issue 22, item 3), as real processes on loopback: the gateway
(components/assets/gateway.py) started as the pod starts it, a JWKS served by the test, and the
real agent with the fake model and a real Redis behind it.

- A JWT is accepted only when signed by a key of the identity provider's JWKS, with the right
  issuer and audience, unexpired, and with an asymmetric algorithm (never `none`).
- Bob cannot read or stop Alice's session with either credential kind (his own token from the
  per-user Secret file, or a JWT): the gateway sets the user, the agent refuses a body `user_id`
  that names someone else (403, error schema), and his turns land in his own sessions.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from conftest import TOKEN, Agent, ask, final_text, free_port
from streams import BackgroundTurn, wait_until
from test_gateway_identity import GATEWAY_PY, Upstream, digest
from test_gateway_shutdown import Gateway
from test_redis import redis_env

ISSUER = "https://idp.example.test/realms/team"
AUDIENCE = "agentscope-agents"
KID = "team-key-1"
ALICE_TOKEN = "alice-token-5e4d3c2b1a"
BOB_TOKEN = "bob-token-9f8e7d6c5b"
SECRET = "the passphrase is tulip-4711"


class IdentityProvider:
    """An RSA signing key and its JWKS on 127.0.0.1 (/jwks.json), counting fetches."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.fetches = 0
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        self.jwks = {"keys": [{**public, "kid": KID, "use": "sig", "alg": "RS256"}]}
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base's name)
                pass

            def do_GET(self) -> None:
                provider.fetches += 1
                body = json.dumps(provider.jwks).encode()
                self.send_response(200 if self.path == "/jwks.json" else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.jwks_url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def token(self, sub: str, *, key: Any = None, kid: str = KID, alg: str = "RS256", **overrides: Any) -> str:
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": sub, "iat": now, "exp": now + 300, **overrides}
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(claims, key or self.key, algorithm=alg, headers={"kid": kid})

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def unsigned(sub: str) -> str:
    """alg `none`, as an attacker would write it by hand."""
    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()
    now = int(time.time())
    return part({"alg": "none", "typ": "JWT", "kid": KID}) + "." + part(
        {"iss": ISSUER, "aud": AUDIENCE, "sub": sub, "exp": now + 300}) + "."


@pytest.fixture
def idp() -> Iterator[IdentityProvider]:
    provider = IdentityProvider()
    yield provider
    provider.close()


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    u = Upstream()
    yield u
    u.close()


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Callable[..., Gateway]]:
    started: list[Gateway] = []

    def start(upstream_url: str, **env: str) -> Gateway:
        started.append(Gateway(upstream_url, tmp_path / f"gateway{len(started)}.log", env))
        return started[-1]

    yield start
    for g in started:
        g.stop()


def jwt_env(idp: IdentityProvider, **extra: str) -> dict[str, str]:
    return {"GATEWAY_AUTH": "bearer", "GATEWAY_JWT_ISSUER": ISSUER, "GATEWAY_JWT_AUDIENCE": AUDIENCE,
            "GATEWAY_JWT_JWKS_URL": idp.jwks_url, **extra}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_valid_jwt_sets_the_user_from_the_configured_claim(
    idp: IdentityProvider, upstream: Upstream, gateway: Callable[..., Gateway],
) -> None:
    g = gateway(upstream.url, **jwt_env(idp, GATEWAY_JWT_USER_CLAIM="preferred_username"))
    token = idp.token("f3a9-uuid", preferred_username="alice")
    r = httpx.get(g.url + "/whoami", headers={**bearer(token), "X-User-ID": "bob"})
    assert r.status_code == 200
    seen = upstream.headers_of("/whoami")
    assert seen["x-user-id"] == ["alice"] and "authorization" not in seen
    # A token without the claim names nobody.
    assert httpx.get(g.url + "/x", headers=bearer(idp.token("f3a9-uuid"))).status_code == 401


def test_refused_jwts_never_reach_the_upstream(
    idp: IdentityProvider, upstream: Upstream, gateway: Callable[..., Gateway],
) -> None:
    g = gateway(upstream.url, **jwt_env(idp))
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = idp.key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    now = int(time.time())
    refused = {
        "expired": idp.token("alice", exp=now - 120, iat=now - 600),
        "wrong_audience": idp.token("alice", aud="another-service"),
        "wrong_issuer": idp.token("alice", iss="https://evil.example.test/"),
        "no_expiry": idp.token("alice", exp=None),
        "alg_none": unsigned("alice"),
        "other_key_same_kid": idp.token("alice", key=other_key),
        "unknown_kid": idp.token("alice", key=other_key, kid="not-a-team-key"),
        # The public key used as an HMAC secret: the classic algorithm confusion.
        "hs256_with_public_key": _hs256(public_pem, now),
        "bad_user_id": idp.token("alice:session:b"),
    }
    for name, token in refused.items():
        r = httpx.get(g.url + f"/{name}", headers={**bearer(token), "X-User-ID": "alice"})
        assert r.status_code == 401, f"{name}: {r.status_code}"
        assert all(p != f"/{name}" for p, _ in upstream.seen), f"{name} reached the upstream"
    assert httpx.get(g.url + "/ok", headers=bearer(idp.token("alice"))).status_code == 200
    # Unknown kids refetch the JWKS at most once per cooldown (60 s), not once per token.
    before = idp.fetches
    for i in range(5):
        assert httpx.get(g.url + "/k", headers=bearer(idp.token("alice", key=other_key, kid=f"rnd-{i}"))).status_code == 401
    assert idp.fetches - before <= 1
    log = g.log_path.read_text()
    assert "ExpiredSignatureError" in log and "InvalidAudienceError" in log and "InvalidIssuerError" in log
    for token in refused.values():
        assert token not in log


def _hs256(secret: bytes, now: int) -> str:
    """HS256 signed with the IdP's public key bytes, built by hand (PyJWT refuses to sign with a
    PEM public key as an HMAC secret, which is the point)."""
    def part(obj: dict[str, Any]) -> bytes:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=")
    signing = part({"alg": "HS256", "typ": "JWT", "kid": KID}) + b"." + part(
        {"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "exp": now + 300})
    sig = base64.urlsafe_b64encode(hmac.new(secret, signing, hashlib.sha256).digest()).rstrip(b"=")
    return (signing + b"." + sig).decode()


def test_the_jwks_may_come_from_a_mounted_secret_file(
    idp: IdentityProvider, upstream: Upstream, gateway: Callable[..., Gateway], tmp_path: Path,
) -> None:
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(idp.jwks))
    g = gateway(upstream.url, GATEWAY_AUTH="bearer", GATEWAY_JWT_ISSUER=ISSUER, GATEWAY_JWT_AUDIENCE=AUDIENCE,
                GATEWAY_JWT_JWKS_FILE=str(jwks))
    assert httpx.get(g.url + "/a", headers=bearer(idp.token("alice"))).status_code == 200
    assert upstream.headers_of("/a")["x-user-id"] == ["alice"]
    assert httpx.get(g.url + "/n", headers=bearer(unsigned("alice"))).status_code == 401
    assert idp.fetches == 0


@pytest.mark.parametrize("env,message", [
    ({"GATEWAY_JWT_ISSUER": ISSUER, "GATEWAY_JWT_JWKS_URL": "https://idp.example.test/jwks"}, "GATEWAY_JWT_AUDIENCE are both required"),
    ({"GATEWAY_JWT_ISSUER": ISSUER, "GATEWAY_JWT_AUDIENCE": AUDIENCE}, "exactly one of GATEWAY_JWT_JWKS_URL"),
    ({"GATEWAY_JWT_ISSUER": ISSUER, "GATEWAY_JWT_AUDIENCE": AUDIENCE, "GATEWAY_JWT_JWKS_URL": "http://idp.example.test/jwks"}, "must be https://"),
    ({"GATEWAY_JWT_ISSUER": ISSUER, "GATEWAY_JWT_AUDIENCE": AUDIENCE, "GATEWAY_JWT_JWKS_URL": "http://localhost.example.test/jwks"}, "must be https://"),
    ({"GATEWAY_JWT_ISSUER": ISSUER, "GATEWAY_JWT_AUDIENCE": AUDIENCE, "GATEWAY_JWT_JWKS_URL": "https://idp.example.test/jwks",
      "GATEWAY_JWT_ALGORITHMS": "RS256,HS256"}, "GATEWAY_JWT_ALGORITHMS: each must be one of"),
])
def test_a_bad_jwt_config_stops_the_gateway(env: dict[str, str], message: str) -> None:
    proc = subprocess.run(
        [sys.executable, str(GATEWAY_PY)], capture_output=True, text=True, timeout=30,
        env={"PATH": os.environ["PATH"], "GATEWAY_PORT": str(free_port()), "GATEWAY_AUTH": "bearer", **env},
    )
    assert proc.returncode == 1 and message in proc.stderr, proc.stderr


# ---------- the real agent behind the gateway ----------

@pytest.fixture
def agent(start_agent: Any, redis_url: str) -> Agent:
    return start_agent(**redis_env(redis_url))


def friday_gateway(gateway: Callable[..., Gateway], agent: Agent, idp: IdentityProvider, tmp_path: Path) -> Gateway:
    """The builtin agent's gateway with per-user credentials (components/workload/agent-runtime.ts)."""
    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps({digest(ALICE_TOKEN): "alice", digest(BOB_TOKEN): "bob"}))
    return gateway(agent.url, **jwt_env(idp), GATEWAY_TOKEN=TOKEN, GATEWAY_UPSTREAM_TOKEN=TOKEN,
                   GATEWAY_USER_TOKENS_FILE=str(tokens), GATEWAY_BODY_USER_PATHS="/process,/stop")


def client(g: Gateway, credential: str) -> httpx.Client:
    return httpx.Client(base_url=g.url, headers=bearer(credential), timeout=90)


@pytest.mark.parametrize("kind", ["user_token", "jwt"])
def test_bob_cannot_read_alices_session_through_the_gateway(
    kind: str, agent: Agent, idp: IdentityProvider, gateway: Callable[..., Gateway], tmp_path: Path,
) -> None:
    g = friday_gateway(gateway, agent, idp, tmp_path)
    alice_cred, bob_cred = (ALICE_TOKEN, BOB_TOKEN) if kind == "user_token" else (idp.token("alice"), idp.token("bob"))
    session = f"shared-{kind}"
    with client(g, alice_cred) as alice, client(g, bob_cred) as bob:
        ask(alice, SECRET, session_id=session)
        assert SECRET in final_text(ask(alice, "what did I say?", session_id=session))
        # Naming Alice in the body is refused, in the error schema, before any turn runs.
        for path, extra in (("/process", {"input": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]}), ("/stop", {})):
            r = bob.post(path, json={"session_id": session, "user_id": "alice", **extra})
            assert r.status_code == 403, r.text
            assert r.json()["error"] == "forbidden" and "'alice' is not the caller" in r.json()["detail"]
        # Without a user_id, Bob's turn is Bob's: the same session id holds nothing of Alice's.
        assert SECRET not in final_text(ask(bob, "what did Alice say?", session_id=session))
        assert SECRET in final_text(ask(alice, "still mine?", session_id=session))
        # The shared token names the user "default" here, not the body's user.
        with client(g, TOKEN) as shared:
            assert shared.post("/process", json={"session_id": session, "user_id": "alice",
                                                 "input": [{"role": "user", "content": [{"type": "text", "text": "x"}]}]}).status_code == 403


def test_bob_cannot_stop_alices_turn(
    agent: Agent, idp: IdentityProvider, gateway: Callable[..., Gateway], tmp_path: Path,
) -> None:
    g = friday_gateway(gateway, agent, idp, tmp_path)

    class AsAlice:
        def client(self) -> httpx.Client:
            return client(g, idp.token("alice"))

    turn = BackgroundTurn(AsAlice(), "count slowly", "stop-me")
    try:
        turn.wait_started()
        with client(g, BOB_TOKEN) as bob:
            assert bob.post("/stop", json={"session_id": "stop-me"}).status_code == 200  # Bob's own (idle) session
        time.sleep(1.5)
        assert turn.ended_at is None, "Bob stopped Alice's turn"
        with client(g, ALICE_TOKEN) as alice:
            assert alice.post("/stop", json={"session_id": "stop-me"}).status_code == 200
        wait_until(lambda: turn.ended_at is not None, 30, "Alice's /stop to end her turn")
    finally:
        turn.join(60)


def test_the_agent_refuses_a_body_user_that_differs_from_the_vouched_one(agent: Agent) -> None:
    """Directly on the agent's port, as the gateway forwards a request (token and X-User-ID)."""
    body = {"session_id": "direct-1", "input": [{"role": "user", "content": [{"type": "text", "text": SECRET}]}]}
    with agent.client() as c:
        r = c.post("/process", json={**body, "user_id": "alice"}, headers={"X-User-ID": "bob"})
        assert r.status_code == 403 and r.json()["error"] == "forbidden", r.text
        assert "X-User-ID" in r.json()["detail"]
        r = c.post("/stop", json={"session_id": "direct-1", "user_id": "alice"}, headers={"X-User-ID": "bob"})
        assert r.status_code == 403 and r.json()["error"] == "forbidden"
        assert c.post("/process", json=body, headers={"X-User-ID": "a:b"}).status_code == 400
        # The vouched user owns the turn: Alice's session is hers, Bob's request lands in his own.
        with c.stream("POST", "/process", json=body, headers={"X-User-ID": "alice"}) as r:
            assert r.status_code == 200 and SECRET in r.read().decode()
        echo = final_text(ask(httpx.Client(base_url=agent.url, timeout=60,
                                           headers={"Authorization": f"Bearer {TOKEN}", "X-User-ID": "bob"}),
                              "anything?", session_id="direct-1"))
        assert SECRET not in echo
        # Without the header (the shared-token mode) the caller names the user, as before.
        assert SECRET in final_text(ask(c, "again?", session_id="direct-1", user_id="alice"))
