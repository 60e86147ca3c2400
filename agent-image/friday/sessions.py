"""Where a conversation's memory and agent state live between turns."""
from __future__ import annotations

import copy
import logging

from agentscope.module import StateModule
from agentscope.session import RedisSession, SessionBase
from redis.asyncio import BlockingConnectionPool, ConnectionPool

from .keys import session_key
from .settings import Settings

log = logging.getLogger(__name__)


class InMemorySession(SessionBase):
    """Per-process store for local runs without Redis: lost on restart and not
    shared between replicas."""

    def __init__(self) -> None:
        self._states: dict[tuple[str, str], dict[str, dict]] = {}

    async def save_session_state(
        self, session_id: str, user_id: str = "", **state_modules_mapping: StateModule,
    ) -> None:
        self._states[(user_id, session_id)] = {
            name: copy.deepcopy(module.state_dict())
            for name, module in state_modules_mapping.items()
        }

    async def load_session_state(
        self,
        session_id: str,
        user_id: str = "",
        allow_not_exist: bool = True,
        **state_modules_mapping: StateModule,
    ) -> None:
        states = self._states.get((user_id, session_id))
        if states is None:
            if allow_not_exist:
                return
            raise ValueError(f"no saved state for session {session_id}")
        for name, module in state_modules_mapping.items():
            if name in states:
                module.load_state_dict(copy.deepcopy(states[name]))

    async def close(self) -> None:
        self._states.clear()


class EncodedKeyRedisSession(RedisSession):
    """agentscope's RedisSession with key parts that cannot spell another pair's key (keys.py)."""

    def _get_session_key(self, session_id: str, user_id: str) -> str:
        return self.key_prefix + session_key(user_id, session_id)


# Connections beyond one per running turn: short commands (CAS, lease renewals, /stop's publish).
POOL_HEADROOM = 16
# How long a command waits for a free connection before it fails.
POOL_WAIT_S = 5


def redis_pool(settings: Settings, connections: int) -> ConnectionPool | None:
    """A pool of at most `connections` connections whose callers wait (up to POOL_WAIT_S) for a
    free one, instead of failing at once as redis-py's default pool does past its cap of 100."""
    if not settings.redis_url:
        return None
    password = settings.redis_password.get_secret_value() if settings.redis_password else None
    # The password comes from its own Secret, never from the URL.
    return BlockingConnectionPool.from_url(
        settings.redis_url, password=password, decode_responses=True,
        health_check_interval=30, socket_connect_timeout=5,
        max_connections=connections, timeout=POOL_WAIT_S,
    )


def make_session(settings: Settings, pool: ConnectionPool | None) -> SessionBase:
    if pool is None:
        log.warning("REDIS_URL is not set: sessions live in this process only")
        return InMemorySession()
    return EncodedKeyRedisSession(
        connection_pool=pool,
        key_prefix="friday:",
        key_ttl=settings.session_ttl_seconds or None,
    )
