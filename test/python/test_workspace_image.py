"""The AgentScope 2.x workspace image (agent-image/Dockerfile `--target agentscope2-workspace`), run
as the pods of agentscope2_launcher/k8s_workspaces.py run: uid 10001, read-only root, /tmp and
/workspace writable, no capabilities, no network. What upstream's K8sWorkspace would install at
first start is there, and its in-pod MCP gateway starts from the image's venv the way the
launcher starts it (script written to /tmp/.agentscope, `nohup <venv>/bin/python -u <script>
--port 5600`). Run by scripts/test-image.sh."""
from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from images import build, image_size, podman
from test_image import K8S_LIKE, check_runs_as_10001_without_compilers_or_package_caches, require_base

REPO = Path(__file__).resolve().parents[2]
AGENT_DIR = REPO / "agent-image"
WORKSPACE = "localhost/agentscope2-workspace:test-" + hashlib.sha256(str(AGENT_DIR).encode()).hexdigest()[:10]
# As the pod mounts them (workspace_settings.py workspace_pod): the claim or emptyDir, and /tmp.
POD_LIKE = [*K8S_LIKE, "--tmpfs", "/workspace:rw,size=64m,mode=1777", "--network", "none"]
# What the launcher does after writing the script (agentscope/workspace/_sandboxed_base.py
# _setup_mcp_gateway, with k8s_workspaces.py's paths), then polls /health as its GatewayClient would.
GATEWAY_CHECK = """
import json, os, subprocess, time, httpx
from agentscope.workspace._utils import _read_gateway_script_bytes, _read_glob_helper_bytes
home = "/tmp/.agentscope"
os.makedirs(home, exist_ok=True)
open(home + "/_glob_helper.py", "wb").write(_read_glob_helper_bytes())
open(home + "/_mcp_gateway_app.py", "wb").write(_read_gateway_script_bytes())
subprocess.run(["sh", "-c", "pkill -f '[_]mcp_gateway_app.py' || true"], check=True)
subprocess.run(["sh", "-c", "nohup /opt/venv/bin/python -u " + home + "/_mcp_gateway_app.py --port 5600 > "
                + home + "/gateway.log 2>&1 &"], check=True)
status, deadline = None, time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        status = httpx.get("http://127.0.0.1:5600/health", timeout=1).status_code
        if status == 200:
            break
    except httpx.HTTPError:
        pass
    time.sleep(0.3)
print(json.dumps({"health": status, "log": open(home + "/gateway.log").read()[-1500:]}))
"""


@pytest.fixture(scope="module")
def workspace_image() -> None:
    require_base()
    seconds = build(AGENT_DIR, WORKSPACE, target="agentscope2-workspace")
    print(f"\nworkspace image built in {seconds:.0f}s, {image_size(WORKSPACE) / 1e6:.0f} MB")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", "run", "--rm", *POD_LIKE, WORKSPACE, *args], capture_output=True, text=True, timeout=300)


def test_runs_as_10001_with_what_upstreams_bootstrap_would_install(workspace_image: None) -> None:
    check_runs_as_10001_without_compilers_or_package_caches(WORKSPACE)
    config = json.loads(podman("image", "inspect", "--format", "{{json .Config}}", WORKSPACE))
    assert config["WorkingDir"] == "/workspace" and config["Cmd"] == ["sleep", "infinity"]
    tools = run("sh", "-c", "rg --version | head -1; pkill -V | head -1; for t in tar base64 nohup bash python3 sleep; do command -v $t; done")
    assert tools.returncode == 0, tools.stderr
    lines = tools.stdout.splitlines()
    assert lines[0].startswith("ripgrep ") and "procps" in lines[1], lines
    assert [Path(p).name for p in lines[2:]] == ["tar", "base64", "nohup", "bash", "python3", "sleep"], lines
    # Nothing to install from: no curl, no uv (upstream's bootstrap needs both, and never runs).
    assert run("sh", "-c", "for t in curl uv; do command -v $t; done; true").stdout.strip() == ""


def test_the_root_is_read_only_and_the_workspace_writable(workspace_image: None) -> None:
    probe = run("sh", "-c", "touch /opt/venv/x 2>/dev/null && echo venv-writable; echo hi > /workspace/f && cat /workspace/f; "
                "python3 -c 'import sys; print(sys.prefix)'")
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.split() == ["hi", "/opt/venv"]


def test_upstreams_gateway_starts_from_the_images_venv(workspace_image: None) -> None:
    result = run("python3", "-c", GATEWAY_CHECK)
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.splitlines()[-1])
    assert found["health"] == 200, found["log"]


def test_the_claim_reaper_runs_from_the_image_as_its_cronjob_runs_it(workspace_image: None) -> None:
    """components/workload/workspace-claim-reaper.ts: workingDir /opt/workspace-reaper, `python -m
    workspace_reaper`; outside a cluster it stops at the in-cluster config, after its arguments."""
    base = ["podman", "run", "--rm", *POD_LIKE, "--workdir", "/opt/workspace-reaper", WORKSPACE, "python", "-m", "workspace_reaper"]
    bad = subprocess.run([*base, "--namespace", "s", "--agent", "a", "--retain-days", "0"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "--retain-days must be at least 1" in bad.stderr
    outside = subprocess.run([*base, "--namespace", "s", "--agent", "a", "--retain-days", "30", "--dry-run"], capture_output=True, text=True, timeout=120)
    assert outside.returncode == 1 and "Service host/port is not set" in outside.stderr, outside.stderr[-2000:]
