"""sandbox_manager_ext.records: ended sandboxes' records expire in Redis by themselves, and
upstream's per-second scan of every record stands down. Upstream's real SandboxManager and
RedisMapping against a real redis-server (conftest's); the container client is not reached."""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import pytest
import redis

import fake_model  # noqa: F401 - puts agent-image/ on sys.path
from agentscope_runtime.common.container_clients import ContainerClientFactory  # noqa: E402
from agentscope_runtime.sandbox.manager.sandbox_manager import SandboxManager  # noqa: E402
from agentscope_runtime.sandbox.model import SandboxManagerEnvConfig  # noqa: E402
from agentscope_runtime.sandbox.model.container import ContainerState  # noqa: E402
from sandbox_manager_ext import records  # noqa: E402


class Manager(SandboxManager):
    """A subclass, so wrapping it leaves the class other suites use as upstream made it."""


records.wrap_manager(Manager)


def make_manager(monkeypatch: pytest.MonkeyPatch, redis_url: str | None, ttl: int = 3600, prefix: str = "t") -> Manager:
    monkeypatch.setattr(ContainerClientFactory, "create_client", classmethod(lambda cls, deployment_type, config: object()))
    options: dict[str, Any] = {"redis_enabled": False}
    if redis_url:
        url = urlparse(redis_url)
        options = {"redis_enabled": True, "redis_server": url.hostname, "redis_port": url.port, "redis_db": 0,
                   "redis_password": "redis-secret", "redis_port_key": f"{prefix}:ports",
                   "redis_container_pool_key": f"{prefix}:pool"}
    config = SandboxManagerEnvConfig(file_system="local", container_deployment="k8s", pool_size=0,
                                     default_mount_dir="", watcher_scan_interval=0, released_key_ttl=ttl, **options)
    return Manager(config=config, default_type="base")


@pytest.fixture
def db(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url.replace("redis://", "redis://:redis-secret@"))
    client.flushdb()
    yield client
    client.flushdb()


def record(name: str, state: ContainerState) -> dict[str, Any]:
    # As upstream stores it: ContainerModel.model_dump(), the state an enum member.
    return {"container_name": name, "container_id": name, "session_id": name, "state": state}


def test_a_released_record_expires_in_redis_and_a_live_one_does_not(monkeypatch: pytest.MonkeyPatch, redis_url: str,
                                                                    db: redis.Redis) -> None:
    m = make_manager(monkeypatch, redis_url, ttl=600)
    assert records.install(m)
    full = m.container_mapping._get_full_key
    m.container_mapping.set("live", record("live", ContainerState.RUNNING))
    m.container_mapping.set("gone", record("gone", ContainerState.RELEASED))
    m.container_mapping.set("moved", record("moved", ContainerState.REPLACED))
    m.container_mapping.set("idle", record("idle", ContainerState.RECYCLED))  # kept for restore_session
    assert db.ttl(full("live")) == -1 and db.ttl(full("idle")) == -1
    assert 590 < db.ttl(full("gone")) <= 600 and 590 < db.ttl(full("moved")) <= 600
    assert json.loads(db.get(full("gone")))["state"] == "released"  # the same JSON upstream writes
    m.container_mapping.set("gone", record("gone", ContainerState.RUNNING))  # a plain SET clears it again
    assert db.ttl(full("gone")) == -1


def test_records_an_earlier_manager_left_without_expiry_get_one_at_start(monkeypatch: pytest.MonkeyPatch,
                                                                         redis_url: str, db: redis.Redis) -> None:
    before = make_manager(monkeypatch, redis_url, ttl=600)  # upstream's writes: no expiry at all
    old, busy = before.prefix + "old", before.prefix + "busy"  # the names upstream gives sandboxes
    before.container_mapping.set(old, record(old, ContainerState.RELEASED))
    before.container_mapping.set(busy, record(busy, ContainerState.RUNNING))
    before.pool_queues[next(iter(before.pool_queues))].enqueue(record(busy, ContainerState.WARM))  # a list, same db
    full = before.container_mapping._get_full_key
    assert db.ttl(full(old)) == -1
    assert records.install(make_manager(monkeypatch, redis_url, ttl=600))
    assert 590 < db.ttl(full(old)) <= 600 and db.ttl(full(busy)) == -1


def test_upstreams_per_second_scan_stands_down_only_where_redis_expires_records(monkeypatch: pytest.MonkeyPatch,
                                                                                redis_url: str, db: redis.Redis) -> None:
    expiring = make_manager(monkeypatch, redis_url, ttl=60)
    records.install(expiring)
    reads: list[str] = []
    get = expiring.container_mapping.get
    monkeypatch.setattr(expiring.container_mapping, "get", lambda key: reads.append(key) or get(key))
    expiring.container_mapping.set("gone", record("gone", ContainerState.RELEASED))
    assert expiring.scan_released_cleanup_once() == {"ttl": 60, "expiry": "redis", "scanned": 0, "deleted": 0}
    assert reads == []  # not one record read

    in_memory = make_manager(monkeypatch, None, ttl=60)
    assert not records.install(in_memory)  # no Redis: upstream's scan of the dict stays
    name = in_memory.prefix + "gone"  # upstream scans the names it gives: its prefix and an id
    in_memory.container_mapping.set(name, record(name, ContainerState.RELEASED))
    assert in_memory.scan_released_cleanup_once()["scanned"] == 1

    off = make_manager(monkeypatch, redis_url, ttl=0, prefix="off")  # upstream: 0 keeps records for ever
    assert not records.install(off)
    off.container_mapping.set("gone", record("gone", ContainerState.RELEASED))
    assert db.ttl(off.container_mapping._get_full_key("gone")) == -1
