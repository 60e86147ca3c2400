"""Bad requests get a clear 4xx with a JSON error: never a 500, a 200 stream
with an error inside, or a hang."""
from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from conftest import TOKEN, Agent

LIMIT = 65536  # MAX_REQUEST_BYTES of the local_agent fixture
JSON = "application/json"
GOOD_MSG = {"role": "user", "content": [{"type": "text", "text": "hi"}]}


def chunks(total: int) -> Iterator[bytes]:
    """A chunked body without Content-Length, so only the streaming count can stop it."""
    yield b'{"input": [], "pad": "'
    for _ in range(total // 8192):
        yield b"x" * 8192
    yield b'"}'


CASES = [
    # id, method, path, content type, body, expected status, expected error
    ("malformed json", "POST", "/process", JSON, b'{"input": [', 400, "malformed_json"),
    ("not utf-8", "POST", "/process", JSON, b'{"input": "\xff\xfe"}', 400, "malformed_json"),
    ("empty body", "POST", "/process", JSON, b"", 400, "bad_request"),
    ("whitespace body", "POST", "/process", JSON, b"   \n", 400, "bad_request"),
    ("json array", "POST", "/process", JSON, b"[]", 422, "invalid_request"),
    ("json string", "POST", "/process", JSON, b'"hello"', 422, "invalid_request"),
    ("missing input", "POST", "/process", JSON, b'{"session_id": "s"}', 422, "invalid_request"),
    ("empty input", "POST", "/process", JSON, b'{"input": []}', 422, "invalid_request"),
    ("input not a list", "POST", "/process", JSON, b'{"input": "hi"}', 422, "invalid_request"),
    ("message without content", "POST", "/process", JSON, b'{"input": [{}]}', 422, "invalid_request"),
    ("role not a string", "POST", "/process", JSON, b'{"input": [{"role": 5, "content": []}]}', 422, "invalid_request"),
    ("text not a string", "POST", "/process", JSON,
     b'{"input": [{"role": "user", "content": [{"type": "text", "text": 5}]}]}', 422, "invalid_request"),
    ("unknown content type", "POST", "/process", JSON,
     b'{"input": [{"role": "user", "content": [{"type": "bogus"}]}]}', 422, "invalid_request"),
    ("session id with slashes", "POST", "/process", JSON,
     json.dumps({"input": [GOOD_MSG], "session_id": "../../etc"}).encode(), 422, "invalid_request"),
    ("session id too long", "POST", "/process", JSON,
     json.dumps({"input": [GOOD_MSG], "session_id": "s" * 200}).encode(), 422, "invalid_request"),
    ("user id not a string", "POST", "/process", JSON,
     json.dumps({"input": [GOOD_MSG], "user_id": {"a": 1}}).encode(), 422, "invalid_request"),
    ("text/plain", "POST", "/process", "text/plain", json.dumps({"input": [GOOD_MSG]}).encode(), 415,
     "unsupported_media_type"),
    ("no content type", "POST", "/process", None, json.dumps({"input": [GOOD_MSG]}).encode(), 415,
     "unsupported_media_type"),
    ("form encoded", "POST", "/process", "application/x-www-form-urlencoded", b"input=hi", 415,
     "unsupported_media_type"),
    ("oversized body", "POST", "/process", JSON,
     json.dumps({"input": [GOOD_MSG], "pad": "x" * (LIMIT + 1)}).encode(), 413, "payload_too_large"),
    ("oversized chunked body", "POST", "/process", JSON, "chunked", 413, "payload_too_large"),
    ("stop without session", "POST", "/stop", JSON, b'{"user_id": "u"}', 422, "invalid_request"),
    ("stop malformed", "POST", "/stop", JSON, b"{nope", 400, "malformed_json"),
    ("GET on /process", "GET", "/process", None, None, 405, None),
    ("unknown route", "POST", "/nope", JSON, b"{}", 404, None),
]


@pytest.mark.parametrize("method,path,ctype,body,status,error", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_request_gets_a_clear_4xx(
    local_agent: Agent, method: str, path: str, ctype: str | None, body: bytes | str | None,
    status: int, error: str | None,
) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    if ctype:
        headers["Content-Type"] = ctype
    content = chunks(LIMIT * 2) if body == "chunked" else body
    r = httpx.request(method, local_agent.url + path, headers=headers, content=content, timeout=10)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    if error:
        assert r.json()["error"] == error


def test_the_agent_is_healthy_and_logged_no_server_error_after_the_table(local_agent: Agent) -> None:
    assert httpx.get(local_agent.url + "/health").status_code == 200
    local_agent.wait_log(lambda entry: entry.get("path") == "/health")
    statuses = [entry.get("status") for entry in local_agent.log_lines() if entry["msg"] == "request"]
    assert statuses and all(s < 500 for s in statuses)
    assert not [entry for entry in local_agent.log_lines() if entry["level"] in ("ERROR", "CRITICAL")]
