"""Keeps the manager's admin routes out of the agents' reach.

runtime-sandbox-server registers a POST route for every remote method of
SandboxManager (sandbox/manager/server/app.py `register_routes`), all behind
the one bearer token the agents hold: among them `/cleanup` (destroys every
sandbox in the shared pool), `/create`, `/stop`, `/list_session_keys`, plus
`/proxy/{id}/...` and the unauthenticated `/desktop/{id}/...`. Only what an
agent's sandbox client calls (sandbox/box/sandbox.py) stays reachable.
"""
from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

Scope = dict[str, Any]
ASGIApp = Callable[[Scope, Callable[..., Awaitable[Any]], Callable[..., Awaitable[Any]]], Awaitable[None]]

AGENT_METHODS = ("create_from_pool", "get_info", "list_tools", "call_tool", "release", "check_health")
ALLOWED_PATHS = frozenset(
    ["/health"] + ["/" + m for m in AGENT_METHODS] + ["/%s_async" % m for m in AGENT_METHODS]
)


class RouteGuard:
    """Answers 404 to every HTTP or WebSocket path not in `allowed`."""

    def __init__(self, app: ASGIApp, allowed: Iterable[str] = ALLOWED_PATHS) -> None:
        self.app = app
        self.allowed = frozenset(allowed)

    async def __call__(self, scope: Scope, receive: Callable[..., Awaitable[Any]], send: Callable[..., Awaitable[Any]]) -> None:
        if scope["type"] == "http" and scope["path"] not in self.allowed:
            body = json.dumps({"detail": "Not Found"}).encode()
            await send({"type": "http.response.start", "status": 404,
                        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        if scope["type"] == "websocket" and scope["path"] not in self.allowed:
            await send({"type": "websocket.close", "code": 1008})
            return
        await self.app(scope, receive, send)


def install(app: Any = None) -> None:
    if app is None:
        from agentscope_runtime.sandbox.manager.server import app as server

        app = server.app
    app.add_middleware(RouteGuard)
