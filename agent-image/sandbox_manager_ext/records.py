"""Released sandbox records expire in Redis instead of being scanned for.

Upstream (agentscope-runtime 1.1.x sandbox_manager.py) keeps a RELEASED or REPLACED record
`released_key_ttl` seconds (RELEASE_KET_TTL, default 3600) and deletes the expired ones in its
watcher loop: every WATCHER_SCAN_INTERVAL (1 s) `scan_released_cleanup_once` SCANs every record and
GETs and parses each. One record stays an hour per claim, so that scan grows with the claim rate:
on the embedded node an idle manager with 119 records spent 30-36 ms of CPU a second, nearly all of
it in this scan (py-spy: 60 of 64 samples holding the GIL), ~0.3 ms a record; at one claim a second
(3,600 records) the scan alone would take about a whole vCPU. Here a terminal record is written
with Redis's own expiry (`SET … EX ttl`) and upstream's scan is skipped: one write per release,
whatever the rate. Records in memory (no Redis) keep upstream's scan, which reads a dict there."""
from __future__ import annotations

import functools
import json
import logging
from typing import Any

from .pool import type_name

log = logging.getLogger(__name__)

# ContainerState values upstream's cleanup deletes; RECYCLED ones stay for restore_session.
TERMINAL_STATES = frozenset({"released", "replaced"})


def state_of(record: Any) -> str:
    return type_name(record.get("state") if isinstance(record, dict) else None)


def _uses_redis(mapping: Any) -> bool:
    return callable(getattr(mapping, "_get_full_key", None)) and getattr(mapping, "client", None) is not None


def install(manager: Any) -> bool:
    """Makes the manager's Redis records of ended sandboxes expire by themselves; True when it did."""
    ttl = int(getattr(manager.config, "released_key_ttl", 0) or 0)
    mapping = manager.container_mapping
    if ttl <= 0 or not _uses_redis(mapping):
        return False
    client, full_key = mapping.client, mapping._get_full_key

    def set_record(key: str, value: Any) -> None:
        client.set(full_key(key), json.dumps(value), ex=ttl if state_of(value) in TERMINAL_STATES else None)

    mapping.set = set_record
    manager._agentscope_records_expire = ttl
    expired = expire_existing(mapping, manager.prefix, ttl)
    log.info("Released sandbox records expire after %d s in Redis (%d earlier ones given the expiry)", ttl, expired)
    return True


def expire_existing(mapping: Any, prefix: str, ttl: int) -> int:
    """One pass at start: terminal records an earlier manager wrote without an expiry get one. Only
    the names upstream gives its sandboxes (its prefix), as its own scan reads them: the pool queues
    and session lists share the database."""
    count = 0
    for key in mapping.scan(prefix):
        name = mapping._get_full_key(key)
        if mapping.client.ttl(name) == -1 and state_of(mapping.get(key)) in TERMINAL_STATES:
            mapping.client.expire(name, ttl)
            count += 1
    return count


def wrap_manager(cls: Any) -> None:
    """Upstream's per-second scan stands down on a manager whose records expire by themselves."""
    if getattr(cls, "_agentscope_records_wrapped", False):
        return
    scan = cls.scan_released_cleanup_once

    @functools.wraps(scan)
    def scan_released_cleanup_once(self: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        ttl = getattr(self, "_agentscope_records_expire", None)
        if ttl is not None:
            return {"ttl": ttl, "expiry": "redis", "scanned": 0, "deleted": 0}
        return scan(self, *args, **kwargs)

    cls.scan_released_cleanup_once = scan_released_cleanup_once
    cls._agentscope_records_wrapped = True
