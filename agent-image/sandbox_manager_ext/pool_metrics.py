"""The sandbox pool's gauges and Redis reachability, read by a poller thread every
POOL_METRICS_INTERVAL_S seconds (not at scrape time: a Redis that hangs must not hang /metrics):
- agentscope_sandbox_pool_target{sandbox_type}: the warm size the pool aims at (the autoscaler's
  target, pool.py; POOL_SIZE without the pool controller);
- agentscope_sandbox_warm{sandbox_type}: sandboxes waiting in the pool queue;
- agentscope_sandbox_in_use{sandbox_type}: sandboxes in state RUNNING (bound to a session);
- agentscope_sandbox_creating{sandbox_type}: pool refills under way;
- agentscope_sandbox_reaped_total{sandbox_type,reason}: sandboxes released by the manager itself,
  `idle` (session idle past HEARTBEAT_TIMEOUT) or `owner_gone` (its agent pod died, owners.py),
  counted when it happens, not by the poller;
- agentscope_redis_up: 1 when the last ping succeeded, else 0 (only when the manager uses Redis).
Names: the observability contract; sources: upstream's SandboxManager (pool_size, pool_queues,
container_mapping, prefix, config.redis_*), agentscope-runtime 1.1.x."""
from __future__ import annotations

import logging
import threading
from collections import Counter as Tally
from typing import Any

from prometheus_client import REGISTRY, Counter, Gauge

log = logging.getLogger(__name__)

POOL_METRICS_INTERVAL_S = 10.0

TARGET = Gauge("agentscope_sandbox_pool_target", "Configured warm pool size.", ["sandbox_type"])
WARM = Gauge("agentscope_sandbox_warm", "Warm sandboxes waiting in the pool.", ["sandbox_type"])
IN_USE = Gauge("agentscope_sandbox_in_use", "Sandboxes bound to a session.", ["sandbox_type"])
CREATING = Gauge("agentscope_sandbox_creating", "Warm pool refills under way.", ["sandbox_type"])
REAPED = Counter("agentscope_sandbox_reaped_total", "Sandboxes the manager released by itself.",
                 ["sandbox_type", "reason"])
# Registered only once a Redis is in use: without one, a constant 0 would page as "Redis down".
REDIS_UP = Gauge("agentscope_redis_up", "1 when the last Redis ping succeeded, else 0.", registry=None)


def track_redis() -> Gauge:
    if REDIS_UP not in REGISTRY._collector_to_names:
        REGISTRY.register(REDIS_UP)
    return REDIS_UP


def _ping_client(config: Any) -> Any:
    import redis

    # Its own client with timeouts: upstream's has none.
    return redis.Redis(host=config.redis_server, port=config.redis_port, db=config.redis_db,
                       username=config.redis_user, password=config.redis_password,
                       socket_timeout=3, socket_connect_timeout=3)


def poll_once(manager: Any, pinger: Any = None) -> None:
    """Updates every gauge from `manager` (an upstream SandboxManager in server mode)."""
    if pinger is not None:
        track_redis()
        try:
            pinger.ping()
            REDIS_UP.set(1)
        except Exception:
            REDIS_UP.set(0)
            return  # the pool lives in Redis too: leave the last counts
    types = [str(getattr(t, "value", t)) for t in manager.default_type]
    controller = getattr(manager, "_agentscope_pool", None)
    targets = controller.targets() if controller is not None else {}
    for kind in types:
        TARGET.labels(sandbox_type=kind).set(targets.get(kind, max(int(manager.pool_size), 0)))
        if controller is not None:
            CREATING.labels(sandbox_type=kind).set(controller.creating.get(kind, 0))
    for t, queue in manager.pool_queues.items():
        WARM.labels(sandbox_type=str(getattr(t, "value", t))).set(queue.size())
    running: Tally[str] = Tally()
    for key in manager.container_mapping.scan(manager.prefix):
        record = manager.container_mapping.get(key) or {}
        if str(getattr(record.get("state"), "value", record.get("state"))) == "running":
            running[str(record.get("sandbox_type"))] += 1
    for kind in set(types) | set(running):
        IN_USE.labels(sandbox_type=kind).set(running[kind])


def start(get_manager: Any, interval_s: float = POOL_METRICS_INTERVAL_S) -> threading.Thread:
    """Polls `get_manager()` (None until the server's startup made it) in a daemon thread."""

    def loop() -> None:
        pinger = None
        while True:
            manager = get_manager()
            try:
                if manager is not None:
                    if pinger is None and getattr(manager, "redis_client", None) is not None:
                        pinger = _ping_client(manager.config)
                    poll_once(manager, pinger)
            except Exception:
                log.warning("pool metrics poll failed", exc_info=True)
            stop.wait(interval_s)

    stop = threading.Event()
    thread = threading.Thread(target=loop, name="pool-metrics", daemon=True)
    thread.start()
    return thread


def count_idle_reaps(cls: Any) -> None:
    """Counts upstream's idle reaps (SandboxManager.reap_session, called by its heartbeat scan)."""
    if getattr(cls, "_agentscope_reaps_counted", False):
        return
    reap = cls.reap_session

    def reap_session(self: Any, session_ctx_id: str, reason: str = "heartbeat_timeout") -> bool:
        names = list(self.get_session_mapping(session_ctx_id) or [])
        ok = bool(reap(self, session_ctx_id, reason=reason))
        if ok:
            for name in names:
                record = self.container_mapping.get(name) or {}
                REAPED.labels(sandbox_type=str(record.get("sandbox_type")), reason="idle").inc()
        return ok

    cls.reap_session = reap_session
    cls._agentscope_reaps_counted = True
