"""2.x workspaces as pods (agent-image/agentscope2_launcher/workspace_settings.py, k8s_workspaces.py):
the settings the stack mounts, the pod they make, and the launcher refusing bad settings before it
serves. The pod itself runs on the embedded cluster (test/e2e/user-agents.test.ts)."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

import fake_model  # noqa: F401 - puts agent-image/ on sys.path
from agentscope2_launcher.workspace_settings import (
    SettingsError,
    WorkspacePodSettings,
    load_settings,
    workspace_pod,
)
from conftest import AGENT_DIR
from test_agentscope2 import API_KEY, PYTHON

RESTRICTED_POD = {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 10001,
                  "seccompProfile": {"type": "RuntimeDefault"}}
RESTRICTED_CONTAINER = {"runAsNonRoot": True, "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                        "privileged": False, "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}
RESOURCES = {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "1", "memory": "2Gi"}}


def settings(**over: Any) -> dict[str, Any]:
    return {
        "namespace": "agentscope-sandboxes",
        "image": "registry.example/agentscope/agentscope2-workspace@sha256:" + "a" * 64,
        "gatewayVenv": "/opt/venv",
        "resources": RESOURCES,
        "podSecurityContext": RESTRICTED_POD,
        "containerSecurityContext": RESTRICTED_CONTAINER,
        "storage": {"kind": "emptyDir", "sizeLimit": "1Gi"},
        "labels": {"app.kubernetes.io/name": "agentscope-workspace", "app.kubernetes.io/part-of": "agentscope"},
        **over,
    }


def test_the_pod_is_hardened_and_carries_the_stacks_labels() -> None:
    pod = workspace_pod("as-ws-abc", "abc", WorkspacePodSettings.from_json(settings()))
    spec = pod["spec"]
    assert pod["metadata"]["namespace"] == "agentscope-sandboxes" and pod["metadata"]["name"] == "as-ws-abc"
    labels = pod["metadata"]["labels"]
    assert labels["app.kubernetes.io/name"] == "agentscope-workspace" and labels["agentscope.workspace.id"] == "abc"
    assert labels["app.kubernetes.io/managed-by"] == "agentscope" and labels["agentscope.workspace"] == "true"
    assert spec["automountServiceAccountToken"] is False and spec["enableServiceLinks"] is False
    assert spec["securityContext"] == RESTRICTED_POD
    (container,) = spec["containers"]
    assert container["name"] == "workspace"  # upstream's K8sBackend execs into this name
    assert container["securityContext"] == RESTRICTED_CONTAINER
    assert container["resources"]["requests"] == container["resources"]["limits"]
    assert container["command"] == ["sleep", "infinity"] and container["workingDir"] == "/workspace"
    # Writable: the workspace and /tmp (the gateway's script and log, HOME); nothing else.
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert mounts == {"/workspace": "workspace-data", "/tmp": "tmp"}
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["workspace-data"]["emptyDir"] == {"sizeLimit": "1Gi"} and "emptyDir" in volumes["tmp"]
    for absent in ("serviceAccountName", "runtimeClassName", "nodeSelector", "tolerations", "imagePullSecrets"):
        assert absent not in spec
    assert "annotations" not in pod["metadata"]


def test_placement_and_a_claim_come_from_the_settings() -> None:
    acs = settings(
        storage={"kind": "persistentVolumeClaim", "size": "20Gi", "storageClassName": "alicloud-disk-topology-alltype"},
        labels={"alibabacloud.com/compute-class": "general-purpose"},
        annotations={"network.alibabacloud.com/vswitch-ids": "vsw-1"},
        tolerations=[{"key": "virtual-kubelet.io/provider", "operator": "Equal", "value": "alibabacloud", "effect": "NoSchedule"}],
        nodeSelector={"type": "virtual-kubelet"}, runtimeClassName="gvisor", serviceAccountName="sandbox",
        imagePullSecrets=[{"name": "acr"}],
    )
    s = WorkspacePodSettings.from_json(acs)
    pod = workspace_pod("as-ws-x", "x", s)
    spec = pod["spec"]
    assert s.persistent
    assert {"name": "workspace-data", "persistentVolumeClaim": {"claimName": "as-ws-x"}} in spec["volumes"]
    assert spec["tolerations"] == acs["tolerations"] and spec["nodeSelector"] == {"type": "virtual-kubelet"}
    assert spec["runtimeClassName"] == "gvisor" and spec["serviceAccountName"] == "sandbox"
    assert spec["imagePullSecrets"] == [{"name": "acr"}]
    assert pod["metadata"]["annotations"] == {"network.alibabacloud.com/vswitch-ids": "vsw-1"}
    assert pod["metadata"]["labels"]["alibabacloud.com/compute-class"] == "general-purpose"


def test_the_proxy_environment_reaches_the_container_after_home() -> None:
    proxy = [{"name": "HTTPS_PROXY", "value": "http://10.96.0.40:3128"}, {"name": "NO_PROXY", "value": "localhost,127.0.0.1"}]
    (container,) = workspace_pod("as-ws-p", "p", WorkspacePodSettings.from_json(settings(env=proxy)))["spec"]["containers"]
    assert container["env"] == [{"name": "HOME", "value": "/tmp"}, *proxy]
    (plain,) = workspace_pod("as-ws-q", "q", WorkspacePodSettings.from_json(settings()))["spec"]["containers"]
    assert plain["env"] == [{"name": "HOME", "value": "/tmp"}]


def test_the_stacks_labels_cannot_replace_upstreams_workspace_labels() -> None:
    s = WorkspacePodSettings.from_json(settings(labels={"agentscope.workspace.id": "other", "agentscope.workspace": "no"}))
    labels = workspace_pod("as-ws-y", "y", s)["metadata"]["labels"]
    assert labels["agentscope.workspace.id"] == "y" and labels["agentscope.workspace"] == "true"


@pytest.mark.parametrize("data,message", [
    ([], "workspace pod settings must be a JSON object"),
    ({k: v for k, v in settings().items() if k not in ("image", "storage")}, "workspace pod settings lack image, storage"),
    (settings(storage={"kind": "hostPath"}), "storage.kind must be emptyDir or persistentVolumeClaim, not 'hostPath'"),
    (settings(storage="emptyDir"), "storage.kind must be"),
    (settings(storage={"kind": "emptyDir"}), "storage emptyDir needs sizeLimit"),
    (settings(storage={"kind": "persistentVolumeClaim"}), "storage persistentVolumeClaim needs size"),
    (settings(isolation="per_tenant"), "isolation must be one of per_session, per_agent, per_user, not 'per_tenant'"),
    (settings(env=[{"name": "HOME", "value": "/root"}]), "env may not set HOME"),
    (settings(env=[{"name": "HTTPS_PROXY"}]), "env entries must be {name, value} strings"),
    (settings(env=[{"name": "", "value": "x"}]), "env entries must be {name, value} strings"),
    (settings(env=[{"name": "N", "value": 3}]), "env entries must be {name, value} strings"),
])
def test_bad_settings_are_refused_with_what_is_wrong(data: Any, message: str) -> None:
    with pytest.raises(SettingsError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        WorkspacePodSettings.from_json(data)


def test_settings_load_from_the_mounted_file(tmp_path: Path) -> None:
    path = tmp_path / "workspace-pods.json"
    path.write_text(json.dumps(settings(isolation="per_user", ttlSeconds=600, podReadyTimeoutSeconds=90)))
    s = load_settings(str(path))
    assert s.isolation == "per_user" and s.ttl_seconds == 600 and s.gateway_venv == "/opt/venv"
    assert s.pod_ready_timeout_seconds == 90


def _launch(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {"REDIS_URL": "redis://127.0.0.1:1/0", "MODEL_NAME": "m", "MODEL_API_KEY": API_KEY}
    return subprocess.run(
        [str(PYTHON), "-m", "agentscope2_launcher"], capture_output=True, text=True, timeout=120,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), "PYTHONPATH": str(AGENT_DIR), **base, **env},
    )


@pytest.mark.parametrize("content,message", [
    (None, "No such file or directory"),
    ("{not json", "Expecting property name"),
    (json.dumps(settings(storage={"kind": "emptyDir"})), "storage emptyDir needs sizeLimit"),
])
def test_the_launcher_exits_2_on_bad_workspace_settings(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "workspace-pods.json"
    if content is not None:
        path.write_text(content)
    proc = _launch(tmp_path, AGENTSCOPE_WORKSPACE_POD_SETTINGS=str(path))
    assert proc.returncode == 2, proc.stderr
    assert "AGENTSCOPE_WORKSPACE_POD_SETTINGS" in proc.stderr and message in proc.stderr, proc.stderr
    assert API_KEY not in proc.stderr


def test_the_locked_2x_has_the_kubernetes_client_and_the_subclass_imports(tmp_path: Path) -> None:
    """The image's lock carries agentscope[workspace-k8s]; the subclass matches 2.x's hooks by name."""
    probe = (
        "import inspect, json\n"
        "from agentscope.workspace import K8sWorkspace\n"
        "from agentscope2_launcher.k8s_workspaces import HardenedK8sWorkspace, HardenedK8sWorkspaceManager\n"
        "import kubernetes_asyncio\n"
        "names = ['_create_pod', '_ensure_namespace', '_ensure_pvc', '_create_pvc', '_provision_backend', '_teardown_backend', '_bootstrap_commands', '_gateway_venv']\n"
        "print(json.dumps({n: n in vars(K8sWorkspace) or any(n in vars(c) for c in K8sWorkspace.__mro__) for n in names}))\n"
    )
    out = subprocess.run([str(PYTHON), "-c", probe], capture_output=True, text=True, timeout=120,
                         env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), "PYTHONPATH": str(AGENT_DIR)})
    assert out.returncode == 0, out.stderr
    assert all(json.loads(out.stdout.splitlines()[-1]).values()), out.stdout


def test_without_the_kubernetes_client_the_launcher_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from agentscope2_launcher import __main__ as launcher
    from agentscope2_launcher.config import ConfigError, load

    path = tmp_path / "workspace-pods.json"
    path.write_text(json.dumps(settings()))
    cfg = load({"REDIS_URL": "redis://127.0.0.1:1/0", "MODEL_NAME": "m", "MODEL_API_KEY": API_KEY,
                "AGENTSCOPE_WORKSPACE_POD_SETTINGS": str(path)})
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "kubernetes_asyncio" else real(name, *a))
    with pytest.raises(ConfigError, match=r"lock agentscope\[workspace-k8s\]"):
        launcher.check_workspaces(cfg)
    launcher.check_workspaces(load({"REDIS_URL": "redis://127.0.0.1:1/0", "MODEL_NAME": "m", "MODEL_API_KEY": API_KEY}))


def test_a_new_pod_is_waited_for_while_unschedulable_but_not_when_stuck(tmp_path: Path) -> None:
    """Upstream fails a turn as soon as its pod is Unschedulable; a cluster that adds nodes on demand
    schedules it a minute later. The subclass waits that out (podReadyTimeoutSeconds) and still
    fails at once on a pull error or a failed pod."""
    probe = Path(__file__).resolve().parent / "as2_workspace_wait_probe.py"
    out = subprocess.run([str(PYTHON), str(probe), json.dumps(settings())], capture_output=True, text=True, timeout=120,
                         env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), "PYTHONPATH": str(AGENT_DIR)})
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout.splitlines()[-1])
    assert found["unschedulable_then_running"]["outcome"] == "running" and found["unschedulable_then_running"]["reads"] == 4
    assert found["pull_error"]["outcome"].endswith("ErrImagePull: pull failed") and found["pull_error"]["reads"] == 1
    never = found["never_scheduled"]
    assert never["outcome"].startswith("workspace pod as-ws-probe not running after 2 s")
    assert "Unschedulable: 0/1 nodes: Insufficient cpu" in never["outcome"]
    assert found["failed"]["outcome"] == "workspace pod as-ws-probe is Failed"
