"""A warm pool of workspace pods: upstream's pre-warm buffer on our hardened K8s manager.

agentscope 2.0.11 pre-warms Docker and E2B workspaces (app/workspace_manager/_prewarm.py
WorkspacePrewarmMixin), not Kubernetes ones. The mixin builds whole workspaces ahead (pod created
and running, the in-pod gateway started through exec and healthy) and hands one out where upstream
mints the id of a new workspace (`_mint_workspace_id`): a `per_session` session, or the first
session of a (user, agent) with `per_agent`. Its pod name derives from that id, so reattaching
after the cache lost it (another replica, the idle timeout) works as for any workspace. `per_user`
ids are a hash of the user id, minted nowhere: they never come from the pool.

What this module adds:
- the buffer's size follows the claim rate, as the sandbox pool's does (`_autoscale.Scaler`:
  [min, max], headroom, scale-down after an idle period); surplus warm workspaces are disposed;
- warm pods carry `agentscope.io/workspace-pool: warm` and the replica holding them
  (`agentscope.io/warm-owner`: its pod name); a claimed one is relabelled `claimed` with the user's
  hash, and so is its claim when storage is persistent (a new workspace's claim is new anyway);
- a warm workspace nobody claimed is closed at shutdown, and its claim labelled `released` for
  the reaper; a replica restarted in the same pod (OOM kill, crash) deletes the warm pods its
  previous run left.
"""
from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any, Self

from agentscope.app.workspace_manager import PrewarmConfig, WorkspaceManagerBase
from agentscope.app.workspace_manager._prewarm import WorkspacePrewarmMixin

from ._autoscale import Bounds, Scaler
from .k8s_workspaces import HardenedK8sWorkspace, HardenedK8sWorkspaceManager, current_user
from .workspace_settings import POOL_LABEL, WARM_OWNER_LABEL, WarmPoolSettings, WorkspacePodSettings

log = logging.getLogger("agentscope2_launcher.workspace_pool")

# Builds at once (upstream's default is 4): each is a pod create and a few execs on the API server.
MAX_CREATING = 4
SCALE_PERIOD_SECONDS = 1.0


def replica_name() -> str:
    """This agent replica's pod name (the kubelet sets HOSTNAME to it)."""
    return os.environ.get("HOSTNAME", "") or "unknown"


class PooledK8sWorkspaceManager(WorkspacePrewarmMixin[HardenedK8sWorkspace], HardenedK8sWorkspaceManager):
    """HardenedK8sWorkspaceManager whose new workspaces come from a buffer of warm ones."""

    def __init__(self, settings: WorkspacePodSettings, pool: WarmPoolSettings, owner: str | None = None) -> None:
        HardenedK8sWorkspaceManager.__init__(self, settings)
        WorkspacePrewarmMixin.__init__(self, prewarm=PrewarmConfig(size=pool.minimum, max_creating=MAX_CREATING))
        self.pool = pool
        self.owner = owner or replica_name()
        self.scaler = Scaler(Bounds(pool.minimum, pool.maximum, pool.headroom), pool.scale_down_after_seconds, 60.0, time.monotonic)
        self._scale_task: asyncio.Task[None] | None = None
        self.served_warm = 0
        self.served_cold = 0
        # Ids of warm workspaces whose pod was gone when claimed (see _adopt_prewarmed).
        self._gone: set[str] = set()

    # ── the claim: which user takes the next warm workspace ───────────────────────────────────

    async def assign_workspace_id(self, *, user_id: str, agent_id: str, session_id: str) -> str:
        token = current_user.set(user_id)
        try:
            return await super().assign_workspace_id(user_id=user_id, agent_id=agent_id, session_id=session_id)
        finally:
            current_user.reset(token)

    async def _mint_workspace_id(self) -> str:
        self.scaler.claimed()
        while True:
            warm_before = len(self._slots)
            workspace_id = await super()._mint_workspace_id()
            if workspace_id not in self._gone:
                break
            # Its warm pod went while it waited in the buffer: the next slot, or a new id.
            self._gone.discard(workspace_id)
        if warm_before:
            self.served_warm += 1
        else:
            self.served_cold += 1
        return workspace_id

    # ── upstream's pre-warm hooks ─────────────────────────────────────────────────────────────

    async def _create_prewarmed(self) -> HardenedK8sWorkspace:
        ws = HardenedK8sWorkspace(
            settings=self._settings,
            pool_labels={POOL_LABEL: "warm", WARM_OWNER_LABEL: self.owner},
            default_mcps=self._default_mcps,
            skill_paths=self._skill_paths,
        )
        started = time.monotonic()
        try:
            await ws.initialize()
        except BaseException:
            await self._dispose_prewarmed(ws)  # its pod may exist, and nothing holds it
            raise
        self.scaler.created(time.monotonic() - started)
        log.info("warm workspace %s ready in %.1f s", ws.workspace_id, time.monotonic() - started)
        return ws

    async def _adopt_prewarmed(self, workspace: HardenedK8sWorkspace) -> None:
        if not await workspace.claim_for(current_user.get()):
            log.warning("warm workspace %s lost its pod while warm; not handed out", workspace.workspace_id)
            self._gone.add(workspace.workspace_id)
            await self._dispose_prewarmed(workspace)
            return
        async with self._lock:
            self._cache[workspace.workspace_id] = (workspace, time.monotonic())

    async def _dispose_prewarmed(self, workspace: HardenedK8sWorkspace) -> None:
        await workspace.touch({POOL_LABEL: "released"})
        await workspace.close()

    # ── size: the claim rate within [min, max] ────────────────────────────────────────────────

    def rescale(self) -> list[HardenedK8sWorkspace]:
        """Apply the scaler's target: refill up to it, or take surplus warm workspaces out of the
        buffer (ready ones only, newest first) and return them for disposal."""
        target = self.scaler.target()
        if target != self._prewarm.size:
            self._prewarm = PrewarmConfig(size=target, max_creating=MAX_CREATING)
        self._refill()
        surplus: list[HardenedK8sWorkspace] = []
        for slot in reversed(list(self._slots)):
            if len(self._slots) <= target:
                break
            if slot.done() and not slot.cancelled() and slot.exception() is None:
                self._slots.remove(slot)
                ws = slot.result()
                self._built.discard(ws)
                surplus.append(ws)
        return surplus

    async def _scale_loop(self) -> None:
        while True:
            await asyncio.sleep(SCALE_PERIOD_SECONDS)
            try:
                surplus = self.rescale()
                await asyncio.gather(*(self._dispose_prewarmed(ws) for ws in surplus), return_exceptions=True)
            except Exception:
                log.exception("warm pool rescale failed")

    def warm(self) -> int:
        """Warm workspaces ready in the buffer."""
        return sum(1 for s in self._slots if s.done() and not s.cancelled() and s.exception() is None)

    # ── start and stop ────────────────────────────────────────────────────────────────────────

    async def delete_leftovers(self, v1: Any) -> int:
        """Delete the warm pods a previous run of this replica (same pod name) left behind."""
        selector = f"{POOL_LABEL}=warm,{WARM_OWNER_LABEL}={self.owner}"
        pods = await v1.list_namespaced_pod(self._settings.namespace, label_selector=selector)
        for pod in pods.items:
            await v1.delete_namespaced_pod(pod.metadata.name, self._settings.namespace)
        return len(pods.items)

    async def _delete_leftovers_in_cluster(self) -> None:
        from kubernetes_asyncio import client, config

        try:
            config.load_incluster_config()
        except config.ConfigException:
            await config.load_kube_config()
        async with client.ApiClient() as api:
            gone = await self.delete_leftovers(client.CoreV1Api(api))
        if gone:
            log.info("deleted %d warm workspace pods of this replica's previous run", gone)

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        try:
            await self._delete_leftovers_in_cluster()
        except Exception as e:  # noqa: BLE001 - the pool works without it
            log.warning("warm pods of a previous run not checked: %s", e)
        self._start_prewarm()
        self._scale_task = asyncio.create_task(self._scale_loop())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._scale_task is not None:
            self._scale_task.cancel()
            await asyncio.gather(self._scale_task, return_exceptions=True)
            self._scale_task = None
        await self._stop_prewarm()
        await super().__aexit__(*exc)


def workspace_manager(settings: WorkspacePodSettings) -> WorkspaceManagerBase:
    """The pooled manager when the settings have a warm pool, else the plain hardened one."""
    if settings.warm_pool is not None and settings.warm_pool.maximum > 0:
        return PooledK8sWorkspaceManager(settings, settings.warm_pool)
    return HardenedK8sWorkspaceManager(settings)
