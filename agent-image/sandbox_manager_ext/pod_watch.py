"""Waits for a new sandbox pod until its server answers, by a watch and the manager's own probe.

Upstream's KubernetesClient.wait_for_pod_ready reads the pod every 2 s (kubernetes_client.py,
1.1.x) until it is Ready. Ready lags the server: the kubelet probes once a second
(`periodSeconds` cannot go below 1) and then patches the pod's status. Here:
1. a watch on the one pod (fieldSelector metadata.name=<pod>, RBAC verb `watch`) until it runs and
   has its IP. Without a resourceVersion the API server starts the watch with the pod's current
   state (a synthetic ADDED event), so a pod already running is seen at once
   (kubernetes.io/docs/reference/using-api/api-concepts, "Semantics for watch");
2. then `GET /healthz` on the pod's IP and the image's port every PROBE_INTERVAL_S until it
   answers 200: the manager calls the sandbox at that address (k8s_client), so this is the
   readiness that matters, and it turns true within PROBE_INTERVAL_S of the server serving. The
   pod is read every POD_CHECK_S meanwhile, so that one that fails (restartPolicy Never) or is
   deleted ends the wait."""
from __future__ import annotations

import http.client
import logging
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

Json = dict[str, Any]
PROBE_PATH = "/healthz"
PROBE_INTERVAL_S = 0.1
PROBE_TIMEOUT_S = 1.0
POD_CHECK_S = 2.0


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


def running_ip(pod: Json) -> str | None:
    """The pod's IP once it is Running (its containers started), else None."""
    status = pod.get("status") or {}
    if status.get("phase") == "Running" and status.get("podIP"):
        return str(status["podIP"])
    return None


def url_host(ip: str) -> str:
    """An IP as the host part of a URL (IPv6 in brackets)."""
    return f"[{ip}]" if ":" in ip else ip


def wait_for_running(v1: Any, namespace: str, name: str, timeout: float,
                     watch_factory: Callable[[], Any] | None = None,
                     clock: Callable[[], float] = time.monotonic) -> str | None:
    """Watches pod `name` until it runs with an IP (returns the IP), fails or is deleted (None),
    or `timeout` passes (None). A watch the server ends early (its timeout, a 410 Gone, a dropped
    connection) is started again, from the pod's current state."""
    if watch_factory is None:
        from kubernetes import watch

        watch_factory = watch.Watch
    deadline = clock() + timeout
    while (remaining := deadline - clock()) > 0:
        w = watch_factory()
        try:
            # deserialize=False: the event's JSON as it came (one json.loads), not also rebuilt as
            # V1Pod models, which costs the manager's CPU and is not read here.
            for event in w.stream(v1.list_namespaced_pod, namespace, field_selector=f"metadata.name={name}",
                                  timeout_seconds=max(1, int(remaining)), _request_timeout=remaining + 5,
                                  deserialize=False):
                if event["type"] == "DELETED":
                    return None
                if event["type"] in ("ADDED", "MODIFIED"):
                    pod = event["object"]
                    if readiness(pod) is False:
                        return None
                    if (ip := running_ip(pod)) is not None:
                        return ip
                if clock() >= deadline:
                    return None
        except Exception as error:  # ApiException (410 Gone, 5xx) or a dropped connection: watch again
            log.info("watch of sandbox pod %s ended (%s); watching again", name, error)
            time.sleep(min(0.5, max(deadline - clock(), 0)))
        finally:
            w.stop()
    return None


def answers(ip: str, port: int, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """One `GET /healthz` (the image's open probe path) on the pod's address: 200 or not."""
    connection = http.client.HTTPConnection(ip, port, timeout=timeout)
    try:
        connection.request("GET", PROBE_PATH)
        return connection.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def pod_gone(v1: Any, namespace: str, name: str) -> bool:
    """Whether the pod failed, finished or no longer exists (a read that fails otherwise is not)."""
    try:
        pod = v1.read_namespaced_pod(name=name, namespace=namespace)
    except Exception as error:
        return getattr(error, "status", None) == 404
    return getattr(getattr(pod, "status", None), "phase", None) in ("Failed", "Succeeded")


def wait_until_serving(v1: Any, namespace: str, name: str, port: int, timeout: float,
                       watch_factory: Callable[[], Any] | None = None,
                       probe: Callable[[str, int], bool] | None = None,
                       clock: Callable[[], float] = time.monotonic,
                       sleep: Callable[[float], None] = time.sleep) -> str | None:
    """The pod's IP once its server answers on `port`; None when it fails, is deleted, or
    `timeout` passes first. `probe` (default `answers`) tells whether the server answers."""
    probe = probe or answers
    deadline = clock() + timeout
    ip = wait_for_running(v1, namespace, name, timeout, watch_factory, clock)
    if ip is None:
        return None
    next_check = clock() + POD_CHECK_S
    while clock() < deadline:
        if probe(ip, port):
            return ip
        if clock() >= next_check:
            if pod_gone(v1, namespace, name):
                return None
            next_check = clock() + POD_CHECK_S
        sleep(PROBE_INTERVAL_S)
    return None
