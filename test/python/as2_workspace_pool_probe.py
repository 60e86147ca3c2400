"""Run by test_workspace_pool.py under the 2.x venv: the warm pool (workspace_pool.py) and the
claim labels (k8s_workspaces.py) against a stand-in of the API server's pod and claim calls.
`initialize` is replaced by what it does to the API server here (the pod's exec transport and
gateway are the e2e test's: test/e2e/workspaces.test.ts). Prints one JSON line of findings."""
from __future__ import annotations

import asyncio
import json
import sys
from types import SimpleNamespace as NS
from typing import Any

from agentscope2_launcher import k8s_workspaces, workspace_pool
from agentscope2_launcher.k8s_workspaces import HardenedK8sWorkspace
from agentscope2_launcher.workspace_pool import PooledK8sWorkspaceManager, workspace_manager
from agentscope2_launcher.workspace_settings import WorkspacePodSettings


class StandInApi:
    """Pods and claims by name, label patches merged, calls recorded."""

    def __init__(self) -> None:
        self.pods: dict[str, dict[str, Any]] = {}
        self.pvcs: dict[str, dict[str, Any]] = {}
        self.calls: list[str] = []

    async def create_namespaced_pod(self, namespace: str, body: dict[str, Any]) -> None:
        self.calls.append("create pod")
        self.pods[body["metadata"]["name"]] = body

    async def create_namespaced_persistent_volume_claim(self, namespace: str, body: dict[str, Any]) -> None:
        self.calls.append("create pvc")
        self.pvcs[body["metadata"]["name"]] = body

    async def patch_namespaced_pod(self, name: str, namespace: str, body: dict[str, Any]) -> NS:
        self.calls.append("patch pod")
        if name not in self.pods:
            raise type("ApiException", (Exception,), {"status": 404})()
        self.pods[name]["metadata"]["labels"].update(body["metadata"]["labels"])
        return NS(metadata=NS(deletion_timestamp=None))

    async def patch_namespaced_persistent_volume_claim(self, name: str, namespace: str, body: dict[str, Any]) -> None:
        self.calls.append("patch pvc")
        meta = self.pvcs[name]["metadata"]
        meta["labels"].update(body["metadata"].get("labels", {}))
        meta["annotations"].update(body["metadata"].get("annotations", {}))

    async def delete_namespaced_pod(self, name: str, namespace: str) -> None:
        self.calls.append("delete pod")
        self.pods.pop(name, None)

    async def list_namespaced_pod(self, namespace: str, label_selector: str) -> NS:
        wanted = dict(kv.split("=") for kv in label_selector.split(","))
        hits = [p for p in self.pods.values() if all(p["metadata"]["labels"].get(k) == v for k, v in wanted.items())]
        return NS(items=[NS(metadata=NS(name=p["metadata"]["name"])) for p in hits])


API = StandInApi()


async def fake_initialize(self: HardenedK8sWorkspace) -> None:
    """What `initialize` does to the API server: the claim when persistent, the pod, a reattach stamp."""
    self._v1, self._pod_name = API, "as-ws-" + self.workspace_id
    if self._settings.persistent and self._pod_name not in API.pvcs:
        await self._create_pvc(self._pod_name)
    await self._create_pod()
    if self._touched == 0.0:
        await self.touch()
    self.is_alive = True


async def fake_close(self: HardenedK8sWorkspace) -> None:
    await self._teardown_backend_stand_in()


async def teardown(self: HardenedK8sWorkspace) -> None:
    await self.touch()
    await API.delete_namespaced_pod(self._pod_name, self._namespace)
    self.is_alive = False


HardenedK8sWorkspace.initialize = fake_initialize  # type: ignore[method-assign]
HardenedK8sWorkspace._teardown_backend_stand_in = teardown  # type: ignore[attr-defined]
HardenedK8sWorkspace.close = fake_close  # type: ignore[method-assign]


async def no_cluster(self: PooledK8sWorkspaceManager) -> None:
    await self.delete_leftovers(API)


PooledK8sWorkspaceManager._delete_leftovers_in_cluster = no_cluster  # type: ignore[method-assign]
workspace_pool.SCALE_PERIOD_SECONDS = 0.05


async def until(cond: Any, timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if cond():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met")


def labels_of(kind: dict[str, dict[str, Any]], name: str) -> dict[str, str]:
    return dict(kind[name]["metadata"]["labels"])


async def main() -> None:
    base = json.loads(sys.argv[1])
    found: dict[str, Any] = {}
    persistent = WorkspacePodSettings.from_json(base | {
        "storage": {"kind": "persistentVolumeClaim", "size": "20Gi"}, "agentName": "helper",
        "isolation": "per_session", "warmPool": {"min": 1, "max": 3, "headroom": 1, "scaleDownAfterSeconds": 0.2}})
    found["plain_without_pool"] = type(workspace_manager(WorkspacePodSettings.from_json(base))).__name__

    # A leftover warm pod of this replica's previous run, and another replica's: only ours goes.
    API.pods["as-ws-leftover"] = {"metadata": {"name": "as-ws-leftover", "labels": {"agentscope.io/workspace-pool": "warm", "agentscope.io/warm-owner": "agent-helper-0"}}}
    API.pods["as-ws-others"] = {"metadata": {"name": "as-ws-others", "labels": {"agentscope.io/workspace-pool": "warm", "agentscope.io/warm-owner": "agent-helper-1"}}}
    manager = workspace_manager(persistent)
    assert isinstance(manager, PooledK8sWorkspaceManager)
    manager.owner = "agent-helper-0"
    async with manager:
        found["leftovers"] = sorted(n for n in API.pods if n in ("as-ws-leftover", "as-ws-others"))
        await until(lambda: manager.warm() == 1)
        (warm_name,) = [n for n, p in API.pods.items() if p["metadata"]["labels"].get("agentscope.io/workspace-pool") == "warm" and n.startswith("as-ws-") and n not in ("as-ws-others",)]
        found["warm_pod_labels"] = labels_of(API.pods, warm_name)
        found["warm_pvc_labels"] = labels_of(API.pvcs, warm_name)
        found["warm_pvc_annotations"] = sorted(API.pvcs[warm_name]["metadata"]["annotations"])
        API.calls.clear()
        workspace_id = await manager.assign_workspace_id(user_id="alice", agent_id="helper", session_id="s1")
        found["claimed_the_warm_one"] = "as-ws-" + workspace_id == warm_name
        found["claim_calls"] = list(API.calls)
        found["claimed_pod_labels"] = labels_of(API.pods, warm_name)
        found["claimed_pvc_labels"] = labels_of(API.pvcs, warm_name)
        found["in_cache"] = workspace_id in manager._cache
        # The claim raised the target (one claim a minute, headroom 1): the buffer refills to it.
        await until(lambda: manager.warm() >= 1)
        found["target_after_claim"] = manager.scaler.target()
        # Demand gone: after scaleDownAfterSeconds the target falls to min and the surplus is released.
        manager.scaler._claims.clear()
        await asyncio.sleep(0.4)
        await until(lambda: len(manager._slots) == 1)
        found["target_after_idle"] = manager.scaler.target()
        found["served_warm_cold"] = [manager.served_warm, manager.served_cold]
        warm_left = [n for n, p in API.pods.items() if p["metadata"]["labels"].get("agentscope.io/workspace-pool") == "warm" and p["metadata"]["labels"].get("agentscope.io/warm-owner") == "agent-helper-0"]
        # A warm pod deleted while in the buffer (evicted, by hand) is not handed out: the claim gets another.
        await until(lambda: manager.warm() == 1)
        (doomed,) = [s.result() for s in manager._slots if s.done()]
        del API.pods["as-ws-" + doomed.workspace_id]
        replacement = await manager.assign_workspace_id(user_id="dave", agent_id="helper", session_id="s2")
        found["gone_warm_pod_not_handed_out"] = replacement != doomed.workspace_id and replacement not in manager._gone
        found["gone_warm_claim_released"] = API.pvcs["as-ws-" + doomed.workspace_id]["metadata"]["labels"].get("agentscope.io/workspace-pool")
    found["released_at_shutdown"] = [API.pvcs[n]["metadata"]["labels"].get("agentscope.io/workspace-pool") for n in warm_left]
    found["pods_left_after_shutdown"] = sorted(API.pods)

    # per_user: ids are a hash of the user, never the pool's; the cold path labels the claim.
    per_user = WorkspacePodSettings.from_json(base | {
        "storage": {"kind": "persistentVolumeClaim", "size": "20Gi"}, "agentName": "helper",
        "isolation": "per_user", "warmPool": {"min": 1, "max": 1}})
    m2 = workspace_manager(per_user)
    assert isinstance(m2, PooledK8sWorkspaceManager)
    m2._start_prewarm()
    wid = await m2.assign_workspace_id(user_id="bob", agent_id="helper", session_id="s")
    found["per_user_from_pool"] = wid in {s.result().workspace_id for s in m2._slots if s.done()}
    ws = await m2.get_workspace("bob", "helper", "s", wid)
    found["cold_pvc_labels"] = labels_of(API.pvcs, "as-ws-" + ws.workspace_id)
    found["cold_pod_labels"] = labels_of(API.pods, "as-ws-" + ws.workspace_id)
    await m2._stop_prewarm()
    await m2.close_all()
    print(json.dumps(found))


asyncio.run(main())
