"""Admission of turns: at most `limit` turn requests (POST /process, and the Responses and A2A
routes of protocols.py) run in this process at once; past it a turn is refused up front with 429,
Retry-After and the error schema, before it holds a Redis connection or a stream. The other
routes (/stop, /health, the agent card) are never limited."""
from __future__ import annotations

from collections.abc import Iterable

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

# Turns of the scripted model take about a second, real ones a few: a retry soon is likely served.
RETRY_AFTER_S = 5


class Admission:
    def __init__(self, app: ASGIApp, *, limit: int, paths: Iterable[str] = ("/process",)) -> None:
        self.app, self.limit, self.paths = app, limit, frozenset(paths)
        self.running = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        if self.running >= self.limit:
            refusal = JSONResponse(
                {"error": "too_many_turns",
                 "detail": f"this replica runs {self.limit} turns at once; retry after {RETRY_AFTER_S} s"},
                status_code=429, headers={"Retry-After": str(RETRY_AFTER_S)},
            )
            await refusal(scope, receive, send)
            return
        self.running += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.running -= 1
