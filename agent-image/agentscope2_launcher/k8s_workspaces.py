"""AgentScope 2.x workspaces as hardened pods in the stack's sandbox namespace.

Upstream's K8sWorkspace (agentscope/workspace/_k8s/_k8s_workspace.py, 2.0.11) creates a root pod
with no securityContext, creates its namespace when missing (a cluster-scoped read), and
bootstraps the pod at first start with apt-get and a uv install from the internet. This subclass
keeps its lifecycle (deterministic pod name, reattach, exec transport through the API server, the
in-pod MCP gateway) and changes those three, and one wait:

- the pod comes from the stack's settings (`workspace_pod`): uid 10001, read-only root, no
  capabilities, seccomp RuntimeDefault, no service-account token, requests = limits, the sandbox
  placement; writable are only /tmp and /workspace;
- the namespace is the stack's, never read or created here;
- the gateway runs from the venv baked into the workspace image (agent-image `--target
  agentscope2-workspace`); only its script is written, to /tmp, as upstream writes it;
- a new pod that is Unschedulable is waited for (`podReadyTimeoutSeconds`), not failed at once.

Every pod and claim also carries the stack's owner labels (agent, user hash), and a claim its
last-used time, which the claim reaper (agent-image/workspace_reaper) reads. The warm pool of
workspaces started ahead: workspace_pool.py. The settings and the pod: workspace_settings.py.
"""
from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from datetime import datetime, timezone
from typing import Any

from agentscope.app.workspace_manager import IsolationPolicy, K8sWorkspaceManager
from agentscope.workspace import K8sWorkspace

from .workspace_settings import (
    LAST_USED_ANNOTATION,
    POOL_LABEL,
    TMP_DIR,
    WorkspacePodSettings,
    owner_labels,
    rfc3339,
    workspace_pod,
    workspace_pvc,
)

log = logging.getLogger("agentscope2_launcher.workspaces")

# Container waiting reasons that waiting longer does not cure.
STUCK_REASONS = frozenset({"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CrashLoopBackOff", "CreateContainerConfigError"})
# A live workspace's claim is stamped at most this often (the sweeper's ticks), so that one in use
# for days is never taken for an idle one.
TOUCH_EVERY_SECONDS = 3600.0

# The user a workspace is being built or claimed for: upstream's manager passes only the id down.
current_user: contextvars.ContextVar[str | None] = contextvars.ContextVar("workspace_user", default=None)


class HardenedK8sWorkspace(K8sWorkspace):
    """K8sWorkspace whose pod is `workspace_pod`, in a namespace it does not manage."""

    # Upstream's is /root/.agentscope. Only the script and the log go there; the venv is the image's.
    _gateway_home = TMP_DIR + "/.agentscope"

    def __init__(self, *, settings: WorkspacePodSettings, user_id: str | None = None,
                 pool_labels: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(
            namespace=settings.namespace,
            image=settings.image,
            storage_size=settings.storage.get("size", "1Gi"),
            storage_class=settings.storage.get("storageClassName"),
            **kwargs,
        )
        self._settings = settings
        self._labels = {**owner_labels(settings, user_id), **(pool_labels or {})}
        self._touched = 0.0

    @property
    def _gateway_venv(self) -> str:
        return self._settings.gateway_venv

    def _bootstrap_commands(self) -> list[str]:
        return []  # the image has what upstream's bootstrap installs

    async def _ensure_namespace(self) -> None:
        return None  # the stack's; reading it would need a cluster-wide grant

    async def _ensure_pvc(self) -> None:
        if self._settings.persistent:
            await super()._ensure_pvc()

    async def _create_pvc(self, pvc_name: str) -> None:
        body = workspace_pvc(pvc_name, self.workspace_id, self._settings, self._labels, datetime.now(timezone.utc))
        await self._v1.create_namespaced_persistent_volume_claim(self._namespace, body)
        self._touched = time.monotonic()

    async def _create_pod(self) -> None:
        await self._v1.create_namespaced_pod(self._namespace, workspace_pod(self._pod_name, self.workspace_id, self._settings, self._labels))

    async def _provision_backend(self) -> None:
        await super()._provision_backend()
        if self._touched == 0.0:  # a claim that was there already: in use again from now
            await self.touch()

    async def _teardown_backend(self) -> None:
        await self.touch()  # idle from now: the reaper's retention counts from here
        await super()._teardown_backend()

    async def touch(self, labels: dict[str, str] | None = None) -> None:
        """Stamp the claim's last-used time (and `labels`): best effort, a failure is logged."""
        if not self._settings.persistent or self._v1 is None:
            return
        patch: dict[str, Any] = {"metadata": {"annotations": {LAST_USED_ANNOTATION: rfc3339(datetime.now(timezone.utc))}}}
        if labels:
            patch["metadata"]["labels"] = labels
        try:
            await self._v1.patch_namespaced_persistent_volume_claim(self._pod_name, self._namespace, patch)
            self._touched = time.monotonic()
        except Exception as e:  # noqa: BLE001 - the workspace works without the stamp
            log.warning("workspace claim %s: last-used not stamped: %s", self._pod_name, e)

    async def claim_for(self, user_id: str | None) -> bool:
        """A warm workspace handed to `user_id`: its pod and claim say so (pool `claimed`, user hash).
        False when its pod is gone or going (evicted, deleted by hand while warm): not to be handed out."""
        labels = {**owner_labels(self._settings, user_id), POOL_LABEL: "claimed"}
        self._labels.update(labels)
        try:
            pod = await self._v1.patch_namespaced_pod(self._pod_name, self._namespace, {"metadata": {"labels": labels}})
        except Exception as e:  # noqa: BLE001 - judged by status
            if getattr(e, "status", None) == 404:
                return False
            log.warning("workspace pod %s: claim labels not set: %s", self._pod_name, e)
        else:
            meta = getattr(pod, "metadata", None)
            if meta is not None and getattr(meta, "deletion_timestamp", None) is not None:
                return False
        await self.touch(labels)
        return True

    def touch_due(self) -> bool:
        return self._settings.persistent and time.monotonic() - self._touched >= TOUCH_EVERY_SECONDS

    async def _wait_pod_running(self, timeout: float = 120.0) -> None:
        """Until the pod runs, for the settings' `podReadyTimeoutSeconds`. Upstream gives up at once
        when the pod is Unschedulable; on a cluster that adds nodes on demand that is a normal
        minute, so here it is waited out too. A pull or crash loop still fails at once."""
        del timeout
        deadline = time.monotonic() + self._settings.pod_ready_timeout_seconds
        last = ""
        while time.monotonic() < deadline:
            pod = await self._v1.read_namespaced_pod(self._pod_name, self._namespace)
            status = pod.status
            if status is not None and status.phase == "Running":
                return
            if status is not None and status.phase in ("Failed", "Unknown"):
                raise RuntimeError(f"workspace pod {self._pod_name} is {status.phase}")
            for cs in (status.container_statuses or []) if status is not None else []:
                waiting = cs.state.waiting if cs.state is not None else None
                if waiting is not None and waiting.reason in STUCK_REASONS:
                    raise RuntimeError(f"workspace pod {self._pod_name}: {waiting.reason}: {waiting.message or ''}")
            for cond in (status.conditions or []) if status is not None else []:
                if cond.status == "False" and cond.message:
                    last = f"{cond.type} {cond.reason}: {cond.message}"
            await asyncio.sleep(1.0)
        raise RuntimeError(f"workspace pod {self._pod_name} not running after {self._settings.pod_ready_timeout_seconds:.0f} s; {last}")


class HardenedK8sWorkspaceManager(K8sWorkspaceManager):
    """K8sWorkspaceManager (TTL cache, sweeper, close on shutdown) building `HardenedK8sWorkspace`s."""

    def __init__(self, settings: WorkspacePodSettings) -> None:
        super().__init__(
            isolation=IsolationPolicy(settings.isolation),
            namespace=settings.namespace,
            image=settings.image,
            ttl=settings.ttl_seconds,
            delete_pvc_on_close=False,
        )
        self._settings = settings

    async def get_workspace(self, user_id: str, agent_id: str, session_id: str, workspace_id: str | None = None) -> K8sWorkspace:
        token = current_user.set(user_id)
        try:
            return await super().get_workspace(user_id, agent_id, session_id, workspace_id)
        finally:
            current_user.reset(token)

    async def _build_and_start(self, *, workspace_id: str | None) -> K8sWorkspace:
        ws = HardenedK8sWorkspace(
            settings=self._settings,
            user_id=current_user.get(),
            workspace_id=workspace_id,
            default_mcps=self._default_mcps,
            skill_paths=self._skill_paths,
        )
        await ws.initialize()
        return ws

    async def _sweep_once(self) -> None:
        await super()._sweep_once()
        async with self._lock:
            live = [ws for ws, _ in self._cache.values() if isinstance(ws, HardenedK8sWorkspace) and ws.touch_due()]
        await asyncio.gather(*(ws.touch() for ws in live), return_exceptions=True)
