"""The AgentApp: the seed's query handler with state in Redis, the sandbox for
code, an interrupt route, and the runtime's open admin routes removed."""
from __future__ import annotations

import asyncio
import logging
from http import HTTPStatus
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from agentscope.pipeline import stream_printing_messages
from agentscope_runtime.engine.schemas.agent_schemas import AgentRequest, Message
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
import redis.asyncio as redis
from pydantic import BaseModel, Field, StringConstraints, model_validator
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware

import observability.tracing

from .agent import build_agent, build_model
from .admission import RETRY_AFTER_S, Admission
from .guard import Guard
from .keys import IDENT
from .lease import PooledRedisInterruptBackend
from .local_code import confinement_probe, protect_agent_process
from .protocols import (
    A2A_PATH, AGENT_CARD_PATH, RESPONSES_PATH, TURN_PATHS, A2ARequest, ClientGone, ResponsesRequest,
    mount as mount_protocols, normalize_responses,
)
from .sessions import POOL_HEADROOM, make_session, redis_pool
from .settings import Settings
from .tools import SandboxLease, local_limits, make_toolkit
from .turns import TurnApp

log = logging.getLogger(__name__)

# Ids become Redis keys (keys.py) and log fields: keep them short and plain.
Ident = Annotated[str, StringConstraints(pattern=IDENT)]

# What GET / and 404 bodies tell a client.
_ENDPOINTS = {
    "process": "POST /process",
    "stop": "POST /stop",
    "health": "GET /health",
    "responses": f"POST {RESPONSES_PATH}",
    "a2a": f"POST {A2A_PATH}",
    "agent_card": f"GET {AGENT_CARD_PATH}",
}
_NOT_FOUND = (
    f"this service serves POST /process (SSE), POST /stop, GET /health, the OpenAI-compatible "
    f"Responses API (POST {RESPONSES_PATH}) and A2A (POST {A2A_PATH}, card at {AGENT_CARD_PATH}); "
    "routes such as /sync, /async and /stream_async belong to the seed's own sample app"
)
_DESCRIPTION = "A helpful assistant"

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
        if self.stream is False:
            raise ValueError("only streaming is served: omit `stream` or set it to true")
        return self


class StopRequest(BaseModel):
    session_id: Ident
    user_id: Ident | None = None


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        return JSONResponse({"error": "not_found", "detail": _NOT_FOUND, "endpoints": _ENDPOINTS},
                            status_code=404)
    # The error schema's key: "method_not_allowed" for 405, and so on.
    error = HTTPStatus(exc.status_code).phrase.lower().replace(" ", "_").replace("-", "_")
    return JSONResponse({"error": error, "detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def _server_error(request: Request, exc: Exception) -> Response:
    """Whatever escaped a route: the error schema, not Starlette's plain-text 500."""
    return JSONResponse({"error": "internal_error", "detail": "internal error"}, status_code=500)


def _normalize(path: str, parsed: BaseModel) -> dict[str, Any]:
    if isinstance(parsed, ResponsesRequest):
        return normalize_responses(parsed)
    data = parsed.model_dump(mode="json", exclude_unset=True)
    if path == "/process":
        # Fixed here rather than by the runner, so that the interrupt key, the
        # session store and the logs all see the same ids.
        data.setdefault("session_id", parsed.id or _new_id())
        data.setdefault("user_id", data["session_id"])
    return data


async def _wait(reply: asyncio.Future) -> Any:
    return await reply


async def _interrupt(agent: Any, reply: asyncio.Future) -> None:
    """Stops the agent and waits until its reply has ended: ReActAgent then
    has the partial answer and an interruption note in its memory, which is
    what gets saved."""
    await agent.interrupt()
    for _ in range(2):
        await asyncio.wait({reply}, timeout=3)
        if reply.done():
            return
        # A tool that swallowed the cancellation lets the agent go on; cancel again.
        reply.cancel()
    log.warning("the agent did not stop within 6 s")


async def _end(session: Any, ids: dict[str, str], agent: Any, lease: SandboxLease | None) -> None:
    if lease is not None:
        try:
            await lease.release()
        except Exception:
            log.exception("sandbox release failed")
    # Saved even after an interrupt, so the next turn can resume.
    await session.save_session_state(**ids, agent=agent)
    log.info("turn saved", extra={"history": await agent.memory.size()})


def _new_id() -> str:
    import uuid

    return uuid.uuid4().hex


def _interrupt_backend(settings: Settings) -> PooledRedisInterruptBackend | None:
    """The runtime's interrupt backend on a pool sized to the turn limit: its listener holds one
    connection per running turn (redis-py's default pool stops at 100 and then fails)."""
    pool = redis_pool(settings, settings.max_concurrent_turns + POOL_HEADROOM)
    return None if pool is None else PooledRedisInterruptBackend(redis.Redis(connection_pool=pool))


def create_app(settings: Settings) -> TurnApp:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = redis_pool(settings, settings.max_concurrent_turns + POOL_HEADROOM)
        app.state.session = make_session(settings, pool)
        # As the runtime mounts its adapters: in the lifespan, once the runner exists.
        mount_protocols(app, name=settings.agent_name, description=_DESCRIPTION,
                        a2a_url=settings.a2a_url or f"http://127.0.0.1:{settings.port}{A2A_PATH}", new_id=_new_id)
        if settings.code_execution == "local":
            protect_agent_process()
            confinement = await confinement_probe(local_limits(settings))
            log.warning(
                "LOCAL CODE EXECUTION IS ON: model-written code runs inside the agent's pod",
                extra={**confinement, "limits": vars(local_limits(settings))},
            )
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
            # Before uvicorn re-raises SIGTERM: the last turns' spans still go out.
            observability.tracing.shutdown()

    app = TurnApp(
        lease_seconds=settings.turn_lease_seconds,
        agent_name=settings.agent_name,
        app_name=settings.agent_name,
        app_description=_DESCRIPTION,
        lifespan=lifespan,
        interrupt_backend=_interrupt_backend(settings),
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )

    # One model client for every turn: a new one builds a new SSL context, 0.3 to 0.7 s of the
    # agent's CPU limit on the embedded cluster, and the client is stateless between calls.
    model, formatter = build_model(settings)

    @app.query(framework="agentscope")
    async def query_func(self: Any, msgs: Any, request: AgentRequest = None, **kwargs: Any):
        session = app.state.session
        lease = SandboxLease(settings) if settings.code_execution == "sandbox" else None
        agent = build_agent(settings, make_toolkit(settings, lease), model, formatter)
        ids = {"session_id": request.session_id, "user_id": request.user_id}
        await session.load_session_state(**ids, agent=agent)
        log.info("turn started", extra={"history": await agent.memory.size()})
        reply = asyncio.ensure_future(agent(msgs))
        stopped = False
        try:
            async for msg, last in stream_printing_messages(agents=[agent], coroutine_task=_wait(reply)):
                yield msg, last
        except asyncio.CancelledError:
            log.info("turn interrupted")
            stopped = True
            await _interrupt(agent, reply)
            raise
        finally:
            if not reply.done():
                reply.cancel()
            # Shielded: a second cancellation (shutdown) must not cut the
            # release (which ends the sandbox's code) or the save.
            try:
                await asyncio.shield(_end(session, ids, agent, lease))
            except Exception:
                if not stopped:
                    raise  # the runner reports it as the turn's failure
                # A stopped turn stays stopped (its reason is the last event): e.g. its lease was
                # lost because Redis is gone, and so the save failed too.
                log.exception("the stopped turn could not be saved")

    @app.post("/stop")
    async def stop(req: StopRequest) -> Response:
        """Interrupts the running turn of a session, on whichever replica runs it."""
        try:
            await app.stop_turn(user_id=req.user_id or req.session_id, session_id=req.session_id)
        except Exception:
            log.warning("could not send the stop signal", exc_info=True)
            return JSONResponse({"error": "unavailable", "detail": "the session store is unreachable; retry"},
                                status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)})
        return JSONResponse({"status": "stop requested"})

    app.router.routes = [
        r for r in app.router.routes
        if getattr(r, "path", None) not in _UNSAFE_ROUTES
        and not (getattr(r, "path", None) == "/" and "GET" in getattr(r, "methods", ()))
    ]

    @app.get("/")
    async def root() -> dict[str, Any]:
        """What this service serves (the runtime's own version lists routes
        that are not here)."""
        return {"service": settings.agent_name, "endpoints": _ENDPOINTS}

    @app.head("/health")
    async def health_head() -> Response:
        return Response(status_code=200)

    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _server_error)
    # No CORS: the bearer token must not live in a browser, so no browser
    # origin is allowed (the runtime allows every origin, with credentials).
    app.user_middleware = [m for m in app.user_middleware if m.cls is not CORSMiddleware]
    # The runtime's own adapters would get the runner's stream_query, skipping the turn lifecycle:
    # the lifespan mounts Responses and A2A with it instead (protocols.py); AG-UI is not served.
    app.protocol_adapters = []

    app.add_middleware(ClientGone, paths=TURN_PATHS, on_gone=app.client_gone)
    # Inside the Guard: only authenticated, well-formed turns take a place.
    app.add_middleware(Admission, limit=settings.max_concurrent_turns, paths={"/process", *TURN_PATHS})
    token = settings.agent_api_token.get_secret_value() if settings.agent_api_token else None
    app.add_middleware(
        Guard,
        token=None if settings.auth_disabled else token,
        max_body=settings.max_request_bytes,
        open_paths={"/health"},
        body_models={"/process": ProcessRequest, "/stop": StopRequest,
                     RESPONSES_PATH: ResponsesRequest, A2A_PATH: A2ARequest},
        normalize=_normalize,
    )
    return app
