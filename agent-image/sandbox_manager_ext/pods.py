"""Sandbox Pods as JSON dicts, from the stack's pod settings.

Upstream k8s mode makes each sandbox a bare Pod plus a NodePort Service and
calls it at `http://<node IP>:<nodePort>`. That does not fit this stack: ACS
pods sit behind a virtual node that does not forward NodePorts, kube-proxy
SNAT on a NodePort hides the manager's pod IP from the sandbox's
NetworkPolicy, and a NodePort opens every sandbox on every node. So the
manager calls the pod's own IP (k8s_client), and upstream's nginx port
(80, `ports=["80/tcp"]` in sandbox_manager.py) maps to the port our non-root
sandbox image listens on (settings `ports`).
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
from typing import Any

SETTINGS_ENV = "AGENTSCOPE_SANDBOX_POD_SETTINGS"
DEFAULT_SETTINGS_PATH = "/etc/agentscope/extension/sandbox-pods.json"
# sandbox/box/shared/dependencies/deps.py falls back to this public value.
UPSTREAM_DEFAULT_TOKEN = "secret_token123"

Json = dict[str, Any]
# On every sandbox pod: the digest of the settings it was made from. A warm sandbox whose digest is
# not the running manager's (an earlier image, size or env, kept in Redis across a roll) is released
# at start rather than handed out (pool.drop_stale_warm).
SETTINGS_DIGEST_ANNOTATION = "agentscope.io/sandbox-settings-sha256"


def load_settings(path: str | None = None) -> Json:
    with open(path or os.environ.get(SETTINGS_ENV, DEFAULT_SETTINGS_PATH), encoding="utf-8") as handle:
        settings = json.load(handle)
    if not isinstance(settings, dict):
        raise ValueError("sandbox pod settings must be a JSON object")
    return settings


def settings_digest(settings: Json) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def mapped_port(port: int, settings: Json) -> int:
    """The sandbox image's port for one of upstream's ports (80 -> 8090)."""
    return int(settings.get("ports", {}).get(str(port), port))


def _require_token(container: Json) -> None:
    env = {e.get("name"): e.get("value") for e in container.get("env") or []}
    token = env.get("SECRET_TOKEN")
    if not token or token == UPSTREAM_DEFAULT_TOKEN:
        raise ValueError("sandbox container %r has no per-sandbox SECRET_TOKEN" % container.get("name"))


def harden_pod(pod: Json, settings: Json) -> Json:
    """A copy of `pod` with the stack's placement, hardening and port applied."""
    pod = copy.deepcopy(pod)
    meta = pod.setdefault("metadata", {})
    meta["labels"] = dict(meta.get("labels") or {}, **settings.get("labels", {}))
    meta["annotations"] = dict(meta.get("annotations") or {}, **settings.get("annotations", {}),
                               **{SETTINGS_DIGEST_ANNOTATION: settings_digest(settings)})
    spec = pod.setdefault("spec", {})
    for volume in spec.get("volumes") or []:
        if "hostPath" in volume:
            raise ValueError(
                "hostPath volume %r refused: keep DEFAULT_MOUNT_DIR empty and READONLY_MOUNTS unset"
                % volume.get("name")
            )
    spec["automountServiceAccountToken"] = False
    spec["enableServiceLinks"] = False
    if settings.get("serviceAccountName"):
        spec["serviceAccountName"] = settings["serviceAccountName"]
    if settings.get("runtimeClassName"):
        spec["runtimeClassName"] = settings["runtimeClassName"]
    tolerations = list(spec.get("tolerations") or [])
    for toleration in settings.get("tolerations", []):
        if toleration not in tolerations:
            tolerations.append(toleration)
    if tolerations:
        spec["tolerations"] = tolerations
    if settings.get("imagePullSecrets"):
        spec["imagePullSecrets"] = list(settings["imagePullSecrets"])
    spec["securityContext"] = dict(spec.get("securityContext") or {}, **settings.get("podSecurityContext", {}))
    if settings.get("volumes"):
        spec["volumes"] = list(spec.get("volumes") or []) + copy.deepcopy(settings["volumes"])
    images = settings.get("images", {})
    for container in spec.get("containers") or []:
        _require_token(container)
        container["image"] = images.get(container.get("image"), container.get("image"))
        if settings.get("resources"):
            container["resources"] = copy.deepcopy(settings["resources"])
        container["securityContext"] = dict(
            container.get("securityContext") or {}, **settings.get("containerSecurityContext", {})
        )
        for port in container.get("ports") or []:
            port["containerPort"] = mapped_port(port["containerPort"], settings)
        if settings.get("volumeMounts"):
            container["volumeMounts"] = list(container.get("volumeMounts") or []) + copy.deepcopy(
                settings["volumeMounts"]
            )
        if settings.get("readinessProbe"):
            container["readinessProbe"] = copy.deepcopy(settings["readinessProbe"])
        if settings.get("env"):
            container["env"] = _with_env(container.get("env") or [], settings["env"])
    return pod


def _with_env(env: list[Json], extra: list[Json]) -> list[Json]:
    """`env` with the stack's variables (e.g. the egress proxy's) set, replacing same-named ones."""
    names = {e["name"] for e in extra}
    return [e for e in env if e.get("name") not in names] + copy.deepcopy(extra)
