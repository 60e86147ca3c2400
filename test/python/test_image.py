"""The images, built with podman from the local debootstrap base and run the
way Kubernetes will: uid 10001, read-only root, only /tmp writable.
Run by scripts/test-image.sh (slow: builds the images)."""
from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import TOKEN, free_port, iter_sse
from fake_model import BUBBLE_OUTPUT, FINAL_PREFIX, FakeModel
from stand_in_model import CODE_ARGUMENT, CODE_TOOL
from images import BASE_IMAGE, build, image_size, podman, rebuilt_bytes, seconds_to_healthy

AGENT_DIR = Path(__file__).resolve().parents[2] / "agent-image"
# One tag per checkout: podman's image store is shared by every checkout on a machine, and a run in
# another one must not retag these between their build and their test.
TAG = "test-" + hashlib.sha256(str(AGENT_DIR).encode()).hexdigest()[:10]
AGENT = f"localhost/friday-agent:{TAG}"
MANAGER = f"localhost/sandbox-manager:{TAG}"
SANDBOX = f"localhost/agentscope-sandbox:{TAG}"
STAND_IN = f"localhost/stand-in-model:{TAG}"
SANDBOX_TOKEN = "0123456789abcdef0123456789abcdef"  # the shape SandboxManager makes: token_hex(16)
BUBBLE_SORT = """def bubble_sort(items):
    items = list(items)
    for i in range(len(items)):
        for j in range(len(items) - 1 - i):
            if items[j] > items[j + 1]:
                items[j], items[j + 1] = items[j + 1], items[j]
    return items

print(bubble_sort([64, 34, 25, 12, 22, 11, 90]))
"""
K8S_LIKE = ["--read-only", "--tmpfs", "/tmp:rw,size=64m,mode=1777", "--cap-drop=ALL",
            "--security-opt=no-new-privileges"]


def require_base() -> None:
    if subprocess.run(["podman", "image", "exists", BASE_IMAGE]).returncode != 0:
        pytest.fail(f"{BASE_IMAGE} is missing: run scripts/make-base-image.sh")


@pytest.fixture(scope="session")
def images() -> None:
    require_base()
    build(AGENT_DIR, AGENT, target="agent")
    build(AGENT_DIR, MANAGER, target="sandbox-manager")
    build(AGENT_DIR, SANDBOX, target="sandbox")


@pytest.fixture(scope="session")
def stand_in_image() -> None:
    """Its own fixture: it shares no layer with the other two beyond the base."""
    require_base()
    build(AGENT_DIR, STAND_IN, target="stand-in-model")


@pytest.fixture
def container_ids() -> Iterator[list[str]]:
    ids: list[str] = []
    yield ids
    for cid in ids:
        podman("rm", "-f", "-t", "2", cid, check=False)


def sh(image: str, script: str) -> str:
    return podman("run", "--rm", *K8S_LIKE, "--entrypoint", "/bin/sh", image, "-c", script)


@pytest.mark.parametrize("image", [AGENT, MANAGER, SANDBOX])
def test_image_runs_as_10001_without_compilers_or_package_caches(images: None, image: str) -> None:
    check_runs_as_10001_without_compilers_or_package_caches(image)


def check_runs_as_10001_without_compilers_or_package_caches(image: str) -> None:
    config = json.loads(podman("image", "inspect", "--format", "{{json .Config}}", image))
    assert config["User"] == "10001:10001"
    assert {"HOME=/tmp", "PYTHONDONTWRITEBYTECODE=1"} <= set(config["Env"])
    assert sh(image, "id -u; id -g").split() == ["10001", "10001"]
    # Inspected as root so that nothing is hidden by permissions. (The base's
    # own pip stays, as in the official python images; the venv has none.)
    found = podman("run", "--rm", "--user", "0", "--entrypoint", "/bin/sh", image, "-c",
                   "for t in gcc cc c++ g++ make ld; do command -v $t; done;"
                   " ls /opt/venv/bin | grep '^pip';"
                   " find / -xdev \\( -path '*/.cache/pip' -o -name '*.deb' -o -path '/var/lib/apt/lists/*' \\)"
                   " -print 2>/dev/null | head; true")
    assert found.strip() == "", found


def test_agent_container_serves_health_and_a_process_round_trip(images: None, container_ids: list[str]) -> None:
    port = free_port()
    with FakeModel() as fake:
        seconds, cid = seconds_to_healthy(
            ["--network", "host", *K8S_LIKE,
             "-e", f"AGENT_API_TOKEN={TOKEN}", "-e", "MODEL_PROVIDER=openai",
             "-e", f"MODEL_BASE_URL={fake.base_url}", "-e", "MODEL_NAME=fake",
             "-e", "ALLOW_LOCAL_CODE_EXECUTION=true", "-e", "HOST=127.0.0.1", "-e", f"PORT={port}", AGENT],
            f"http://127.0.0.1:{port}/health",
        )
        container_ids.append(cid)
        url = f"http://127.0.0.1:{port}"
        assert httpx.post(url + "/process", json={"input": []}).status_code == 401
        body = {"input": [{"role": "user", "content": [{"type": "text", "text": "bubble sort, run it"}]}],
                "session_id": "image-1"}
        with httpx.stream("POST", url + "/process", json=body,
                          headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60) as r:
            assert r.status_code == 200
            events = list(iter_sse(r))
    answer = [e for e in events if e.get("object") == "message" and e.get("type") == "message"
              and e.get("status") == "completed"][-1]["content"][0]["text"]
    assert answer.startswith(FINAL_PREFIX) and BUBBLE_OUTPUT in answer
    logs = podman("logs", cid)
    assert all(json.loads(line) for line in logs.splitlines() if line.strip())  # JSON lines only
    # Nothing was written outside /tmp (the root is read-only; this proves the app never tried).
    assert "Read-only file system" not in logs and "Permission denied" not in logs
    print(f"\nagent image healthy {seconds:.2f}s after podman run")


def test_a_code_change_rebuilds_only_the_small_code_layer(images: None, tmp_path: Path) -> None:
    context = tmp_path / "agent-image"
    shutil.copytree(AGENT_DIR, context, ignore=shutil.ignore_patterns("__pycache__", "bench*"))
    (context / "friday" / "__init__.py").write_text(
        (context / "friday" / "__init__.py").read_text() + "# a code-only change\n")
    build(context, AGENT + "-changed", target="agent")
    changed = rebuilt_bytes(AGENT, AGENT + "-changed")
    podman("rmi", AGENT + "-changed", check=False)
    assert 0 < changed < 1_000_000, changed
    assert image_size(AGENT) > 100 * changed


@pytest.fixture
def docker_api_socket(tmp_path: Path) -> Iterator[Path]:
    """podman's Docker-compatible API: the manager's docker backend needs one
    to start at all, even with an empty pool."""
    sock = tmp_path / "docker.sock"
    proc = subprocess.Popen(["podman", "system", "service", "--time=0", f"unix://{sock}"])
    for _ in range(100):
        if sock.exists():
            break
        subprocess.run(["sleep", "0.1"])
    os.chmod(sock, 0o666)  # the manager runs as uid 10001
    yield sock
    proc.terminate()
    proc.wait(10)


def test_sandbox_manager_reads_its_mounted_config_and_enforces_its_token(
    images: None, tmp_path: Path, docker_api_socket: Path, container_ids: list[str],
) -> None:
    port = free_port()
    config = tmp_path / "sandbox-manager.env"
    config.write_text(f"HOST=127.0.0.1\nPORT={port}\nBEARER_TOKEN=sm-token\nPOOL_SIZE=0\n"
                      "CONTAINER_DEPLOYMENT=docker\nDEFAULT_MOUNT_DIR=\n")
    config.chmod(0o644)
    seconds, cid = seconds_to_healthy(
        ["--network", "host", *K8S_LIKE,
         "-v", f"{config}:/etc/agentscope/sandbox-manager.env:ro",
         "-v", f"{docker_api_socket}:/tmp/docker.sock", "-e", "DOCKER_HOST=unix:///tmp/docker.sock",
         # The file wins over the environment (load_dotenv(..., override=True)).
         "-e", "PORT=1", "-e", "BEARER_TOKEN=from-env", MANAGER],
        f"http://127.0.0.1:{port}/health",
    )
    container_ids.append(cid)
    url = f"http://127.0.0.1:{port}"
    assert httpx.post(url + "/list_session_keys", json={}).status_code in (401, 403)
    assert httpx.post(url + "/list_session_keys", json={},
                      headers={"Authorization": "Bearer from-env"}).status_code in (401, 403)
    r = httpx.post(url + "/list_session_keys", json={}, headers={"Authorization": "Bearer sm-token"})
    assert r.status_code == 200, r.text
    print(f"\nsandbox manager healthy {seconds:.2f}s after podman run")


def test_stand_in_image_is_the_base_plus_its_code_and_runs_as_10001(stand_in_image: None) -> None:
    check_runs_as_10001_without_compilers_or_package_caches(STAND_IN)
    added = image_size(STAND_IN) - image_size(BASE_IMAGE)
    assert 0 < added < 1_000_000, added  # standard library only: no dependency layer
    assert sh(STAND_IN, "test -e /opt/venv && echo venv; python3 -c 'import stand_in_model; print(stand_in_model.__file__)'").split() \
        == ["/app/stand_in_model/__init__.py"]


def test_stand_in_container_runs_read_only_and_answers_with_the_tool_call(stand_in_image: None, container_ids: list[str]) -> None:
    port = free_port()
    seconds, cid = seconds_to_healthy(
        ["--network", "host", *K8S_LIKE, "--user", "10001:10001", "-e", "HOST=127.0.0.1", "-e", f"PORT={port}", STAND_IN],
        f"http://127.0.0.1:{port}/health", timeout=30,
    )
    container_ids.append(cid)
    body = {"model": "stand-in", "messages": [{"role": "user", "content": "请帮我使用python生成一段冒泡排序算法,并执行"}]}
    r = httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions", json=body, timeout=10)
    assert r.status_code == 200, r.text
    (call,) = r.json()["choices"][0]["message"]["tool_calls"]
    assert call["function"]["name"] == CODE_TOOL
    code = json.loads(call["function"]["arguments"])[CODE_ARGUMENT]
    # The program runs in the image too (read-only root, uid 10001).
    assert sh(STAND_IN, f"python3 -c {shlex.quote(code)}").strip() == BUBBLE_OUTPUT
    # PID 1 handles SIGTERM: it stops at once with 0, not after podman's kill timeout.
    stopping = time.monotonic()
    podman("stop", "-t", "10", cid)
    assert time.monotonic() - stopping < 5
    state = json.loads(podman("inspect", "--format", "{{json .State}}", cid))
    assert state["ExitCode"] == 0, state
    logs = [json.loads(line) for line in podman("logs", cid).splitlines() if line.strip()]
    assert [e["msg"] for e in logs][:1] == ["listening"] and any(e["msg"] == "stopping" for e in logs)
    print(f"\nstand-in model healthy {seconds:.2f}s after podman run")


def test_sandbox_manager_image_carries_its_extension(images: None) -> None:
    # The manager imports it with --extension sandbox_manager_ext.activate; activate itself needs
    # the settings file, so check the module the way Python finds it, without running it.
    out = sh(MANAGER, "python -c 'import importlib.util as u; print(u.find_spec(\"sandbox_manager_ext.activate\").origin)'")
    assert out.strip() == "/app/sandbox_manager_ext/activate.py"


def test_sandbox_image_has_no_nginx_or_supervisor(images: None) -> None:
    found = podman("run", "--rm", "--user", "0", "--entrypoint", "/bin/sh", SANDBOX, "-c",
                   "for t in nginx supervisord git; do command -v $t; done; ls /etc/nginx 2>/dev/null; true")
    assert found.strip() == "", found


def run_sandbox(port: int, *env: str) -> list[str]:
    """podman run arguments for the sandbox image as its pod runs it: uid 10001, read-only root."""
    return ["--network", "host", *K8S_LIKE, "--user", "10001:10001",
            "-e", "HOST=127.0.0.1", "-e", f"PORT={port}", *env, SANDBOX]


def test_sandbox_serves_the_manager_client_paths_behind_its_token(images: None, container_ids: list[str]) -> None:
    port = free_port()
    seconds, cid = seconds_to_healthy(run_sandbox(port, "-e", f"SECRET_TOKEN={SANDBOX_TOKEN}"),
                                      f"http://127.0.0.1:{port}/healthz")
    container_ids.append(cid)
    # The manager's client: base_url = <sandbox url>/fastapi (sandbox/client/base.py).
    base = f"http://127.0.0.1:{port}/fastapi"
    auth = {"Authorization": f"Bearer {SANDBOX_TOKEN}"}
    assert httpx.get(base + "/healthz", headers=auth).status_code == 200
    cell = {"code": BUBBLE_SORT}
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Bearer secret_token123"},
                    {"Authorization": SANDBOX_TOKEN}):
        r = httpx.post(base + "/tools/run_ipython_cell", json=cell, headers=headers)
        assert r.status_code == 401, (headers, r.text)
        assert r.headers["www-authenticate"] == "Bearer"
    r = httpx.post(base + "/tools/run_ipython_cell", json=cell, headers=auth, timeout=60)
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["isError"] is False
    assert result["content"][0] == {"type": "text", "text": "[11, 12, 22, 25, 34, 64, 90]\n", "annotations": None,
                                    "meta": None, "description": "stdout"}
    # The IPython kernel is stateful across calls, as upstream's is.
    again = httpx.post(base + "/tools/run_ipython_cell", json={"code": "print(bubble_sort([3, 1, 2]))"},
                       headers=auth, timeout=60).json()
    assert again["content"][0]["text"] == "[1, 2, 3]\n"
    assert httpx.get(base + "/mcp/list_tools", headers=auth).status_code == 200
    assert httpx.get(f"http://127.0.0.1:{port}/docs").status_code == 404
    logs = podman("logs", cid)
    assert "Read-only file system" not in logs and "Permission denied" not in logs and "ERROR" not in logs, logs
    print(f"\nsandbox image healthy {seconds:.2f}s after podman run")


@pytest.mark.parametrize("env", [[], ["-e", "SECRET_TOKEN="], ["-e", "SECRET_TOKEN=secret_token123"]])
def test_sandbox_refuses_to_start_without_its_own_token(images: None, env: list[str]) -> None:
    result = subprocess.run(["podman", "run", "--rm", *run_sandbox(free_port(), *env)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "SECRET_TOKEN" in result.stderr


def test_sandbox_manager_loads_its_extension_and_hides_admin_routes(
    images: None, tmp_path: Path, docker_api_socket: Path, container_ids: list[str],
) -> None:
    """The real server with --extension sandbox_manager_ext.activate, as the stack runs it: it
    starts, and with the bearer token the agents hold, /cleanup and friends are 404."""
    port = free_port()
    config = tmp_path / "sandbox-manager.env"
    config.write_text(f"HOST=127.0.0.1\nPORT={port}\nBEARER_TOKEN=sm-token\nPOOL_SIZE=0\n"
                      "CONTAINER_DEPLOYMENT=docker\nDEFAULT_MOUNT_DIR=\n")
    settings = tmp_path / "sandbox-pods.json"
    settings.write_text(json.dumps({"ports": {"80": 8090}}))
    for f in (config, settings):
        f.chmod(0o644)
    seconds, cid = seconds_to_healthy(
        ["--network", "host", *K8S_LIKE,
         "-v", f"{config}:/etc/agentscope/sandbox-manager.env:ro",
         "-v", f"{settings}:/etc/agentscope/extension/sandbox-pods.json:ro",
         "-v", f"{docker_api_socket}:/tmp/docker.sock", "-e", "DOCKER_HOST=unix:///tmp/docker.sock",
         MANAGER, "--extension", "sandbox_manager_ext.activate"],
        f"http://127.0.0.1:{port}/health",
    )
    container_ids.append(cid)
    url = f"http://127.0.0.1:{port}"
    auth = {"Authorization": "Bearer sm-token"}
    for path in ("/cleanup", "/cleanup_async", "/list_session_keys", "/create", "/stop"):
        assert httpx.post(url + path, json={}, headers=auth).status_code == 404, path
    for path in ("/docs", "/openapi.json", "/desktop/x/index.html"):
        assert httpx.get(url + path, headers=auth).status_code == 404, path
    # An agent's route still reaches the server (which answers for an unknown sandbox).
    r = httpx.post(url + "/get_info_async", json={"identity": "nope"}, headers=auth)
    assert r.status_code != 404, r.text
    assert httpx.post(url + "/get_info_async", json={"identity": "nope"}).status_code == 401
    logs = subprocess.run(["podman", "logs", cid], capture_output=True, text=True, check=True)
    assert "Sandbox pods: pod-IP addressing" in logs.stdout + logs.stderr  # the extension's own line
    print(f"\nsandbox manager with extension healthy {seconds:.2f}s after podman run")
