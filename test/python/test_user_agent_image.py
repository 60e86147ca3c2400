"""The user-agent image (agent-image/user-agent.Dockerfile) built from the seed
article's own sample (examples/seed-agent, agentscope-runtime 1.0.1) and run
as Kubernetes will: uid 10001, read-only root, only /tmp writable, no
capabilities, and no network at all (--network none): requests come from a
probe run inside the container on loopback. Run by scripts/test-image.sh.

The sample builds DashScopeChatModel("qwen-turbo") and nothing else: its
/process turn goes to a fake DashScope on loopback (fake_dashscope.py), the
one test that shares the host's network, so that the container reaches it."""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import free_port, iter_sse
from fake_dashscope import ANSWER, FakeDashScope
from images import BASE_IMAGE, build, image_size, podman, rebuilt_bytes, seconds_to_healthy
from test_image import K8S_LIKE, check_runs_as_10001_without_compilers_or_package_caches

REPO = Path(__file__).resolve().parents[2]
AGENT_DIR = REPO / "agent-image"
DOCKERFILE = AGENT_DIR / "user-agent.Dockerfile"
SEED_DIR = REPO / "examples" / "seed-agent"
AS2_DIR = REPO / "examples" / "agentscope2-agent"
# An AgentApp on agentscope-runtime 1.1.x with tasks, its own lock with celery.
RUNTIME11_DIR = Path(__file__).resolve().parent / "runtime11_tasks_app"
PROBE = Path(__file__).resolve().parent / "http_probe.py"
TAG = "test-" + hashlib.sha256(str(AGENT_DIR).encode()).hexdigest()[:10]
SEED = f"localhost/user-agent-seed:{TAG}"
KIT = f"localhost/user-agent-kit:{TAG}"
AS2 = f"localhost/user-agent-as2:{TAG}"
RUNTIME11 = f"localhost/user-agent-runtime11:{TAG}"
# The request body of the seed article's own curl examples.
SEED_BODY = {"input": [{"role": "user", "content": [{"type": "text", "text": "Hello, how are you?"}]}],
             "session_id": "123"}


def build_user_agent(context: Path, tag: str) -> float:
    return build(context, tag, dockerfile=DOCKERFILE,
                 build_args={"AGENT_APP": "app:agent_app", "KIT_IMAGE": KIT})


@pytest.fixture(scope="module")
def seed_image() -> None:
    if subprocess.run(["podman", "image", "exists", BASE_IMAGE]).returncode != 0:
        pytest.fail(f"{BASE_IMAGE} is missing: run scripts/make-base-image.sh")
    build(AGENT_DIR, KIT, target="user-agent-kit")
    # our files only: the two launchers (the 2.x one with its tracing set-up), their bytecode, and
    # install-deps.sh; 172 kB measured with agent_launcher/tasks.py, no dependency fits under this bound
    assert image_size(KIT) < 250_000
    seconds = build_user_agent(SEED_DIR, SEED)
    print(f"\nseed image built in {seconds:.0f}s, {image_size(SEED) / 1e6:.0f} MB")


@pytest.fixture
def seed_container(seed_image: None) -> Iterator[str]:
    cid = podman("run", "-d", "--network", "none", *K8S_LIKE,
                 "-v", f"{PROBE}:/probe/http_probe.py:ro", SEED).strip()
    try:
        yield cid
    finally:
        podman("rm", "-f", "-t", "2", cid, check=False)


def probe(cid: str, method: str, path: str, body: object = None) -> tuple[int, str]:
    args = ["exec", cid, "python3", "/probe/http_probe.py", method, f"http://127.0.0.1:8080{path}"]
    if body is not None:
        args.append(json.dumps(body))
    answer = json.loads(podman(*args))
    return answer["status"], answer["body"]


def wait_healthy(cid: str, timeout: float = 120) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        state = podman("inspect", "--format", "{{.State.Status}}", cid).strip()
        assert state == "running", podman("logs", cid)
        if probe(cid, "GET", "/health")[0] == 200:
            return time.monotonic() - started
        time.sleep(0.5)
    raise TimeoutError(podman("logs", cid))


def sse_data(body: str) -> list[object]:
    return [json.loads(line[len("data: "):]) for line in body.splitlines() if line.startswith("data: ")]


def test_seed_image_runs_as_10001_without_compilers_or_package_caches(seed_image: None) -> None:
    check_runs_as_10001_without_compilers_or_package_caches(SEED)
    env = json.loads(podman("image", "inspect", "--format", "{{json .Config.Env}}", SEED))
    assert "AGENT_APP=app:agent_app" in env
    # The lock stays in the dependency layer; the code layer holds the code.
    files = podman("run", "--rm", "--entrypoint", "/bin/ls", SEED, "/app").split()
    assert "app.py" in files and "requirements.txt" not in files, files


def test_seed_sample_serves_its_routes_read_only_without_network(seed_container: str) -> None:
    cid = seed_container
    seconds = wait_healthy(cid)
    status, body = probe(cid, "GET", "/health")
    assert status == 200 and json.loads(body)["status"] == "healthy"
    # The seed's custom endpoints, as its own deployed_service_run() and curl examples call them.
    for path in ("/sync", "/async"):
        status, body = probe(cid, "POST", path, SEED_BODY)
        assert status == 200, (path, body)
        [event] = sse_data(body)
        assert isinstance(event, dict) and event["status"] == "ok"
        assert event["payload"]["session_id"] == "123"
        assert event["payload"]["input"][0]["content"][0]["text"] == "Hello, how are you?"
    status, body = probe(cid, "POST", "/stream_async", SEED_BODY)
    chunks = sse_data(body)
    assert status == 200 and [str(c).split(",")[0] for c in chunks] == [f"async chunk {i}" for i in range(5)]
    # No unauthenticated process-control route (1.0.1's default mode has none).
    assert probe(cid, "POST", "/shutdown")[0] == 404
    assert probe(cid, "POST", "/admin/shutdown")[0] == 404
    assert probe(cid, "GET", "/admin/status")[0] == 404
    assert podman("exec", cid, "id", "-u").strip() == "10001"
    logs = subprocess.run(["podman", "logs", cid], capture_output=True, text=True).stderr
    assert "Read-only file system" not in logs and "Permission denied" not in logs, logs[-4000:]
    print(f"\nseed image healthy {seconds:.1f}s after start")


def test_seed_process_turn_against_a_fake_dashscope_keeps_the_session(seed_image: None) -> None:
    port = free_port()
    with FakeDashScope() as fake:
        _, cid = seconds_to_healthy(
            ["--network", "host", *K8S_LIKE, "-e", "HOST=127.0.0.1", "-e", f"PORT={port}",
             "-e", f"DASHSCOPE_HTTP_BASE_URL={fake.base_url}", "-e", "DASHSCOPE_API_KEY=fake-key", SEED],
            f"http://127.0.0.1:{port}/health")
        try:
            answers = []
            for text in ("Hello, how are you?", "And now?"):
                body = {**SEED_BODY, "input": [{"role": "user", "content": [{"type": "text", "text": text}]}]}
                with httpx.stream("POST", f"http://127.0.0.1:{port}/process", json=body, timeout=60) as r:
                    assert r.status_code == 200
                    events = list(iter_sse(r))
                last = events[-1]
                assert last["object"] == "response" and last["status"] == "completed", last
                assert last["session_id"] == "123"
                answers.append(last["output"][-1]["content"][-1]["text"])
        finally:
            podman("rm", "-f", "-t", "2", cid, check=False)
    assert answers == ["".join(ANSWER)] * 2
    paths = {path for path, _ in fake.requests}
    assert paths == {"/api/v1/services/aigc/text-generation/generation"}
    first, second = (body for _, body in fake.requests)
    assert first["model"] == second["model"] == "qwen-turbo"
    # The sample's session memory: the second call carries the first turn's question and answer.
    assert "Hello, how are you?" in json.dumps(second) and "".join(ANSWER) in json.dumps(second)


def run_tasks_on_a_worker(image: str, agent: str, redis_url: str, body: object,
                          queues: dict[str, str], task_names: list[str], seconds: float) -> None:
    """AGENT_TASKS=celery, as the stack sets it with `tasks`: the app submits its tasks to Redis,
    where they wait until a second container of the same image (`worker`) runs them; what they
    yield is their result. `queues`: path -> queue."""
    port = free_port()
    env = ["-e", "AGENT_TASKS=celery", "-e", f"REDIS_URL={redis_url}", "-e", "REDIS_PASSWORD=redis-secret",
           "-e", f"AGENT_NAME={agent}"]
    _, api = seconds_to_healthy(["--network", "host", *K8S_LIKE, *env, "-e", "HOST=127.0.0.1",
                                 "-e", f"PORT={port}", image], f"http://127.0.0.1:{port}/health")
    worker = None
    try:
        submitted = {}
        for path in queues:
            answer = httpx.post(f"http://127.0.0.1:{port}{path}", json=body, timeout=30).json()
            assert answer["status"] == "submitted", answer
            submitted[path] = answer
        assert {path: a["queue"] for path, a in submitted.items()} == queues
        # No worker yet: the app process itself runs nothing.
        time.sleep(2)
        for path, answer in submitted.items():
            assert httpx.get(f"http://127.0.0.1:{port}{path}/{answer['task_id']}").json()["status"] == "pending"
        health_port = free_port()
        ready, worker = seconds_to_healthy(["--network", "host", *K8S_LIKE, *env, "-e", "HOST=127.0.0.1",
                                            "-e", f"PORT={health_port}", image, "worker"],
                                           f"http://127.0.0.1:{health_port}/health")
        print(f"\n{agent} worker ready {ready:.1f}s after start")
        deadline = time.monotonic() + seconds
        results: dict[str, object] = {}
        while len(results) < len(queues) and time.monotonic() < deadline:
            for path, answer in submitted.items():
                status = httpx.get(f"http://127.0.0.1:{port}{path}/{answer['task_id']}").json()
                assert status["status"] in ("pending", "STARTED", "finished"), status
                if status["status"] == "finished":
                    results[path] = status["result"]
            time.sleep(1)
        assert results == {path: [{"status": "ok", "payload": body}] for path in queues}, podman("logs", worker)
        logs = subprocess.run(["podman", "logs", worker], capture_output=True, text=True)
        for name in task_names:
            assert f"{name}[" in logs.stderr, logs.stderr[-3000:]
    finally:
        podman("rm", "-f", "-t", "2", api, check=False)
        if worker:
            podman("rm", "-f", "-t", "2", worker, check=False)


def test_seed_tasks_run_in_a_separate_worker_on_redis(seed_image: None, redis_url: str) -> None:
    """1.0.1: both tasks in one worker (1.0.1 alone gives them one Celery name); the seed's
    tasks sleep 30 s and 15 s, and the worker runs both at once."""
    run_tasks_on_a_worker(SEED, "seed", redis_url, SEED_BODY, {"/task": "celery1", "/atask": "default"},
                          ["agent_tasks.app.task_handler", "agent_tasks.app.atask_handler"], 120)


def test_runtime_1_1_tasks_run_in_a_separate_worker_on_redis(tmp_path: Path, redis_url: str) -> None:
    """1.1.x: the AgentApp gets the stack's Redis at construction (it names no broker), so its
    own Celery registration (names `tasks.<module>.<function>`) sends both tasks to the worker."""
    build(AGENT_DIR, KIT, target="user-agent-kit")
    context = tmp_path / "runtime11"
    shutil.copytree(RUNTIME11_DIR, context, ignore=shutil.ignore_patterns("__pycache__"))
    seconds = build_user_agent(context, RUNTIME11)
    print(f"\n1.1.x tasks image built in {seconds:.0f}s")
    try:
        run_tasks_on_a_worker(RUNTIME11, "tasks11", redis_url, {"n": 11}, {"/task": "celery1", "/atask": "celery"},
                              ["tasks.app.task_handler", "tasks.app.atask_handler"], 60)
    finally:
        podman("rmi", RUNTIME11, check=False)


def test_a_worker_without_the_stacks_broker_exits_2_and_says_why(seed_image: None) -> None:
    result = subprocess.run(["podman", "run", "--rm", "--network", "none", *K8S_LIKE, SEED, "worker"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "AGENT_TASKS must be `celery`" in result.stderr
    result = subprocess.run(["podman", "run", "--rm", "--network", "none", *K8S_LIKE, "-e", "AGENT_TASKS=celery",
                             SEED, "worker"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "needs REDIS_URL" in result.stderr


def test_a_bad_agent_app_exits_2_and_says_why(seed_image: None) -> None:
    result = subprocess.run(["podman", "run", "--rm", "--network", "none", *K8S_LIKE,
                             "-e", "AGENT_APP=app:no_such_app", SEED],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "cannot load AGENT_APP" in result.stderr and "no_such_app" in result.stderr


def test_a_code_change_rebuilds_only_the_small_code_layer(seed_image: None, tmp_path: Path) -> None:
    context = tmp_path / "seed-agent"
    shutil.copytree(SEED_DIR, context, ignore=shutil.ignore_patterns("__pycache__"))
    (context / "app.py").write_text((context / "app.py").read_text() + "# a code-only change\n")
    seconds = build_user_agent(context, SEED + "-changed")
    changed = rebuilt_bytes(SEED, SEED + "-changed")
    podman("rmi", SEED + "-changed", check=False)
    assert 0 < changed < 100_000, changed
    assert image_size(SEED) > 1000 * changed
    print(f"\ncode-only change: {changed} bytes rebuilt in {seconds:.0f}s")


@pytest.fixture(scope="module")
def as2_image(seed_image: None) -> None:
    """examples/agentscope2-agent on the 2.x stage (the kit comes from seed_image)."""
    seconds = build(AS2_DIR, AS2, dockerfile=DOCKERFILE, target="user-agent-agentscope2",
                    build_args={"AGENT_APP": "agent_hooks", "KIT_IMAGE": KIT})
    print(f"\nagentscope2 example image built in {seconds:.0f}s, {image_size(AS2) / 1e6:.0f} MB")


def test_agentscope2_image_starts_the_launcher_with_the_hooks_as_10001(as2_image: None) -> None:
    check_runs_as_10001_without_compilers_or_package_caches(AS2)
    config = json.loads(podman("image", "inspect", "--format", "{{json .Config}}", AS2))
    assert config["Entrypoint"] == ["python", "-m", "agentscope2_launcher"]
    assert {"AGENTSCOPE_USER_MODULE=agent_hooks", "AGENTSCOPE_WORKSPACE_DIR=/tmp/workspaces", "PORT=8080"} <= set(config["Env"])
    files = podman("run", "--rm", "--entrypoint", "/bin/ls", AS2, "/app").split()
    assert "agent_hooks.py" in files and "requirements.txt" not in files, files


def test_agentscope2_image_without_its_settings_exits_2_and_says_which(as2_image: None) -> None:
    result = subprocess.run(["podman", "run", "--rm", "--network", "none", *K8S_LIKE, AS2],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "missing REDIS_URL, MODEL_NAME, MODEL_API_KEY" in result.stderr
