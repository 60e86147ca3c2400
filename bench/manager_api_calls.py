"""Kubernetes API requests the sandbox manager itself makes per claim (claim, its refill, release).

Runs upstream's real SandboxManager and KubernetesClient (agentscope-runtime, as locked in
agent-image/requirements-sandbox-manager.txt) with this stack's extension and pool controller;
only CoreV1Api is a recorder whose pods are ready at once, and the pod wait's watch (pod_watch,
tested on the real client in test/workload/sandbox-extension-upstream.test.ts) is counted as the
one watch request it makes. The API server's own and the kubelet's and controllers' requests are
not here: bench/warm_pool.py --count-api counts every client's on a real cluster.
Usage: <venv of requirements-sandbox-manager.txt>/bin/python bench/manager_api_calls.py [--claims N]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import types
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "agent-image"))

calls: Counter[str] = Counter()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--claims", type=int, default=20)
    args = ap.parse_args()

    from kubernetes import client as k8s, config as k8s_config
    from kubernetes.client.rest import ApiException

    pods: dict[str, Any] = {}

    class RecordingCoreV1:
        def __init__(self, *a: Any, **kw: Any) -> None:
            self.api_client = k8s.ApiClient()

        def list_namespace(self, **kw: Any) -> Any:
            calls["list namespaces"] += 1
            return k8s.V1NamespaceList(items=[])

        def create_namespaced_pod(self, namespace: str, body: Any, **kw: Any) -> None:
            calls["create pods"] += 1
            pods[body["metadata"]["name"]] = body

        def read_namespaced_pod(self, name: str, namespace: str, **kw: Any) -> Any:
            calls["get pods"] += 1
            if name not in pods:
                raise ApiException(status=404, reason="Not Found")
            pod = k8s.V1Pod(metadata=k8s.V1ObjectMeta(name=name), status=k8s.V1PodStatus(phase="Running"))
            if kw.get("_preload_content") is False:  # the raw response, as the real client returns it
                return types.SimpleNamespace(data=json.dumps(k8s.ApiClient().sanitize_for_serialization(pod)).encode())
            return pod

        def delete_namespaced_pod(self, name: str, namespace: str, body: Any = None, **kw: Any) -> None:
            calls["delete pods"] += 1
            if pods.pop(name, None) is None:
                raise ApiException(status=404, reason="Not Found")

        def create_namespaced_service(self, namespace: str, body: Any, **kw: Any) -> None:
            calls["create services"] += 1

        def delete_namespaced_service(self, name: str, namespace: str, **kw: Any) -> None:
            # remove() still asks, for sandboxes an earlier version gave a Service; none here.
            calls["delete services (404)"] += 1
            raise ApiException(status=404, reason="Not Found")

    k8s_config.load_incluster_config = lambda *a, **kw: None
    k8s.CoreV1Api = RecordingCoreV1

    settings = {"ports": {"80": 8090}, "podReadyTimeoutSeconds": 60}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(settings, f)
    os.environ["AGENTSCOPE_SANDBOX_POD_SETTINGS"] = f.name

    from sandbox_manager_ext import k8s_client, pods as pod_settings, pool
    from sandbox_manager_ext.autoscale import parse_policy

    def watched(v1: Any, namespace: str, name: str, port: int, timeout: float) -> str:
        calls["watch pods"] += 1  # and the manager's probe of the pod's address, not the API server
        return "10.0.0.5"

    k8s_client.wait_until_serving = watched
    k8s_client.install(pod_settings.load_settings())

    from agentscope_runtime.sandbox.manager.sandbox_manager import SandboxManager
    from agentscope_runtime.sandbox.model import SandboxManagerEnvConfig

    pool.wrap_manager(SandboxManager)
    config = SandboxManagerEnvConfig(file_system="local", redis_enabled=False, container_deployment="k8s",
                                     pool_size=1, default_mount_dir="", k8s_namespace="sbx",
                                     watcher_scan_interval=0, max_sandbox_instances=100)
    manager = SandboxManager(config=config, default_type="base")
    controller = pool.install(manager, parse_policy(None, ["base"], 1), interval_s=3600)
    queue = next(iter(manager.pool_queues.values()))

    def settle() -> None:
        end = time.monotonic() + 30
        while (queue.size() < 1 or sum(controller.creating.values())) and time.monotonic() < end:
            time.sleep(0.01)

    settle()
    calls.clear()
    for i in range(args.claims):
        name = manager.create_from_pool(meta={"session_ctx_id": f"s{i}"})
        assert name, "claim failed"
        settle()  # the refill
        manager.release(name)
    controller.stop()
    print(f"manager -> API server, per claim (warm claim + its refill + release), {args.claims} claims:")
    for key, n in sorted(calls.items()):
        print(f"  {key}: {n / args.claims:.2f}")
    writes = sum(n for k, n in calls.items() if k.split()[0] in ("create", "delete") and "404" not in k)
    print(f"  writes: {writes / args.claims:.2f}, other requests (get, watch, deletes answered 404): "
          f"{(sum(calls.values()) - writes) / args.claims:.2f}")


if __name__ == "__main__":
    main()
