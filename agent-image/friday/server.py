"""uvicorn with a drain on SIGTERM: open turns may finish for
SHUTDOWN_DRAIN_SECONDS, then are stopped, saved and ended with a final
`canceled` event (`server_shutdown`) before the process exits."""
from __future__ import annotations

import asyncio
import logging
import socket

import uvicorn

from .http_deadlines import deadline_protocol
from .settings import Settings
from .turns import END_OF_TURN_BUDGET_S, SHUTTING_DOWN, TurnApp

log = logging.getLogger(__name__)


class DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, app: TurnApp, drain_s: int) -> None:
        super().__init__(config)
        self.turn_app = app
        self.drain_s = drain_s

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        log.info("shutting down: draining open turns",
                 extra={"open_turns": self.turn_app.open_turns, "drain_s": self.drain_s})
        stopper = asyncio.create_task(self._stop_turns_after_drain())
        try:
            await super().shutdown(sockets)
        finally:
            stopper.cancel()

    async def _stop_turns_after_drain(self) -> None:
        await asyncio.sleep(self.drain_s)
        stopped = await self.turn_app.interrupt_all(SHUTTING_DOWN)
        if stopped:
            log.warning("drain period over: stopping open turns", extra={"stopped": stopped})


def serve(app: TurnApp, settings: Settings) -> None:
    drain_s = settings.shutdown_drain_seconds
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, log_config=None, access_log=False,
        # Past the drain, stopped turns still save and send their last event.
        timeout_graceful_shutdown=drain_s + int(END_OF_TURN_BUDGET_S) + 5,
        http=deadline_protocol(settings.request_header_timeout_seconds, settings.request_body_timeout_seconds),
        # uvicorn's own cap: past it, every new request gets 503 until connections close.
        limit_concurrency=settings.max_connections,
    )
    DrainingServer(config, app, drain_s).run()
