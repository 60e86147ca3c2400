"""Wires `pods` into upstream's KubernetesClient
(agentscope_runtime/common/container_clients/kubernetes_client.py, 1.1.x):
same calls and names, pod-IP addressing, the stack's pod settings.

Upstream puts a NodePort Service in front of every sandbox; an earlier version of this extension
a ClusterIP one. Neither is needed: the manager is the sandbox's only client and reads the pod's
IP from the watch it already runs (pod_watch). Without the Service a claim costs ~13 fewer API
writes from every client together (the Service, its Endpoints, EndpointSlice and ClusterIP,
created, updated and deleted), and a new sandbox is reachable when its server answers, not when
kube-proxy has programmed its Service. The sandboxes' NetworkPolicies select pods, so they admit
the manager alone either way. `remove` still deletes `<pod>-service` (a 404 for these pods), so a
sandbox made by an earlier version, kept in Redis across the upgrade, leaves nothing behind."""
from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

from .pod_watch import url_host, wait_until_serving
from .pods import Json, harden_pod, mapped_port

logger = logging.getLogger(__name__)

PATCHED = ("__init__", "create", "_create_multi_port_service", "_get_service_node_ports", "wait_for_pod_ready", "stop",
           "remove", "inspect")
# What upstream's create() returns as the host until the pod's IP is known (it asks for the address
# before it waits for the pod); the wrapped create() puts the IP in its place.
PENDING_HOST = "pending-pod-ip.invalid"
# Upstream reads a pod twice in a row: a claim calls inspect, then get_status (which inspects
# again); create calls get_status twice. A read less than this old, on the same thread, is reused.
INSPECT_REUSE_S = 1.0


def install(settings: Json, cls: Any = None) -> None:
    if cls is None:
        from agentscope_runtime.common.container_clients.kubernetes_client import KubernetesClient

        cls = KubernetesClient
    if getattr(cls, "_agentscope_patched", False):
        return
    for name in PATCHED:
        if not callable(getattr(cls, name, None)):
            raise RuntimeError("agentscope-runtime changed: KubernetesClient.%s is missing; update this extension" % name)

    original_init = cls.__init__
    original_create = cls.create
    recent = threading.local()

    def read_pod(self: Any, container_id: str) -> Json | None:
        """Upstream's inspect (the pod as a dict, None when it cannot be read), from the response's
        JSON: upstream builds V1Pod models and converts them back with to_dict(), most of the
        manager's CPU in a claim. Its callers read `status.phase` (get_status) or test for None,
        which the API's own keys serve alike."""
        try:
            response = self.v1.read_namespaced_pod(name=container_id, namespace=self.namespace, _preload_content=False)
            return json.loads(response.data)
        except Exception as error:  # upstream: a 404 or any other failure is None
            level = logging.WARNING if getattr(error, "status", None) == 404 else logging.ERROR
            logger.log(level, "Failed to inspect pod %s: %s", container_id, getattr(error, "reason", error))
            return None

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        create_pod = self.v1.create_namespaced_pod
        serialize = self.v1.api_client.sanitize_for_serialization

        def create_namespaced_pod(namespace: str, body: Any, **options: Any) -> Any:
            return create_pod(namespace=namespace, body=harden_pod(serialize(body), settings), **options)

        self.v1.create_namespaced_pod = create_namespaced_pod
        self._agentscope_ports = {}  # pod name -> the image's ports, between create's steps
        self._agentscope_ips = {}  # pod name -> its IP, once its server answered

    def create(self: Any, image: Any, *args: Any, **kwargs: Any) -> Any:
        result = original_create(self, image, *args, **kwargs)
        name = result[0]
        ip = self._agentscope_ips.get(name) if name is not None else None
        requested = kwargs.get("name", args[0] if args else None)
        for pending in (self._agentscope_ports, self._agentscope_ips):
            for key in {requested, name}:
                pending.pop(key, None)
        if name is None or result[2] != PENDING_HOST:
            return result
        if ip is None:  # cannot happen after a wait that returned True; never hand out the placeholder
            logger.error("Sandbox %s has no address: removing it", name)
            self.remove(name, force=True)
            return None, None, None
        return (name, result[1], url_host(ip), *result[3:])

    def _create_multi_port_service(self: Any, pod_name: str, port_list: list[Json]) -> bool:
        # No Service: the ports are remembered for the address create() returns.
        self._agentscope_ports[pod_name] = [mapped_port(p["port"], settings) for p in port_list]
        return True

    def _get_service_node_ports(self: Any, pod_name: str) -> tuple[list[int], str]:
        return list(self._agentscope_ports.get(pod_name, [])), PENDING_HOST

    def wait_for_pod_ready(self: Any, container_id: str, timeout: int = 300) -> bool:
        # A watch and the manager's own probe of the pod's address, not upstream's 2 s poll (pod_watch).
        ports = self._agentscope_ports.get(container_id) or [mapped_port(80, settings)]
        ip = wait_until_serving(self.v1, self.namespace, container_id, ports[0],
                                timeout=max(timeout, settings.get("podReadyTimeoutSeconds", 0)))
        ready = ip is not None
        if ip is not None:
            self._agentscope_ips[container_id] = ip
        if not ready:
            # Upstream's create() then returns None and forgets the pod: it would hold its share of the
            # node (or of the ACS quota) for ever, and the pool's next refill would add another. Seen on
            # the embedded cluster when the node had no room: pending sandboxes piled up.
            logger.warning("Sandbox %s did not become ready: removing its pod", container_id)
            self.remove(container_id, force=True)
        return ready

    def inspect(self: Any, container_id: str) -> Any:
        memo = getattr(recent, "memo", None)
        if memo is not None and memo[0] is self and memo[1] == container_id and time.monotonic() - memo[2] < INSPECT_REUSE_S:
            return memo[3]
        found = read_pod(self, container_id)
        recent.memo = (self, container_id, time.monotonic(), found) if found is not None else None
        return found

    def stop(self: Any, container_id: str, timeout: Any = None) -> bool:
        # Upstream's release and idle reap call stop (DELETE the pod, 1 s grace) and then remove
        # (DELETE its Service and the pod, no grace): one write per claim for nothing. The pod goes
        # in remove. (SandboxManager.stop, an admin route the route guard hides, no longer deletes.)
        return True

    cls.__init__ = __init__
    cls.create = create
    cls.stop = stop
    cls.inspect = inspect
    cls._create_multi_port_service = _create_multi_port_service
    cls._get_service_node_ports = _get_service_node_ports
    cls.wait_for_pod_ready = wait_for_pod_ready
    cls._agentscope_patched = True
    logger.info("Sandbox pods: pod-IP addressing and stack pod settings installed")
