"""Sandboxes whose agent pod died are released, not left to the idle timeout.

A claim records the caller's IP (the agent pod's: it calls the manager's ClusterIP Service
directly, which kube-proxy does not SNAT); right after it, a worker resolves that IP to the agent
pod's name and UID in the agents namespace and stores them in the sandbox's record (its `meta`,
persisted like the rest of it, in Redis when there is one). Every `interval_s` the reaper checks
each owner pod once: gone (404), replaced (another UID), finished or being deleted, and every
sandbox it held is released. A caller that is no pod there (a port-forward, a test) owns nothing:
its sandboxes still end at the session idle timeout (HEARTBEAT_TIMEOUT, upstream's watcher)."""
from __future__ import annotations

import functools
import json
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from typing import Any, Protocol

log = logging.getLogger(__name__)

OWNER_KEY = "agentscope_owner"
CLIENT_IP: ContextVar[str | None] = ContextVar("agentscope_client_ip", default=None)


class Pods(Protocol):
    def pod_by_ip(self, ip: str) -> dict[str, str] | None: ...

    def alive(self, owner: dict[str, str]) -> bool: ...


class KubernetesPods:
    """Agent pods through the manager's CoreV1Api (RBAC: pods get, list in the agents namespace),
    read as the API's JSON (`_preload_content=False`): no V1Pod models built for the three fields
    read here."""

    def __init__(self, v1: Any, namespace: str) -> None:
        self.v1, self.namespace = v1, namespace

    def pod_by_ip(self, ip: str) -> dict[str, str] | None:
        response = self.v1.list_namespaced_pod(self.namespace, field_selector=f"status.podIP={ip}", _preload_content=False)
        found = json.loads(response.data).get("items") or []
        live = [p for p in found if not p["metadata"].get("deletionTimestamp") and (p.get("status") or {}).get("phase") == "Running"]
        if len(live) != 1:
            return None
        return {"name": live[0]["metadata"]["name"], "uid": live[0]["metadata"]["uid"]}

    def alive(self, owner: dict[str, str]) -> bool:
        try:
            response = self.v1.read_namespaced_pod(owner["name"], self.namespace, _preload_content=False)
        except Exception as error:  # the client's ApiException: only a 404 says the pod is gone
            if getattr(error, "status", None) == 404:
                return False
            raise
        pod = json.loads(response.data)
        return (pod["metadata"].get("uid") == owner["uid"] and not pod["metadata"].get("deletionTimestamp")
                and (pod.get("status") or {}).get("phase") not in ("Failed", "Succeeded"))


class ClientIp:
    """ASGI middleware: the caller's IP, for the claim that runs in this request's context."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        client = scope.get("client") if scope["type"] == "http" else None
        token = CLIENT_IP.set(client[0] if client else None)
        try:
            await self.app(scope, receive, send)
        finally:
            CLIENT_IP.reset(token)


class OwnerReaper:
    def __init__(self, manager: Any, pods: Pods, on_reaped: Callable[[str], None] = lambda t: None,
                 interval_s: float = 10.0) -> None:
        self.manager, self.pods, self.on_reaped, self.interval_s = manager, pods, on_reaped, interval_s
        self._resolver = ThreadPoolExecutor(2, thread_name_prefix="owner-resolve")
        self._stop = threading.Event()

    def claimed(self, container_name: str, ip: str | None) -> None:
        if ip:
            self._resolver.submit(self.record_owner, container_name, ip)

    def record_owner(self, container_name: str, ip: str) -> None:
        try:
            owner = self.pods.pod_by_ip(ip)
            record = self.manager.container_mapping.get(container_name)
            if owner is None or not record:
                return
            record["meta"] = dict(record.get("meta") or {}, **{OWNER_KEY: owner})
            self.manager.container_mapping.set(container_name, record)
        except Exception:
            log.warning("could not record the agent pod that claimed %s", container_name, exc_info=True)

    def reap_once(self) -> list[str]:
        """Releases running sandboxes whose owner pod is gone; returns their names."""
        held: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for key in self.manager.container_mapping.scan(self.manager.prefix):
            record = self.manager.container_mapping.get(key) or {}
            owner = (record.get("meta") or {}).get(OWNER_KEY)
            if owner and str(getattr(record.get("state"), "value", record.get("state"))) == "running":
                held.setdefault((owner["name"], owner["uid"]), []).append(
                    (record["container_name"], str(record.get("sandbox_type"))))
        reaped: list[str] = []
        for (name, uid), sandboxes in held.items():
            try:
                if self.pods.alive({"name": name, "uid": uid}):
                    continue
            except Exception:
                log.warning("could not check agent pod %s", name, exc_info=True)
                continue  # unknown is not gone
            for container_name, sandbox_type in sandboxes:
                log.info("Agent pod %s (%s) is gone: releasing its sandbox %s", name, uid, container_name)
                if self.manager.release(container_name):
                    reaped.append(container_name)
                    self.on_reaped(sandbox_type)
        return reaped

    def run(self) -> threading.Thread:
        def loop() -> None:
            while not self._stop.wait(self.interval_s):
                try:
                    self.reap_once()
                except Exception:
                    log.warning("owner reaper pass failed", exc_info=True)

        thread = threading.Thread(target=loop, name="owner-reaper", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()
        self._resolver.shutdown(wait=False, cancel_futures=True)


def wrap_manager(cls: Any) -> None:
    """After a successful claim, the reaper (if installed) learns who holds the sandbox."""
    if getattr(cls, "_agentscope_owned", False):
        return
    claim = cls.create_from_pool

    @functools.wraps(claim)
    def create_from_pool(self: Any, sandbox_type: Any = None, meta: Any = None) -> Any:
        name = claim(self, sandbox_type=sandbox_type, meta=meta)
        reaper: OwnerReaper | None = getattr(self, "_agentscope_owners", None)
        if name and reaper is not None:
            reaper.claimed(name, CLIENT_IP.get())
        return name

    cls.create_from_pool = create_from_pool
    cls._agentscope_owned = True
