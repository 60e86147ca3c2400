"""A turn's hold on its session (the runtime's interrupt key `state:<key>` set to RUNNING), with
an owner, so that a turn whose lease expired (a stalled event loop, a Redis failover) learns it
at its next renewal instead of renewing a lease another turn has taken since, and never frees
that turn's session when it ends.

With Redis the owner is a second key, `lease:<key>`, holding the turn's random id, and each
step is one Lua script; other replicas' CAS on `state:<key>` (RUNNING or not) still interoperate.
Without Redis (one process) the runtime's in-memory backend is used as it is: there is no one
else to take the lease.
"""
from __future__ import annotations

import uuid
from typing import Any, Protocol

import redis.asyncio as redis
from agentscope_runtime.engine.deployers.utils.service_utils.interrupt.base_backend import (
    BaseInterruptBackend,
    TaskState,
)
from agentscope_runtime.engine.deployers.utils.service_utils.interrupt.redis_backend import RedisInterruptBackend

_ACQUIRE = """
if redis.call('get', KEYS[1]) == 'RUNNING' then return 0 end
redis.call('set', KEYS[1], 'RUNNING', 'ex', ARGV[2])
redis.call('set', KEYS[2], ARGV[1], 'ex', ARGV[2])
return 1
"""
# Renewed while ours; taken back only if it expired and no one took it meanwhile.
_RENEW = """
local owner = redis.call('get', KEYS[2])
if owner == ARGV[1] or (not owner and redis.call('get', KEYS[1]) ~= 'RUNNING') then
  redis.call('set', KEYS[1], 'RUNNING', 'ex', ARGV[2])
  redis.call('set', KEYS[2], ARGV[1], 'ex', ARGV[2])
  return 1
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('set', KEYS[1], ARGV[2], 'ex', ARGV[3])
redis.call('del', KEYS[2])
return 1
"""


class Lease(Protocol):
    async def acquire(self) -> bool: ...
    async def renew(self) -> bool: ...
    async def release(self, final: TaskState, ttl: int) -> None: ...


class PooledRedisInterruptBackend(RedisInterruptBackend):
    """The runtime's Redis backend on a client of ours (a pool sized to the turn limit: its
    interrupt listener holds one connection per running turn)."""

    def __init__(self, client: redis.Redis) -> None:  # noqa: D107 - the parent would make its own client
        self.redis_client = client


class RedisLease:
    def __init__(self, client: redis.Redis, key: str, ttl: int) -> None:
        self.client, self.ttl, self.owner = client, ttl, uuid.uuid4().hex
        self.keys = (f"state:{key}", f"lease:{key}")

    async def acquire(self) -> bool:
        return bool(await self.client.eval(_ACQUIRE, 2, *self.keys, self.owner, self.ttl))

    async def renew(self) -> bool:
        return bool(await self.client.eval(_RENEW, 2, *self.keys, self.owner, self.ttl))

    async def release(self, final: TaskState, ttl: int) -> None:
        await self.client.eval(_RELEASE, 2, *self.keys, self.owner, final.value, ttl)


class LocalLease:
    def __init__(self, backend: BaseInterruptBackend, key: str, ttl: int) -> None:
        self.backend, self.key, self.ttl = backend, key, ttl

    async def acquire(self) -> bool:
        return await self.backend.compare_and_set_state(
            key=self.key, new_state=TaskState.RUNNING, expected_state=TaskState.RUNNING, negate=True, ttl=self.ttl,
        )

    async def renew(self) -> bool:
        await self.backend.set_task_state(self.key, TaskState.RUNNING, ttl=self.ttl)
        return True

    async def release(self, final: TaskState, ttl: int) -> None:
        await self.backend.set_task_state(self.key, final, ttl=ttl)


def make_lease(backend: Any, key: str, ttl: int) -> Lease:
    if isinstance(backend, RedisInterruptBackend):
        return RedisLease(backend.redis_client, key, ttl)
    return LocalLease(backend, key, ttl)
