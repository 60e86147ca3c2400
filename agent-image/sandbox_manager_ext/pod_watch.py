"""Waits for a sandbox pod to become ready by watching it, not by polling.

Upstream's KubernetesClient.wait_for_pod_ready reads the pod every 2 s (kubernetes_client.py,
1.1.x), so a pod ready just after a read costs up to 2 s more, and each wait is one GET per 2 s.
A watch on the one pod (fieldSelector metadata.name=<pod>, RBAC verb `watch`) gets the kubelet's
status update as the API server stores it. Without a resourceVersion the API server starts the
watch with the pod's current state (a synthetic ADDED event), so a pod ready before the watch
started is seen at once (kubernetes.io/docs/reference/using-api/api-concepts, "Semantics for watch")."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

Json = dict[str, Any]


def readiness(pod: Json) -> bool | None:
    """True: serving (Running, every container ready, as upstream checks); False: never will be
    (Failed or Succeeded); None: not yet."""
    status = pod.get("status") or {}
    phase = status.get("phase")
    if phase in ("Failed", "Succeeded"):
        return False
    containers = status.get("containerStatuses") or []
    if phase == "Running" and containers and all(c.get("ready") for c in containers):
        return True
    return None


def wait_for_ready(v1: Any, namespace: str, name: str, timeout: float,
                   watch_factory: Callable[[], Any] | None = None,
                   clock: Callable[[], float] = time.monotonic) -> bool:
    """Watches pod `name` until it is ready (True), fails or is deleted (False), or `timeout` passes
    (False). A watch the server ends early (its timeout, a 410 Gone, a dropped connection) is
    started again, from the pod's current state."""
    if watch_factory is None:
        from kubernetes import watch

        watch_factory = watch.Watch
    deadline = clock() + timeout
    while (remaining := deadline - clock()) > 0:
        w = watch_factory()
        try:
            for event in w.stream(v1.list_namespaced_pod, namespace, field_selector=f"metadata.name={name}",
                                  timeout_seconds=max(1, int(remaining)), _request_timeout=remaining + 5):
                if event["type"] == "DELETED":
                    return False
                if event["type"] in ("ADDED", "MODIFIED"):
                    state = readiness(event["raw_object"])
                    if state is not None:
                        return state
                if clock() >= deadline:
                    return False
        except Exception as error:  # ApiException (410 Gone, 5xx) or a dropped connection: watch again
            log.info("watch of sandbox pod %s ended (%s); watching again", name, error)
            time.sleep(min(0.5, max(deadline - clock(), 0)))
        finally:
            w.stop()
    return False
