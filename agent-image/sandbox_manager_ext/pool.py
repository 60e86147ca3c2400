"""The warm pool's refill, in place of upstream's (agentscope-runtime 1.1.x sandbox_manager.py):

- upstream refills in its watcher loop (`scan_pool_once`, every WATCHER_SCAN_INTERVAL), one create
  at a time, each blocking the loop until its pod is ready; here a refill starts the moment a
  sandbox leaves the pool (the queue's dequeue wakes the controller), creates run side by side (up
  to `max_parallel`), and the watcher's scan_pool_once only wakes the controller;
- the warm size per type is the autoscaler's target (autoscale.py), surplus sandboxes released;
- a claim that finds the pool empty while a refill is under way waits for that refill (one claim
  per refill in flight) instead of starting a cold create of its own: the refill began earlier,
  so it is ready sooner; claims beyond the refills in flight create on demand at once;
- an empty pool is not an error: upstream's create_from_pool already creates on demand, and the
  server's worker threads (asyncio's default executor, min(32, CPUs + 4), 5 or 6 on a small node)
  are raised so a burst of on-demand creates does not queue every other call behind it."""
from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .autoscale import Policy, Scaler
from .pods import SETTINGS_DIGEST_ANNOTATION

log = logging.getLogger(__name__)

SERVER_WORKERS = 64
# A claim waits at most this long for a refill in flight, then creates on demand (the stack's pod
# ready timeout is longer; a refill that slow is failing anyway).
REFILL_WAIT_S = 60.0


def type_name(value: Any) -> str:
    return str(getattr(value, "value", value))


class PoolController:
    def __init__(self, manager: Any, policy: Policy, clock: Callable[[], float] = time.monotonic,
                 max_parallel: int = 8, interval_s: float = 1.0) -> None:
        self.manager, self.clock, self.interval_s = manager, clock, interval_s
        self.queues = {type_name(t): q for t, q in manager.pool_queues.items()}
        self.scalers = {t: Scaler(policy.bounds[t], policy.scale_down_after_s, policy.window_s, clock)
                        for t in self.queues if t in policy.bounds}
        self.creating = {t: 0 for t in self.queues}
        self.max_parallel = max_parallel
        self._lock = threading.Lock()
        self._finished = threading.Condition(self._lock)  # a refill ended (enqueued or failed)
        self._ended = {t: 0 for t in self.queues}
        self._waiting = {t: 0 for t in self.queues}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._executor = ThreadPoolExecutor(max_parallel, thread_name_prefix="pool-refill")
        for queue in self.queues.values():
            self._kick_on_dequeue(queue)

    def _kick_on_dequeue(self, queue: Any) -> None:
        dequeue = queue.dequeue

        @functools.wraps(dequeue)
        def kicking(*args: Any, **kwargs: Any) -> Any:
            try:
                return dequeue(*args, **kwargs)
            finally:
                self.kick()

        queue.dequeue = kicking

    def kick(self) -> None:
        self._wake.set()

    def claimed(self, sandbox_type: str) -> None:
        if (scaler := self.scalers.get(sandbox_type)) is not None:
            scaler.claimed()
        self.kick()

    def wait_for_refill(self, t: str, timeout_s: float) -> bool:
        """With the pool of `t` empty and a refill under way that no other claim waits for, waits
        until a refill ends; True when it waited (the caller then claims as usual)."""
        queue = self.queues.get(t)
        if queue is None:
            return False
        with self._finished:
            if queue.size() > 0 or self.creating[t] <= self._waiting[t]:
                return False
            self._waiting[t] += 1
            seen = self._ended[t]
            try:
                self._finished.wait_for(lambda: self._ended[t] > seen, timeout_s)
            finally:
                self._waiting[t] -= 1
        return True

    def targets(self) -> dict[str, int]:
        return {t: s.target() for t, s in self.scalers.items()}

    def reconcile_once(self) -> dict[str, int]:
        """Starts the creates each type lacks and releases warm surplus; returns what it started."""
        started: dict[str, int] = {}
        for t, scaler in self.scalers.items():
            queue, target = self.queues[t], scaler.target()
            warm = int(queue.size())
            with self._lock:
                busy = sum(self.creating.values())
                need = min(target - warm - self.creating[t], self.max_parallel - busy)
                if need > 0:
                    self.creating[t] += need
            for _ in range(max(need, 0)):
                self._executor.submit(self._create, t)
            started[t] = max(need, 0)
            if need <= 0 and self.creating[t] == 0 and warm > target:
                self._release_surplus(t, warm - target)
        return started

    def _release_surplus(self, t: str, count: int) -> None:
        for _ in range(count):
            record = self.queues[t].dequeue()
            if record:
                log.info("Pool %s above its target: releasing warm sandbox %s", t, record.get("container_name"))
                self.manager.release(record["container_name"])

    def _create(self, t: str) -> None:
        started = self.clock()
        try:
            name = self.manager.create(sandbox_type=t, meta=None)
            record = self.manager.container_mapping.get(name) if name else None
            if record:
                self.queues[t].enqueue(record)
                self.scalers[t].created(self.clock() - started)
        except Exception:
            log.warning("refill of pool %s failed", t, exc_info=True)
        finally:
            with self._finished:
                self.creating[t] -= 1
                self._ended[t] += 1
                self._finished.notify_all()
            self.kick()

    def run(self) -> threading.Thread:
        def loop() -> None:
            while not self._stop.is_set():
                self._wake.clear()
                try:
                    self.reconcile_once()
                except Exception:
                    log.warning("pool reconcile failed", exc_info=True)
                self._wake.wait(self.interval_s)

        thread = threading.Thread(target=loop, name="pool-controller", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._executor.shutdown(wait=False, cancel_futures=True)


def wrap_manager(cls: Any) -> None:
    """Class-level hooks (the server binds its routes to the instance's methods at startup, before
    the controller exists): claims reach the controller; the watcher's refill only wakes it."""
    if getattr(cls, "_agentscope_pooled", False):
        return
    claim, scan_pool_once = cls.create_from_pool, cls.scan_pool_once

    @functools.wraps(claim)
    def create_from_pool(self: Any, sandbox_type: Any = None, meta: Any = None) -> Any:
        controller: PoolController | None = getattr(self, "_agentscope_pool", None)
        if controller is not None:
            kind = type_name(sandbox_type or self.default_type[0])
            controller.claimed(kind)
            controller.wait_for_refill(kind, REFILL_WAIT_S)
        return claim(self, sandbox_type=sandbox_type, meta=meta)

    @functools.wraps(scan_pool_once)
    def scan_pool_once_(self: Any) -> dict[str, Any]:
        controller: PoolController | None = getattr(self, "_agentscope_pool", None)
        if controller is not None:
            controller.kick()
        return {"refill": "pool-controller"}

    cls.create_from_pool, cls.scan_pool_once = create_from_pool, scan_pool_once_
    cls._agentscope_pooled = True


def drop_stale_warm(manager: Any, digest: str) -> int:
    """Before the controller starts: releases the warm sandboxes whose pods were made from other
    settings than this manager's (by an earlier manager: the queue lives in Redis across a roll), so
    no claim gets an old image or size after `pulumi up`; the controller then refills. Keeps the
    others in their order. Returns how many it released."""
    dropped = 0
    for queue in manager.pool_queues.values():
        for _ in range(int(queue.size())):
            record = queue.dequeue()
            if not record:
                continue
            pod = manager.client.inspect(record.get("container_id") or record["container_name"])
            annotations = ((pod or {}).get("metadata") or {}).get("annotations") or {}
            if annotations.get(SETTINGS_DIGEST_ANNOTATION) == digest:
                queue.enqueue(record)
                continue
            log.info("Warm sandbox %s was made from other settings: releasing it", record["container_name"])
            manager.release(record["container_name"])
            dropped += 1
    return dropped


def install(manager: Any, policy: Policy, **options: Any) -> PoolController:
    controller = PoolController(manager, policy, **options)
    manager._agentscope_pool = controller
    controller.run()
    return controller


def raise_server_workers(loop: Any, workers: int = SERVER_WORKERS) -> None:
    """Upstream runs every sync manager method with asyncio.to_thread (server/app.py create_endpoint)."""
    loop.set_default_executor(ThreadPoolExecutor(workers, thread_name_prefix="manager-call"))
