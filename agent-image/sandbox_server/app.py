"""The HTTP surface the manager's sandbox client uses
(sandbox/client/base.py: base_url = <url>/fastapi; http_client.py calls
/healthz, /tools/<name>, /mcp/..., /workspace/...), plus an open /healthz for
the kubelet."""
from __future__ import annotations

import hmac
import warnings
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException
from fastapi.responses import PlainTextResponse

from . import upstream

PREFIX = "/fastapi"


def bearer_check(token: str) -> Callable[..., Awaitable[None]]:
    expected = token.encode()

    async def verify(authorization: str | None = Header(default=None)) -> None:
        scheme, _, given = (authorization or "").partition(" ")
        if scheme != "Bearer" or not hmac.compare_digest(given.encode(), expected):
            raise HTTPException(401, "missing or invalid bearer token", headers={"WWW-Authenticate": "Bearer"})

    return verify


def _upstream_routers() -> list[tuple[str, APIRouter]]:
    with warnings.catch_warnings():
        # Upstream's routes use FastAPI's deprecated `example=`; nothing for us to act on.
        warnings.filterwarnings("ignore", message=".*`example` has been deprecated")
        generic = upstream.router("generic", "generic_router")
        mcp = upstream.router("mcp", "mcp_router")
        workspace = upstream.router("workspace", "router")
    # mcp's startup hook loads shared/mcp_server_configs.json, which upstream's image adds and the
    # wheel lacks: here it could only log an error. Servers can still be added by /mcp/add_servers.
    mcp.on_startup.clear()
    return [("", generic), ("", mcp), ("/workspace", workspace)]


def create_app(token: str) -> FastAPI:
    app = FastAPI(title="sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    auth = [Depends(bearer_check(token))]

    @app.get("/healthz", response_class=PlainTextResponse)
    async def probe() -> str:  # kubelet probes carry no token; this reveals nothing
        return "OK"

    @app.get(PREFIX + "/healthz", response_class=PlainTextResponse, dependencies=auth)
    async def healthz() -> str:  # what SandboxHttpClient.check_health calls, with the token
        return "OK"

    for prefix, router in _upstream_routers():
        app.include_router(router, prefix=PREFIX + prefix, dependencies=auth)
    return app
