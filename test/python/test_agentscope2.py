"""The AgentScope 2.x service launcher (agent-image/agentscope2_launcher), as a real process: the
locked agentscope 2.x (agent-image/requirements-agentscope2.txt, in its own virtualenv, since 2.x
and this suite's agentscope 1.x cannot share one) against a real redis-server and the stand-in
OpenAI-compatible model on 127.0.0.1.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

import fake_model  # noqa: F401 - puts agent-image/ on sys.path
from conftest import AGENT_DIR, REPO, free_port
from stand_in_model import BUBBLE_OUTPUT, CODE_TOOL, FINAL_PREFIX, SHELL_TOOL, STAND_IN_ANSWER, StandInModelServer
from test_gateway_shutdown import Gateway, start_gateway  # noqa: F401 - the fixture

PYTHON = Path(os.environ.get("AGENTSCOPE2_PYTHON", REPO / ".venv" / "agentscope2" / "bin" / "python"))
API_KEY = "sk-as2-test-4b1d9e0c7a"
# The user's own 2.x code (AGENTSCOPE_USER_MODULE): a tool factory that records who it ran for.
USER_MODULE = """
import json, os

async def extra_agent_tools(user_id, agent_id, session_id):
    with open(os.environ["HOOK_LOG"], "a") as f:
        f.write(json.dumps([user_id, agent_id, session_id]) + "\\n")
    return []
"""
REDIS_PASSWORD = "redis-secret"
SEED_REQUEST = "请帮我使用python生成一段冒泡排序算法,并执行"



class Service:
    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.env = {"PATH": os.environ["PATH"], "HOME": str(log_path.parent), "PYTHONPATH": str(AGENT_DIR),
                    "PYTHONDONTWRITEBYTECODE": "1", "HOST": "127.0.0.1", "PORT": str(self.port), **env}
        self._log = open(log_path, "ab")
        self.proc = subprocess.Popen([str(PYTHON), "-m", "agentscope2_launcher"], env=self.env,
                                     stdout=self._log, stderr=subprocess.STDOUT)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"exited with {self.proc.returncode}:\n{self.log_path.read_text()}")
            try:
                if httpx.get(self.url + "/health", headers={"X-User-ID": "probe"}, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"not healthy after 120 s:\n{self.log_path.read_text()}")

    @contextmanager
    def running(self) -> Iterator[Service]:
        """Ready, and stopped afterwards whatever happens."""
        try:
            self.wait_ready()
            yield self
        finally:
            self.stop()

    def client(self, user: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"X-User-ID": user}, timeout=60)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


@pytest.fixture(scope="module")
def model_requests() -> list[dict[str, Any]]:
    return []


@pytest.fixture(scope="module")
def stand_in(model_requests: list[dict[str, Any]]) -> Iterator[StandInModelServer]:
    with StandInModelServer(on_request=model_requests.append) as server:
        yield server


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, redis_url: str, stand_in: StandInModelServer) -> Iterator[Service]:
    if not PYTHON.exists():
        pytest.fail(f"{PYTHON} is missing: python3 -m venv .venv/agentscope2 && .venv/agentscope2/bin/pip install "
                    "--no-deps --require-hashes -r agent-image/requirements-agentscope2.txt (scripts/test-python.sh does it)")
    workdir = tmp_path_factory.mktemp("as2")
    (workdir / "my_hooks.py").write_text(USER_MODULE)
    s = Service({
        "PYTHONPATH": f"{AGENT_DIR}:{workdir}", "AGENTSCOPE_USER_MODULE": "my_hooks", "HOOK_LOG": str(workdir / "hooks.log"),
        "REDIS_URL": redis_url, "REDIS_PASSWORD": REDIS_PASSWORD,
        "MODEL_PROVIDER": "openai", "MODEL_BASE_URL": stand_in.base_url, "MODEL_NAME": "stand-in",
        "MODEL_API_KEY": API_KEY, "AGENT_NAME": "helper", "AGENTSCOPE_DOWNLOAD_SECRET": "download-secret-0123",
        "AGENTSCOPE_WORKSPACE_DIR": str(workdir / "workspaces"),
    }, workdir / "service.log")
    with s.running():
        yield s


def test_health_needs_the_user_header(service: Service) -> None:
    r = httpx.get(service.url + "/health", headers={"X-User-ID": "probe"})
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["version"].startswith("2.")
    assert body["components"]["storage"] == "ok" and body["components"]["message_bus"] == "ok"
    assert httpx.get(service.url + "/health").status_code == 422  # agentscope/app/deps.py: the header is required


def agent_list(c: httpx.Client) -> list[dict[str, Any]]:
    r = c.get("/agent/")
    assert r.status_code == 200, r.text
    return r.json()["agents"]  # agentscope/app/_router/_schema/_agent.py ListAgentsResponse


class Stream(threading.Thread):
    """GET /sessions/{id}/stream in the background, keeping every event until REPLY_END."""

    def __init__(self, service: Service, user: str, session_id: str) -> None:
        super().__init__(daemon=True)
        self.service, self.user, self.session_id = service, user, session_id
        self.events: list[dict[str, Any]] = []
        self.opened = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with self.service.client(self.user) as c, c.stream(
                "GET", f"/sessions/{self.session_id}/stream", params={"agent_id": "default"}, timeout=90,
            ) as r:
                assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
                self.opened.set()
                for line in r.iter_lines():
                    if line.startswith("data: "):
                        self.events.append(json.loads(line[6:]))
                        if self.events[-1].get("type") == "REPLY_END":
                            return
        except BaseException as e:  # reported by the test
            self.error = e
            self.opened.set()


def test_a_new_user_chats_with_the_start_up_agent_and_events_stream(
    service: Service, redis_url: str, model_requests: list[dict[str, Any]],
) -> None:
    with service.client("alice") as alice:
        shared = [a for a in agent_list(alice) if a["id"] == "default"]
        assert len(shared) == 1 and shared[0]["data"]["name"] == "helper" and shared[0]["editable"] is False, shared
        # No chat_model_config: the launcher fills in the platform's model.
        created = alice.post("/sessions/", json={"agent_id": "default"})
        assert created.status_code == 201, created.text
        session_id = created.json()["session_id"]

        stream = Stream(service, "alice", session_id)
        stream.start()
        assert stream.opened.wait(30) and stream.error is None, stream.error
        time.sleep(0.5)  # the subscription is set up just after the headers
        before = len(model_requests)
        started = alice.post("/chat/", json={
            "agent_id": "default", "session_id": session_id,
            "input": {"name": "alice", "role": "user", "content": [{"type": "text", "text": "Who are you?"}]},
        })
        assert started.status_code == 200 and started.json()["status"] == "started", started.text
        stream.join(90)
    assert stream.error is None, repr(stream.error)
    types = [e.get("type") for e in stream.events]
    assert types[0] == "REPLY_START" and types[-1] == "REPLY_END", types
    assert stream.events[-1]["finished_reason"] == "completed", stream.events[-1]
    text = "".join(e["delta"] for e in stream.events if e.get("type") == "TEXT_BLOCK_DELTA")
    assert text == STAND_IN_ANSWER
    assert len(model_requests) > before and model_requests[-1]["model"] == "stand-in"
    hook_calls = [json.loads(line) for line in Path(service.env["HOOK_LOG"]).read_text().splitlines()]
    assert ["alice", "default", session_id] in hook_calls

    # The model key never reached Redis: the stored credential has no key field.
    r = redis.Redis.from_url(redis_url, password=REDIS_PASSWORD)
    stored = [v for k in r.scan_iter() for v in _values(r, k)]
    assert stored and not any(API_KEY.encode() in v for v in stored)
    assert any(b"platform_openai_credential" in v for v in stored)


def chat_turn(service: Service, user: str, session_id: str, text: str) -> list[dict[str, Any]]:
    """One chat turn, its events read from the session's SSE stream until REPLY_END."""
    stream = Stream(service, user, session_id)
    stream.start()
    assert stream.opened.wait(30) and stream.error is None, stream.error
    time.sleep(0.5)  # the subscription is set up just after the headers
    with service.client(user) as c:
        started = c.post("/chat/", json={
            "agent_id": "default", "session_id": session_id,
            "input": {"name": user, "role": "user", "content": [{"type": "text", "text": text}]},
        })
        assert started.status_code == 200 and started.json()["status"] == "started", started.text
    stream.join(90)
    assert stream.error is None and not stream.is_alive(), repr(stream.error)
    return stream.events


def test_the_seed_request_runs_python_through_the_workspace_bash_tool(
    service: Service, model_requests: list[dict[str, Any]],
) -> None:
    """The seed's demo on a 2.x agent: the model's one Bash call runs the program in the session's
    workspace, and its output comes back to the model and into the answer."""
    with service.client("dave") as dave:
        session_id = dave.post("/sessions/", json={"agent_id": "default"}).json()["session_id"]
        # 2.x asks before a shell command in its default mode (agentscope/permission); nobody answers
        # an unattended turn, so the session runs in bypass, as agentscope2-facts.md notes.
        patched = dave.patch(f"/sessions/{session_id}", params={"agent_id": "default"}, json={"permission_mode": "bypass"})
        assert patched.status_code == 200, patched.text
    before = len(model_requests)
    events = chat_turn(service, "dave", session_id, SEED_REQUEST)
    assert events[-1]["type"] == "REPLY_END" and events[-1]["finished_reason"] == "completed", events[-3:]
    offered = [t["function"]["name"] for t in model_requests[before].get("tools", [])]
    assert SHELL_TOOL in offered and CODE_TOOL not in offered, offered
    tool_results = [m for r in model_requests[before:] for m in r["messages"] if m.get("role") == "tool"]
    assert tool_results and BUBBLE_OUTPUT in json.dumps(tool_results, ensure_ascii=False), model_requests[before:]
    text = "".join(e["delta"] for e in events if e.get("type") == "TEXT_BLOCK_DELTA")
    assert text.startswith(FINAL_PREFIX) and BUBBLE_OUTPUT in text, text


def _values(r: redis.Redis, key: bytes) -> list[bytes]:
    kind = r.type(key)
    if kind == b"string":
        return [r.get(key) or b""]
    if kind == b"hash":
        return [k + b"=" + v for k, v in r.hgetall(key).items()]
    if kind == b"set":
        return list(r.smembers(key))
    if kind == b"list":
        return list(r.lrange(key, 0, -1))
    if kind == b"zset":
        return list(r.zrange(key, 0, -1))
    if kind == b"stream":
        return [json.dumps({k.decode(): v.decode() for k, v in fields.items()}).encode() for _, fields in r.xrange(key)]
    return []


def test_behind_the_gateway_the_token_decides_the_user(
    service: Service, tmp_path: Path, start_gateway: Callable[..., Gateway],
) -> None:
    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps({hashlib.sha256(b"carol-token-0123456789").hexdigest(): "carol"}))
    gw = start_gateway(service.url, GATEWAY_AUTH="bearer", GATEWAY_USER_TOKENS_FILE=str(tokens))
    # The kubelet's probe: no token, no header; the gateway supplies the anonymous identity.
    assert httpx.get(gw.url + "/health").status_code == 200
    assert httpx.get(gw.url + "/agent/", headers={"X-User-ID": "alice"}).status_code == 401
    carol = {"Authorization": "Bearer carol-token-0123456789", "X-User-ID": "alice"}
    created = httpx.post(gw.url + "/sessions/", json={"agent_id": "default"}, headers=carol)
    assert created.status_code == 201, created.text
    session_id = created.json()["session_id"]
    with service.client("carol") as c:
        assert session_id in c.get("/sessions/", params={"agent_id": "default"}).text
    with service.client("alice") as a:
        assert session_id not in a.get("/sessions/", params={"agent_id": "default"}).text


def test_a_client_cannot_bind_a_session_to_another_users_workspace(service: Service) -> None:
    """2.x binds a session to any workspace_id the body names; per-user ids are a hash of the user
    id (agentscope/app/workspace_manager/_base.py), so the launcher refuses client-chosen ones."""
    alices = hashlib.blake2b(b"user::alice", digest_size=8).hexdigest()
    with service.client("mallory") as mallory:
        refused = mallory.post("/sessions/", json={"agent_id": "default", "workspace_id": alices})
        assert refused.status_code == 422 and "workspace_id is assigned by the platform" in refused.text
        assert mallory.post("/sessions/", json={"agent_id": "default", "workspace_id": None}).status_code == 201
        listed = mallory.get("/sessions/", params={"agent_id": "default"}).text
        assert alices not in listed


def test_other_users_may_use_but_not_change_the_platform_agent(service: Service) -> None:
    with service.client("bob") as bob:
        assert bob.patch("/agent/default", json={"name": "mine"}).status_code in (403, 404)
        assert bob.delete("/agent/default").status_code in (403, 404)
        assert bob.post("/sessions/", json={"agent_id": "default"}).status_code == 201
        # The credential is listed (masked) for use, never with a key.
        listing = bob.get("/credential/")
        assert listing.status_code == 200 and API_KEY not in listing.text
    with service.client("alice") as alice:
        assert [a["data"]["name"] for a in agent_list(alice) if a["id"] == "default"] == ["helper"]


@pytest.mark.parametrize("env,message", [
    ({"MODEL_API_KEY": ""}, "missing MODEL_API_KEY"),
    ({"MODEL_PROVIDER": "anthropic"}, "MODEL_PROVIDER must be one of"),
    ({"REDIS_URL": "http://127.0.0.1:1"}, "REDIS_URL must start with"),
    ({"AGENTSCOPE_ENABLE_SCHEDULER": "yes"}, "AGENTSCOPE_ENABLE_SCHEDULER must be true or false"),
    ({"AGENTSCOPE_PLATFORM_USER_ID": "a:b"}, "AGENTSCOPE_PLATFORM_USER_ID must be"),
])
def test_config_errors_stop_the_launcher_without_quoting_the_key(
    tmp_path: Path, env: dict[str, str], message: str,
) -> None:
    base = {"REDIS_URL": "redis://127.0.0.1:1/0", "MODEL_NAME": "m", "MODEL_API_KEY": API_KEY}
    proc = subprocess.run(
        [str(PYTHON), "-m", "agentscope2_launcher"], capture_output=True, text=True, timeout=120,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), "PYTHONPATH": str(AGENT_DIR), **base, **env},
    )
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and API_KEY not in proc.stderr


def test_the_shipped_example_hooks_load_and_their_tools_answer() -> None:
    """examples/agentscope2-agent, as the launcher imports it (AGENTSCOPE_USER_MODULE=agent_hooks)."""
    if not PYTHON.exists():
        pytest.fail(f"{PYTHON} is missing (scripts/test-python.sh makes it)")
    probe = Path(__file__).resolve().parent / "as2_example_probe.py"
    out = subprocess.run([str(PYTHON), str(probe), str(REPO / "examples" / "agentscope2-agent")], capture_output=True, text=True,
                         env={"PATH": os.environ["PATH"], "PYTHONPATH": str(AGENT_DIR), "PYTHONDONTWRITEBYTECODE": "1"}, timeout=120)
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout.splitlines()[-1])
    assert found["hooks"] == ["extra_agent_tools"]
    assert found["word_count"] == {"read_only": True, "allowed": True, "schema": ["text"], "text": "3"}
    assert found["utc_now"]["read_only"] and found["utc_now"]["allowed"] and found["utc_now"]["schema"] == []
    assert found["utc_now"]["text"].endswith("+00:00")
