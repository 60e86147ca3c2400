"""The AgentApp: the seed's query handler with state in Redis, the sandbox for
code, an interrupt route, and the runtime's open admin routes removed."""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any
from urllib.parse import quote, urlsplit, urlunsplit

from agentscope.pipeline import stream_printing_messages
from agentscope_runtime.engine.app import AgentApp
from agentscope_runtime.engine.schemas.agent_schemas import AgentRequest, Message
from fastapi import FastAPI
from pydantic import BaseModel, Field, StringConstraints, model_validator

from .agent import build_agent
from .guard import Guard
from .sessions import make_session, redis_pool
from .settings import Settings
from .tools import SandboxLease, make_toolkit

log = logging.getLogger(__name__)

# Ids become Redis keys and log fields: keep them short and plain.
Ident = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:@-]{1,128}$")]

# AgentApp registers these without any auth (runtime 1.1.x); we drop them.
_UNSAFE_ROUTES = frozenset({"/shutdown", "/admin/shutdown", "/admin/status"})


class ProcessRequest(AgentRequest):
    input: Annotated[list[Message], Field(min_length=1)]
    session_id: Ident | None = None
    user_id: Ident | None = None

    @model_validator(mode="after")
    def _messages_have_content(self) -> ProcessRequest:
        # The runtime's Message accepts {}; the agent cannot answer that.
        for i, msg in enumerate(self.input):
            if not msg.role or not msg.content:
                raise ValueError(f"input[{i}] needs a role and non-empty content")
        return self


class StopRequest(BaseModel):
    session_id: Ident
    user_id: Ident | None = None


def _normalize(path: str, parsed: BaseModel) -> dict[str, Any]:
    data = parsed.model_dump(mode="json", exclude_unset=True)
    if path == "/process":
        # Fixed here rather than by the runner, so that the interrupt key, the
        # session store and the logs all see the same ids.
        data.setdefault("session_id", parsed.id or _new_id())
        data.setdefault("user_id", data["session_id"])
    return data


def _new_id() -> str:
    import uuid

    return uuid.uuid4().hex


def _redis_url_with_password(settings: Settings) -> str | None:
    """The runtime's interrupt backend takes only a URL, so the password from
    its Secret is put into it here (in memory, never logged)."""
    if not settings.redis_url or not settings.redis_password:
        return settings.redis_url
    parts = urlsplit(settings.redis_url)
    netloc = f":{quote(settings.redis_password.get_secret_value(), safe='')}@{parts.hostname}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def create_app(settings: Settings) -> AgentApp:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = redis_pool(settings)
        app.state.session = make_session(settings, pool)
        log.info(
            "agent ready",
            extra={
                "model_provider": settings.model_provider,
                "model_name": settings.model_name,
                "code_execution": settings.code_execution,
                "session_store": "redis" if pool else "memory",
                # CPU spent starting up: unlike wall time, not inflated by a busy node.
                "startup_cpu_s": round(time.process_time(), 2),
            },
        )
        try:
            yield
        finally:
            if pool is not None:
                await pool.aclose()

    app = AgentApp(
        app_name=settings.agent_name,
        app_description="A helpful assistant",
        lifespan=lifespan,
        interrupt_redis_url=_redis_url_with_password(settings),
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )

    @app.query(framework="agentscope")
    async def query_func(self: Any, msgs: Any, request: AgentRequest = None, **kwargs: Any):
        session = app.state.session
        lease = SandboxLease(settings) if settings.code_execution == "sandbox" else None
        agent = build_agent(settings, make_toolkit(settings, lease))
        ids = {"session_id": request.session_id, "user_id": request.user_id}
        await session.load_session_state(**ids, agent=agent)
        log.info("turn started", extra={"history": await agent.memory.size()})
        try:
            async for msg, last in stream_printing_messages(
                agents=[agent], coroutine_task=agent(msgs),
            ):
                yield msg, last
        except asyncio.CancelledError:
            log.info("turn interrupted")
            # Stops the agent's own model call or tool loop too (runtime docs).
            await agent.interrupt()
            raise
        finally:
            # Saved even after an interrupt, so the next turn can resume.
            await session.save_session_state(**ids, agent=agent)
            log.info("turn saved", extra={"history": await agent.memory.size()})
            if lease is not None:
                await lease.release()

    @app.post("/stop")
    async def stop(req: StopRequest) -> dict[str, str]:
        """Interrupts the running turn of a session, on whichever replica runs it."""
        await app.stop_chat(user_id=req.user_id or req.session_id, session_id=req.session_id)
        return {"status": "stop requested"}

    app.router.routes = [
        r for r in app.router.routes if getattr(r, "path", None) not in _UNSAFE_ROUTES
    ]
    # A2A, Responses API and AG-UI endpoints: not part of this service's API.
    app.protocol_adapters = []

    token = settings.agent_api_token.get_secret_value() if settings.agent_api_token else None
    app.add_middleware(
        Guard,
        token=None if settings.auth_disabled else token,
        max_body=settings.max_request_bytes,
        open_paths={"/health"},
        body_models={"/process": ProcessRequest, "/stop": StopRequest},
        normalize=_normalize,
    )
    return app
