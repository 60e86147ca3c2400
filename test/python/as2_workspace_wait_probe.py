"""Run by test_agentscope2_workspaces.py under the 2.x venv: HardenedK8sWorkspace._wait_pod_running
against scripted pod statuses (what the API server returns as a pod goes Pending -> Running, or
gets stuck), printing one JSON line with each scenario's outcome."""
from __future__ import annotations

import asyncio
import json
import sys
import time
from types import SimpleNamespace as NS
from typing import Any

from agentscope2_launcher.k8s_workspaces import HardenedK8sWorkspace
from agentscope2_launcher.workspace_settings import WorkspacePodSettings


def pod(phase: str, waiting: str | None = None, unschedulable: bool = False) -> NS:
    statuses = [NS(state=NS(waiting=NS(reason=waiting, message="pull failed")))] if waiting else []
    conditions = [NS(type="PodScheduled", status="False", reason="Unschedulable", message="0/1 nodes: Insufficient cpu")] if unschedulable else []
    return NS(status=NS(phase=phase, container_statuses=statuses, conditions=conditions))


class ScriptedApi:
    def __init__(self, pods: list[NS]) -> None:
        self.pods = pods
        self.reads = 0

    async def read_namespaced_pod(self, name: str, namespace: str) -> NS:
        self.reads += 1
        return self.pods[min(self.reads, len(self.pods)) - 1]


async def scenario(pods: list[NS], timeout: float) -> dict[str, Any]:
    settings = WorkspacePodSettings.from_json(json.loads(sys.argv[1]) | {"podReadyTimeoutSeconds": timeout})
    ws = HardenedK8sWorkspace(settings=settings, workspace_id="probe")
    ws._pod_name, ws._v1 = "as-ws-probe", ScriptedApi(pods)  # what _provision_backend sets
    started = time.monotonic()
    try:
        await ws._wait_pod_running()
        outcome = "running"
    except RuntimeError as e:
        outcome = str(e)
    return {"outcome": outcome, "reads": ws._v1.reads, "seconds": round(time.monotonic() - started, 1)}


async def main() -> None:
    found = {
        "unschedulable_then_running": await scenario([pod("Pending", unschedulable=True)] * 3 + [pod("Running")], 30),
        "pull_error": await scenario([pod("Pending", waiting="ErrImagePull")], 30),
        "never_scheduled": await scenario([pod("Pending", unschedulable=True)], 2),
        "failed": await scenario([pod("Failed")], 30),
    }
    print(json.dumps(found))


asyncio.run(main())
