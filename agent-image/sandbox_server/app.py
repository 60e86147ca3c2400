"""The HTTP surface the manager's sandbox client uses
(sandbox/client/base.py: base_url = <url>/fastapi; http_client.py calls
/healthz, /tools/<name>, /mcp/..., /workspace/...), plus an open /healthz for
the kubelet.

/healthz (the readiness probe) answers as soon as the generic and workspace routers serve; the
mcp router loads in a thread once the first request (the manager's or the kubelet's first probe)
is answered, so it does not compete with that probe for the sandbox's CPU (see upstream.py for
why), and a request under /fastapi/mcp that comes before it is done waits for it.

FastAPI builds a route's request handling (its dependencies and body model, pydantic) on the
route's first match: ~20 ms of CPU for the code-run route, most of a warm claim's ~0.1 s inside a
0.25-vCPU sandbox (bench/sandbox_start.py). The routes a claim calls first are matched once, also
after the first answer, by in-process requests without the token: 401 before any code runs."""
from __future__ import annotations

import asyncio
import hmac
import warnings
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException
from fastapi.params import Depends as DependsParam
from fastapi.responses import PlainTextResponse

from . import upstream

PREFIX = "/fastapi"
MCP_PATH = PREFIX + "/mcp/"
# What upstream's sandbox client calls first on every claim: check_health, then run_ipython_cell.
CLAIM_ROUTES: tuple[tuple[str, str], ...] = (("GET", PREFIX + "/healthz"), ("POST", PREFIX + "/tools/run_ipython_cell"))


def bearer_check(token: str) -> Callable[..., Awaitable[None]]:
    expected = token.encode()

    async def verify(authorization: str | None = Header(default=None)) -> None:
        scheme, _, given = (authorization or "").partition(" ")
        if scheme != "Bearer" or not hmac.compare_digest(given.encode(), expected):
            raise HTTPException(401, "missing or invalid bearer token", headers={"WWW-Authenticate": "Bearer"})

    return verify


def _quietly(module: str, attribute: str) -> APIRouter:
    with warnings.catch_warnings():
        # Upstream's routes use FastAPI's deprecated `example=`; nothing for us to act on.
        warnings.filterwarnings("ignore", message=".*`example` has been deprecated")
        return upstream.router(module, attribute)


def _serving_routers() -> list[tuple[str, APIRouter]]:
    """What must serve before the sandbox is ready: code runs and workspace files."""
    upstream.defer_mcp_package()
    return [("", _quietly("generic", "generic_router")), ("/workspace", _quietly("workspace", "router"))]


def _mcp_router() -> APIRouter:
    upstream.complete_mcp_package()
    mcp = _quietly("mcp", "mcp_router")
    # mcp's startup hook loads shared/mcp_server_configs.json, which upstream's image adds and the
    # wheel lacks: here it could only log an error. Servers can still be added by /mcp/add_servers.
    mcp.on_startup.clear()
    return mcp


class LateRouter:
    """Includes a router into `app` once `load` (run in a thread) returns it; requests under
    `path` wait for that, so the routes exist, or the load's error is raised, when they dispatch."""

    def __init__(self, app: FastAPI, path: str, load: Callable[[], APIRouter], dependencies: list[DependsParam]) -> None:
        self.app, self.path, self.load, self.dependencies = app, path, load, dependencies
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._include())

    async def _include(self) -> None:
        router = await asyncio.to_thread(self.load)
        self.app.include_router(router, prefix=PREFIX, dependencies=self.dependencies)

    async def wait_if_needed(self, path: str) -> None:
        if path.startswith(self.path):
            self.start()
            assert self._task is not None
            await asyncio.shield(self._task)


class RouteWarmUp:
    """Matches `routes` once, in-process and without the token, so that FastAPI has built their
    request handling before a real request needs it; runs once, on the event loop."""

    def __init__(self, app: FastAPI, routes: Sequence[tuple[str, str]]) -> None:
        self.app, self.routes = app, routes
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._warm())

    async def _warm(self) -> None:
        import httpx  # here, not at start-up: its import is CPU the first /healthz does not need

        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://warm-up") as client:
            for method, path in self.routes:
                await client.request(method, path)

    async def wait(self) -> None:
        if self._task is not None:
            await asyncio.shield(self._task)


def create_app(token: str) -> FastAPI:
    auth = [Depends(bearer_check(token))]
    app = FastAPI(title="sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    late = LateRouter(app, MCP_PATH, _mcp_router, auth)
    warm = RouteWarmUp(app, CLAIM_ROUTES)

    @app.middleware("http")
    async def late_routes(request: Any, call_next: Any) -> Any:
        await late.wait_if_needed(request.url.path)
        response = await call_next(request)
        warm.start()
        late.start()
        return response

    @app.get("/healthz", response_class=PlainTextResponse)
    async def probe() -> str:  # kubelet probes carry no token; this reveals nothing
        return "OK"

    @app.get(PREFIX + "/healthz", response_class=PlainTextResponse, dependencies=auth)
    async def healthz() -> str:  # what SandboxHttpClient.check_health calls, with the token
        return "OK"

    for prefix, router in _serving_routers():
        app.include_router(router, prefix=PREFIX + prefix, dependencies=auth)
    return app
