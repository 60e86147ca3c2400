"""The settings of 2.x workspace pods (`AGENTSCOPE_WORKSPACE_POD_SETTINGS`, a JSON file the stack
mounts) and the pod they make. No agentscope import: the launcher checks them before its slow import.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

# agentscope/workspace/_k8s/_constants.py POD_WORKDIR: where upstream's tools work.
POD_WORKDIR = "/workspace"
# agentscope/app/workspace_manager/_base.py IsolationPolicy values.
ISOLATION_POLICIES = ("per_session", "per_agent", "per_user")

Json = dict[str, Any]

SETTINGS_ENV = "AGENTSCOPE_WORKSPACE_POD_SETTINGS"
CONTAINER = "workspace"  # upstream's K8sBackend execs into this container name
DATA_VOLUME = "workspace-data"
TMP_DIR = "/tmp"
# Upstream's pod labels (_k8s_workspace.py _create_pod); reattach looks pods up by name only.
UPSTREAM_LABELS = {"app.kubernetes.io/managed-by": "agentscope", "agentscope.workspace": "true"}
# `sleep` is PID 1 and ignores SIGTERM: without this a delete waits the default 30 s, and
# upstream's recreate path (_wait_pod_deleted) gives up after 30 s.
TERMINATION_GRACE_SECONDS = 2
# The stack's own labels and annotation (its prefix agentscope.io, as components/workload/telemetry.ts
# uses): which agent and which user (a hash, never the id) a workspace's pod and claim belong to, the
# warm pool's state, and when a claim was last used (what the claim reaper reads).
AGENT_LABEL = "agentscope.io/agent"
USER_HASH_LABEL = "agentscope.io/user-hash"
# "warm": started ahead, nobody's yet; "claimed": handed to a user; "released": a warm workspace
# nobody claimed, disposed of, its claim free for the reaper at once.
POOL_LABEL = "agentscope.io/workspace-pool"
# The agent replica (its pod name) whose in-process buffer holds a warm pod.
WARM_OWNER_LABEL = "agentscope.io/warm-owner"
LAST_USED_ANNOTATION = "agentscope.io/last-used"
REQUIRED_KEYS = ("namespace", "image", "gatewayVenv", "resources", "podSecurityContext", "containerSecurityContext", "storage")


class SettingsError(ValueError):
    pass


def user_hash(user_id: str) -> str:
    """A label value for a user: 32 hex digits of SHA-256 (label values stop at 63 characters)."""
    return hashlib.sha256(user_id.encode("utf-8")).hexdigest()[:32]


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class WarmPoolSettings:
    """How many warm workspaces one agent replica keeps (agents[].workspaces.warmPool): the target
    follows the claim rate within [minimum, maximum] and falls after scale_down_after_seconds."""

    minimum: int
    maximum: int
    headroom: int = 1
    scale_down_after_seconds: float = 300.0

    @classmethod
    def from_json(cls, data: Any) -> WarmPoolSettings:
        if not isinstance(data, dict):
            raise SettingsError("warmPool must be an object")
        try:
            pool = cls(int(data["min"]), int(data["max"]), int(data.get("headroom", 1)),
                       float(data.get("scaleDownAfterSeconds", 300)))
        except (KeyError, TypeError, ValueError) as e:
            raise SettingsError(f"warmPool needs integer min and max: {e}") from None
        if not 0 <= pool.minimum <= pool.maximum or pool.headroom < 0 or pool.scale_down_after_seconds <= 0:
            raise SettingsError(f"warmPool needs 0 <= min <= max, headroom >= 0, scaleDownAfterSeconds > 0, got {data}")
        return pool


@dataclass(frozen=True)
class WorkspacePodSettings:
    namespace: str
    image: str
    gateway_venv: str
    resources: Json
    pod_security_context: Json
    container_security_context: Json
    # {"kind": "emptyDir", "sizeLimit": "1Gi"} or {"kind": "persistentVolumeClaim", "size": "20Gi", "storageClassName": "..."}
    storage: Json
    tmp_size_limit: str = "256Mi"
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    node_selector: dict[str, str] = field(default_factory=dict)
    tolerations: list[Json] = field(default_factory=list)
    runtime_class_name: str | None = None
    service_account_name: str | None = None
    image_pull_secrets: list[Json] = field(default_factory=list)
    isolation: str = "per_agent"
    ttl_seconds: float = 3600.0
    pod_ready_timeout_seconds: float = 180.0
    # The agent's name, on every pod and claim as AGENT_LABEL.
    agent_name: str = ""
    warm_pool: WarmPoolSettings | None = None
    # Added to the container's environment, e.g. the egress proxy's HTTP(S)_PROXY: commands the
    # gateway runs through exec inherit it.
    env: list[Json] = field(default_factory=list)

    @property
    def persistent(self) -> bool:
        return self.storage.get("kind") == "persistentVolumeClaim"

    @classmethod
    def from_json(cls, data: Json) -> WorkspacePodSettings:
        if not isinstance(data, dict):
            raise SettingsError("workspace pod settings must be a JSON object")
        missing = [k for k in REQUIRED_KEYS if k not in data]
        if missing:
            raise SettingsError(f"workspace pod settings lack {', '.join(missing)}")
        storage = data["storage"]
        kind = storage.get("kind") if isinstance(storage, dict) else None
        if kind == "emptyDir":
            if not storage.get("sizeLimit"):
                raise SettingsError("storage emptyDir needs sizeLimit")
        elif kind == "persistentVolumeClaim":
            if not storage.get("size"):
                raise SettingsError("storage persistentVolumeClaim needs size")
        else:
            raise SettingsError(f"storage.kind must be emptyDir or persistentVolumeClaim, not {kind!r}")
        env = list(data.get("env") or [])
        for item in env:
            if not (isinstance(item, dict) and set(item) == {"name", "value"} and all(isinstance(v, str) for v in item.values()) and item["name"]):
                raise SettingsError(f"env entries must be {{name, value}} strings, not {item!r}")
            if item["name"] == "HOME":
                raise SettingsError("env may not set HOME: the workspace's writable home is /tmp")
        isolation = data.get("isolation", "per_agent")
        if isolation not in ISOLATION_POLICIES:
            raise SettingsError(f"isolation must be one of {', '.join(ISOLATION_POLICIES)}, not {isolation!r}")
        return cls(
            namespace=data["namespace"],
            image=data["image"],
            gateway_venv=data["gatewayVenv"],
            resources=data["resources"],
            pod_security_context=data["podSecurityContext"],
            container_security_context=data["containerSecurityContext"],
            storage=storage,
            tmp_size_limit=data.get("tmpSizeLimit", "256Mi"),
            labels=dict(data.get("labels") or {}),
            annotations=dict(data.get("annotations") or {}),
            node_selector=dict(data.get("nodeSelector") or {}),
            tolerations=list(data.get("tolerations") or []),
            runtime_class_name=data.get("runtimeClassName") or None,
            service_account_name=data.get("serviceAccountName") or None,
            image_pull_secrets=list(data.get("imagePullSecrets") or []),
            isolation=isolation,
            ttl_seconds=float(data.get("ttlSeconds", 3600)),
            pod_ready_timeout_seconds=float(data.get("podReadyTimeoutSeconds", 180)),
            agent_name=str(data.get("agentName") or ""),
            warm_pool=WarmPoolSettings.from_json(data["warmPool"]) if data.get("warmPool") is not None else None,
            env=env,
        )


def load_settings(path: str) -> WorkspacePodSettings:
    with open(path, encoding="utf-8") as handle:
        return WorkspacePodSettings.from_json(json.load(handle))


def owner_labels(s: WorkspacePodSettings, user_id: str | None = None, pool: str | None = None) -> dict[str, str]:
    """The stack's labels of one workspace's pod and claim: its agent, its user's hash once known,
    and its warm-pool state when it came from the pool."""
    labels = {AGENT_LABEL: s.agent_name} if s.agent_name else {}
    if user_id is not None:
        labels[USER_HASH_LABEL] = user_hash(user_id)
    if pool is not None:
        labels[POOL_LABEL] = pool
    return labels


def workspace_pvc(name: str, workspace_id: str, s: WorkspacePodSettings, labels: dict[str, str], now: datetime) -> Json:
    """A workspace's claim (upstream's _create_pvc: ReadWriteOnce, the settings' size and class,
    upstream's two labels), with the stack's labels and the last-used time the claim reaper reads."""
    spec: Json = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": s.storage["size"]}}}
    if s.storage.get("storageClassName"):
        spec["storageClassName"] = s.storage["storageClassName"]
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": name,
            "namespace": s.namespace,
            "labels": {**s.labels, **labels, "app.kubernetes.io/managed-by": "agentscope", "agentscope.workspace.id": workspace_id},
            "annotations": {LAST_USED_ANNOTATION: rfc3339(now)},
        },
        "spec": spec,
    }


def workspace_pod(name: str, workspace_id: str, s: WorkspacePodSettings, extra_labels: dict[str, str] | None = None) -> Json:
    """The workspace pod, as the API server takes it (camelCase)."""
    data: Json = (
        {"persistentVolumeClaim": {"claimName": name}}
        if s.persistent
        else {"emptyDir": {"sizeLimit": s.storage["sizeLimit"]}}
    )
    spec: Json = {
        "restartPolicy": "OnFailure",  # upstream's
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": TERMINATION_GRACE_SECONDS,
        "securityContext": dict(s.pod_security_context),
        "containers": [{
            "name": CONTAINER,
            "image": s.image,
            "imagePullPolicy": "IfNotPresent",
            "command": ["sleep", "infinity"],
            "workingDir": POD_WORKDIR,
            "env": [{"name": "HOME", "value": TMP_DIR}, *(dict(e) for e in s.env)],
            "resources": s.resources,
            "securityContext": dict(s.container_security_context),
            "volumeMounts": [
                {"name": DATA_VOLUME, "mountPath": POD_WORKDIR},
                {"name": "tmp", "mountPath": TMP_DIR},
            ],
        }],
        "volumes": [{"name": DATA_VOLUME, **data}, {"name": "tmp", "emptyDir": {"sizeLimit": s.tmp_size_limit}}],
    }
    if s.service_account_name:
        spec["serviceAccountName"] = s.service_account_name
    if s.runtime_class_name:
        spec["runtimeClassName"] = s.runtime_class_name
    if s.node_selector:
        spec["nodeSelector"] = dict(s.node_selector)
    if s.tolerations:
        spec["tolerations"] = list(s.tolerations)
    if s.image_pull_secrets:
        spec["imagePullSecrets"] = list(s.image_pull_secrets)
    metadata: Json = {
        "name": name,
        "namespace": s.namespace,
        "labels": {**s.labels, **(extra_labels or {}), **UPSTREAM_LABELS, "agentscope.workspace.id": workspace_id},
    }
    if s.annotations:
        metadata["annotations"] = dict(s.annotations)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}
